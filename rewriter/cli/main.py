"""The `dockopt` command line.

Start-up cost matters (editors run `dockopt` often), so this module imports only
click at load time; the parser, the engine and the transforms are imported inside
the commands that need them.

Conventions follow ruff, hadolint and shellcheck.  Exit codes: 0 = clean or
everything fixed; 1 = findings or diffs remain; 2 = a usage, config or parse error
(`--exit-zero` turns 1 into 0, as in ruff).
Machine output (diffs, the fixed text in stdin mode, json/sarif/github reports) goes
to stdout; messages, summaries and errors go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

if TYPE_CHECKING:
    from dockopt.rewriter.cli.output import FileReport
    from dockopt.rewriter.config import CachePolicy, Settings
    from dockopt.rewriter.pipeline import FixResult
    from dockopt.rewriter.syntax import Diagnostic, Dockerfile
    from dockopt.transforms.base import Transform

VERSION = "0.1.0"
# Long raw texts are cut in `debug tree` so one node stays on one screen line.
_TEXT_PREVIEW = 60
# Parser warnings (e.g. unknown instructions) shown per file: a template that is not
# really a Dockerfile would otherwise print one per line.
_MAX_WARNINGS = 5


def _write(stream: TextIO, text: str) -> None:
    """Write *text* as UTF-8, turning lone surrogates back into the bytes they came from.

    Input is decoded with surrogateescape, so any byte sequence round-trips through
    the tool; a text stream would reject those surrogates.
    """
    stream.flush()
    stream.buffer.write(text.encode("utf-8", "surrogateescape"))
    stream.buffer.flush()


def _out(line: str = "") -> None:
    _write(sys.stdout, line + "\n")


def _fail(message: str, code: int = 2) -> NoReturn:
    _write(sys.stderr, f"dockopt: error: {message}\n")
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
            _fail(f"{path}: {exc.strerror or exc}")
    return data.decode("utf-8", "surrogateescape")


def _load(path: str) -> tuple[str, Dockerfile]:
    """Read and parse FILE; the parser is imported here, not at start-up."""
    from dockopt.rewriter.syntax import parse

    text = _read_text(path)
    return text, parse(text)


def _preview(text: str) -> str:
    if len(text) > _TEXT_PREVIEW:
        return repr(text[:_TEXT_PREVIEW]) + f"...(+{len(text) - _TEXT_PREVIEW} chars)"
    return repr(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    VERSION, "--version", "-V", prog_name="dockopt", message="%(prog)s %(version)s"
)
def main() -> None:
    """dockopt: rewrite Dockerfiles for faster, smaller, safer images."""


@main.group()
def debug() -> None:
    """Inspect how dockopt parses a Dockerfile."""


@debug.command("tree")
@click.argument("file", type=click.Path(allow_dash=True, path_type=str))
def debug_tree(file: str) -> None:
    """Print every node of the lossless tree, then the diagnostics.

    Each line: kind, 1-based line span, char span, byte span (UTF-8), raw text.
    """
    text, tree = _load(file)
    _out(f"# bom={tree.bom!r} escape={tree.escape!r} newline={tree.newline!r}")
    # Byte offsets are computed incrementally: nodes come in file order.
    char_pos = byte_pos = 0
    for node in tree.items:
        byte_start = byte_pos + _utf8_len(text[char_pos : node.start])
        byte_end = byte_start + _utf8_len(text[node.start : node.end])
        char_pos, byte_pos = node.end, byte_end
        _out(
            f"{node.kind:<11} lines {node.start_line}-{node.end_line}"
            f" chars {node.start}:{node.end} bytes {byte_start}:{byte_end}"
            f" {_preview(node.text)}"
        )
    for diag in tree.diagnostics:
        _out(f"{file}:{diag.line}:{diag.column}: {diag.code} {diag.message}")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


@debug.command("semantic")
@click.argument("file", type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def debug_semantic(file: str, fmt: str) -> None:
    """Print what BuildKit's parser sees: one line (or JSON object) per instruction."""
    _, tree = _load(file)
    if fmt == "json":
        records = [
            {
                "keyword": ins.keyword,
                "sub_keyword": ins.sub_keyword,
                "start_line": ins.start_line,
                "end_line": ins.end_line,
                "flags": list(ins.flags),
                "json": ins.is_json,
                "value": list(ins.value),
                "heredocs": [[name, content] for name, content in ins.heredocs],
                "original": ins.original,
            }
            for ins in tree.instructions
        ]
        _out(json.dumps(records, indent=2, ensure_ascii=False))
        return
    for ins in tree.instructions:
        keyword = ins.keyword if ins.sub_keyword is None else f"{ins.keyword} {ins.sub_keyword}"
        _out(
            f"{ins.start_line}-{ins.end_line} {keyword} flags={ins.flags!r}"
            f" json={ins.is_json} value={ins.value!r} heredocs={ins.heredocs!r}"
        )


