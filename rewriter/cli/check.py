"""`dockopt check`: report findings in text, JSON, SARIF or GitHub format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from dockopt.rewriter.cli.output import FileReport
from dockopt.rewriter.cli.common import (
    VERSION,
    Selection,
    build_context_for,
    print_errors,
    read_input,
    report_diagnostics,
    rule_options,
    say_context,
    setup,
    stream_color,
    write_to,
)

# --- check -------------------------------------------------------------------------


@click.command()
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
@rule_options
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

    selection = Selection.from_options(select, ignore, extend_select, unsafe_fixes, cache)
    errors: list[str] = []
    inputs, rules = setup(paths, stdin_filename, config, isolated, selection, errors)
    out_color = stream_color(color, sys.stdout)
    err_color = stream_color(color, sys.stderr)
    failed = bool(errors)
    reports: list[FileReport] = []
    unsafe = any(item.settings.unsafe_fixes for item in inputs)
    for item in inputs:
        text = read_input(item, errors)
        if text is None:
            failed = True
            continue
        path_arg = item.shown if item.shown != "-" else None
        findings, diagnostics = run_check(text, path=path_arg,
                                          context=build_context_for(item, context),
                                          settings=item.settings)
        say_context(item, quiet)
        failed = report_diagnostics(item.shown, diagnostics, quiet, err_color) or failed
        reports.append(output.FileReport(item.shown, text, output.sorted_findings(findings)))
    if statistics:
        write_to(sys.stdout, output.format_statistics(reports, unsafe_fixes=unsafe,
                                                    as_json=output_format == "json"))
    elif output_format in ("text", "concise"):
        write_to(sys.stdout, output.format_text(reports, color=out_color, unsafe_fixes=unsafe,
                                              concise=output_format == "concise"))
    elif output_format == "json":
        write_to(sys.stdout, output.format_json(reports))
    elif output_format == "sarif":
        write_to(sys.stdout, output.format_sarif(reports, rules, version=VERSION))
    else:
        write_to(sys.stdout, output.format_github(reports))
    print_errors(errors)
    if not quiet and output_format == "text" and not statistics:
        write_to(sys.stderr, output.check_summary(reports, unsafe_fixes=unsafe))
    if failed:
        sys.exit(2)
    if any(r.findings for r in reports) and not exit_zero:
        sys.exit(1)


