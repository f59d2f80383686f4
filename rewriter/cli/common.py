"""What the commands share: printing (terminal-safe), errors, reading one file for
`debug`, and the per-file report helpers (diagnostics, levels, the summary line).

The command-line options shared by `check` and `fix` are in ``options``; the files a
run works on, with their settings, in ``inputs``."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.syntax import Diagnostic, Dockerfile
    from dockopt.transforms.base import Finding, Level, Transform


def version() -> str:
    """The installed package's version (its metadata), read only when asked: the
    import of importlib.metadata costs start-up time every command would pay."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("dockopt")
    except PackageNotFoundError:  # run from a source tree without installing
        from dockopt.rewriter import __version__

        return __version__
# Long raw texts are cut in `debug tree` so one node stays on one screen line.
TEXT_PREVIEW = 60
# Parser warnings (e.g. unknown instructions) shown per file: a template that is not
# really a Dockerfile would otherwise print one per line.
MAX_WARNINGS = 5


def write_to(stream: TextIO, text: str) -> None:
    """Write *text* as UTF-8, turning lone surrogates back into the bytes they came from.

    Input is decoded with surrogateescape, so any byte sequence round-trips through
    the tool; a text stream would reject those surrogates.
    """
    stream.flush()
    stream.buffer.write(text.encode("utf-8", "surrogateescape"))
    stream.buffer.flush()


