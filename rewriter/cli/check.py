"""`dockopt check`: report findings in text, full, concise, JSON, JSON lines, SARIF,
GitHub, GitLab, JUnit or Checkstyle format; `check --fix` is `dockopt fix`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import click

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.result_cache import CacheSpec
    from dockopt.rewriter.syntax import Diagnostic
    from dockopt.transforms.base import Finding
from dockopt.rewriter.cli.common import (
    print_errors,
    report_file_diagnostics,
    stream_color,
    summary_line,
    threshold_failed,
    unreadable_finding,
    version,
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
    ConfigOption,
    Selection,
    cache_dir_option,
    jobs_option,
    make_exclusion,
    no_cache_option,
    rule_options,
)


class CheckTask(NamedTuple):
    """One file's engine work, as sent to a worker (plain, picklable data)."""

    text: str
    path: str | None
    context: Path | None
    settings: Settings
    cache: CacheSpec | None = None  # the results cache, when in use


def check_task(task: CheckTask | None) -> tuple[list[Finding], list[Diagnostic]] | None:
    """The findings and diagnostics of one file (run in a worker with --jobs): from
    the results cache when its entry still holds, else computed (and stored)."""
    if task is None:  # unreadable or not text: nothing for the engine to do
        return None
    if task.cache is None:
        return _engine_check(task)
    from dockopt.rewriter import result_cache

    hit, facts = result_cache.load(task.cache, task.text, task.path, task.context,
                                   task.settings)
    if hit is not None:
        return hit  # the engine is not even imported
    outcome = _engine_check(task)
    result_cache.store(facts, outcome)
    return outcome


def _engine_check(task: CheckTask) -> tuple[list[Finding], list[Diagnostic]]:
    from dockopt.rewriter.pipeline import check as run_check

    return run_check(task.text, path=task.path, context=task.context,
                     settings=task.settings)


FORMATS = ("text", "full", "concise", "json", "json-lines", "sarif", "github", "gitlab",
           "junit", "checkstyle")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@click.option("--output-format", "output_format", type=click.Choice(FORMATS),
              envvar="DOCKOPT_OUTPUT_FORMAT", show_envvar=True,
              default="text", show_default=True, help="How to print the findings.")
