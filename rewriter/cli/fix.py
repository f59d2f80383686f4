"""`dockopt fix`: apply fixes in place, print diffs, or fix stdin to stdout."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.fixresult import FixResult
    from dockopt.rewriter.result_cache import CacheSpec
    from dockopt.transforms.base import Finding
from dockopt.rewriter.cli.common import (
    atomic_write,
    fail,
    print_errors,
    report_file_diagnostics,
    stream_color,
    summary_line,
    threshold_failed,
    unreadable_finding,
    with_levels,
    write_to,
)
from dockopt.rewriter.cli.inputs import (
    Input,
    build_context_for,
    read_input,
    results_cache,
    say_context,
    setup,
)
from dockopt.rewriter.cli.options import (
    NO_CONFIG,
    ConfigOption,
    Selection,
    cache_dir_option,
    jobs_option,
    make_exclusion,
    no_cache_option,
    rule_options,
)

# --- fix ---------------------------------------------------------------------------


class FixTask(NamedTuple):
    """One file's engine work, as sent to a worker (plain, picklable data)."""

    text: str
    path: str | None
    context: Path | None
    settings: Settings
    # The file whose patch name (discover.patch_path) the diffs' headers carry: worked
    # out only when the engine runs (a tenth of a cache answer's cost otherwise).
    patch_source: str | None
    cache: CacheSpec | None = None  # the results cache, when in use
    # This run writes fixes: the build context may have changed since another file of
    # it was fingerprinted (a fixed Dockerfile, a new .dockerignore), so fingerprint it
    # anew for each file instead of once per run.
    writes: bool = False


def fix_task(task: FixTask | None) -> FixResult | None:
    """One file fixed (run in a worker with --jobs); None when there is nothing to fix
    (unreadable, not text, or --verify, which the parent runs itself).

    With the results cache: when the file's entry (check's, or an earlier fix's)
    still holds and none of its findings would be applied, the answer is made from
    the entry without loading the engine (``fixresult.unchanged``: what the engine
    returns then); otherwise the engine runs, and on a miss its first pass's outcome
    (check's answer for the text as given) is stored, with the context's fingerprint
    taken before anything of this run's fix is written."""
    if task is None:
        return None
    if task.cache is None:
        return _engine_fix(task)
    from dockopt.rewriter import result_cache
    from dockopt.rewriter.fixresult import first_pass_outcome, unchanged

    hit, facts = result_cache.load(task.cache, task.text, task.path, task.context,
                                   task.settings, memo=not task.writes)
    if hit is not None:
        answer = unchanged(task.text, task.path, hit[0], hit[1], task.settings)
        if answer is not None:
            return answer  # the engine is not even imported
        return _engine_fix(task)  # something to fix; the entry holds as it is
    result = _engine_fix(task)
    outcome = first_pass_outcome(result)
    if outcome is not None:
        result_cache.store(facts, outcome)
    return result


def _engine_fix(task: FixTask) -> FixResult:
    from dockopt.rewriter.discover import patch_path
    from dockopt.rewriter.pipeline import fix as run_fix

    return run_fix(task.text, path=task.path, context=task.context, settings=task.settings,
                   diff_path=patch_path(task.patch_source) if task.patch_source else None)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@click.option("--diff", "show_diff", is_flag=True,
              help="Write nothing; print each transform's diff on stdout (nothing else). "
                   "Exit 1 if there is a diff, else 0.")
