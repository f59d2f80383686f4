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
import fnmatch
import hashlib
import json
import os
import signal
import subprocess
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockopt.rewriter.compose import Build, compose_contexts, is_compose_name
from dockopt.rewriter.discover import SKIP_DIRS, is_dockerfile_name
from dockopt.rewriter.fileio import atomic_write

JOURNAL = "progress.jsonl"
# What the run was asked to do, for --resume to compare (see run_fingerprint).
OPTIONS_FILE = "options.json"
# Status of a file or a repository.
CHANGED, UNCHANGED, SKIPPED, FAILED = "changed", "unchanged", "skipped", "failed"


# --- finding repositories and Dockerfiles ----------------------------------------------


@dataclass(frozen=True)
class Repo:
    name: str  # the path relative to its root ("/"-separated); unique in a run
    path: str  # absolute


def _is_repo(path: str) -> bool:
    return os.path.exists(os.path.join(path, ".git"))


def find_repos(roots: Sequence[str], repo_files: Sequence[str] = ()) -> list[Repo]:
    """Repositories under each ROOT (a folder of repositories, or one itself) and
    listed in each ``--repos`` file; sorted by name, each once."""
    found: dict[str, Repo] = {}
    seen: set[str] = set()

    def add(name: str, path: str) -> None:
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        base, n = name, 2
        while name in found:
            name, n = f"{base}-{n}", n + 1
        found[name] = Repo(name, os.path.abspath(path))

    for root in roots:
        root = os.path.abspath(root)
        if _is_repo(root):
            add(os.path.basename(root), root)
            continue
        for folder, dirs, _files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for d in list(dirs):
                full = os.path.join(folder, d)
                if _is_repo(full):
                    add(os.path.relpath(full, root).replace(os.sep, "/"), full)
                    dirs.remove(d)  # no nested repositories (submodules are theirs)
    for listing in repo_files:
        for line in Path(listing).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                path = os.path.abspath(os.path.join(os.path.dirname(listing), line))
                add(os.path.basename(path.rstrip("/")), path)
    return [found[k] for k in sorted(found)]


def shard_of(name: str, count: int) -> int:
    """The 1-based shard of a repository: stable across machines and runs."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % count + 1


def find_dockerfiles(repo: str, exclude: Sequence[str] = ()) -> list[str]:
    """Dockerfiles in the repository, repo-relative and "/"-separated, sorted."""
    return scan_repo(repo, exclude)[0]


def scan_repo(repo: str, exclude: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(Dockerfiles, compose files) in the repository, repo-relative, "/"-separated,
    sorted; one walk for both."""
    dockerfiles: list[str] = []
    composes: list[str] = []
    inside = os.path.realpath(repo) + os.sep
    for folder, dirs, files in os.walk(repo):
        rel_dir = os.path.relpath(folder, repo).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                         and not _excluded(rel_dir + d, exclude))
        for name in sorted(files):
            docker, compose = is_dockerfile_name(name), is_compose_name(name)
            if not (docker or compose):
                continue
            rel = rel_dir + name
            full = os.path.join(folder, name)
            if (not _excluded(rel, exclude) and os.path.isfile(full)
                    # a link out of the repository is not the repository's to rewrite
                    and os.path.realpath(full).startswith(inside)):
                (dockerfiles if docker else composes).append(rel)
    return sorted(dockerfiles), sorted(composes)


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def read_context_map(path: str | None) -> dict[str, str]:
    """``dockerfile<TAB>context`` lines (both relative to the repository root)."""
    if path is None:
        return {}
    out: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        dockerfile, _, context = line.partition("\t")
        out[_norm(dockerfile)] = _norm(context)
    return out


def _norm(rel: str) -> str:
    rel = os.path.normpath(rel.strip()).replace(os.sep, "/")
    return "" if rel == "." else rel


