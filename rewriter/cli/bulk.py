"""The `dockopt bulk` command (registered in cli.py with ``main.add_command(bulk)``)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from dockopt.rewriter.cli.verify_options import (
    VERIFY_ONLY,
    build_timeout_option,
    engine_option,
    no_contents_option,
    no_rebuild_option,
    scanner_option,
    smoke_timeout_option,
)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter("expected K/N, e.g. 2/3", param_hint="--shard") from None
    if not 1 <= k <= n:
        raise click.BadParameter("K must be between 1 and N", param_hint="--shard")
    return k, n


class _Refused(click.ClickException):
    """An error that is the user's to fix, with exit code 2 (like a usage error)."""

    exit_code = 2


class _Progress:
    """Progress on stderr, per Dockerfile inside a repository.

    On a terminal: one line redrawn at most ten times a second, with the position
    among the repositories, the files of the current one, the rate (files/s over
    the run) and the repository's ETA.  Otherwise (a log, CI): a line per finished
    repository, and inside a long repository the same position line every
    ``DOCKOPT_BULK_PROGRESS_INTERVAL`` seconds (default 10)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        default = "0.1" if self.tty else "10"
        try:
            self.interval = float(os.environ.get("DOCKOPT_BULK_PROGRESS_INTERVAL") or default)
        except ValueError:
            self.interval = float(default)
        self.started = time.monotonic()
        self.last = self.started
        self.run_files = 0  # Dockerfiles finished by this run (not a resumed one's)
        self.repo, self.index, self.total, self.files, self.done = "", 0, 0, 0, 0
        self.drawn = False

    def repo_started(self, name: str, index: int, total: int, files: int,
                     done: int) -> None:
        self.repo, self.index, self.total, self.files, self.done = (name, index, total,
                                                                    files, done)

    def file_done(self, name: str, done: int, files: int) -> None:
        self.run_files += 1
        self.done = done
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line(self._position(now))

    def file_verifying(self, name: str, path: str, step: str) -> None:
        # Every step, never rate-limited: builds take minutes, so these lines are few
        # and each says what the run is waiting for.
        self.last = time.monotonic()
        self._line(f"[repo {self.index}/{self.total}] {name}: {path}: {step}")

    def repo_finished(self, summary: dict[str, Any], finished: int, total: int) -> None:
        why = f" ({summary['reason']})" if summary.get("reason") else ""
        line = (f"[{finished}/{total}] {summary['repo']}: {summary['status']}{why}, "
                f"{summary['changed']} changed, {summary['failed']} failed of "
                f"{summary['files']}")
        if self.tty:
            self._line(line[: self._width()])
        else:
            self._line(line)
            self.last = time.monotonic()

    def _position(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.run_files / elapsed if elapsed > 0 else 0.0
        left = self.files - self.done
        eta = _duration(left / rate) if rate > 0 else "?"
        return (f"[repo {self.index}/{self.total}] {self.repo}: {self.done}/{self.files} "
                f"files, {rate:.0f} files/s, ETA {eta}")

    def _width(self) -> int:
        import shutil

        return max(20, shutil.get_terminal_size().columns - 1)

    def _line(self, text: str) -> None:
        if self.tty:
            # Redraw in place; \x1b[K clears what a longer earlier line left.
            text = text if len(text) <= self._width() else text[: self._width() - 1] + "…"
            self.stream.write("\r" + text + "\x1b[K")
            self.drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class _BulkCommand(click.Command):
    """``bulk ROOT...`` with one subcommand, ``bulk merge-reports OUT...``.

    A click group cannot take ROOT arguments before its subcommand name, and
    ``dockopt bulk ~/src/org`` must keep working; so the first argument
    ``merge-reports`` hands the rest to that command, with its own options and its
    own ``-h`` (``./merge-reports`` names a folder of that name)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        if args and args[0] == "merge-reports":
            name = f"{info_name or 'bulk'} merge-reports"
            return merge_reports_command.make_context(name, args[1:], parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.command is not self:  # merge-reports (see make_context)
            return ctx.command.invoke(ctx)
        return super().invoke(ctx)


@click.command(cls=_BulkCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("roots", nargs=-1, type=click.Path(path_type=str))
@click.option("--repos", "repo_files", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="A file of local repository paths, one a line.")
@click.option("--out", "out", default="dockopt-bulk-out", show_default=True, metavar="DIR",
              help="Where the reports and patches go.")
@click.option("--dry-run", "mode", flag_value="dry-run", default=True,
              help="Write patches only (the default).")
@click.option("--write", "mode", flag_value="write", help="Change the files in place.")
@click.option("--git-branch", "branch", metavar="NAME",
              help="Create this branch in each changed repository and write there.")
@click.option("--commit", is_flag=True, help="With --git-branch: commit the changes.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores); they fix, while "
                   "--verify's builds run one at a time.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds per file before it is given up (0: no limit).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and folders matching this (repo-relative path or name).")
@click.option("--context-map", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="TSV lines `dockerfile<TAB>context`, both relative to the repository "
                   "(wins over compose files, which win over the Dockerfile's folder).")
@click.option("--resume", is_flag=True,
              help="Skip repositories already finished in --out; refused (exit 2) when "
                   "that run's options differ (all but --jobs and --timeout).")
@click.option("--shard", metavar="K/N", help="Only the K-th of N stable shares of the repos.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these rules.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these rules.")
@click.option("--extend-select", multiple=True, metavar="CODES",
              help="Add these rules to the selection.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None,
              help="Also apply fixes that may change what the image does or contains.")
@click.option("--config", "config", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=str),
              help="Use this config file instead of each repository's.")
@click.option("--isolated", is_flag=True, help="Ignore all config files.")
@click.option("--verify", "verify_builds", is_flag=True,
              help="Build each changed Dockerfile before and after with its context, one "
                   "at a time, and keep only rewrites that build, pass the smoke test "
                   "(the image's command), are not bigger and rebuild; results per file "
                   "in the reports.")
@engine_option
@scanner_option
@smoke_timeout_option
@build_timeout_option("--build-timeout")
@no_rebuild_option
@no_contents_option
@click.option("-q", "--quiet", is_flag=True,
              help="No progress and no summary line; warnings and errors only.")
@click.pass_context
def bulk(ctx: click.Context, roots: tuple[str, ...], repo_files: tuple[str, ...], out: str,
         mode: str, branch: str | None, commit: bool, jobs: int | None, timeout: float,
         exclude: tuple[str, ...], context_map: str | None, resume: bool, shard: str | None,
         select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
         unsafe_fixes: bool | None, config: str | None, isolated: bool, verify_builds: bool,
         engine: str, scanner: str, smoke_timeout: float, build_timeout: float,
         no_rebuild: bool, no_contents: bool, quiet: bool) -> None:
    """Fix the Dockerfiles of many repositories.

    Each ROOT is a folder of repositories (subfolders with .git) or a repository.
    Reports go to --out: summary.json, summary.md, patches/<repo>.patch, failed.txt,
    changed.txt, and the journal progress.jsonl (for --resume).

    \b
    Subcommand (`dockopt bulk merge-reports -h` shows its options):
      merge-reports OUT1 OUT2 ... --out MERGED
                  merge the reports of several runs (e.g. the shards of --shard K/N)
    """
    # Imported here so that registering the command costs `dockopt` nothing at startup.
    from dockopt.rewriter.bulk.repos import find_repos, read_context_map, shard_of
    from dockopt.rewriter.bulk.runner import RunConfig, resume_conflicts, run, run_fingerprint
    from dockopt.rewriter.bulk.worker import Options

    if not roots and not repo_files:
        raise click.UsageError("give a ROOT folder or --repos FILE")
    for r in roots:
        if not os.path.isdir(r):
            raise click.UsageError(f"{r}: not a folder")
    if commit and not branch:
        raise click.UsageError("--commit needs --git-branch")
    if branch:
        mode = "branch"
    if config is not None and not Path(config).is_file():
        raise click.UsageError(f"{config}: config file not found")
    if not verify_builds:
        given = [p.opts[0] for p in ctx.command.params if p.name in VERIFY_ONLY
                 and ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(f"{given[0]} needs --verify")
    _validate(_split(select), _split(ignore), _split(extend_select))
    options = Options(select=_split(select) or None, ignore=_split(ignore),
                      extend_select=_split(extend_select), unsafe_fixes=unsafe_fixes,
                      config=os.path.abspath(config) if config else None,
                      isolated=isolated, timeout=timeout)
    repos = find_repos(roots, repo_files)
    if not repos:
        # As ruff (and `dockopt check`) for an empty selection: a warning, exit 0, and
        # an empty report, so that a loop over folders or shards goes on and
        # merge-reports still finds every shard's report.
        where = ", ".join([*roots, *(f"--repos {f}" for f in repo_files)])
        click.echo(f"dockopt: warning: no git repositories found under {where} (a "
                   "repository is a folder with .git)", err=True)
    parts = _shard(shard)
    if parts is not None:
        repos = [r for r in repos if shard_of(r.name, parts[1]) == parts[0]]
    run_config = RunConfig(out=out, mode=mode, branch=branch, commit=commit, jobs=jobs or 0,
                           exclude=exclude, context_map=read_context_map(context_map),
                           resume=resume, options=options)
    if verify_builds:
        run_config.verify = _verify_settings(engine, scanner, smoke_timeout, build_timeout,
                                             not no_rebuild, not no_contents, bool(repos))
    run_config.fingerprint = run_fingerprint(run_config, roots, repo_files, shard)
    if resume:
        conflicts = resume_conflicts(out, run_config.fingerprint)
        if conflicts:
            raise _Refused(
                f"--resume: {out} holds a run made with other options, so its finished "
                "repositories cannot be kept:\n  " + "\n  ".join(conflicts)
                + "\nRerun with the same options, or without --resume (or with another "
                "--out) to start over.")
    progress = None if quiet else _Progress()
    try:
        # (summary.json is not read back: with 100,000 files it is big)
        interrupted, totals = run(repos, run_config, progress)
    finally:
        if progress is not None:
            progress.close()
    if interrupted:
        click.echo("interrupted: partial report written; rerun with --resume", err=True)
        sys.exit(130)
    if quiet:
        return
    click.echo(f"{totals['repos']} repositories: {totals['repos_changed']} changed, "
               f"{totals['repos_unchanged']} unchanged, {totals['repos_skipped']} skipped, "
               f"{totals['repos_failed']} failed; {totals['files_changed']} of "
               f"{totals['files']} Dockerfiles changed; report in {out}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, metavar="OUT...",
                type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out", default="dockopt-bulk-out", show_default=True, metavar="DIR",
              help="Where the merged reports and patches go.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line; warnings and errors only.")
def merge_reports_command(inputs: tuple[str, ...], out: str, quiet: bool) -> None:
    """Merge the reports of several `dockopt bulk` runs into one.

    Each OUT is a `--out` folder of `dockopt bulk` (typically the shards of
    `--shard K/N`); the merged summary.json, summary.md, changed.txt, failed.txt,
    patches/ and progress.jsonl in --out are those a single run over all the
    repositories gives.  A repository found in several inputs is taken from the
    last one.
    """
    from dockopt.rewriter.bulk.reports import merge_reports

    for d in inputs:
        if not os.path.isfile(os.path.join(d, "progress.jsonl")):
            raise click.UsageError(f"{d}: not a `dockopt bulk` output folder")
    _warn_if_options_differ(inputs)
    totals = merge_reports(inputs, out)
    if not quiet:
        click.echo(f"merged {len(inputs)} reports: {totals['repos']} repositories -> {out}",
                   err=True)


def _warn_if_options_differ(inputs: tuple[str, ...]) -> None:
    """Shards of one run differ only in --shard; anything else makes a mixed report."""
    import json

    from dockopt.rewriter.bulk.journal import OPTIONS_FILE

    seen: dict[str, str] = {}
    for d in inputs:
        try:
            data = json.loads(Path(d, OPTIONS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            data.pop("shard", None)
            seen[d] = json.dumps(data, sort_keys=True)
    if len(set(seen.values())) > 1:
        click.echo("dockopt: warning: these reports were made with different options (not only "
                   "--shard); the merged report mixes them", err=True)


def _verify_settings(engine: str, scanner: str, smoke_timeout: float, build_timeout: float,
                     rebuild: bool, contents: bool, check: bool) -> Any:
    """--verify's settings; with ``check``, the engine is tried first, so that a
    machine without one is a clear error (exit 2), not one note per file."""
    from dockopt.rewriter.bulk.verifying import VerifySettings, make_engine
    from dockopt.rewriter.verify.engines import EngineError

    settings = VerifySettings(engine=engine, scanner=scanner, smoke_timeout=smoke_timeout,
                              build_timeout=build_timeout, rebuild=rebuild,
                              contents=contents)
    if check:
        try:
            make_engine(settings)
        except EngineError as exc:
            raise _Refused(f"--verify: {exc}") from None
    return settings


def _validate(*groups: tuple[str, ...]) -> None:
    from dockopt.rewriter.rules_doc import all_rules

    rules = all_rules()
    for codes in groups:
        for code in codes:
            if code != "ALL" and not any(cls.code.startswith(code) or cls.name == code
                                         for cls in rules):
                raise click.UsageError(f"unknown rule selector `{code}` (see `dockopt rules`)")