@click.option("--context", "context", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The build context folder (for transforms that read it; default: "
                   "the one a compose file in the Dockerfile's folder or a parent "
                   "gives it, else its folder; for stdin, that of --stdin-filename).")
@click.option("--show-fixes", is_flag=True, help="List the fixes applied to each file.")
@click.option("--fix-only", is_flag=True,
              help="Apply fixes and report nothing that remains; exit 0 unless "
                   "--exit-non-zero-on-fix.")
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
@click.option("--output-format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True,
              help="json: one document on stdout with, per file, the fixes applied and "
                   "the findings that remain (not with --diff or stdin, whose stdout "
                   "carries the patch or the text).")
@no_cache_option
@cache_dir_option
@jobs_option
@rule_options
def fix(paths: tuple[str, ...], show_diff: bool = False, context: Path | None = None,
        output_format: str = "text",
        show_fixes: bool = False, fix_only: bool = False, exit_non_zero_on_fix: bool = False,
        exit_zero: bool = False, verify_builds: bool = False, engine: str = "auto",
        select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
        extend_select: tuple[str, ...] = (), fixable: tuple[str, ...] = (),
        unfixable: tuple[str, ...] = (), extend_safe_fixes: tuple[str, ...] = (),
        extend_unsafe_fixes: tuple[str, ...] = (), unsafe_fixes: bool | None = None,
        cache: str | None = None, config: ConfigOption = NO_CONFIG,
        isolated: bool = False,
        exclude: tuple[str, ...] = (), extend_exclude: tuple[str, ...] = (),
        force_exclude: bool = False, respect_gitignore: bool = True,
        failure_threshold: str | None = None, stdin_filename: str | None = None,
        color: str = "auto", quiet: bool = False, jobs: int | None = None,
        no_cache: bool = False, cache_dir: Path | None = None) -> None:
    """Fix Dockerfiles in place (or print the diffs with --diff).

    PATHS are files, or folders searched for Dockerfile, Containerfile, *.Dockerfile,
    Dockerfile.* and Dockerfile-*; the default is the current folder.  With `-` the
    file is read from stdin and the fixed text is written to stdout.

    What remains after fixing is printed on stdout (as `dockopt check` does), or on
    stderr when stdout carries the fixed text (stdin) or the patch (--diff).  Exit
    codes: 0 nothing at or above the failure threshold remains; 1 something does
    (with --diff: 1 when there is a diff, whatever remains); 2 a usage, config or
    internal error.
    """
    from dockopt.rewriter.cli.output import (
        colorize_diff,
        finding_line,
        fix_summary,
        sorted_findings,
        terminal_safe,
    )
    from dockopt.rewriter.cli.parallel import ordered_map, worker_count

    as_json = output_format == "json"
    if as_json and (show_diff or "-" in paths or (not paths and stdin_filename)):
        fail("--output-format json cannot be combined with --diff or stdin: their stdout "
             "carries the patch or the fixed text (the JSON holds each fix's diff)")
    selection = Selection.from_options(select, ignore, extend_select, unsafe_fixes, cache,
                                       failure_threshold).with_fix_options(
        fixable, unfixable, extend_safe_fixes, extend_unsafe_fixes)
    errors: list[str] = []
    inputs, _ = setup(paths, stdin_filename, config, isolated, selection, errors,
                      make_exclusion(exclude, extend_exclude, force_exclude, respect_gitignore))
    out_color = stream_color(color, sys.stdout)
    err_color = stream_color(color, sys.stderr)
    internal = bool(errors)
    fixed = remaining = held = applied = 0
    any_diff = findings_fail = False
    # JSON: each file's record is written when its turn comes (the summary, which
    # only the end knows, comes after them), so no run holds every file's record.
    records = _JsonFiles() if as_json else None
    # --verify builds each file's fix itself: no cache.
    cache_spec = None if verify_builds else results_cache(inputs, no_cache, cache_dir, quiet,
                                                          doing="fixing")

    def tasks() -> Iterator[tuple[tuple[Input, str | None], FixTask | None]]:
        # Files are read here, in input order; only the engine's work goes to the pool
        # (the writes and every message stay in this process, in input order).
        for item in inputs:
            text = read_input(item, errors)
            task = None
            if text is not None and unreadable_finding(text) is None and not verify_builds:
                task = FixTask(text, item.shown if item.shown != "-" else None,
                               build_context_for(item, context), item.settings,
                               item.patch_source(),
                               cache_spec,
                               writes=not show_diff)
            yield (item, text), task

    # --verify builds images: one file at a time, in this process.
    workers = 1 if verify_builds else worker_count(jobs, len(inputs))
    # Writing fixes: one Dockerfile of a build context at a time, so the next sees the
    # .dockerignore the previous one wrote (as in one process).
    serial = None if show_diff else _writes_into
    for (item, text), fixed_here in ordered_map(fix_task, tasks(), workers, serial,
                                                total=len(inputs)):
        if text is None:
            internal = True
            continue
        # Remaining findings go where the machine output is not.
        report_stream = sys.stderr if show_diff or item.source == "-" else sys.stdout
        report_color = err_color if report_stream is sys.stderr else out_color
        not_text = unreadable_finding(text)
        if not_text is not None:
            if item.source == "-":
                write_to(sys.stdout, text)  # stdin mode always echoes what it cannot fix
            if records is not None:
                records.add(fix_record(item.shown, text, None, (not_text,)))
            elif not fix_only:
                write_to(report_stream, finding_line(item.shown, not_text,
                                                     color=report_color) + "\n")
            remaining += 1
            findings_fail = True
            continue
        if verify_builds:
            if item.source == "-":
                fail("--verify needs a file: it builds the image from its context")
            verified = _verified_fix(item, context, engine)
            if verified is None:
                internal = True
                continue
            result = verified
        else:
            assert fixed_here is not None  # a readable text always gets a task
            result = fixed_here
        say_context(item, quiet)
        diff = result.diff()
        any_diff = any_diff or bool(diff)
        if show_diff:
            if diff:
                shown_diff = diff
                if sys.stdout.isatty():  # a patch for the eyes: no raw control characters
                    shown_diff = terminal_safe(diff)
                write_to(sys.stdout, colorize_diff(shown_diff, out_color))
        elif item.source == "-":
            write_to(sys.stdout, result.text)
            if result.extra_files:
                names = ", ".join(sorted(result.extra_files))
                write_to(sys.stderr, f"{item.shown}: not written in stdin mode: {names} "
                                     "(only the Dockerfile goes to stdout; run `dockopt "
                                     "fix` on the file to write them)\n")
        elif result.changed or result.extra_files:
            try:
                if result.changed:
                    atomic_write(item.source,
                                 result.text.encode("utf-8", "surrogateescape"))
                _write_extra_files(item, context, result)
            except OSError as exc:
                errors.append(f"{item.shown}: cannot write: {exc.strerror or exc}")
                internal = True
                continue
        parse_findings, engine_diags = report_file_diagnostics(item.shown, result.diagnostics,
                                                               quiet, err_color)
        internal = internal or bool(engine_diags)
        if show_fixes and result.changes:
            _show_fixes(item.shown, result, err_color)
        left = sorted_findings(with_levels([*result.findings, *parse_findings], item.settings))
        if records is not None:
            records.add(fix_record(item.shown, result.text, result,
                                   () if fix_only else left))
        elif not fix_only:
            for f in left:
                write_to(report_stream, finding_line(item.shown, f, color=report_color,
                                                     unsafe_fixes=item.settings.unsafe_fixes,
                                                     marker=False) + "\n")
        applied += sum(c.fixes for c in result.changes)
        fixed += resolved(with_levels(result.initial, item.settings), left)
        remaining += len(left)
        held += result.held_back
        findings_fail = findings_fail or threshold_failed(left, item.settings)
    if records is not None:
        records.close({"issues": fixed + remaining, "fixed": fixed,
                       "remaining": remaining, "hidden_fixes": held})
    print_errors(errors)
    if not quiet and not fix_only and inputs:
        write_to(sys.stderr, summary_line(fix_summary(fixed, remaining, held, diff=show_diff),
                                          internal))
    if internal:
        sys.exit(2)
    if exit_zero:  # for orchestrators that commit only after exit 0 (multi-gitter...)
        return
    if show_diff:
        if any_diff:
            sys.exit(1)
        return
    if (findings_fail and not fix_only) or (exit_non_zero_on_fix and applied):
        sys.exit(1)


class _JsonFiles:
    """`fix --output-format json` on stdout, file by file: ``{"files": [`` and each
    record as it comes, then the summary: what ``json.dumps({"files": [...],
    "summary": {...}}, indent=2)`` prints, byte for byte."""

    def __init__(self) -> None:
        from dockopt.rewriter.cli.stream import JsonArray

        self.write('{\n  "files": [')
        self.files = JsonArray(self.write, 1)

    def write(self, text: str) -> None:
        write_to(sys.stdout, text)

    def add(self, record: dict[str, Any]) -> None:
        self.files.add(record)

    def close(self, summary: dict[str, int]) -> None:
        from dockopt.rewriter.cli.stream import json_item

        self.files.close()
        self.write(',\n  "summary": ' + json_item(summary, 1).lstrip() + "\n}\n")


def fix_record(shown: str, text: str, result: FixResult | None,
               left: Sequence[Finding]) -> dict[str, Any]:
    """One file of `fix --output-format json`: what was fixed (each step with its
    diff) and what remains (check's JSON records, positions in the fixed text)."""
    from dockopt.rewriter.cli.output import LineIndex, finding_record

    index = LineIndex(text)
    changes = result.changes if result is not None else ()
    return {
        "file": shown,
        "changed": bool(result is not None and result.changed),
        "fixes": [{"code": c.code, "name": c.name, "title": c.title, "safety": c.safety,
                   "count": c.fixes, "diff": c.diff} for c in changes],
        "files_written": sorted(result.extra_files) if result is not None else [],
        "remaining": [finding_record(shown, f, index) for f in left],
    }


def resolved(before: Sequence[Finding], after: Sequence[Finding]) -> int:
    """How many of the findings on the original text the fixes resolved, per rule
    (a count, since fixes move lines): what `check` reported minus what remains, so
    `fix`'s total equals `check`'s count. It includes findings `check` could not
    mark fixable because another fix had to come first (DO204 after DO202)."""
    from collections import Counter

    left = Counter(f.code for f in after)
    return sum(max(0, n - left[code]) for code, n in Counter(f.code for f in before).items())


def _writes_into(task: FixTask | None) -> str | None:
    """The folder a fix of ``task`` may write context files into (its build context)."""
    if task is None or task.context is None:
        return None
    return os.path.realpath(task.context)


def _verified_fix(item: Input, context: Path | None, engine: str) -> FixResult | None:
    """`fix --verify`: the fix minus transforms whose output fails a real build.

    None (after printing why) when nothing can be verified: no engine, or the
    original itself does not build.
    """
    from dockopt.rewriter.verify.session import verify_fix

    verified = verify_fix(Path(item.source), build_context_for(item, context), item.settings,
                          engine=engine, diff_path=item.patch_name())
    if verified.fatal is not None:
        write_to(sys.stderr, f"{item.shown}: not verified, nothing written: "
                           f"{verified.fatal}\n")
        return None
    if verified.failed:
        write_to(sys.stderr, f"{item.shown}: left out after failing verification: "
                           f"{', '.join(verified.failed)}\n")
    return verified.result


def _write_extra_files(item: Input, context: Path | None, result: FixResult) -> None:
    """Write the other context files a fix changed (e.g. .dockerignore), atomically."""
    root = build_context_for(item, context)
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
        write_to(sys.stderr, f"{style(where, color, bold=True)} "
                           f"{style(change.code, color, fg='green', bold=True)} "
                           f"{change.title}{count}\n")


