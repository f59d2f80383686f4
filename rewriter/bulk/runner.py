"""`dockopt bulk`: run the fixer over many repositories at once.

The parent process finds repositories and Dockerfiles (with their build contexts:
``--context-map``, else the repository's compose files, see compose.py, else the
Dockerfile's folder), hands one work item per Dockerfile to a process pool (spawn
context), collects the results per repository, and when a repository is complete
writes its patch (and, with ``--write`` or ``--git-branch``, its files), then
appends one line to the journal ``progress.jsonl``.  The reports are built from the
journal at the end, streaming, so the parent's memory does not grow with the number
of files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockopt.rewriter.bulk.git import _git, commit_message, dirty_reason
from dockopt.rewriter.bulk.journal import (
    CHANGED,
    FAILED,
    JOURNAL,
    OPTIONS_FILE,
    SKIPPED,
    UNCHANGED,
    Journal,
    _patch_name,
)
from dockopt.rewriter.bulk.reports import write_reports
from dockopt.rewriter.bulk.repos import Repo, plan_repo
from dockopt.rewriter.bulk.worker import Options, WorkItem, _count, _file_record, process_file
from dockopt.rewriter.fileio import atomic_write

# --- the run ---------------------------------------------------------------------------


@dataclass
class _Pending:
    repo: Repo
    left: int
    files: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class RunConfig:
    out: str
    mode: str = "dry-run"  # dry-run | write | branch
    branch: str | None = None
    commit: bool = False
    jobs: int = 0
    exclude: tuple[str, ...] = ()
    context_map: dict[str, str] = field(default_factory=dict)
    resume: bool = False
    options: Options = field(default_factory=Options)
    # run_fingerprint(...), written to OPTIONS_FILE; None: not recorded (library use)
    fingerprint: dict[str, Any] | None = None


def _sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def run_fingerprint(config: RunConfig, roots: Sequence[str] = (),
                    repo_files: Sequence[str] = (), shard: str | None = None
                    ) -> dict[str, Any]:
    """Everything that decides a finished repository's result, as JSON data.

    ``--resume`` keeps the earlier run's records, so it is only right when these
    are the same.  Left out: ``--jobs`` and ``--timeout`` (resources, not what is
    asked; a bigger timeout after a kill is a reason to resume)."""
    from dockopt.rewriter.cli.common import version
    from dockopt.rewriter.rules_doc import all_rules

    opts = config.options
    context_map = json.dumps(sorted(config.context_map.items())).encode("utf-8")
    return {
        "dockopt": version(),
        "rules": sorted(cls.code for cls in all_rules()),
        "roots": sorted(os.path.realpath(r) for r in roots),
        "repo_files": sorted([os.path.realpath(f), _sha256(f)] for f in repo_files),
        "shard": shard,
        "mode": config.mode,
        "branch": config.branch,
        "commit": config.commit,
        "exclude": sorted(config.exclude),
        "context_map_sha256": hashlib.sha256(context_map).hexdigest(),
        "select": sorted(opts.select) if opts.select is not None else None,
        "ignore": sorted(opts.ignore),
        "extend_select": sorted(opts.extend_select),
        "unsafe_fixes": opts.unsafe_fixes,
        "config": opts.config,
        "config_sha256": _sha256(opts.config) if opts.config else None,
        "isolated": opts.isolated,
    }


def resume_conflicts(out: str, fingerprint: dict[str, Any]) -> list[str]:
    """Why ``--resume`` must not continue the run in *out* with these options: one
    line per difference; empty when it may (or when there is nothing to resume)."""
    journal = os.path.join(out, JOURNAL)
    if not os.path.exists(journal) or os.path.getsize(journal) == 0:
        return []
    try:
        earlier = json.loads(Path(out, OPTIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"{os.path.join(out, OPTIONS_FILE)} is missing or unreadable, so the "
                "options of the earlier run are unknown"]
    if not isinstance(earlier, dict):
        return [f"{os.path.join(out, OPTIONS_FILE)} is not a JSON object"]
    return [f"{key}: {json.dumps(earlier.get(key))} then, {json.dumps(fingerprint.get(key))} now"
            for key in sorted(set(earlier) | set(fingerprint))
            if earlier.get(key) != fingerprint.get(key)]


def run(repos: Sequence[Repo], config: RunConfig,
        progress: Callable[[dict[str, Any], int, int], None] | None = None,
        ) -> tuple[bool, dict[str, Any]]:
    """Process the repositories; (interrupted by Ctrl-C?, the report's totals).
    Reports are written in every case."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    patches = os.path.join(config.out, "patches")
    os.makedirs(patches, exist_ok=True)
    if not config.resume:  # a fresh run: no patches of an earlier one
        for old in os.listdir(patches):
            if old.endswith(".patch"):
                os.unlink(os.path.join(patches, old))
    journal = Journal(config.out, config.resume)
    if config.fingerprint is None:
        if not config.resume:  # a stale record must not vouch for this run
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(config.out, OPTIONS_FILE))
    else:
        atomic_write(os.path.join(config.out, OPTIONS_FILE),
                     (json.dumps(config.fingerprint, indent=1, sort_keys=True) + "\n")
                     .encode("utf-8"))
    todo = [r for r in repos if r.name not in journal.done]
    total, finished = len(repos), len(repos) - len(todo)
    jobs = config.jobs or os.cpu_count() or 1
    window = max(4, jobs * 4)
    interrupted = False
    pending: dict[str, _Pending] = {}

    def items() -> Iterator[WorkItem | _Pending]:
        for repo in todo:
            state = _Pending(repo, 0)
            pending[repo.name] = state
            if config.mode == "branch":
                reason = dirty_reason(repo.path)
                if reason is not None:
                    state.status, state.reason = SKIPPED, reason
                    yield state
                    continue
            try:
                found, state.notes = plan_repo(repo.path, config.exclude, config.context_map)
            except OSError as exc:
                state.status, state.reason = FAILED, f"cannot list: {exc}"
                yield state
                continue
            if not found:
                state.status, state.reason = UNCHANGED, "no Dockerfiles"
                yield state
                continue
            state.left = len(found)
            for p in found:
                yield WorkItem(repo.name, repo.path, p.dockerfile, p.context, config.options,
                               p.source, p.context_from, p.notes)

    def finish(state: _Pending) -> None:
        nonlocal finished
        rec = _finish_repo(state, config)
        journal.append(rec)
        del pending[state.repo.name]
        finished += 1
        if progress is not None:
            progress(rec, finished, total)

    def landed(item: WorkItem, rec: dict[str, Any]) -> None:
        state = pending[item.repo]
        state.files.append(rec)
        state.left -= 1
        if state.left == 0:
            finish(state)

    ctx = multiprocessing.get_context("spawn")
    source = items()
    suspects: list[WorkItem] = []
    try:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                   initializer=_worker_init)
        running: dict[Future[dict[str, Any]], WorkItem] = {}
        exhausted = False
        while True:
            while not exhausted and len(running) < window:
                nxt = next(source, None)
                if nxt is None:
                    exhausted = True
                elif isinstance(nxt, _Pending):
                    finish(nxt)
                else:
                    running[pool.submit(process_file, nxt)] = nxt
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                item = running.pop(fut)
                try:
                    landed(item, fut.result())
                except BrokenProcessPool:
                    suspects.append(item)
                    broken = True
            if broken:
                # A worker died (a crash below Python): the others in flight are
                # suspects too; each is retried alone, in a fresh pool.
                suspects += running.values()
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                for item in suspects:
                    landed(item, _run_alone(item, ctx))
                suspects.clear()
                pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                   initializer=_worker_init)
        pool.shutdown(wait=True)
    except KeyboardInterrupt:
        interrupted = True
        with contextlib.suppress(Exception):
            pool.shutdown(wait=False, cancel_futures=True)
    finally:
        journal.close()
    totals = write_reports(config.out, [r.name for r in repos], interrupted=interrupted)
    return interrupted, totals


