"""The results cache of `dockopt check` (ruff's `.ruff_cache`, black's user cache),
which `dockopt fix` reads too: a file whose stored findings leave nothing to fix is
answered from its entry (``fixresult.unchanged``), and a fix stores its first pass's
outcome, which is check's answer for the text as given.

A file's findings depend on four things: its text, its settings, the engine (dockopt's
code and the libraries it parses with) and its build context (the context rules read
the context's files, its `.dockerignore` and its listing).  An entry is *named* by what
identifies the question: the engine, the working folder, the file's path, the context
folder and the settings.  It *holds* the answer together with what the answer was
computed from: a digest of the text and a fingerprint of the context.  A later run
uses the answer only when both still match; otherwise it checks the file and
overwrites the entry.  So there is one entry per file and settings, however often the
file changes.

The context fingerprint is the metadata of every file in the context, as git's index
keeps it (size, mtime, ctime, inode, mode), and the name and mode of every folder: an
edited, added, removed or renamed file changes it, and so does a `touch`.  Reading it
costs one `lstat` per entry, what the check's own listing of the context costs.

Safety:
- entries are written whole (a temporary file renamed over the entry): concurrent runs
  and Ctrl-C leave whole entries or none, and a damaged entry is a miss;
- entries are pickles read by an unpickler that builds only dockopt's own record types,
  so a cache folder committed to a repository cannot run code; and entry names depend
  on this install of dockopt (its files' times), so another install's entries are never
  opened at all;
- an answer that holds an engine error (DO001-DO003: a crashed transform, no fixed
  point) is not stored, so it is computed again next time.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dockopt.rewriter.fileio import atomic_write
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.syntax import Diagnostic
    from dockopt.transforms.base import Finding

    Outcome = tuple[list[Finding], list[Diagnostic]]

# Bumped when the entry layout changes.
FORMAT = "1"
# The libraries whose code decides findings (parsing, templates): their files are part
# of the engine's fingerprint.
_ENGINE_PACKAGES = ("dockopt.rewriter", "dockopt.transforms", "dockopt.templates",
                    "tree_sitter", "tree_sitter_bash", "jinja2", "markupsafe")
# Engine errors are not stored (see the module's docstring).
_ENGINE_ERROR_PREFIX = "DO00"

_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by dockopt.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")


class CacheError(Exception):
    """The cache folder cannot be made or written (the run goes on without it)."""


@dataclass(frozen=True)
class CacheSpec:
    """Where this run's entries live and what names them; plain data, sent to workers."""

    folder: str  # <cache dir>/<engine fingerprint>: this install's entries
    cwd: str  # relative Dockerfile paths and `<name>.dockerignore` depend on it


def default_dir() -> Path:
    """``$DOCKOPT_CACHE_DIR``, else ``dockopt`` in the user's cache folder
    (``$XDG_CACHE_HOME``, else ``~/.cache``); CacheError when there is no home.

    Not ruff's ``.ruff_cache`` in the project: a Dockerfile's folder is usually its
    build context, and a cache folder there would be sent to every ``docker build``
    (and, being part of the context, would change the context's fingerprint with
    every entry written)."""
    env = os.environ.get("DOCKOPT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "dockopt"
    try:
        return Path.home() / ".cache" / "dockopt"
    except (RuntimeError, KeyError) as exc:  # no HOME and no passwd entry
        raise CacheError("no user cache folder (set DOCKOPT_CACHE_DIR or "
                         "XDG_CACHE_HOME)") from exc


def disabled_by_env() -> bool:
    """``DOCKOPT_NO_CACHE`` set to anything but "", "0" or "false" (as ruff's)."""
    return os.environ.get("DOCKOPT_NO_CACHE", "").lower() not in ("", "0", "false")


def open_cache(where: Path) -> CacheSpec:
    """Make (if needed) and tag the cache folder; raise CacheError if it cannot be."""
    try:
        where.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# Made by dockopt.\n*\n")):
            marker = where / name
            if not marker.exists():
                atomic_write(str(marker), text.encode(), durable=False)
        folder = where / engine_fingerprint()
        if folder.is_dir():
            os.utime(folder)  # in use: a warm run writes no entry (see prune_stale)
        else:
            folder.mkdir(exist_ok=True)
            prune_stale(where, keep=folder.name)
    except OSError as exc:
        raise CacheError(f"cannot use the cache folder {where}: {exc.strerror or exc}") \
            from exc
    # A run's fingerprints are kept for that run only (a test runner may run several
    # in one process, with the files changed in between).
    _contexts.clear()
    _settings.clear()
    return CacheSpec(str(folder.resolve()), os.getcwd())


# An engine folder unused this long (no run of that install read or wrote it) belongs
# to an install that is gone or idle: an upgrade, a reinstall or an edit of an editable
# install starts a new folder, and the old ones would otherwise pile up.
STALE_DAYS = 30
_ENGINE_NAME = lazy(r"[0-9a-f]{24}")


def prune_stale(where: Path, keep: str, now: float | None = None) -> list[str]:
    """Remove the engine folders of ``where`` (named as ``engine_fingerprint`` names
    them) other than ``keep`` that no run has used for STALE_DAYS; the names removed.
    Each run touches its own folder, so an install still in use keeps its entries.
    Best effort: a folder that cannot be removed stays (it only takes space)."""
    import shutil
    import time

    limit = (time.time() if now is None else now) - STALE_DAYS * 86400
    removed: list[str] = []
    try:
        entries = list(os.scandir(where))
    except OSError:
        return removed
    for entry in entries:
        if entry.name == keep or not _ENGINE_NAME.fullmatch(entry.name):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) \
                    or entry.stat(follow_symlinks=False).st_mtime >= limit:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.name)
    return sorted(removed)


