"""`dockopt bulk`: run the fixer over many repositories at once.

The parent process finds repositories and Dockerfiles (with their build contexts:
``--context-map``, else the repository's compose files, see compose.py, else the
Dockerfile's folder) and hands one work item per Dockerfile to a process pool (spawn
context): ``worker.process_file`` is where a Dockerfile is fixed.  Results are
committed one file at a time, in the order of the plan (sorted repositories, sorted
paths; a result that lands early waits in a bounded window for the ones before it,
so the outputs do not depend on timing): ``_commit_file`` appends the file's diff
to its repository's patch file, writes its files with ``--write``/``--git-branch``
and journals it, then drops it.  A repository's end renames its patch file into
place (and commits, with ``--commit``).  The reports are built from the journal at
the end, streaming, so the parent's memory does not grow with the number of files
(see journal.py for the records).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from dockopt.rewriter.bulk.git import _git, commit_message, dirty_reason
from dockopt.rewriter.bulk.journal import (
    CHANGED,
    END,
    FAILED,
    FILE,
    JOURNAL,
    JOURNAL_FORMAT,
    OPTIONS_FILE,
    SKIPPED,
    START,
    UNCHANGED,
    Journal,
    Partial,
    RepoTally,
    _patch_name,
    patch_part_name,
)
from dockopt.rewriter.bulk.reports import write_reports
from dockopt.rewriter.bulk.repos import Repo, RepoPlan
from dockopt.rewriter.bulk.worker import Options, WorkItem, _count, _file_record, process_file
from dockopt.rewriter.fileio import atomic_write
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.bulk.verifying import Verifier, VerifySettings

# --- the run ---------------------------------------------------------------------------


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
    # --verify: build each changed file before and after (see verifying.py)
    verify: VerifySettings | None = None


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
    # (a run without --verify records no "verify" key, as before it existed)
    verify = {} if config.verify is None else {"verify": config.verify.fingerprint()}
    return {**verify,
        "dockopt": version(),
        "journal_format": JOURNAL_FORMAT,
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


class Progress(Protocol):
    """What the run tells its front end (the CLI draws it; see cli/bulk.py)."""

    def repo_started(self, name: str, index: int, total: int, files: int,
                     done: int) -> None:
        """Repository ``index`` of ``total`` starts: ``files`` Dockerfiles, of which
        ``done`` were finished by an earlier (resumed) run."""

    def file_done(self, name: str, done: int, files: int) -> None:
        """One more Dockerfile of the repository is finished (``done`` of ``files``)."""

    def file_verifying(self, name: str, path: str, step: str) -> None:
        """--verify: a step of the builds of one Dockerfile (they take minutes), and
        at the end its outcome."""

    def repo_finished(self, summary: dict[str, Any], finished: int, total: int) -> None:
        """The repository is finished: ``summary`` has repo, status, reason, files,
        changed, failed."""


# How often (seconds) the journal and the open patch file are fsynced during a run.
# Each line is flushed as it is written, so a killed process loses nothing; the
# fsync is for a crash of the machine, where a resumed run redoes at most these
# last seconds (see _resume_point).
SYNC_EVERY = 2.0


@dataclass
class _RepoState:
    """A repository while it runs: counts and open files, never its results."""

    repo: Repo
    index: int  # 1-based among the run's repositories
    files: int = 0  # Dockerfiles planned
    skip: int = 0  # the first `skip` of them were finished by an earlier run
    status: str | None = None  # decided before any file (skipped, no Dockerfiles...)
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    resumed: Partial | None = None
    tally: RepoTally = field(default_factory=RepoTally)
    # extra file (repo-relative) -> "<digest of its new content> <the Dockerfile
    # that claimed it>" (see _commit_file)
    claims: dict[str, str] = field(default_factory=dict)
    patch: IO[bytes] | None = None  # the patch part file, open while files change
    patch_end: int = 0
    write_error: str | None = None
    branch_ready: bool = False


@dataclass
class _Start:
    state: _RepoState


@dataclass
class _File:
    state: _RepoState
    item: WorkItem
    result: dict[str, Any] | None = None


@dataclass
class _End:
    state: _RepoState


_Token = _Start | _File | _End


def run(repos: Sequence[Repo], config: RunConfig, progress: Progress | None = None,
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
            if old.endswith((".patch", ".part", ".paths")):
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
    total = len(repos)
    finished = sum(1 for r in repos if r.name in journal.done)
    jobs = config.jobs or os.cpu_count() or 1
    # Files handed out and not yet committed (running, or done and waiting for an
    # earlier one): bounds the results the parent holds.
    window = max(16, jobs * 8)
    interrupted = False
    open_states: dict[str, _RepoState] = {}
    last_sync = time.monotonic()
    verifier = None
    if config.verify is not None:
        from dockopt.rewriter.bulk.verifying import Verifier

        verifier = Verifier(config.verify,
                            progress.file_verifying if progress is not None else None)

    def tokens() -> Iterator[_Token]:
        for index, repo in enumerate(repos, 1):
            if repo.name in journal.done:
                continue
            state = _RepoState(repo, index, resumed=journal.partial.get(repo.name))
            yield from _plan_tokens(state, config)

    def commit(token: _Token) -> None:
        nonlocal finished
        state = token.state
        if isinstance(token, _Start):
            _start_repo(state, config, journal)
            open_states[state.repo.name] = state
            if progress is not None:
                progress.repo_started(state.repo.name, state.index, total, state.files,
                                      state.skip)
        elif isinstance(token, _File):
            assert token.result is not None
            _commit_file(state, token.item, token.result, config, journal, verifier)
            if progress is not None:
                progress.file_done(state.repo.name, state.tally.files, state.files)
        else:
            summary = _finish_repo(state, config, journal)
            del open_states[state.repo.name]
            finished += 1
            if progress is not None:
                progress.repo_finished(summary, finished, total)

    queue: deque[_Token] = deque()
    waiting = 0  # _File tokens in the queue

    def drain() -> None:
        """Commit the head of the queue while it is ready (plan order)."""
        nonlocal waiting, last_sync
        while queue and not (isinstance(queue[0], _File) and queue[0].result is None):
            token = queue.popleft()
            if isinstance(token, _File):
                waiting -= 1
            commit(token)
        if time.monotonic() - last_sync >= SYNC_EVERY:
            _sync(open_states.values(), journal)
            last_sync = time.monotonic()

    ctx = multiprocessing.get_context("spawn")
    source = tokens()
    try:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                   initializer=_worker_init)
        running: dict[Future[dict[str, Any]], _File] = {}
        exhausted = False
        while True:
            while not exhausted and waiting < window:
                token = next(source, None)
                if token is None:
                    exhausted = True
                    break
                queue.append(token)
                if isinstance(token, _File):
                    waiting += 1
                    running[pool.submit(process_file, token.item)] = token
                drain()
            drain()
            if not running:
                if exhausted:
                    break
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            broken = False
            suspects: list[_File] = []
            for fut in done:
                token = running.pop(fut)
                try:
                    token.result = fut.result()
                except BrokenProcessPool:
                    suspects.append(token)
                    broken = True
            if broken:
                # A worker died (a crash below Python): the others in flight are
                # suspects too; each is retried alone, in a fresh pool.
                suspects += running.values()
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                for token in suspects:
                    token.result = _run_alone(token.item, ctx)
                pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                           initializer=_worker_init)
        pool.shutdown(wait=True)
    except KeyboardInterrupt:
        interrupted = True
        with contextlib.suppress(Exception):
            pool.shutdown(wait=False, cancel_futures=True)
    finally:
        # An unfinished repository keeps its patch part file and its journal
        # records: --resume continues it; the reports show it as interrupted.
        _sync(open_states.values(), journal)
        for state in open_states.values():
            if state.patch is not None:
                state.patch.close()
        journal.close()
    totals = write_reports(config.out, [r.name for r in repos], interrupted=interrupted)
    return interrupted, totals


def _plan_tokens(state: _RepoState, config: RunConfig) -> Iterator[_Token]:
    """A repository's start, its Dockerfiles (those an earlier run did not finish)
    and its end.  Listing happens here, lazily: while the previous repository's
    files still run."""
    repo = state.repo
    if config.mode == "branch" and state.resumed is None:
        # (a resumed repository is dirty with this run's own writes)
        reason = dirty_reason(repo.path)
        if reason is not None:
            state.status, state.reason = SKIPPED, reason
            yield _Start(state)
            yield _End(state)
            return
    try:
        plan = RepoPlan(repo.path, config.exclude, config.context_map)
    except OSError as exc:
        state.status, state.reason = FAILED, f"cannot list: {exc}"
        yield _Start(state)
        yield _End(state)
        return
    state.files, state.notes = len(plan), plan.notes
    if state.resumed is not None and not _resume_point(state, plan, config):
        state.resumed = None  # not consistent: the repository is done again
    if state.resumed is not None:
        state.skip = state.resumed.tally.files
    if not plan.paths:
        state.status, state.reason = UNCHANGED, "no Dockerfiles"
    yield _Start(state)
    for p in plan.planned(state.skip):
        yield _File(state, WorkItem(repo.name, repo.path, p.dockerfile, p.context,
                                    config.options, p.source, p.context_from, p.notes))
    yield _End(state)


def _resume_point(state: _RepoState, plan: RepoPlan, config: RunConfig) -> bool:
    """Whether the earlier run's records of this unfinished repository can be kept:
    they are the first files of today's plan, and the patch part file holds at
    least what they say (after a crash of the machine it may not)."""
    part = state.resumed
    assert part is not None
    done = part.tally.files
    if done > len(plan.paths) or (done and plan.paths[done - 1] != part.last_path):
        return False
    path = os.path.join(config.out, "patches", patch_part_name(state.repo.name))
    size = os.path.getsize(path) if os.path.exists(path) else 0
    return size >= part.patch_end


def _start_repo(state: _RepoState, config: RunConfig, journal: Journal) -> None:
    part_path = os.path.join(config.out, "patches", patch_part_name(state.repo.name))
    part = state.resumed
    if part is None:
        journal.append({"kind": START, "repo": state.repo.name, "path": state.repo.path,
                        "files": state.files, "notes": state.notes})
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_paths_file(state, config))
        return
    # Continue where the earlier run stopped: its tally, its claims, and its patch
    # part file cut back to the last diff its journal vouches for.
    state.tally, state.claims, state.patch_end = part.tally, part.claims, part.patch_end
    if state.patch_end:
        state.patch = open(part_path, "r+b")  # noqa: SIM115
        state.patch.truncate(state.patch_end)
        state.patch.seek(state.patch_end)
    elif os.path.exists(part_path):
        os.unlink(part_path)
    state.resumed = None


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


def _same(claim: str) -> str:
    """The content digest of a claim ("<digest> <Dockerfile>")."""
    return claim.split(" ", 1)[0]


def _commit_file(state: _RepoState, item: WorkItem, rec: dict[str, Any], config: RunConfig,
                 journal: Journal, verifier: Verifier | None = None) -> None:
    """Settle one Dockerfile's result, in plan order: its diff goes to the patch
    file, its files are written (``--write``/``--git-branch``), and its record to
    the journal; then it is dropped.  The one place a file's result is committed.

    Dockerfiles that share a build context may each change the same extra file (a
    ``.dockerignore``): the first (by path) claims it; the same new content from a
    later one is written once; a different one would overwrite the first, so that
    Dockerfile is skipped, to be fixed by a second run once the first change is in.
    Only a digest of each claimed content is kept.

    With ``--verify`` a changed file is built before and after first (verifying.py);
    a rewrite that does not verify is not written and leaves no diff."""
    text: str | None = rec.pop("text", None)
    patch: str = rec.pop("patch", "")
    extra: dict[str, dict[str, str]] = rec.pop("extra", {})
    new_claims: dict[str, str] = {}
    if rec["status"] == CHANGED:
        claims = {p: f"{_digest(e['new'])} {item.dockerfile}" for p, e in extra.items()}
        clash = sorted(p for p in extra
                       if p in state.claims and _same(state.claims[p]) != _same(claims[p]))
        if not clash and verifier is not None and not verifier.keep(item, rec, text):
            pass  # the record now says unchanged, and why
        elif clash:
            owner = state.claims[clash[0]].split(" ", 1)[1]
            rec.update(status=SKIPPED, added=0, removed=0,
                       reason=f"would change {clash[0]} differently from {owner} (same "
                              "build context); run again once that change is in")
        else:
            diff = patch
            for p, e in sorted(extra.items()):
                if p not in state.claims:
                    new_claims[p] = claims[p]
                    diff += e["diff"]
            rec["added"], rec["removed"] = _count(diff)
            if config.mode in ("write", "branch"):
                error = state.write_error or _write_file(state, item, text, extra, config)
                if error is not None:
                    state.write_error = error
                    rec.update(status=FAILED, added=0, removed=0, reason=error)
                    new_claims, diff = {}, ""
            if diff:
                if state.patch is None:
                    state.patch = open(os.path.join(  # noqa: SIM115
                        config.out, "patches", patch_part_name(state.repo.name)), "wb")
                data = diff.encode("utf-8", "surrogateescape")
                state.patch.write(data)
                state.patch.flush()  # before the journal record that vouches for it
                state.patch_end += len(data)
            state.claims.update(new_claims)
    else:
        rec.setdefault("added", 0)
        rec.setdefault("removed", 0)
    state.tally.add(rec)
    entry = {"kind": FILE, "repo": state.repo.name, "file": rec,
             "patch_end": state.patch_end, "claims": new_claims}
    markdown = rec.pop("verify_markdown", None)  # for summary.md, not summary.json
    if markdown is not None:
        entry["verify_markdown"] = markdown
    journal.append(entry)


def _write_file(state: _RepoState, item: WorkItem, text: str | None,
                extra: dict[str, dict[str, str]], config: RunConfig) -> str | None:
    """Write a changed Dockerfile and its extra files (atomically, each); the reason
    when that fails (the repository then writes no more files)."""
    repo = state.repo.path
    try:
        if config.mode == "branch" and not state.branch_ready:
            _checkout_branch(repo, config)
            state.branch_ready = True
        assert text is not None
        atomic_write(os.path.join(repo, item.dockerfile),
                     text.encode("utf-8", "surrogateescape"))
        paths = [item.dockerfile]
        for rel, e in sorted(extra.items()):
            atomic_write(os.path.join(repo, rel), e["new"].encode("utf-8", "surrogateescape"))
            paths.append(rel)
        if config.mode == "branch" and config.commit:
            # What `git add` will take at the repository's end: a file, not a list
            # in memory (a repository may change 100,000 files).
            with open(_paths_file(state, config), "ab") as handle:
                handle.write(b"".join(p.encode("utf-8", "surrogateescape") + b"\0"
                                      for p in paths))
    except OSError as exc:
        return f"cannot write: {exc}"
    return None


def _paths_file(state: _RepoState, config: RunConfig) -> str:
    return os.path.join(config.out, "patches",
                        "." + _patch_name(state.repo.name) + ".paths")


def _checkout_branch(repo: str, config: RunConfig) -> None:
    assert config.branch is not None
    head = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    if head.returncode == 0 and head.stdout.strip() == config.branch:
        return  # a resumed run: the earlier one made it
    proc = _git(repo, "checkout", "-b", config.branch)
    if proc.returncode != 0:
        raise OSError(f"git checkout -b {config.branch}: {proc.stderr.strip()[:200]}")


def _sync(states: Any, journal: Journal) -> None:
    """fsync the open patch files, then the journal that vouches for them."""
    for state in states:
        if state.patch is not None:
            os.fsync(state.patch.fileno())
    journal.sync()


def _finish_repo(state: _RepoState, config: RunConfig, journal: Journal) -> dict[str, Any]:
    """Put the repository's patch in place, commit (``--commit``), journal its end;
    returns a short summary for the progress display."""
    repo = state.repo
    tally = state.tally
    status, reason = state.status, state.reason
    if status is None:
        if state.write_error is not None:
            status, reason = FAILED, state.write_error
        elif tally.count(CHANGED):
            status = CHANGED
        elif tally.count(FAILED):
            status = FAILED
        else:
            status = UNCHANGED
    if status == FAILED and reason is None and tally.first_failure is not None:
        path, why = tally.first_failure
        reason = (f"{tally.count(FAILED)} of {tally.files} Dockerfiles failed; "
                  f"first: {path}: {why}")[:500]
    patches = os.path.join(config.out, "patches")
    patch_path = os.path.join(patches, _patch_name(repo.name))
    part_path = os.path.join(patches, patch_part_name(repo.name))
    if state.patch is not None:
        state.patch.flush()
        os.fsync(state.patch.fileno())
        state.patch.close()
        state.patch = None
    if state.patch_end:
        os.replace(part_path, patch_path)
    else:
        for stale in (part_path, patch_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
    if (config.mode == "branch" and config.commit and tally.count(CHANGED)
            and state.write_error is None):
        try:
            _commit(repo.path, _paths_file(state, config), tally)
            reason = f"committed on branch {config.branch}"
        except OSError as exc:
            status, reason = FAILED, f"cannot write: {exc}"
    elif config.mode == "branch" and tally.count(CHANGED) and state.write_error is None:
        reason = f"written on branch {config.branch} (not committed)"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_paths_file(state, config))
    journal.append({"kind": END, "repo": repo.name, "status": status, "reason": reason,
                    "finished_at": round(time.time(), 3)})
    journal.sync()
    return {"repo": repo.name, "status": status, "reason": reason, "files": tally.files,
            "changed": tally.count(CHANGED), "failed": tally.count(FAILED)}


def _commit(repo: str, paths_file: str, tally: RepoTally) -> None:
    add = subprocess.run(["git", "-C", repo, "add", f"--pathspec-from-file={paths_file}",
                          "--pathspec-file-nul"], capture_output=True, text=True, check=False)
    if add.returncode != 0:
        raise OSError(f"git add: {add.stderr.strip()[:200]}")
    proc = subprocess.run(["git", "-C", repo, "commit", "-q", "-F", "-"],
                          input=commit_message(tally), capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise OSError(f"git commit: {proc.stderr.strip()[:200]}")


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
