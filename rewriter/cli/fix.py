"""`dockopt fix`: apply fixes in place, print diffs, or fix stdin to stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from dockopt.rewriter.pipeline import FixResult
from dockopt.rewriter.cli.common import (
    Input,
    Selection,
    atomic_write,
    build_context_for,
    fail,
    print_errors,
    read_input,
    report_diagnostics,
    rule_options,
    say_context,
    setup,
    stream_color,
    write_to,
)

# --- fix ---------------------------------------------------------------------------


@click.command()
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
@rule_options
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

    selection = Selection.from_options(select, ignore, extend_select, unsafe_fixes, cache)
    errors: list[str] = []
    inputs, _ = setup(paths, stdin_filename, config, isolated, selection, errors)
    out_color = stream_color(color, sys.stdout)
    err_color = stream_color(color, sys.stderr)
    failed = bool(errors)
    fixed = remaining = held = 0
    any_diff = False
    for item in inputs:
        text = read_input(item, errors)
        if text is None:
            failed = True
            continue
        path_arg = item.shown if item.shown != "-" else None
        if verify_builds:
            if item.source == "-":
                fail("--verify needs a file: it builds the image from its context")
            verified = _verified_fix(item, context, engine)
            if verified is None:
                failed = True
                continue
            result = verified
        else:
            result = run_fix(text, path=path_arg, context=build_context_for(item, context),
                             settings=item.settings, diff_path=item.patch_name)
        say_context(item, quiet)
        diff = result.diff()
        any_diff = any_diff or bool(diff)
        if show_diff:
            if diff:
                write_to(sys.stdout, colorize_diff(diff, out_color))
        elif item.source == "-":
            write_to(sys.stdout, result.text)
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
        failed = report_diagnostics(item.shown, result.diagnostics, quiet, err_color) or failed
        if show_fixes and result.changes:
            _show_fixes(item.shown, result, err_color)
        for f in sorted_findings(result.findings):
            write_to(sys.stderr, finding_line(item.shown, f, color=err_color,
                                            unsafe_fixes=item.settings.unsafe_fixes,
                                            marker=False) + "\n")
        fixed += sum(c.fixes for c in result.changes)
        remaining += len(result.findings)
        held += result.held_back
    print_errors(errors)
    if not quiet:
        write_to(sys.stderr, fix_summary(fixed, remaining, held, diff=show_diff))
    if failed:
        sys.exit(2)
    if exit_zero:  # for orchestrators that commit only after exit 0 (multi-gitter...)
        return
    if remaining or (show_diff and any_diff) or (exit_non_zero_on_fix and fixed):
        sys.exit(1)


def _verified_fix(item: Input, context: Path | None, engine: str) -> FixResult | None:
    """`fix --verify`: the fix minus transforms whose output fails a real build.

    None (after printing why) when nothing can be verified: no engine, or the
    original itself does not build.
    """
    from dockopt.rewriter.verify.session import verify_fix

    verified = verify_fix(Path(item.source), build_context_for(item, context), item.settings,
                          engine=engine, diff_path=item.patch_name)
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


