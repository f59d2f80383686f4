"""The work done for one Dockerfile in a pool process: fix it with its context and
return a plain record (status, patch, counts, bytes saved)."""

from __future__ import annotations

import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from dockopt.rewriter.bulk.journal import CHANGED, FAILED, UNCHANGED
from dockopt.rewriter.bulk.repos import DEFAULT
from dockopt.rewriter.records import dataclass

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