# Where a file's build context came from (summary.json: files[].context_source).
DEFAULT, COMPOSE, CONTEXT_MAP = "default", "compose", "context-map"


@dataclass(frozen=True)
class Planned:
    """One Dockerfile of a repository and its build context."""

    dockerfile: str
    context: str  # repo-relative folder ("" = the root)
    source: str = DEFAULT  # DEFAULT | COMPOSE | CONTEXT_MAP
    context_from: str | None = None  # the compose file and service
    notes: tuple[str, ...] = ()


def plan_repo(repo: str, exclude: Sequence[str] = (),
              context_map: dict[str, str] | None = None) -> tuple[list[Planned], list[str]]:
    """The repository's Dockerfiles with their contexts, and notes about its compose
    files.  ``--context-map`` wins over compose files, compose files over the
    Dockerfile's own folder.  A Dockerfile a compose file names is taken even when
    its name is not a Dockerfile's (``build/app.docker``)."""
    found, composes = scan_repo(repo, exclude)
    notes: list[str] = []
    by_compose: dict[str, Build] = {}
    file_notes: dict[str, list[str]] = {}
    if composes:
        got = compose_contexts(repo, composes)
        by_compose, file_notes, notes = got.contexts, got.file_notes, got.notes
        known = set(found)
        inside = os.path.realpath(repo) + os.sep
        for rel in sorted(by_compose):
            if rel in known:
                continue
            full = os.path.join(repo, rel)
            if not os.path.isfile(full):
                notes.append(f"{by_compose[rel].source}: Dockerfile {rel} not found")
            elif (not _skipped(rel, exclude)
                  and os.path.realpath(full).startswith(inside)):
                found.append(rel)
        found.sort()
    context_map = context_map or {}
    out: list[Planned] = []
    for rel in found:
        extra = tuple(file_notes.get(rel, ()))
        if rel in context_map:
            out.append(Planned(rel, context_map[rel], CONTEXT_MAP, None, extra))
        elif rel in by_compose:
            build = by_compose[rel]
            out.append(Planned(rel, build.context, COMPOSE, build.source, extra))
        else:
            out.append(Planned(rel, rel.rsplit("/", 1)[0] if "/" in rel else "", DEFAULT,
                               None, extra))
    return out, notes


def _skipped(rel: str, exclude: Sequence[str]) -> bool:
    """Whether the walk would have left *rel* out (a skipped or excluded folder)."""
    parts = rel.split("/")
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return True
    return any(_excluded("/".join(parts[: i + 1]), exclude) for i in range(len(parts)))


# --- the worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What applies to every file (picklable)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    unsafe_fixes: bool | None = None
    config: str | None = None
    isolated: bool = False
    timeout: float = 60.0


@dataclass(frozen=True)
class WorkItem:
    repo: str  # Repo.name
    repo_path: str
    dockerfile: str  # repo-relative
    context: str  # repo-relative folder ("" = the repository root)
    options: Options
    context_source: str = DEFAULT
    context_from: str | None = None
    notes: tuple[str, ...] = ()


def _settings(item: WorkItem, dockerfile: Path) -> Any:
    from dataclasses import replace

    from dockopt.rewriter.config import settings_for

    opts = item.options
    base = settings_for(dockerfile, config=Path(opts.config) if opts.config else None,
                        isolated=opts.isolated)
    if opts.select is not None:
        select, extend = opts.select, opts.extend_select
    else:
        select, extend = base.select, base.extend_select + opts.extend_select
    out = replace(base, select=select, extend_select=extend, ignore=base.ignore + opts.ignore)
    if opts.unsafe_fixes is not None:
        out = replace(out, unsafe_fixes=opts.unsafe_fixes)
    return out


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def process_file(item: WorkItem) -> dict[str, Any]:
    """Fix one Dockerfile; never raises.  Runs in a worker process.

    The timeout is SIGALRM in the worker's main thread (POSIX); elsewhere there is
    none.  The result is plain JSON-able data plus the new texts (``write``)."""
    rec = _file_record(item)
    delay = float(os.environ.get("DOCKOPT_BULK_TEST_DELAY", "0") or 0)  # tests only
    timed = hasattr(signal, "SIGALRM") and item.options.timeout > 0
    if timed:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, item.options.timeout)
    try:
        if delay:
            time.sleep(delay)
        rec.update(_fix_one(item))
    except _Timeout:
        rec.update(status=FAILED, reason=f"timeout after {item.options.timeout:g} s")
    except Exception as exc:  # one bad file never stops the run
        where = traceback.extract_tb(exc.__traceback__)[-1:]
        at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
        rec.update(status=FAILED, reason=f"crash: {type(exc).__name__}: {exc}{at}"[:500])
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return rec