def _worker_init() -> None:
    # Ctrl-C is the parent's to handle: it stops handing out work and reports.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_alone(item: WorkItem, ctx: Any) -> dict[str, Any]:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                             initializer=_worker_init) as pool:
        try:
            return pool.submit(process_file, item).result()
        except BrokenProcessPool:
            return {**_file_record(item), "status": FAILED,
                    "reason": "worker process crashed"}


def _finish_repo(state: _Pending, config: RunConfig) -> dict[str, Any]:
    """Write the repository's patch (and files), and return its journal record."""
    repo = state.repo
    files = sorted(state.files, key=lambda f: str(f["path"]))
    patch = _settle(files)
    changed = [f for f in files if f["status"] == CHANGED]
    status, reason = state.status, state.reason
    if status is None:
        if changed:
            status = CHANGED
        elif any(f["status"] == FAILED for f in files):
            status = FAILED
        else:
            status = UNCHANGED
    patch_path = os.path.join(config.out, "patches", _patch_name(repo.name))
    if changed:
        atomic_write(patch_path, patch.encode("utf-8", "surrogateescape"))
        if config.mode in ("write", "branch"):
            try:
                reason = _apply(repo.path, changed, config) or reason
            except OSError as exc:
                status, reason = FAILED, f"cannot write: {exc}"
    elif os.path.exists(patch_path):
        os.unlink(patch_path)
    slim = [{k: v for k, v in f.items() if k not in ("patch", "text", "extra")}
            for f in files]
    return {"repo": repo.name, "path": repo.path, "status": status, "reason": reason,
            "notes": state.notes, "files": slim, "finished_at": round(time.time(), 3)}