def clean(where: Path) -> bool:
    """Remove a cache folder; False if there was none.  Refuses a folder that is not
    one (no CACHEDIR.TAG of dockopt's), so a mistyped path removes nothing."""
    import shutil

    if not where.is_dir():
        return False
    tag = where / "CACHEDIR.TAG"
    if not tag.is_file() or "dockopt" not in tag.read_text(errors="replace"):
        raise CacheError(f"{where} is not a dockopt cache folder (no dockopt CACHEDIR.TAG)")
    shutil.rmtree(where)
    return True


# --- fingerprints ---------------------------------------------------------------------

_engine: str | None = None


def engine_fingerprint() -> str:
    """A digest of dockopt's version, Python's, and the metadata of every file of the
    engine's packages (once per process, about a millisecond): an upgrade, a
    reinstall or an edit of an editable install starts a new folder of entries."""
    global _engine
    if _engine is None:
        from importlib.util import find_spec

        from dockopt.rewriter import __version__

        h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{sys.version}\0".encode())
        for name in _ENGINE_PACKAGES:
            try:
                spec = find_spec(name)
            except (ImportError, ValueError):
                spec = None
            roots = list(spec.submodule_search_locations or ()) if spec else []
            if spec is not None and not roots and spec.origin:
                roots = [str(Path(spec.origin).parent)]
            h.update(f"{name}\0".encode())
            for root in roots:
                _digest_tree(h, root, skip=("__pycache__",))
        _engine = h.hexdigest()[:24]
    return _engine


def _digest_tree(h: Any, root: str, skip: tuple[str, ...] = ()) -> None:
    """Feed every folder's and file's metadata below ``root`` to ``h``, in a stable
    order, symlinks not followed (the context is sent that way too)."""
    stack = [("", root)]
    while stack:
        rel_dir, path = stack.pop()
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            h.update(f"!{rel_dir}\0{exc.errno}\0".encode())
            continue
        sub = []
        for e in entries:
            if e.name in skip:
                continue
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                h.update(f"?{rel}\0".encode())
                continue
            if stat.S_ISDIR(st.st_mode):
                # A folder by its name and mode only: what it holds is listed below it,
                # and its own times change with entries that are skipped (Python
                # writing __pycache__ into an engine package made the next run miss).
                h.update(f"{rel}\0{st.st_mode}\0".encode(errors="surrogateescape"))
                sub.append((rel, e.path))
                continue
            h.update(f"{rel}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}\0"
                     f"{st.st_ctime_ns}\0{st.st_ino}\0".encode(errors="surrogateescape"))
        stack.extend(reversed(sub))


_contexts: dict[str, str] = {}


