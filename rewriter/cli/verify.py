"""`dockopt verify`: build the original and the rewritten Dockerfile and compare them.

Registered on the main group by ``rewriter/cli/main.py`` (``main.add_command(verify)``).
Kept in its own module so the CLI's start-up imports nothing of it until the
command runs.

Exit codes: 0 = the rewrite verifies (or there is nothing to rewrite); 1 = a
regression (the original builds but the rewrite does not, the smoke test fails only
after the rewrite, or the image got bigger); 2 = verification impossible (usage or
config error, no usable engine, a base image unavailable, the original does not
build).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import replace
from pathlib import Path

import click

from dockopt.rewriter.cli.verify_options import (
    build_timeout_option,
    engine_option,
    no_contents_option,
    no_rebuild_option,
    scanner_option,
    smoke_timeout_option,
)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@click.command("verify")
@click.argument("path", required=False, default=".",
                type=click.Path(exists=True, path_type=Path))
@click.option("--context", "context", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The build context (default: the one a compose file in the "
                   "Dockerfile's folder or a parent gives it, else its folder).")
@engine_option
@click.option("--smoke", metavar="CMD",
              help="Smoke command run in each image (split like a shell would; wrap in "
                   "`sh -c '...'` for shell syntax). Default: the image's ENTRYPOINT/CMD, "
                   "passing if it exits 0 or is still running at the smoke timeout.")
@smoke_timeout_option
@build_timeout_option("--timeout")
@click.option("--touch", metavar="FILE",
              help="The context file changed before the rebuild (default: picked: a "
                   "source file a COPY includes, not a dependency manifest).")
@no_rebuild_option
@no_contents_option
@scanner_option
@click.option("--rebuild-runs", type=click.IntRange(1, 20), default=1, show_default=True,
              metavar="N", help="Measure the rebuild N times; report the median.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None,
              help="Also apply fixes that may change what the image does or contains.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these rules.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules.")
@click.option("--config", "config", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Use this config file instead of searching for one.")
@click.option("--isolated", is_flag=True, help="Ignore all config files.")
@click.option("--keep-images", is_flag=True,
              help="Keep the built images (default: remove them and their build cache).")
@click.option("--output-format", "output_format",
              type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True,
              help="markdown: a summary for a pull request (before/after/change tables, "
                   "details collapsed).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def verify(path: Path, context: Path | None, engine: str, smoke: str | None,
           smoke_timeout: float, build_timeout: float, touch: str | None, no_rebuild: bool,
           no_contents: bool, scanner: str, rebuild_runs: int,
           unsafe_fixes: bool | None, select: tuple[str, ...], ignore: tuple[str, ...],
           config: Path | None, isolated: bool, keep_images: bool, output_format: str,
           quiet: bool) -> None:
    """Fix PATH in memory, build the original and the rewrite, and compare them.

    PATH is a Dockerfile or a folder holding one (default: the current folder).
    Reports, for both: build success (with the log tail on failure), cold build
    time, rebuild time after a source-only change, image size, layers, final user
    and the smoke test; then, from the exported images, the layer table (size and
    instruction per layer), the wasted space as dive computes it, the contents
    (packages, build tools, shells, setuid files, user) and, with a scanner, the
    vulnerabilities, each as a before/after delta. Nothing in the user's folder is
    written.
    """
    from dockopt.rewriter.config import ConfigError, settings_for
    from dockopt.rewriter.verify.engines import EngineError, make_engine
    from dockopt.rewriter.verify.report import format_json, format_text
    from dockopt.rewriter.verify.session import Options
    from dockopt.rewriter.verify.session import verify as run_verify

    dockerfile = _find_dockerfile(path)
    try:
        settings = settings_for(dockerfile, config=config, isolated=isolated)
    except ConfigError as exc:
        _err(str(exc))
        sys.exit(2)
    if _split(select):
        settings = replace(settings, select=_split(select))
    if _split(ignore):
        settings = replace(settings, ignore=settings.ignore + _split(ignore))
    if unsafe_fixes is not None:
        settings = replace(settings, unsafe_fixes=unsafe_fixes)
    try:
        smoke_argv = shlex.split(smoke) if smoke else None
    except ValueError as exc:
        _err(f"dockopt: error: --smoke: {exc}")
        sys.exit(2)
    try:
        eng = make_engine(engine, build_timeout)
    except EngineError as exc:
        _err(f"dockopt: error: {exc}")
        sys.exit(2)
    options = Options(smoke=smoke_argv, smoke_timeout=smoke_timeout, rebuild=not no_rebuild,
                      rebuild_runs=rebuild_runs, touch=touch, keep_images=keep_images,
                      contents=not no_contents, scanner=scanner,
                      log=None if quiet else (lambda m: _err(f"dockopt verify: {m}")))
    if context is None:
        from dockopt.rewriter.compose import context_for

        context, note = context_for(dockerfile)
        if note and not quiet:
            _err(f"dockopt verify: {note}")
    report = run_verify(dockerfile, context=context, settings=settings, engine=eng,
                        options=options)
    if output_format == "markdown":
        from dockopt.rewriter.verify.markdown import format_markdown

        out = format_markdown(report)
    else:
        out = format_json(report) if output_format == "json" else format_text(report)
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.exit(report.exit_code)


def _find_dockerfile(path: Path) -> Path:
    if path.is_file():
        return path
    for name in ("Dockerfile", "Containerfile", "dockerfile"):
        if (path / name).is_file():
            return path / name
    _err(f"dockopt: error: {path}: no Dockerfile or Containerfile in this folder")
    sys.exit(2)