def _settle(files: list[dict[str, Any]]) -> str:
    """The repository's patch; sets each file's line counts.

    Dockerfiles that share a build context may each change the same extra file (a
    ``.dockerignore``): the same new content is written once; a different one
    would overwrite the first, so that Dockerfile is skipped, to be fixed by a
    second run once the first change is in."""
    claimed: dict[str, tuple[str, str]] = {}  # extra file -> (new content, Dockerfile)
    parts: list[str] = []
    for f in files:
        if f["status"] != CHANGED:
            f.setdefault("added", 0)
            f.setdefault("removed", 0)
            continue
        clash = sorted(p for p, e in f["extra"].items()
                       if p in claimed and claimed[p][0] != e["new"])
        if clash:
            owner = claimed[clash[0]][1]
            f.update(status=SKIPPED, added=0, removed=0,
                     reason=f"would change {clash[0]} differently from {owner} (same "
                            f"build context); run again once that change is in")
            continue
        diff = f["patch"]
        for p, e in sorted(f["extra"].items()):
            if p not in claimed:
                claimed[p] = (e["new"], f["path"])
                diff += e["diff"]
        f["added"], f["removed"] = _count(diff)
        parts.append(diff)
    return "".join(parts)


def _apply(repo: str, changed: Sequence[dict[str, Any]], config: RunConfig) -> str | None:
    if config.mode == "branch":
        assert config.branch is not None
        proc = _git(repo, "checkout", "-b", config.branch)
        if proc.returncode != 0:
            raise OSError(f"git checkout -b {config.branch}: {proc.stderr.strip()[:200]}")
    paths: list[str] = []
    for f in changed:
        atomic_write(os.path.join(repo, f["path"]), f["text"].encode("utf-8", "surrogateescape"))
        paths.append(f["path"])
        for rel, e in f["extra"].items():
            atomic_write(os.path.join(repo, rel), e["new"].encode("utf-8", "surrogateescape"))
            paths.append(rel)
    if config.mode == "branch" and config.commit:
        add = _git(repo, "add", "--", *sorted(set(paths)))
        if add.returncode != 0:
            raise OSError(f"git add: {add.stderr.strip()[:200]}")
        proc = subprocess.run(["git", "-C", repo, "commit", "-q", "-F", "-"],
                              input=commit_message(changed), capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise OSError(f"git commit: {proc.stderr.strip()[:200]}")
        return f"committed on branch {config.branch}"
    if config.mode == "branch":
        return f"written on branch {config.branch} (not committed)"
    return None