def print_line(line: str = "") -> None:
    write_to(sys.stdout, line + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    write_to(sys.stderr, f"dockopt: error: {message}\n")
    sys.exit(code)


def _read_text(path: str) -> str:
    """Read FILE (or stdin for `-`) as bytes and decode losslessly."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            fail(f"{path}: {exc.strerror or exc}")
    return data.decode("utf-8", "surrogateescape")


def load_file(path: str) -> tuple[str, Dockerfile]:
    """Read and parse FILE; the parser is imported here, not at start-up."""
    from dockopt.rewriter.syntax import parse

    text = _read_text(path)
    return text, parse(text)


def preview(text: str) -> str:
    if len(text) > TEXT_PREVIEW:
        return repr(text[:TEXT_PREVIEW]) + f"...(+{len(text) - TEXT_PREVIEW} chars)"
    return repr(text)


def report_diagnostics(shown: str, diagnostics: Iterable[Diagnostic], quiet: bool,
                        color: bool) -> bool:
    """Print parse and engine diagnostics to stderr; True if any is an error."""
    from dockopt.rewriter.cli.output import style, terminal_safe

    failed = False
    warnings = 0
    for d in diagnostics:
        if d.severity == "error":
            failed = True
        else:
            warnings += 1
            if quiet or warnings > MAX_WARNINGS:
                continue
        fg = "red" if d.severity == "error" else "yellow"
        write_to(sys.stderr, style(terminal_safe(d.format(shown)), color, fg=fg) + "\n")
    if warnings > MAX_WARNINGS and not quiet:
        write_to(sys.stderr, f"{shown}: {warnings - MAX_WARNINGS} more warnings not shown\n")
    return failed


def print_errors(errors: Iterable[str]) -> None:
    from dockopt.rewriter.cli.output import terminal_safe

    for message in errors:
        write_to(sys.stderr, f"dockopt: error: {terminal_safe(message)}\n")


def stream_color(choice: str, stream: TextIO) -> bool:
    from dockopt.rewriter.cli.output import use_color

    isatty = getattr(stream, "isatty", None)
    return use_color(choice, bool(isatty and isatty()))


def atomic_write(path: str, data: bytes) -> None:
    """See dockopt.rewriter.fileio.atomic_write (imported lazily: start-up cost)."""
    from dockopt.rewriter.fileio import atomic_write as write

    write(path, data)


def engine_errors(diagnostics: Sequence[Diagnostic]) -> tuple[list[Finding], list[Diagnostic]]:
    """Split error diagnostics: parse errors (BuildKit rejects the file: DPxxx) become
    error-level findings, reported in every format and failing the run with exit 1 as
    ruff and hadolint do for syntax errors; engine errors (DO001-DO003: no fixed
    point, a reverted rewrite, a transform that crashed) stay errors of dockopt
    itself (stderr, exit 2)."""
    findings: list[Finding] = []
    engine: list[Diagnostic] = []
    if not diagnostics:  # most files: and a run from the cache need not load the parser
        return findings, engine
    from dockopt.rewriter.diagnostic import UNKNOWN_INSTRUCTION
    from dockopt.transforms.base import Finding

    for d in diagnostics:
        # An unknown instruction parses (the parser keeps it as a warning) but BuildKit
        # refuses to build it ("unknown instruction: FROMM"): an error for the user.
        if d.severity != "error" and d.code != UNKNOWN_INSTRUCTION:
            continue
        if d.code.startswith("DP"):
            findings.append(Finding(d.code, "parse-error", d.message, d.line, d.column,
                                    d.line, d.column, "error"))
        else:
            engine.append(d)
    return findings, engine


def unreadable_finding(text: str) -> Finding | None:
    """An error finding for a file that is not text at all (a NUL byte in its first
    8 KiB, as git's binary detection), else None.  Invalid UTF-8 alone is not enough:
    BuildKit builds Latin-1 comments and labels (DP108 warns about them)."""
    if text.find("\x00", 0, 8192) < 0:  # no copy of the head, no import: every file
        return None
    from dockopt.rewriter.diagnostic import NOT_TEXT
    from dockopt.transforms.base import Finding

    return Finding(NOT_TEXT, "not-a-dockerfile", "Not a Dockerfile: the file holds binary "
                   "data (a NUL byte); nothing was checked", 1, 1, 1, 1, "error")


def threshold_failed(findings: Iterable[Finding], settings: Settings) -> bool:
    """Whether any finding is at or above the file's failure threshold."""
    from dockopt.rewriter.config import fails

    return any(fails(f.level, settings.failure_threshold) for f in findings)


def summary_line(summary: str, internal_error: bool) -> str:
    """The closing summary, but never "All checks passed!" after an error: a path that
    does not exist or a crash is not a pass."""
    if internal_error and summary.startswith("All checks passed!"):
        return ""
    return summary


def with_levels(findings: Iterable[Finding], settings: Settings,
                rules: Sequence[type[Transform]] | None = None) -> list[Finding]:
    """The findings with their severity as the config overrides it (`severity` in
    dockopt's config, `override` in .hadolint.yaml): by code, name, or a hadolint code
    the rule covers; the most specific key wins (code, then name, then hadolint)."""
    from dataclasses import replace as replace_finding

    if not settings.severity:
        return list(findings)
    if rules is None:
        from dockopt.transforms import REGISTRY

        rules = REGISTRY
    by_code = {cls.code: cls for cls in rules}
    out = []
    for f in findings:
        cls = by_code.get(f.code)
        keys = [f.code, f.name, *(cls.hadolint_codes() if cls is not None else ())]
        level = next((settings.severity[k] for k in keys if k in settings.severity), None)
        levels: dict[str | None, Level] = {"error": "error", "warning": "warning",
                                           "info": "info", "style": "style"}
        new = levels.get(level)  # the config's values were checked against these
        out.append(replace_finding(f, level=new) if new is not None else f)
    return out


def report_file_diagnostics(shown: str, diagnostics: Sequence[Diagnostic], quiet: bool,
                            color: bool) -> tuple[list[Finding], list[Diagnostic]]:
    """One file's diagnostics, as check and fix both report them: parse errors become
    findings (returned), warnings go to stderr (not those already a finding, such as
    an unknown instruction), engine errors go to stderr and are returned."""
    parse_findings, engine = engine_errors(diagnostics)
    as_findings = {(f.code, f.line, f.column) for f in parse_findings}
    report_diagnostics(shown, [d for d in diagnostics if d.severity != "error"
                               and (d.code, d.line, d.column) not in as_findings],
                       quiet, color)
    if engine:
        report_diagnostics(shown, engine, quiet, color)
    return parse_findings, engine