def _file_record(item: WorkItem) -> dict[str, Any]:
    """What a file's record says whatever happens to it."""
    rec: dict[str, Any] = {"path": item.dockerfile, "context": item.context or ".",
                           "context_source": item.context_source}
    if item.context_from is not None:
        rec["context_from"] = item.context_from
    if item.notes:
        rec["notes"] = list(item.notes)
    return rec


def _fix_one(item: WorkItem) -> dict[str, Any]:
    from dockopt.rewriter.config import ConfigError
    from dockopt.rewriter.diff import unified_diff
    from dockopt.rewriter.pipeline import fix

    repo = Path(item.repo_path)
    path = repo / item.dockerfile
    try:
        settings = _settings(item, path)
    except ConfigError as exc:
        return {"status": FAILED, "reason": f"config: {exc}"}
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"status": FAILED, "reason": f"not UTF-8: {exc}"}
    ctx_dir = repo / item.context if item.context else repo
    if not ctx_dir.is_dir():
        return {"status": FAILED, "reason": f"build context {item.context} is not a folder"}
    context = _context(ctx_dir, str(path), item.context)
    result = fix(text, path=item.dockerfile, context=context, settings=settings)
    rec: dict[str, Any] = {
        "codes": [{"code": c.code, "name": c.name, "fixes": c.fixes} for c in result.changes],
        "held_back": result.held_back,
        "findings": [{"code": f.code, "name": f.name, "line": f.line}
                     for f in sorted(result.findings, key=lambda f: (f.line, f.code))],
    }
    if result.errors:
        first = result.errors[0]
        return {**rec, "status": FAILED,
                "reason": f"parse error (reported, not rewritten): line {first.line}: "
                          f"{first.message}"[:500]}
    if not result.changed and not result.extra_files:
        return {**rec, "status": UNCHANGED, "added": 0, "removed": 0,
                "context_bytes_saved": None}
    patch = unified_diff(result.original, result.text, item.dockerfile)
    extra: dict[str, dict[str, str]] = {}
    saved: int | None = None
    for rel in sorted(result.extra_files):
        old, new = result.extra_files[rel]
        shown = context.display_path(rel)
        extra[shown] = {"new": new,
                        "diff": unified_diff(old or "", new, shown, new_file=old is None)}
        if rel.endswith(".dockerignore"):
            saved = (saved or 0) + _bytes_saved(context, old, new)
    return {**rec, "status": CHANGED, "context_bytes_saved": saved, "patch": patch,
            "text": result.text, "extra": extra}


def _count(patch: str) -> tuple[int, int]:
    added = removed = 0
    for line in patch.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


# The worker keeps the last few build contexts: Dockerfiles that share a folder share
# its listing (walking a big folder once per Dockerfile is quadratic).  Everything a
# BuildContext caches comes from the disk, nothing from the Dockerfile; only
# ``dockerfile`` (which ignore file applies) is per file, and it is set each time.
_CONTEXTS: dict[tuple[str, str], Any] = {}
_CONTEXTS_KEPT = 4