@click.option("-o", "--output-file", "output_file", metavar="FILE",
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the findings to FILE instead of stdout (atomically).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule.")
@click.option("--context", "context", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The build context folder (default: the one a compose file in the "
                   "Dockerfile's folder or a parent gives it, else its folder).")
@click.option("--fix/--no-fix", "apply_fixes", default=False,
              help="Apply fixes (as `dockopt fix`), then report what remains.")
@click.option("--fix-only", is_flag=True,
              help="Apply fixes and report nothing that remains; exit 0 unless "
                   "--exit-non-zero-on-fix.")
@click.option("--exit-non-zero-on-fix", is_flag=True,
              help="With --fix/--fix-only: exit 1 when anything was fixed.")
@no_cache_option
@cache_dir_option
@jobs_option
@rule_options
@click.pass_context
def check(click_ctx: click.Context, paths: tuple[str, ...], output_format: str,
          output_file: Path | None, exit_zero: bool, statistics: bool, context: Path | None,
          apply_fixes: bool, fix_only: bool, exit_non_zero_on_fix: bool,
          select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
          fixable: tuple[str, ...], unfixable: tuple[str, ...],
          extend_safe_fixes: tuple[str, ...], extend_unsafe_fixes: tuple[str, ...],
          unsafe_fixes: bool | None, cache: str | None, config: ConfigOption, isolated: bool,
          exclude: tuple[str, ...], extend_exclude: tuple[str, ...], force_exclude: bool,
          respect_gitignore: bool, failure_threshold: str | None,
          stdin_filename: str | None, color: str, quiet: bool, jobs: int | None,
          no_cache: bool = False, cache_dir: Path | None = None) -> None:
    """Report findings without changing any file.

    `[*]` marks a finding that `dockopt fix` would fix (with --unsafe-fixes, unsafe
    fixes count too).  Exit codes: 0 no finding at or above the failure threshold,
    1 some, 2 a usage, config or internal error.
    """
    if apply_fixes or fix_only:
        from dockopt.rewriter.cli.fix import fix

        click_ctx.invoke(fix, paths=paths, context=context, exit_zero=exit_zero,
                         exit_non_zero_on_fix=exit_non_zero_on_fix, fix_only=fix_only,
                         select=select, ignore=ignore, extend_select=extend_select,
                         fixable=fixable, unfixable=unfixable,
                         extend_safe_fixes=extend_safe_fixes,
                         extend_unsafe_fixes=extend_unsafe_fixes,
                         unsafe_fixes=unsafe_fixes, cache=cache, config=config,
                         isolated=isolated, exclude=exclude, extend_exclude=extend_exclude,
                         force_exclude=force_exclude, respect_gitignore=respect_gitignore,
                         failure_threshold=failure_threshold,
                         stdin_filename=stdin_filename, color=color, quiet=quiet,
                         jobs=jobs, no_cache=no_cache, cache_dir=cache_dir)
        return
    from dockopt.rewriter.cli import output, stream
    from dockopt.rewriter.cli.parallel import ordered_map, worker_count

    selection = Selection.from_options(select, ignore, extend_select, unsafe_fixes, cache,
                                       failure_threshold).with_fix_options(
        fixable, unfixable, extend_safe_fixes, extend_unsafe_fixes)
    errors: list[str] = []
    inputs, rules = setup(paths, stdin_filename, config, isolated, selection, errors,
                          make_exclusion(exclude, extend_exclude, force_exclude,
                                         respect_gitignore))
    to_file = output_file is not None
    out_color = not to_file and stream_color(color, sys.stdout)
    err_color = stream_color(color, sys.stderr)
    internal = bool(errors)
    notifications: list[tuple[str, str]] = []
    findings_fail = False
    unsafe = inputs.unsafe_fixes  # known before the first file (the first walk)
    # Each file's part of the report is written when its turn comes (input order), and
    # only counters are kept: memory stays flat whatever the number of files.
    sink = stream.Sink(output_file)
    tally = stream.Tally(unsafe)
    render = None if statistics else stream.renderer(
        output_format, sink.write, color=out_color, unsafe_fixes=unsafe,
        rules=rules() if output_format == "sarif" else (),
        version=version)
    cache_spec = results_cache(inputs, no_cache, cache_dir, quiet)

    def tasks() -> Iterator[tuple[tuple[Input, str | None], CheckTask | None]]:
        # Files are read here, in input order (so are read errors); only the engine's
        # work goes to the pool.
        for item in inputs:
            text = read_input(item, errors)
            task = None
            if text is not None and unreadable_finding(text) is None:
                task = CheckTask(text, item.shown if item.shown != "-" else None,
                                 build_context_for(item, context), item.settings,
                                 cache_spec)
            yield (item, text), task

    workers = worker_count(jobs, len(inputs))
    for (item, text), outcome in ordered_map(check_task, tasks(), workers,
                                              total=len(inputs)):
        if text is None:
            internal = True
            continue
        not_text = unreadable_finding(text)
        diagnostics: Sequence[Diagnostic] = ()
        if not_text is not None or outcome is None:
            findings = [not_text] if not_text is not None else []
        else:
            found, diagnostics = outcome
            findings = list(found)
        say_context(item, quiet)
        parse_findings, engine = report_file_diagnostics(item.shown, diagnostics, quiet,
                                                         err_color)
        findings += parse_findings
        if engine:
            internal = True
            notifications += [(item.shown, f"{d.code} {d.message}") for d in engine]
        report = output.FileReport(item.shown, text,
                                   output.sorted_findings(with_levels(findings, item.settings)))
        tally.add(report)
        if render is not None:
            render.file(report)
        findings_fail = findings_fail or threshold_failed(report.findings, item.settings)
    if render is not None:
        render.close(notifications)
    else:
        sink.write(tally.statistics(as_json=output_format == "json"))
    sink.close()
    if sink.error is not None:
        errors.append(sink.error)
        internal = True
    print_errors(errors)
    if not quiet and output_format in ("text", "full") and not statistics and inputs:
        write_to(sys.stderr, summary_line(tally.summary(), internal))
    if internal:
        sys.exit(2)
    if findings_fail and not exit_zero:
        sys.exit(1)