# --- shared by fix and check -------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def _split_codes(values: Iterable[str]) -> tuple[str, ...]:
    """`--select A,B --select C` -> ("A", "B", "C")."""
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


def _rule_options(command: F) -> F:
    """Options that choose the rules and the settings, shared by fix and check."""
    decorators = [
        click.option("--select", multiple=True, metavar="CODES",
                     help="Only these rules (codes, code prefixes, names or ALL; "
                          "comma-separated, repeatable). Replaces the config's select."),
        click.option("--ignore", multiple=True, metavar="CODES",
                     help="Skip these rules (added to the config's ignore)."),
        click.option("--extend-select", multiple=True, metavar="CODES",
                     help="Add these rules to the selection."),
        click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None,
                     help="Also apply (or report as fixable) fixes that may change "
                          "what the image does or contains."),
        click.option("--cache", "cache", type=click.Choice(["clean", "mount"]),
                     default=None, help="Cache policy: clean up package caches, or "
                                        "use BuildKit cache mounts (overrides the config)."),
        click.option("--config", "config", metavar="FILE",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Use this config file instead of searching for one."),
        click.option("--isolated", is_flag=True,
                     help="Ignore all config files."),
        click.option("--stdin-filename", metavar="NAME",
                     help="The name of the file read from stdin (`-`), for messages, "
                          "diff headers and config discovery."),
        click.option("--color", "color", type=click.Choice(["auto", "always", "never"]),
                     default="auto", show_default=True,
                     help="Colour the output (auto: on a terminal unless NO_COLOR is set)."),
        click.option("-q", "--quiet", is_flag=True,
                     help="Print findings and errors, but no summary."),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


@dataclass(frozen=True)
class _Selection:
    """What the command line says about settings (None: not given)."""

    select: tuple[str, ...] | None
    ignore: tuple[str, ...]
    extend_select: tuple[str, ...]
    unsafe_fixes: bool | None
    cache: CachePolicy | None

    @classmethod
    def from_options(cls, select: Sequence[str], ignore: Sequence[str],
                     extend_select: Sequence[str], unsafe_fixes: bool | None,
                     cache: str | None) -> _Selection:
        policies: dict[str | None, CachePolicy] = {"clean": "clean", "mount": "mount"}
        policy = policies.get(cache)  # click.Choice allows nothing else
        return cls(_split_codes(select) or None, _split_codes(ignore),
                   _split_codes(extend_select), unsafe_fixes, policy)

    def validate(self, rules: Sequence[type[Transform]]) -> None:
        """Exit 2 on a selector that matches no rule (a typo must not select nothing)."""
        for option, codes in (("--select", self.select or ()), ("--ignore", self.ignore),
                              ("--extend-select", self.extend_select)):
            for code in codes:
                if code == "ALL" or any(cls.code.startswith(code) or cls.name == code
                                        for cls in rules):
                    continue
                _fail(f"{option}: unknown rule selector `{code}`: it is not a rule name, "
                      "ALL, or a prefix of a rule code (see `dockopt rules`)")

    def apply(self, base: Settings) -> Settings:
        """ruff's layering: a CLI --select replaces the config's selection; ignores add up."""
        if self.select is not None:
            select, extend = self.select, self.extend_select
        else:
            select, extend = base.select, base.extend_select + self.extend_select
        out = replace(base, select=select, extend_select=extend,
                      ignore=base.ignore + self.ignore)
        if self.unsafe_fixes is not None:
            out = replace(out, unsafe_fixes=self.unsafe_fixes)
        if self.cache is not None:
            out = replace(out, cache=self.cache)
        return out


@dataclass
class _SettingsFinder:
    """Settings per file: --config, else the closest config file (cached per folder)."""

    config: Path | None
    isolated: bool
    selection: _Selection
    _by_folder: dict[str, Path | None] = field(default_factory=dict)
    _by_file: dict[Path | None, Settings] = field(default_factory=dict)

    def for_path(self, path: Path) -> Settings:
        """Raises ConfigError."""
        from dockopt.rewriter.config import Settings, find_config, load_settings

        if self.config is not None:
            source: Path | None = self.config
        elif self.isolated:
            source = None
        else:
            folder = str(path if path.is_dir() else path.parent)
            if folder not in self._by_folder:
                self._by_folder[folder] = find_config(Path(folder))
            source = self._by_folder[folder]
        if source not in self._by_file:
            base = load_settings(source) if source is not None else Settings()
            self._by_file[source] = self.selection.apply(base)
        return self._by_file[source]


@dataclass
class _Input:
    """One file to process: where it is read from, and what the user calls it."""

    source: str  # a path, or "-" for stdin
    shown: str  # the path in messages and diff headers
    settings: Settings
    # The build context found for it without --context (see _context_for), once.
    found_context: tuple[Path | None, str | None] | None = None


def _inputs(paths: Sequence[str], stdin_filename: str | None,
            finder: _SettingsFinder, errors: list[str]) -> list[_Input]:
    """Resolve the PATH arguments and every file's settings before touching any file,
    so a broken config stops the run before anything is written."""
    from dockopt.rewriter.config import ConfigError
    from dockopt.rewriter.discover import Missing, discover, display_path

    if "-" in paths and len(paths) > 1:
        _fail("`-` (stdin) cannot be combined with other paths")
    use_stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    out: list[_Input] = []
    try:
        if use_stdin:
            where = Path(stdin_filename) if stdin_filename else Path.cwd()
            shown = display_path(stdin_filename) if stdin_filename else "-"
            out.append(_Input("-", shown, finder.for_path(where)))
            return out
        for found in discover(paths or (".",)):
            if isinstance(found, Missing):
                errors.append(f"{found.path}: {found.reason}")
                continue
            out.append(_Input(found, display_path(found), finder.for_path(Path(found))))
    except ConfigError as exc:
        _write(sys.stderr, f"{exc}\n")
        sys.exit(2)
    return out


def _read_input(item: _Input, errors: list[str]) -> str | None:
    if item.source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(item.source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            errors.append(f"{item.shown}: {exc.strerror or exc}")
            return None
    return data.decode("utf-8", "surrogateescape")


def _report_diagnostics(shown: str, diagnostics: Iterable[Diagnostic], quiet: bool,
                        color: bool) -> bool:
    """Print parse and engine diagnostics to stderr; True if any is an error."""
    from dockopt.rewriter.cli.output import style

    failed = False
    warnings = 0
    for d in diagnostics:
        if d.severity == "error":
            failed = True
        else:
            warnings += 1
            if quiet or warnings > _MAX_WARNINGS:
                continue
        _write(sys.stderr, style(d.format(shown), color, fg="red" if d.severity == "error"
                                  else "yellow") + "\n")
    if warnings > _MAX_WARNINGS and not quiet:
        _write(sys.stderr, f"{shown}: {warnings - _MAX_WARNINGS} more warnings not shown\n")
    return failed


def _print_errors(errors: Iterable[str]) -> None:
    for message in errors:
        _write(sys.stderr, f"dockopt: error: {message}\n")


def _color(choice: str, stream: TextIO) -> bool:
    from dockopt.rewriter.cli.output import use_color

    isatty = getattr(stream, "isatty", None)
    return use_color(choice, bool(isatty and isatty()))


def atomic_write(path: str, data: bytes) -> None:
    """See dockopt.rewriter.fileio.atomic_write (imported lazily: start-up cost)."""
    from dockopt.rewriter.fileio import atomic_write as write

    write(path, data)


def _setup(paths: tuple[str, ...], stdin_filename: str | None, config: Path | None,
           isolated: bool, selection: _Selection, errors: list[str]
           ) -> tuple[list[_Input], tuple[type[Transform], ...]]:
    from dockopt.rewriter.rules_doc import all_rules

    rules = all_rules()
    selection.validate(rules)
    if config is not None and not config.is_file():
        _write(sys.stderr, f"{config}:1:1: config file not found\n")
        sys.exit(2)
    finder = _SettingsFinder(config, isolated, selection)
    return _inputs(paths, stdin_filename, finder, errors), rules


# --- fix ---------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print each transform's diff. Exit 1 if there is any.")
@click.option("--context", "context", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The build context folder (for transforms that read it; default: "
                   "the one a compose file in the Dockerfile's folder or a parent "
                   "gives it, else its folder).")
@click.option("--show-fixes", is_flag=True, help="List the fixes applied to each file.")
@click.option("--exit-non-zero-on-fix", is_flag=True,
              help="Exit 1 when anything was fixed, even if nothing remains.")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when findings or diffs remain (as ruff's --exit-zero; "
                   "overrides --exit-non-zero-on-fix); errors still exit 2.")
@click.option("--verify", "verify_builds", is_flag=True,
              help="Build the original and the rewrite with a real engine and write only "
                   "fixes whose output builds, passes its smoke test and is not bigger; "
                   "transforms that fail are left out (found by bisection).")
@click.option("--engine", type=click.Choice(["auto", "docker", "podman", "buildah"]),
              default="auto", show_default=True, help="Container engine for --verify.")
@_rule_options
def fix(paths: tuple[str, ...], show_diff: bool, context: Path | None, show_fixes: bool,
        exit_non_zero_on_fix: bool, exit_zero: bool, verify_builds: bool, engine: str,
        select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
        unsafe_fixes: bool | None, cache: str | None, config: Path | None, isolated: bool,
        stdin_filename: str | None, color: str, quiet: bool) -> None:
    """Fix Dockerfiles in place (or print the diffs with --diff).

    PATHS are files, or folders searched for Dockerfile, Containerfile, *.Dockerfile
    and Dockerfile.*; the default is the current folder.  With `-` the file is read
    from stdin and the fixed text is written to stdout.
    """
    from dockopt.rewriter.cli.output import (
        colorize_diff,
        finding_line,
        fix_summary,
        sorted_findings,
    )
    from dockopt.rewriter.pipeline import fix as run_fix

    selection = _Selection.from_options(select, ignore, extend_select, unsafe_fixes, cache)
    errors: list[str] = []
    inputs, _ = _setup(paths, stdin_filename, config, isolated, selection, errors)
    out_color = _color(color, sys.stdout)
    err_color = _color(color, sys.stderr)
    failed = bool(errors)
    fixed = remaining = held = 0
    any_diff = False
    for item in inputs:
        text = _read_input(item, errors)
        if text is None:
            failed = True
            continue
        path_arg = item.shown if item.shown != "-" else None
        if verify_builds:
            if item.source == "-":
                _fail("--verify needs a file: it builds the image from its context")
            verified = _verified_fix(item, context, engine)
            if verified is None:
                failed = True
                continue
            result = verified
        else:
            result = run_fix(text, path=path_arg, context=_context_for(item, context),
                             settings=item.settings)
        _say_context(item, quiet)
        diff = result.diff()
        any_diff = any_diff or bool(diff)
        if show_diff:
            if diff:
                _write(sys.stdout, colorize_diff(diff, out_color))
        elif item.source == "-":
            _write(sys.stdout, result.text)
        elif result.changed or result.extra_files:
            try:
                if result.changed:
                    atomic_write(item.source,
                                 result.text.encode("utf-8", "surrogateescape"))
                _write_extra_files(item, context, result)
            except OSError as exc:
                errors.append(f"{item.shown}: cannot write: {exc.strerror or exc}")
                failed = True
                continue
        failed = _report_diagnostics(item.shown, result.diagnostics, quiet, err_color) or failed
        if show_fixes and result.changes:
            _show_fixes(item.shown, result, err_color)
        for f in sorted_findings(result.findings):
            _write(sys.stderr, finding_line(item.shown, f, color=err_color,
                                            unsafe_fixes=item.settings.unsafe_fixes,
                                            marker=False) + "\n")
        fixed += sum(c.fixes for c in result.changes)
        remaining += len(result.findings)
        held += result.held_back
    _print_errors(errors)
    if not quiet:
        _write(sys.stderr, fix_summary(fixed, remaining, held, diff=show_diff))
    if failed:
        sys.exit(2)
    if exit_zero:  # for orchestrators that commit only after exit 0 (multi-gitter...)
        return
    if remaining or (show_diff and any_diff) or (exit_non_zero_on_fix and fixed):
        sys.exit(1)


def _verified_fix(item: _Input, context: Path | None, engine: str) -> FixResult | None:
    """`fix --verify`: the fix minus transforms whose output fails a real build.

    None (after printing why) when nothing can be verified: no engine, or the
    original itself does not build.
    """
    from dockopt.rewriter.verify.session import verify_fix

    verified = verify_fix(Path(item.source), _context_for(item, context), item.settings,
                          engine=engine)
    if verified.fatal is not None:
        _write(sys.stderr, f"{item.shown}: not verified, nothing written: "
                           f"{verified.fatal}\n")
        return None
    if verified.failed:
        _write(sys.stderr, f"{item.shown}: left out after failing verification: "
                           f"{', '.join(verified.failed)}\n")
    return verified.result


def _context_for(item: _Input, context: Path | None) -> Path | None:
    """The build context: --context, else the one a compose file gives the Dockerfile
    (compose.context_for), else the Dockerfile's folder; none for stdin."""
    if context is not None:
        return context
    if item.source == "-":
        return None
    if item.found_context is None:
        from dockopt.rewriter.compose import context_for

        item.found_context = context_for(Path(item.source))
    return item.found_context[0]


def _say_context(item: _Input, quiet: bool) -> None:
    """Print the note of a compose-chosen context once per file (stderr)."""
    if not quiet and item.found_context is not None and item.found_context[1]:
        _write(sys.stderr, f"{item.shown}: {item.found_context[1]}\n")


def _write_extra_files(item: _Input, context: Path | None, result: FixResult) -> None:
    """Write the other context files a fix changed (e.g. .dockerignore), atomically."""
    root = _context_for(item, context)
    if root is None:
        return
    for rel, (_old, new) in sorted(result.extra_files.items()):
        atomic_write(str(root / rel), new.encode("utf-8", "surrogateescape"))


def _show_fixes(shown: str, result: FixResult, color: bool) -> None:
    from dockopt.rewriter.cli.output import first_changed_line, style

    for change in result.changes:
        line = first_changed_line(change.diff)
        where = f"{shown}:{line}" if line is not None else shown
        count = f" ({change.fixes} fixes)" if change.fixes > 1 else ""
        _write(sys.stderr, f"{style(where, color, bold=True)} "
                           f"{style(change.code, color, fg='green', bold=True)} "
                           f"{change.title}{count}\n")


# --- check -------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@click.option("--output-format", "output_format",
              type=click.Choice(["text", "concise", "json", "sarif", "github"]),
              default="text", show_default=True, help="How to print the findings.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule.")
@click.option("--context", "context", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The build context folder (default: the one a compose file in the "
                   "Dockerfile's folder or a parent gives it, else its folder).")
@_rule_options
def check(paths: tuple[str, ...], output_format: str, exit_zero: bool, statistics: bool,
          context: Path | None, select: tuple[str, ...], ignore: tuple[str, ...],
          extend_select: tuple[str, ...], unsafe_fixes: bool | None, cache: str | None,
          config: Path | None, isolated: bool, stdin_filename: str | None, color: str,
          quiet: bool) -> None:
    """Report findings without changing any file.

    `[*]` marks a finding that `dockopt fix` would fix (with --unsafe-fixes, unsafe
    fixes count too).
    """
    from dockopt.rewriter.cli import output
    from dockopt.rewriter.pipeline import check as run_check

    selection = _Selection.from_options(select, ignore, extend_select, unsafe_fixes, cache)
    errors: list[str] = []
    inputs, rules = _setup(paths, stdin_filename, config, isolated, selection, errors)
    out_color = _color(color, sys.stdout)
    err_color = _color(color, sys.stderr)
    failed = bool(errors)
    reports: list[FileReport] = []
    unsafe = any(item.settings.unsafe_fixes for item in inputs)
    for item in inputs:
        text = _read_input(item, errors)
        if text is None:
            failed = True
            continue
        path_arg = item.shown if item.shown != "-" else None
        findings, diagnostics = run_check(text, path=path_arg,
                                          context=_context_for(item, context),
                                          settings=item.settings)
        _say_context(item, quiet)
        failed = _report_diagnostics(item.shown, diagnostics, quiet, err_color) or failed
        reports.append(output.FileReport(item.shown, text, output.sorted_findings(findings)))
    if statistics:
        _write(sys.stdout, output.format_statistics(reports, unsafe_fixes=unsafe,
                                                    as_json=output_format == "json"))
    elif output_format in ("text", "concise"):
        _write(sys.stdout, output.format_text(reports, color=out_color, unsafe_fixes=unsafe,
                                              concise=output_format == "concise"))
    elif output_format == "json":
        _write(sys.stdout, output.format_json(reports))
    elif output_format == "sarif":
        _write(sys.stdout, output.format_sarif(reports, rules, version=VERSION))
    else:
        _write(sys.stdout, output.format_github(reports))
    _print_errors(errors)
    if not quiet and output_format == "text" and not statistics:
        _write(sys.stderr, output.check_summary(reports, unsafe_fixes=unsafe))
    if failed:
        sys.exit(2)
    if any(r.findings for r in reports) and not exit_zero:
        sys.exit(1)


# --- rules -------------------------------------------------------------------------


@main.command("rules")
@click.option("--output-format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, fix safety (`-`: reported only) and summary."""
    from dockopt.rewriter.rules_doc import all_rules, rule_record, rules_table

    rules = all_rules()
    if output_format == "json":
        _out(json.dumps([rule_record(cls) for cls in rules], indent=2, ensure_ascii=False))
    else:
        _write(sys.stdout, rules_table(rules))


@main.command("rule")
@click.argument("code")
@click.option("--output-format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def rule_command(code: str, output_format: str) -> None:
    """Explain one rule (by code or name): its documentation."""
    from dockopt.rewriter.rules_doc import docstring, find_rule, rule_record, rule_text

    cls = find_rule(code)
    if cls is None:
        _fail(f"unknown rule `{code}` (see `dockopt rules`)")
    if output_format == "json":
        _out(json.dumps({**rule_record(cls), "explanation": docstring(cls)}, indent=2,
                        ensure_ascii=False))
    else:
        _write(sys.stdout, rule_text(cls))


# `verify` lives in its own module (engines, builds); importing it costs only click.
from dockopt.rewriter.cli.verify import verify  # noqa: E402

main.add_command(verify)

# `bulk` (many repositories) loads its machinery only when it runs.
from dockopt.rewriter.cli.bulk import bulk  # noqa: E402

main.add_command(bulk)