def _context(folder: Path, dockerfile: str, display_root: str) -> Any:
    from dockopt.rewriter.context import BuildContext

    key = (str(folder), display_root)
    context = _CONTEXTS.pop(key, None)
    if context is None:
        context = BuildContext(folder, dockerfile=dockerfile, display_root=display_root)
    context.dockerfile = dockerfile
    _CONTEXTS[key] = context  # most recent last
    while len(_CONTEXTS) > _CONTEXTS_KEPT:
        del _CONTEXTS[next(iter(_CONTEXTS))]
    return context


def _bytes_saved(context: Any, old: str | None, new: str) -> int:
    """Bytes of the build context the new ignore file leaves out that the old did not."""
    files = context.files
    before = context.excluded(context.ignore_patterns(old or ""))
    after = context.excluded(context.ignore_patterns(new))
    return int(sum(files.get(p, 0) for p in after - before)
               - sum(files.get(p, 0) for p in before - after))


# --- writing ---------------------------------------------------------------------------


def _git(repo: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                          check=False)


def dirty_reason(repo: str) -> str | None:
    """Why the repository must not be touched, or None."""
    proc = _git(repo, "status", "--porcelain")
    if proc.returncode != 0:
        return f"git status failed: {proc.stderr.strip()[:200]}"
    if proc.stdout.strip():
        count = len(proc.stdout.splitlines())
        return f"uncommitted changes ({count} paths); not touched"
    return None


