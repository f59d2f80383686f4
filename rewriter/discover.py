"""Which files `dockopt fix` and `dockopt check` look at.

A path named on the command line is always taken, whatever its name (as in ruff:
the user asked for it).  Directories are searched recursively for Dockerfiles by
name: ``Dockerfile``, ``Containerfile``, ``*.Dockerfile``, ``Dockerfile.*`` (and
the same with ``Containerfile``, and Renovate's ``Dockerfile-dev`` naming),
case-insensitively, but not ``*.dockerignore`` (per-Dockerfile ignore files),
templates (``Dockerfile.j2``, ``*.tmpl``, ``*.template``: they become Dockerfiles only
after rendering) nor leftovers of editors and patch tools.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from dockopt.rewriter.records import dataclass

# Folders that hold other people's code or tool state, never the user's Dockerfiles.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "vendor", ".venv",
                       "__pycache__", ".tox", ".mypy_cache", ".ruff_cache"})
_BASES = ("dockerfile", "containerfile")
# `Dockerfile.dockerignore` is BuildKit's per-Dockerfile ignore file; the rest are
# backups and rejects that `patch`, `git apply --reject` and editors leave behind.
_NOT_DOCKERFILE_SUFFIXES = (".dockerignore", ".orig", ".rej", ".bak", ".swp", "~",
                            # templates for Jinja, Go, ERB, Mustache, Handlebars, m4
                            ".j2", ".jinja", ".jinja2", ".tmpl", ".tpl", ".template",
                            ".erb", ".mustache", ".hbs", ".m4")


def is_dockerfile_name(name: str) -> bool:
    lower = name.lower()
    if lower.endswith(_NOT_DOCKERFILE_SUFFIXES):
        return False
    for base in _BASES:
        if lower == base or lower.startswith((base + ".", base + "-")) \
                or lower.endswith("." + base):
            return True
    return False


@dataclass(frozen=True)
class Missing:
    """A path from the command line that does not exist or cannot be read."""

    path: str
    reason: str


@dataclass(frozen=True)
class Empty:
    """A folder from the command line with no Dockerfile below it."""

    path: str


@dataclass(frozen=True)
class Exclusion:
    """What discovery leaves out besides SKIP_DIRS (ruff's `--exclude`,
    `--extend-exclude`, `--force-exclude`, `--respect-gitignore`).

    A pattern without `/` matches any path component (`legacy`, `*.old`); one with
    `/` matches the path relative to the working directory (`services/*/Dockerfile`,
    `docs/**`), a folder's pattern also excluding what is below it.  Files named on
    the command line are taken anyway unless ``force`` (pre-commit passes every
    changed file by name, so its hooks need `--force-exclude`)."""

    patterns: tuple[str, ...] = ()
    force: bool = False
    respect_gitignore: bool = True

    def excludes(self, path: str) -> bool:
        if not self.patterns:
            return False
        rel = os.path.relpath(os.path.abspath(path)).replace(os.sep, "/")
        parts = rel.split("/")
        for pattern in self.patterns:
            p = pattern.strip().rstrip("/")
            if not p:
                continue
            if "/" not in p:
                if any(fnmatch.fnmatchcase(part, p) for part in parts):
                    return True
            elif fnmatch.fnmatchcase(rel, p.lstrip("./")) or \
                    fnmatch.fnmatchcase(rel, p.lstrip("./") + "/*"):
                return True
        return False


def gitignored(paths: Sequence[str]) -> set[str]:
    """The paths git ignores (`git check-ignore`, one call per work tree); nothing
    outside a work tree or without git."""
    import subprocess

    by_repo: dict[str, list[str]] = {}
    for path in paths:
        root = _repo_root(os.path.dirname(os.path.abspath(path)))
        if root is not None:
            by_repo.setdefault(root, []).append(path)
    out: set[str] = set()
    for root, members in by_repo.items():
        absolute = {os.path.abspath(p): p for p in members}
        try:
            proc = subprocess.run(["git", "-C", root, "check-ignore", "-z", "--stdin"],
                                  input="\0".join(absolute) + "\0", capture_output=True,
                                  text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode not in (0, 1):
            continue  # not a work tree after all, or git failed: ignore nothing
        for name in proc.stdout.split("\0"):
            if name:
                full = os.path.abspath(os.path.join(root, name))
                if full in absolute:
                    out.add(absolute[full])
    return out


# Files per `git check-ignore` call: the walk's files are asked about in batches, so
# discovery holds one batch, not every file of a folder argument.
GITIGNORE_BATCH = 2048


def discover(paths: Iterable[str], exclusion: Exclusion | None = None
             ) -> Iterator[str | Missing | Empty]:
    """The files to process, in a stable order, each once.

    Yields file paths as strings (spelled as the user gave them, joined with the
    names found below a directory), or :class:`Missing` for a bad argument.

    Memory stays flat in the number of files: folders are walked lazily, and only
    the files that could be found twice are remembered (see :class:`_Once`).
    """
    rules = exclusion if exclusion is not None else Exclusion()
    args = list(paths)
    kinds = [_kind(arg) for arg in args]  # one stat per argument, not four
    once = _Once(args, kinds)
    for arg, kind in zip(args, kinds, strict=True):
        if kind == _FOLDER:
            any_found = False
            batch: list[str] = []
            for path in _walk(arg):
                if rules.excludes(path):
                    continue
                batch.append(path)
                if len(batch) >= GITIGNORE_BATCH:
                    kept = _not_ignored(batch, rules)
                    any_found = any_found or bool(kept)
                    yield from (f for f in kept if once(f))
                    batch = []
            kept = _not_ignored(batch, rules)
            any_found = any_found or bool(kept)
            # Nothing else comes from this argument when it is empty, so saying so
            # after the walk is the same as saying so before.
            if not any_found:
                yield Empty(arg)
            yield from (f for f in kept if once(f))
        elif kind == _FILE:
            if rules.force and (rules.excludes(arg) or (rules.respect_gitignore
                                                         and gitignored([arg]))):
                continue
            if once(arg):
                yield arg
        elif kind == _OTHER:
            yield Missing(arg, "not a regular file or directory")
        else:
            yield Missing(arg, "No such file or directory")


# What a command-line argument names: os.path.isdir, else isfile, else lexists, from
# one stat (each of those is a stat of its own, and each walk asked them twice).
_FOLDER, _FILE, _OTHER, _NOTHING = range(4)


def _kind(path: str) -> int:
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # as isdir and isfile: False, then ask lexists
        return _OTHER if os.path.lexists(path) else _NOTHING
    return _FOLDER if stat.S_ISDIR(mode) else _FILE if stat.S_ISREG(mode) else _OTHER


def _not_ignored(batch: list[str], rules: Exclusion) -> list[str]:
    if batch and rules.respect_gitignore:
        ignored = gitignored(batch)
        return [f for f in batch if f not in ignored]
    return batch


def _key(path: str, memo: dict[str, str] | None = None) -> str:
    return os.path.normcase(real_path(path, memo))


# A memo of real_path's answers holds at most this many folders, then starts over:
# bounded memory whatever the number of folders, and a run's files come folder by
# folder, so the folders in use stay in it.
MEMO_FOLDERS = 4096


def real_path(path: str, memo: dict[str, str] | None = None) -> str:
    """``os.path.realpath(path)``.  With ``memo`` (one run's), a path is resolved from
    its folder's answer with one ``lstat`` instead of one per component: the files
    of a run share their ancestors.  A path with ``..`` is left to realpath, which
    resolves a link before the ``..`` after it (abspath would drop both)."""
    if memo is None or os.pardir in path.replace("\\", "/").split("/"):
        return os.path.realpath(path)
    if len(memo) > MEMO_FOLDERS:
        memo.clear()
    return _resolve_absolute(os.path.abspath(path), memo)


def _resolve_absolute(absolute: str, memo: dict[str, str]) -> str:
    known = memo.get(absolute)
    if known is not None:
        return known
    parent, name = os.path.split(absolute)
    if not name or parent == absolute:
        out = os.path.realpath(absolute)  # the root
    else:
        candidate = os.path.join(_resolve_absolute(parent, memo), name)
        # A link is resolved as realpath does (its target may hold links and ..).
        out = os.path.realpath(candidate) if os.path.islink(candidate) else candidate
    memo[absolute] = out
    return out


class _Once:
    """Whether a path is seen for the first time (by its real path), remembering only
    the paths that can be met twice rather than every file.

    Two files found can be the same file only when (a) one of them is a symlink or a
    path named on the command line, or (b) both lie below two folder arguments that
    overlap (`dockopt check . sub`): a folder is walked without following symlinked
    folders, so a file found below folder argument A that is not itself a symlink has
    the real path ``realpath(A)/<its path below A>``, distinct for distinct files of
    one walk.  So the real paths of the symlinked Dockerfiles below the folder
    arguments (a first, cheap walk) and of the file arguments are the only ones kept,
    with those below two or more folder arguments; any other file cannot repeat."""

    def __init__(self, args: Sequence[str], kinds: Sequence[int]) -> None:
        self._bases: list[str] = []
        self._aliased: set[str] = set()
        self._memo: dict[str, str] = {}  # real_path's, for this walk
        for arg, kind in zip(args, kinds, strict=True):
            if kind == _FOLDER:
                self._bases.append(_key(arg))
                self._aliased.update(_key(f, self._memo) for f in _walk(arg)
                                     if os.path.islink(f))
            elif kind == _FILE:
                self._aliased.add(_key(arg, self._memo))
        self._seen: set[str] = set()
        # One folder argument without symlinked Dockerfiles (the usual run): no file
        # can repeat, and no real path need be looked up.
        self._trivial = not self._aliased and len(self._bases) < 2

    def __call__(self, path: str) -> bool:
        if self._trivial:
            return True
        key = _key(path, self._memo)
        if key in self._seen:
            return False
        if key in self._aliased or self._below_two_bases(key):
            self._seen.add(key)
        return True

    def _below_two_bases(self, key: str) -> bool:
        if len(self._bases) < 2:
            return False
        below = 0
        for base in self._bases:
            if key == base or key.startswith(base.rstrip(os.sep) + os.sep):
                below += 1
        return below >= 2


def _walk(root: str) -> Iterator[str]:
    # os.walk does not follow symlinked folders, so a link loop cannot trap us.
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if is_dockerfile_name(name):
                full = os.path.join(folder, name)
                if os.path.isfile(full):
                    yield _path_str(full)  # as str(Path(full)): drops a leading ./


def _path_str(path: str) -> str:
    """``str(Path(path))`` on POSIX, without pathlib: pathlib interns every part of
    every path (one entry per file name in the interpreter's table of interned
    strings, which grows with the number of files found), and costs more."""
    if os.sep != "/":
        return str(Path(path))
    root = "//" if path.startswith("//") and not path.startswith("///") else (
        "/" if path.startswith("/") else "")
    parts = [part for part in path.split("/") if part and part != "."]
    return root + "/".join(parts) if (root or parts) else "."


def display_path(path: str, cwd: str | None = None) -> str:
    """``path`` relative to the working directory when it lies below it, with ``/``."""
    base = cwd if cwd is not None else os.getcwd()
    absolute = os.path.abspath(path)
    if os.sep == "/" and _plain_absolute(base) and _plain_absolute(absolute):
        # What relpath answers, without its walk over both paths' parts (every file
        # of a run asks): the part below the working directory, else (relpath would
        # go up with "..") the path as given.
        if absolute == base:
            return "."
        prefix = base if base == "/" else base + "/"
        return absolute[len(prefix):] if absolute.startswith(prefix) else path
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # another drive on Windows
        return absolute.replace(os.sep, "/")
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def _plain_absolute(path: str) -> bool:
    """An absolute POSIX path as abspath leaves it, without the leading "//" that
    POSIX keeps apart (relpath does not)."""
    return path.startswith("/") and not path.startswith("//") \
        and path == os.path.normpath(path)


@functools.lru_cache(maxsize=4096)
def _repo_root(folder: str) -> str | None:
    """The work tree that holds ``folder`` (a parent with a ``.git`` entry), if any.

    Looked up on the file system, not by running git: cheap enough for thousands of
    files, and a ``.git`` file (worktrees, submodules) counts as git itself does."""
    if os.path.exists(os.path.join(folder, ".git")):
        return folder
    parent = os.path.dirname(folder)
    # The parent's answer is cached too: sibling folders share their ancestors' walk.
    return None if parent == folder else _repo_root(parent)


def patch_path(path: str, cwd: str | None = None) -> str:
    """The path of ``path`` in diff headers (``a/<path>``), such that the printed patch
    applies wherever it is run from.

    In a git work tree: relative to its top, as ``git diff`` writes them; ``git apply``
    takes such paths from any folder of the work tree (paths relative to a
    subfolder would be silently skipped there).  Elsewhere: relative to the common
    parent of the working directory and the file, so ``../x/Dockerfile`` becomes
    ``x/Dockerfile`` (apply from that parent) instead of ``a/../x/Dockerfile``, which
    ``git apply`` rejects."""
    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    absolute = os.path.abspath(path)
    root = _repo_root(os.path.dirname(absolute))
    if root is None:
        try:
            root = os.path.commonpath([base, absolute])
        except ValueError:  # another drive on Windows
            return absolute.replace(os.sep, "/").lstrip("/")
        if root == absolute:  # the working directory is the file itself (cannot be)
            root = os.path.dirname(absolute)
    rel = os.path.relpath(absolute, root)
    return "" if rel == os.curdir else rel.replace(os.sep, "/")