def context_fingerprint(context: Path | None, dockerfile: str | None,
                        memo: bool = True) -> str:
    """The context's fingerprint (once per folder per process, or each time without
    ``memo``: `fix` writes into contexts), plus the metadata of the Dockerfile's own
    ``<name>.dockerignore``, which may lie outside it."""
    if context is None:
        return "-"
    root = os.path.abspath(context)
    found = _contexts.get(root) if memo else None
    if found is None:
        h = hashlib.sha256(root.encode(errors="surrogateescape"))
        _digest_tree(h, root)
        found = h.hexdigest()
        if memo:
            _contexts[root] = found
    if dockerfile:
        own = os.path.abspath(dockerfile) + ".dockerignore"
        try:
            st = os.stat(own)
            found += f":{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
        except OSError:
            pass
    return found


_settings: dict[int, tuple[Settings, str]] = {}


def settings_fingerprint(settings: Settings) -> str:
    """A stable digest of the settings' values (once per settings object: files of one
    folder share theirs)."""
    known = _settings.get(id(settings))
    if known is not None and known[0] is settings:
        return known[1]
    import dataclasses
    import json

    text = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=repr)
    digest = hashlib.sha256(text.encode()).hexdigest()
    _settings[id(settings)] = (settings, digest)  # the object is kept: ids stay unique
    return digest


# --- entries ---------------------------------------------------------------------------


def _entry_path(spec: CacheSpec, path: str | None, context: Path | None,
                settings: Settings) -> str:
    where = os.path.abspath(context) if context is not None else "-"
    key = f"{spec.cwd}\0{path}\0{where}\0{settings_fingerprint(settings)}"
    return os.path.join(spec.folder,
                        hashlib.sha256(key.encode(errors="surrogateescape")).hexdigest()[:40])


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def load(spec: CacheSpec, text: str, path: str | None, context: Path | None,
         settings: Settings, memo: bool = True) -> tuple[Outcome | None, tuple[str, str, str]]:
    """The stored answer if it still holds, else None; and the entry's path and the
    facts to store with a new answer (so the context is fingerprinted once).
    ``memo``: as ``context_fingerprint``'s."""
    entry = _entry_path(spec, path, context, settings)
    facts = (entry, _text_digest(text), context_fingerprint(context, path, memo))
    try:
        with open(entry, "rb") as fh:
            stored = _SafeUnpickler(fh).load()
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
            IndexError, TypeError, ValueError):
        return None, facts
    if (isinstance(stored, tuple) and len(stored) == 4 and stored[0] == FORMAT
            and stored[1] == facts[1] and stored[2] == facts[2]):
        outcome = stored[3]
        if (isinstance(outcome, tuple) and len(outcome) == 2
                and all(isinstance(part, list) for part in outcome)):
            return outcome, facts
    return None, facts


def store(facts: tuple[str, str, str], outcome: Outcome) -> None:
    """Write the answer (whole or not at all); a failure only costs the next run."""
    entry, text_digest, context = facts
    if any(d.code.startswith(_ENGINE_ERROR_PREFIX) for d in outcome[1]):
        return
    try:
        data = pickle.dumps((FORMAT, text_digest, context, outcome),
                            protocol=pickle.HIGHEST_PROTOCOL)
        # Whole or not at all; no fsync: a torn entry after a crash is only a miss.
        atomic_write(entry, data, durable=False)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass


class _SafeUnpickler(pickle.Unpickler):
    """Builds only dockopt's record types (dataclasses, enums, named tuples) and the
    containers pickle makes itself; anything else is refused (a miss)."""

    _HELPERS = frozenset({("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
                          ("builtins", "object"), ("builtins", "frozenset"),
                          ("builtins", "set"), ("builtins", "slice")})

    # The classes already allowed, by (module, name): an entry names a few classes
    # many times, and a warm run reads hundreds of entries.
    _allowed: ClassVar[dict[tuple[str, str], Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is not None:
            return found
        if (module, name) in self._HELPERS:
            found = super().find_class(module, name)
        elif module.startswith("dockopt.") and "." not in name:
            found = super().find_class(module, name)
            if not (isinstance(found, type) and _is_record(found)):
                found = None
        if found is None:
            raise pickle.UnpicklingError(f"not a dockopt record: {module}.{name}")
        self._allowed[(module, name)] = found
        return found


def _is_record(cls: type) -> bool:
    import enum

    return (hasattr(cls, "__dataclass_fields__") or issubclass(cls, enum.Enum)
            or (issubclass(cls, tuple) and hasattr(cls, "_fields")))


def loads(data: bytes) -> Any:
    """Read an entry's bytes as ``load`` does (for tests)."""
    return _SafeUnpickler(io.BytesIO(data)).load()