def commit_message(files: Sequence[dict[str, Any]]) -> str:
    applied: dict[tuple[str, str], int] = {}
    remaining: dict[tuple[str, str], int] = {}
    for f in files:
        for c in f.get("codes", []):
            key = (c["code"], c["name"])
            applied[key] = applied.get(key, 0) + int(c["fixes"])
        if f.get("status") == CHANGED:
            for fd in f.get("findings", []):
                key = (fd["code"], fd["name"])
                remaining[key] = remaining.get(key, 0) + 1
    changed = sum(1 for f in files if f.get("status") == CHANGED)
    lines = [f"dockopt: optimize {changed} Dockerfile{'s' if changed != 1 else ''}", "",
             "Transforms applied:"]
    lines += [f"- {code} {name}: {n}" for (code, name), n in sorted(applied.items())]
    if remaining:
        lines += ["", "Remaining findings:"]
        lines += [f"- {code} {name}: {n}" for (code, name), n in sorted(remaining.items())]
    return "\n".join(lines) + "\n"


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
    from dockopt.rewriter.cli.main import VERSION
    from dockopt.rewriter.rules_doc import all_rules

    opts = config.options
    context_map = json.dumps(sorted(config.context_map.items())).encode("utf-8")
    return {
        "dockopt": VERSION,
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


def _patch_name(repo_name: str) -> str:
    return repo_name.replace("/", "__") + ".patch"


class Journal:
    """``progress.jsonl``: one JSON line per finished repository, fsynced."""

    def __init__(self, out: str, resume: bool) -> None:
        self.path = os.path.join(out, JOURNAL)
        os.makedirs(out, exist_ok=True)
        self.done: set[str] = set()
        if resume and os.path.exists(self.path):
            with open(self.path, "rb") as handle:
                data = handle.read()
            # A run killed mid-line leaves a partial last line: cut it.
            keep = data[: data.rfind(b"\n") + 1]
            if len(keep) != len(data):
                with open(self.path, "r+b") as handle:
                    handle.truncate(len(keep))
            for rec in _read_jsonl(self.path):
                self.done.add(rec["repo"])
        elif os.path.exists(self.path):
            os.unlink(self.path)
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def append(self, rec: dict[str, Any]) -> None:
        self._handle.write(json.dumps(rec, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def _read_jsonl(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "repo" in rec:
                yield rec


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


# --- reports ---------------------------------------------------------------------------


TIMING_FIELDS = ("finished_at", "generated_at")


def _latest(journal_paths: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Repository name -> (journal, byte offset of its last record)."""
    where: dict[str, tuple[str, int]] = {}
    for path in journal_paths:
        if not os.path.exists(path):
            continue
        with open(path, "rb") as handle:
            offset = 0
            for line in handle:
                with contextlib.suppress(ValueError):
                    rec = json.loads(line)
                    if isinstance(rec, dict) and "repo" in rec:
                        where[str(rec["repo"])] = (path, offset)
                offset += len(line)
    return where


def write_reports(out: str, names: Sequence[str] | None = None, *,
                  interrupted: bool = False, journals: Sequence[str] | None = None,
                  patch_dirs: Sequence[str] = ()) -> dict[str, Any]:
    """summary.json, summary.md, failed.txt, changed.txt from the journal(s),
    streaming one repository at a time; returns the totals."""
    journals = list(journals) if journals is not None else [os.path.join(out, JOURNAL)]
    where = _latest(journals)
    order = sorted(where)
    totals: dict[str, Any] = {"repos": len(order), "repos_planned": len(names)
                              if names is not None else len(order),
                              "files": 0, "lines_added": 0, "lines_removed": 0,
                              "held_back": 0, "context_bytes_saved": 0}
    for s in (CHANGED, UNCHANGED, SKIPPED, FAILED):
        totals[f"repos_{s}"] = totals[f"files_{s}"] = 0
    totals["context_sources"] = {DEFAULT: 0, COMPOSE: 0, CONTEXT_MAP: 0}
    totals["notes"] = 0
    codes: dict[str, int] = {}
    handles: dict[str, Any] = {}
    os.makedirs(out, exist_ok=True)
    tmp = {n: os.path.join(out, f".{n}.tmp") for n in
           ("summary.json", "summary.md", "failed.txt", "changed.txt")}
    try:
        with open(tmp["summary.json"], "w", encoding="utf-8") as js, \
                open(tmp["summary.md"], "w", encoding="utf-8") as md, \
                open(tmp["failed.txt"], "w", encoding="utf-8") as failed, \
                open(tmp["changed.txt"], "w", encoding="utf-8") as changed:
            js.write('{"repos": [')
            md.write("| repository | status | files changed | +/- | codes | reason |\n"
                     "|---|---|---|---|---|---|\n")
            for i, name in enumerate(order):
                path, offset = where[name]
                if path not in handles:
                    handles[path] = open(path, "rb")  # noqa: SIM115
                handles[path].seek(offset)
                rec = json.loads(handles[path].readline())
                js.write(("," if i else "") + "\n" + json.dumps(rec, sort_keys=True))
                _tally(rec, totals, codes, md, failed, changed)
                if patch_dirs:
                    _copy_patch(name, patch_dirs, out)
            totals["codes"] = dict(sorted(codes.items()))
            totals["interrupted"] = interrupted
            js.write('\n],\n"totals": ' + json.dumps(totals, sort_keys=True) + "}\n")
            md.write(f"\n**Totals:** {totals['repos']} repositories "
                     f"({totals['repos_changed']} changed, {totals['repos_unchanged']} "
                     f"unchanged, {totals['repos_skipped']} skipped, {totals['repos_failed']} "
                     f"failed); {totals['files']} Dockerfiles ({totals['files_changed']} "
                     f"changed, {totals['files_failed']} failed); "
                     f"+{totals['lines_added']}/-{totals['lines_removed']} lines; "
                     f"{totals['held_back']} unsafe fixes held back; "
                     f"{totals['context_bytes_saved']} context bytes saved.\n")
            if interrupted:
                md.write("\n**Interrupted:** this is a partial report; rerun with "
                         "`--resume` to finish.\n")
            if codes:
                md.write("\n| code | fixes |\n|---|---|\n")
                md.writelines(f"| {c} | {n} |\n" for c, n in sorted(codes.items()))
            for handle in (js, md, failed, changed):
                handle.flush()
                os.fsync(handle.fileno())
        for name, t in tmp.items():
            os.replace(t, os.path.join(out, name))
    finally:
        for handle in handles.values():
            handle.close()
        for t in tmp.values():
            with contextlib.suppress(OSError):
                os.unlink(t)
    return totals


def _tally(rec: dict[str, Any], totals: dict[str, Any], codes: dict[str, int],
           md: Any, failed: Any, changed: Any) -> None:
    status = rec["status"]
    totals[f"repos_{status}"] += 1
    added = removed = 0
    repo_codes: set[str] = set()
    for f in rec["files"]:
        totals["files"] += 1
        totals[f"files_{f['status']}"] += 1
        added += int(f.get("added") or 0)
        removed += int(f.get("removed") or 0)
        totals["held_back"] += int(f.get("held_back") or 0)
        totals["context_bytes_saved"] += int(f.get("context_bytes_saved") or 0)
        source = str(f.get("context_source", DEFAULT))
        totals["context_sources"][source] = totals["context_sources"].get(source, 0) + 1
        totals["notes"] += len(f.get("notes", ()))
        if f["status"] == CHANGED:
            changed.write(f"{rec['repo']}\t{f['path']}\n")
        elif f["status"] == FAILED:
            failed.write(f"{rec['repo']}\t{f['path']}\t{f.get('reason', '')}\n")
        for c in f.get("codes", []):
            codes[c["code"]] = codes.get(c["code"], 0) + int(c["fixes"])
            repo_codes.add(c["code"])
    totals["notes"] += len(rec.get("notes", ()))
    if status in (SKIPPED, FAILED) and not rec["files"]:
        failed.write(f"{rec['repo']}\t-\t{rec.get('reason') or ''}\n")
    totals["lines_added"] += added
    totals["lines_removed"] += removed
    n_changed = sum(1 for f in rec["files"] if f["status"] == CHANGED)
    reason = (rec.get("reason") or "").replace("|", "\\|")
    md.write(f"| {rec['repo']} | {status} | {n_changed}/{len(rec['files'])} | "
             f"+{added}/-{removed} | {' '.join(sorted(repo_codes))} | {reason} |\n")


def _copy_patch(name: str, patch_dirs: Sequence[str], out: str) -> None:
    """Concatenate the repository's patches from each input (normally one has it)."""
    parts: list[bytes] = []
    for d in patch_dirs:
        p = os.path.join(d, "patches", _patch_name(name))
        if os.path.exists(p):
            parts.append(Path(p).read_bytes())
    if parts:
        os.makedirs(os.path.join(out, "patches"), exist_ok=True)
        atomic_write(os.path.join(out, "patches", _patch_name(name)), b"".join(parts))


def merge_reports(inputs: Sequence[str], out: str) -> dict[str, Any]:
    """One report from several ``--out`` folders (shards): the same as a single run."""
    os.makedirs(out, exist_ok=True)
    journals = [os.path.join(d, JOURNAL) for d in inputs]
    merged = os.path.join(out, JOURNAL)
    where = _latest(journals)
    tmp = merged + ".tmp"
    with open(tmp, "wb") as dst:
        handles: dict[str, Any] = {}
        try:
            for name in sorted(where):
                path, offset = where[name]
                if path not in handles:
                    handles[path] = open(path, "rb")  # noqa: SIM115
                handles[path].seek(offset)
                dst.write(handles[path].readline())
        finally:
            for h in handles.values():
                h.close()
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, merged)
    return write_reports(out, journals=[merged], patch_dirs=list(inputs))


def load_summary(out: str, *, drop_timing: bool = True) -> dict[str, Any]:
    """summary.json, without timing fields (for comparing runs)."""
    data: dict[str, Any] = json.loads(Path(out, "summary.json").read_text(encoding="utf-8"))
    if drop_timing:
        for rec in data["repos"]:
            for key in TIMING_FIELDS:
                rec.pop(key, None)
    return data
