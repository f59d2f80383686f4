"""The build context: the folder `docker build` sends, read lazily and safely.

Nothing is read until a transform asks.  Files are read on demand, never through a
symlink that leaves the context, and the walk never descends into a symlinked
folder (Docker sends a symlink as a link, it does not follow it).  One walk is
cached per context and serves the listing, the size measurement and the checks.

What is here:

- :class:`BuildContext`: the folder, its file listing, ecosystem detection
  (:meth:`BuildContext.ecosystems`, :meth:`BuildContext.ecosystems_at`,
  :meth:`BuildContext.ecosystem_at`), pip ``-r``/``-c`` closures
  (:meth:`BuildContext.requirements_closure`), the ``.dockerignore`` in effect
  (:meth:`BuildContext.ignore_file`) and :meth:`BuildContext.context_size`.
- :class:`PatternMatcher` and :func:`read_ignore_patterns`: ``.dockerignore``
  with Docker's exact semantics.

``.dockerignore`` semantics, and why this is our own code
---------------------------------------------------------
Docker reads the file with ``moby/patternmatcher/ignorefile.ReadAll`` (a UTF-8 BOM
on the first line is dropped; a line that starts with ``#`` *in column 1* is a
comment; every other line is whitespace-trimmed, blank ones skipped; a leading
``!`` marks an exception; the rest goes through Go's ``filepath.Clean`` and loses a
leading ``/``) and matches each path with ``PatternMatcher.MatchesOrParentMatches``
(patterns in order, the last one that matches the path *or one of its parent
folders* wins).  Each pattern is compiled the way ``patternmatcher.Pattern.compile``
does it: exact, prefix (``dir/**``), suffix (leading ``**``: a plain string suffix
test, so ``**file`` also matches ``myfile``) or a regular expression where ``*`` and
``?`` never cross ``/``, ``**`` spans any number of folders (zero included),
``[...]``/``[^...]`` are classes and ``\\`` escapes the next character.  A pattern
that Go's ``filepath.Match`` rejects (``[``, ``[]a]``, ``[x-]``, a trailing ``\\``)
makes Docker fail the build; :class:`PatternMatcher` raises :class:`BadPattern`.

The issue asked to prefer a maintained library if one has these exact semantics.
The ``docker`` SDK's ``docker.utils.build.PatternMatcher`` (with its own
``docker.utils.fnmatch``) does not:

- it lower-cases both the pattern and the path, so matching is case-insensitive
  (Docker on Linux is case-sensitive: ``*.MD`` does not exclude ``a.md``);
- it checks only the parent folder at the pattern's own depth (the algorithm of
  the deprecated ``patternmatcher.Matches``), so ``**/foo`` does not exclude
  ``a/b/foo/x``;
- ``[!x]`` is its negated class while Go's is ``[^x]`` (it escapes ``^`` and reads
  ``!`` as negation), and a backslash is a literal, not an escape (``a\\*b`` does
  not match ``a*b``);
- bad patterns (``[``) are literals instead of errors; ``..`` is resolved by
  dropping the previous element where ``filepath.Clean`` keeps a leading ``..``;
- it always appends ``!.dockerignore`` and ``!Dockerfile`` (what the old API
  client sent), which is not part of the matching rules.

``pathspec`` (installed here) implements ``.gitignore`` rules, which differ in more
ways still (``*`` crossing folders, unanchored names).  So the matcher is a small
port of ``patternmatcher``; ``tests/test_dockerignore_match.py`` holds its table of
cases from patternmatcher's tests and Docker's documentation.  Known differences:
only the Linux path separator is modelled; patternmatcher hands the regex to Go's
RE2 and we hand it to Python's ``re``, which agree on everything the translation
produces except exotic escapes inside a pattern (``\\pL``, POSIX ``[[:alpha:]]``),
where we raise :class:`BadPattern` and the caller must treat the file as unknown.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass

# --------------------------------------------------------------------------------
# Go's filepath.Clean and filepath.Match syntax, and the patternmatcher port
# --------------------------------------------------------------------------------


class BadPattern(ValueError):
    """A pattern Go's ``filepath.Match`` rejects (Docker fails the build on it)."""


def go_clean(path: str) -> str:
    """Go's ``path/filepath.Clean`` for "/"-separated paths (Linux)."""
    if path and path[-1] != "/" and "//" not in path and "/." not in path \
            and path[0] != ".":
        return path  # no empty, "." or ".." segment: already clean (most paths)
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def check_go_pattern(pattern: str) -> None:
    """Raise :class:`BadPattern` where Go's ``filepath.Match`` returns ErrBadPattern.

    Go (1.16+) validates the whole pattern, so this is a pure syntax check: a class
    must close, must not be empty, ``-`` and ``]`` must be escaped inside it unless
    ``]`` ends it, a range needs both ends, and ``\\`` must escape something.
    """
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise BadPattern(f"bad pattern {pattern!r}: trailing backslash")
            i += 2
            continue
        if ch != "[":
            i += 1
            continue
        i += 1
        if i < n and pattern[i] == "^":
            i += 1
        nrange = 0
        while True:
            if i < n and pattern[i] == "]" and nrange > 0:
                i += 1
                break
            i, _ = _class_char(pattern, i)
            if i < n and pattern[i] == "-":
                i, _ = _class_char(pattern, i + 1)
            nrange += 1


def _class_char(pattern: str, i: int) -> tuple[int, str]:
    """Go's ``getEsc``: one (possibly escaped) class character."""
    n = len(pattern)
    if i >= n or pattern[i] in "-]":
        raise BadPattern(f"bad pattern {pattern!r}: malformed character class")
    ch = pattern[i]
    if ch == "\\":
        i += 1
        if i >= n:
            raise BadPattern(f"bad pattern {pattern!r}: trailing backslash")
        ch = pattern[i]
    return i + 1, ch


_REGEX_SPECIAL = set(".+()|{}$")


@dataclass(frozen=True)
class Pattern:
    """One cleaned ``.dockerignore`` pattern, compiled like patternmatcher does."""

    text: str  # cleaned, without the "!"
    exclusion: bool
    kind: str  # "exact" | "prefix" | "suffix" | "regexp"
    regex: re.Pattern[str] | None = field(default=None, compare=False)

    @classmethod
    def compile(cls, text: str, exclusion: bool = False) -> Pattern:
        """The compiled pattern (raises BadPattern).  Patterns are immutable, and the
        same few recur in every file (`.dockerignore` templates, COPY sources), so they
        are compiled once per process."""
        if cls is not Pattern:
            return cls._compile(text, exclusion)
        return _compiled_pattern(text, exclusion)

    @classmethod
    def _compile(cls, text: str, exclusion: bool) -> Pattern:
        check_go_pattern(text)
        reg: list[str] = []
        kind = "exact"
        i, n = 0, len(text)
        token = 0
        while i < n:
            ch = text[i]
            i += 1
            if ch == "*":
                if i < n and text[i] == "*":
                    i += 1
                    if i < n and text[i] == "/":
                        i += 1  # treat "**/" as "**"
                    if i >= n:
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            reg.append(".*")
                            kind = "regexp"
                    else:
                        reg.append("(.*/)?")
                        kind = "regexp"
                    if token == 0:
                        kind = "suffix"
                else:
                    reg.append("[^/]*")
                    kind = "regexp"
            elif ch == "?":
                reg.append("[^/]")
                kind = "regexp"
            elif ch in _REGEX_SPECIAL:
                reg.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    reg.append("\\" + text[i])
                    i += 1
                    kind = "regexp"
                else:
                    reg.append("\\\\")
            elif ch in "[]":
                reg.append(ch)
                kind = "regexp"
            else:
                reg.append(ch)
            token += 1
        regex = None
        if kind == "regexp":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    regex = re.compile("".join(reg))
            except re.error as exc:
                raise BadPattern(f"bad pattern {text!r}: {exc}") from None
        return cls(text, exclusion, kind, regex)

    def match(self, path: str) -> bool:
        """patternmatcher's ``Pattern.match`` on a cleaned "/"-separated path."""
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix[:1] == "/" and path == suffix[1:]
        assert self.regex is not None
        return self.regex.fullmatch(path) is not None


@functools.lru_cache(maxsize=8192)
def _compiled_pattern(text: str, exclusion: bool) -> Pattern:
    return Pattern._compile(text, exclusion)


def read_ignore_patterns(text: str) -> list[str]:
    """``ignorefile.ReadAll``: the patterns of a ``.dockerignore`` file, in order."""
    out: list[str] = []
    for n, line in enumerate(text.splitlines()):
        if n == 0 and line.startswith("\ufeff"):
            line = line[1:]
        if line.startswith("#"):
            continue
        pattern = line.strip(" \t\r\n\v\f")
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip(" \t\r\n\v\f")
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


def normalize_pattern(line: str) -> str | None:
    """One line as Docker reads it (cleaned, "!" kept), or None if it is no pattern."""
    got = read_ignore_patterns(line)
    return got[0] if got else None


class PatternMatcher:
    """``patternmatcher.PatternMatcher`` with ``MatchesOrParentMatches`` semantics.

    ``patterns`` are as :func:`read_ignore_patterns` returns them.  Raises
    :class:`BadPattern` for a pattern Docker rejects.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        # The same lists come back for every file (a template's entries, a file's
        # patterns in each pass): each list is compiled once per process.
        self.patterns: list[Pattern] = list(_compiled_list(tuple(patterns)))

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def any_matches(self) -> Callable[[str], bool]:
        """Whether one of the patterns matches a path itself (its parents not asked):
        one regular expression for all of them, where asking each pattern in turn is
        a Python call per pattern and path (a template's 34 entries times 100,000
        files).  Only for the exclusion patterns' sake, ``!`` ones are not told apart."""
        return _one_matcher(tuple(p.text for p in self.patterns))

    def excludes(self, path: str) -> bool:
        """Whether Docker leaves ``path`` (context-relative) out of the context."""
        path = go_clean(path)
        if path == ".":
            return False
        return self._fold(path, _parents(path))

    def _fold(self, path: str, parents: Sequence[str]) -> bool:
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            hit = p.match(path) or any(p.match(d) for d in parents)
            if hit:
                matched = not p.exclusion
        return matched

    def matching(self, paths: Iterable[str]) -> Iterator[str]:
        """The paths (context-relative) this matcher excludes."""
        return (p for p in paths if self.excludes(p))


@functools.lru_cache(maxsize=256)
def _compiled_list(patterns: tuple[str, ...]) -> tuple[Pattern, ...]:
    """``PatternMatcher``'s patterns compiled (raises BadPattern)."""
    out: list[Pattern] = []
    for raw in patterns:
        p = raw.strip(" \t\r\n\v\f")
        if not p:
            continue
        p = go_clean(p)
        exclusion = p.startswith("!")
        if exclusion:
            if len(p) == 1:
                raise BadPattern('illegal exclusion pattern: "!"')
            p = p[1:]
        out.append(Pattern.compile(p, exclusion))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _one_matcher(texts: tuple[str, ...]) -> Callable[[str], bool]:
    """``lambda path: any(Pattern.compile(t).match(path) for t in texts)`` as one
    regular expression: each pattern's own test spelled as an alternative (``match``
    is a full match, so every alternative must cover the whole path)."""
    parts: list[str] = []
    for text in texts:
        pat = Pattern.compile(text)
        if pat.kind == "exact":
            parts.append(re.escape(pat.text))
        elif pat.kind == "prefix":
            parts.append(re.escape(pat.text[:-2]) + "(?s:.*)")
        elif pat.kind == "suffix":
            suffix = pat.text[2:]
            parts.append("(?s:.*)" + re.escape(suffix))
            if suffix[:1] == "/":
                parts.append(re.escape(suffix[1:]))
        else:
            assert pat.regex is not None
            parts.append(pat.regex.pattern)
    if not parts:
        return lambda path: False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as each pattern's own regex was compiled
        regex = re.compile("|".join(f"(?:{p})" for p in parts))
    full = regex.fullmatch
    return lambda path: full(path) is not None


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def glob_matches(source: str, path: str) -> bool:
    """Whether a COPY/ADD source (Go ``filepath.Match`` glob) names ``path``.

    A match on a parent folder counts too: a folder source brings everything in it.
    """
    src = go_clean(source.lstrip("/") or ".")
    if src == ".":
        return True
    try:
        pat = Pattern.compile(src)
    except BadPattern:
        return False
    return pat.match(path) or any(pat.match(d) for d in _parents(path))


# --------------------------------------------------------------------------------
# Ecosystems
# --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ecosystem:
    """A dependency ecosystem found in one folder of the context.

    ``root`` is the folder ("" for the context root); ``manifests`` are every file
    the dependency install reads (context-relative, lockfile included, only files
    that exist); ``lockfile`` the main lockfile; ``extra`` per-ecosystem details:

    - node: ``manager`` (npm, yarn, pnpm, bun), ``yarn`` (classic, berry),
      ``workspaces`` (member folders), ``npmrc`` (bool);
    - python: ``tool`` (pip, poetry, uv, pdm, pipenv, setuptools),
      ``requirements`` (top-level requirement files), ``poetry``/``project``
      (pyproject has ``[tool.poetry]``/``[project]``), ``setup`` (setup.py/cfg);
    - java: ``build`` (maven, gradle), ``wrapper`` (bool);
    - dotnet: ``projects`` (the project files).
    """

    name: str
    root: str
    manifests: tuple[str, ...]
    lockfile: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


_SKIP_DIRS = frozenset({".git", "node_modules", "vendor", ".venv", "venv", "target",
                        "__pycache__", ".tox", ".mypy_cache", ".pytest_cache", "dist",
                        "build", "bin", "obj", ".gradle", ".idea", ".vscode"})
_REQ_INCLUDE = lazy(
    r"^\s*(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")
_DOTNET_PROJECT = (".csproj", ".fsproj", ".vbproj")


def _join(root: str, name: str) -> str:
    return f"{root}/{name}" if root else name


# --------------------------------------------------------------------------------
# The build context
# --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreFile:
    """The ignore file in effect: context-relative ``rel`` (None if it lies outside
    the context), its ``text`` (None when absent) and whether it is the
    Dockerfile-specific ``<Dockerfile>.dockerignore``."""

    rel: str | None
    text: str | None
    dockerfile_specific: bool = False


class BuildContext:
    """A build-context folder. Paths are relative, "/"-separated."""

    def __init__(self, root: Path, *, dockerfile: str | None = None,
                 display_root: str | None = None) -> None:
        self.root = root.resolve()
        self._root_prefix = str(self.root).rstrip("/")  # "" for the file system root
        self.dockerfile = dockerfile
        # How diffs name context files: relative to the working directory if possible.
        if display_root is None:
            try:
                display_root = os.path.relpath(self.root)
            except ValueError:
                display_root = str(self.root)
        self.display_root = "" if display_root in (".", "") else display_root.rstrip("/") + "/"
        self._files: dict[str, int] | None = None
        self._dirs: set[str] | None = None
        self._eco_cache: dict[str, list[Ecosystem]] = {}
        self._children: dict[str, list[str]] | None = None
        self._dockerfiles: list[str] | None = None

    # --- single files -------------------------------------------------------------

    def resolve(self, rel: str) -> Path | None:
        """The file's real path, or None if absent or outside the context."""
        real = self._under_root(rel)
        if real is not None:
            return Path(real)
        candidate = (self.root / rel).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            return None
        return candidate

    def real_path(self, rel: str) -> str:
        """``os.path.realpath`` of ``root/rel``."""
        real = self._under_root(rel)
        return real if real is not None else os.path.realpath(self.root / rel)

    def dockerfile_real_path(self) -> str | None:
        """``os.path.realpath`` of the Dockerfile (None without one).  Inside the
        context only the parts below the (real) root need a look (``real_path``): the
        Dockerfile is most often in the context's own folder."""
        df = self.dockerfile
        if not df:
            return None
        # The working directory is a real path already (getcwd), so realpath reads a
        # relative path as this join.
        full = df if df.startswith("/") else os.path.join(os.getcwd(), df)
        prefix = self._root_prefix + "/"
        if full.startswith(prefix):
            return self.real_path(full[len(prefix):])
        return os.path.realpath(df)

    def _under_root(self, rel: str) -> str | None:
        """``root/rel`` when that is already its real path: ``rel`` is clean (no empty,
        ``.`` or ``..`` part) and no part of it is a symlink, else None.

        The root is resolved once, so only ``rel``'s own parts need a look (an lstat
        each) where ``Path.resolve`` checks every part of the whole path again: about
        nine per file, 37,000 lstat calls checking the 451 official images."""
        parts = rel.split("/")
        if "" in parts or "." in parts or ".." in parts or "\0" in rel:
            return None  # (a NUL makes realpath raise: keep that)
        path = self._root_prefix
        for part in parts:
            path += "/" + part
            if os.path.islink(path):
                return None
        return path

    def exists(self, rel: str) -> bool:
        p = self.resolve(rel)
        return p is not None and p.exists()

    def is_file(self, rel: str) -> bool:
        p = self.resolve(rel)
        return p is not None and p.is_file()

    def read_text(self, rel: str) -> str | None:
        p = self.resolve(rel)
        if p is None or not p.is_file():
            return None
        try:
            return p.read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return None

    def read_head(self, rel: str, size: int) -> bytes | None:
        """The first ``size`` bytes of a regular file (symlinks followed inside the
        context), or None if absent, not a file, outside the context or unreadable."""
        p = self.resolve(rel)
        if p is None or not p.is_file():
            return None
        try:
            with p.open("rb") as fh:
                return fh.read(size)
        except OSError:
            return None

    def display_path(self, rel: str) -> str:
        return self.display_root + rel

    # --- the listing ------------------------------------------------------------------

    def _walk(self) -> None:
        files: dict[str, int] = {}
        dirs: set[str] = set()
        root = str(self.root)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            keep: list[str] = []
            for d in dirnames:
                full = os.path.join(dirpath, d)
                rel = _join(rel_dir, d)
                if os.path.islink(full):  # sent as a link; never followed
                    files[rel] = _lsize(full)
                    continue
                keep.append(d)
                dirs.add(rel)
            dirnames[:] = sorted(keep)
            for f in filenames:
                files[_join(rel_dir, f)] = _lsize(os.path.join(dirpath, f))
        self._files, self._dirs = files, dirs

    @property
    def files(self) -> Mapping[str, int]:
        """Every file (and symlink) in the context: path -> size in bytes. Cached."""
        if self._files is None:
            self._walk()
        assert self._files is not None
        return self._files

    @property
    def dirs(self) -> frozenset[str]:
        """Every real (non-symlink) folder in the context. Cached."""
        if self._dirs is None:
            self._walk()
        assert self._dirs is not None
        return frozenset(self._dirs)

    def dockerfiles(self) -> list[str]:
        """The files named like a Dockerfile (``discover.is_dockerfile_name``) outside
        the folders discovery skips (``discover.SKIP_DIRS``). Cached: every Dockerfile
        checked against this context, in every pass, asks (``bulk`` keeps a context for
        the Dockerfiles of one folder)."""
        if self._dockerfiles is None:
            from dockopt.rewriter.discover import SKIP_DIRS, is_dockerfile_name

            found: list[str] = []
            for rel in self.files:
                parts = rel.split("/")
                if is_dockerfile_name(parts[-1]) and \
                        not any(p in SKIP_DIRS for p in parts[:-1]):
                    found.append(rel)
            self._dockerfiles = found
        return list(self._dockerfiles)

    def listdir(self, rel_dir: str) -> list[str]:
        """Names of the entries directly in ``rel_dir`` (from the cached listing)."""
        if self._children is None:
            children: dict[str, set[str]] = {}
            for path in (*self.files, *self.dirs):
                parent, _, name = path.rpartition("/")
                children.setdefault(parent, set()).add(name)
            self._children = {d: sorted(names) for d, names in children.items()}
        key = rel_dir.strip("/")
        return list(self._children.get("" if key == "." else key, ()))

    def glob(self, pattern: str) -> list[str]:
        """Files matching a Go-style glob (``*`` within a folder, ``**`` across)."""
        try:
            pat = Pattern.compile(go_clean(pattern))
        except BadPattern:
            return []
        return sorted(p for p in self.files if pat.match(p))

    # --- .dockerignore --------------------------------------------------------------

    def ignore_file(self) -> IgnoreFile:
        """The ignore file Docker would use for this Dockerfile.

        ``<Dockerfile-name>.dockerignore`` next to the Dockerfile wins over the
        context's ``.dockerignore`` (BuildKit, Docker 23+).
        """
        if self.dockerfile:
            df = Path(self.dockerfile)
            if not df.is_absolute():
                df = Path.cwd() / df
            specific = df.parent / (df.name + ".dockerignore")
            if specific.is_file():
                text = specific.read_bytes().decode("utf-8", "surrogateescape")
                try:
                    rel: str | None = specific.resolve().relative_to(self.root).as_posix()
                except ValueError:
                    rel = None
                return IgnoreFile(rel, text, True)
        return IgnoreFile(".dockerignore", self.read_text(".dockerignore"))

    def dockerfile_ignore_rel(self) -> str | None:
        """Where this Dockerfile's own ``<name>.dockerignore`` goes, relative to the
        context (None: no Dockerfile path, or it lies outside the context)."""
        if not self.dockerfile:
            return None
        df = Path(self.dockerfile)
        if not df.is_absolute():
            df = Path.cwd() / df
        # The context is the Dockerfile's folder most often: spelled like the (real)
        # root, the folder is its own real path.
        parent = df.parent
        real = self.root if str(parent) == str(self.root) else parent.resolve()
        specific = real / (df.name + ".dockerignore")
        try:
            return specific.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def ignore_patterns(self, text: str | None = None) -> list[str]:
        """The patterns in effect (of ``text`` if given, else of the ignore file)."""
        if text is None:
            text = self.ignore_file().text
        return read_ignore_patterns(text or "")

    def excluded(self, patterns: Sequence[str]) -> set[str]:
        """The listed files the patterns exclude (fast path for big folders)."""
        return set(self._excluded_files(PatternMatcher(patterns)))

    def _excluded_files(self, pm: PatternMatcher) -> Iterator[str]:
        if not pm.patterns:
            return
        if pm.exclusions:
            yield from pm.matching(self.files)
            return
        # Without "!" exceptions a folder that is excluded excludes all below it,
        # so each folder is decided once and its files inherit the answer.
        decided: dict[str, bool] = {"": False}
        matches = pm.any_matches()

        def dir_excluded(d: str) -> bool:
            if d not in decided:
                parent = d.rsplit("/", 1)[0] if "/" in d else ""
                decided[d] = dir_excluded(parent) or matches(d)
            return decided[d]

        for f in self.files:
            parent = f.rsplit("/", 1)[0] if "/" in f else ""
            if dir_excluded(parent) or matches(f):
                yield f

    def context_size(self, ignore_patterns: Sequence[str] = ()) -> tuple[int, int]:
        """(files, bytes) that ``docker build`` sends with these ignore patterns."""
        gone = self.excluded(ignore_patterns)
        files = self.files
        n = len(files) - len(gone)
        size = sum(files.values()) - sum(files[p] for p in gone)
        return n, size

    # --- ecosystems -----------------------------------------------------------------

    def ecosystems(self) -> list[Ecosystem]:
        """Every ecosystem in the context, the root's first, then by folder.

        Folders holding dependencies or build output (node_modules, vendor, .venv,
        target, ...) are not searched, nor are workspace members of an ecosystem
        already found (they are listed in its manifests).
        """
        out: list[Ecosystem] = []
        members: set[str] = set()
        folders = sorted({""} | {d for d in self.dirs
                                 if not any(part in _SKIP_DIRS for part in d.split("/"))},
                         key=lambda d: (d.count("/") if d else -1, d))
        for d in folders:
            for eco in self.ecosystems_at(d):
                if eco.name == "node" and d in members:
                    continue
                out.append(eco)
                members.update(eco.extra.get("workspaces", ()))
        return out

    def ecosystem_at(self, rel_dir: str, name: str | None = None) -> Ecosystem | None:
        """The (first, or the named) ecosystem whose manifests are in ``rel_dir``."""
        for eco in self.ecosystems_at(rel_dir):
            if name is None or eco.name == name:
                return eco
        return None

    def ecosystems_at(self, rel_dir: str) -> list[Ecosystem]:
        """The ecosystems whose manifests sit directly in ``rel_dir``."""
        d = go_clean(rel_dir.strip("/") or ".")
        d = "" if d == "." else d
        if d not in self._eco_cache:
            names = set(self.listdir(d))
            found: list[Ecosystem] = []
            for detect in (self._node, self._python, self._go, self._java, self._ruby,
                           self._php, self._rust, self._dotnet):
                eco = detect(d, names)
                if eco is not None:
                    found.append(eco)
            self._eco_cache[d] = found
        return list(self._eco_cache[d])

    def _present(self, d: str, names: set[str], candidates: Iterable[str]) -> list[str]:
        return [_join(d, c) for c in candidates if c in names and _join(d, c) in self.files]

    def _node(self, d: str, names: set[str]) -> Ecosystem | None:
        if "package.json" not in names:
            return None
        manifests = self._present(d, names, (
            "package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
            "pnpm-lock.yaml", "bun.lockb", "bun.lock", ".npmrc", ".yarnrc", ".yarnrc.yml",
            "pnpm-workspace.yaml", ".pnpmfile.cjs"))
        lock = next((m for m in manifests if m.rsplit("/", 1)[-1] in (
            "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
            "bun.lockb", "bun.lock")), None)
        lock_name = lock.rsplit("/", 1)[-1] if lock else None
        manager = {"yarn.lock": "yarn", "pnpm-lock.yaml": "pnpm", "bun.lockb": "bun",
                   "bun.lock": "bun"}.get(lock_name or "", "npm")
        extra: dict[str, Any] = {"manager": manager, "npmrc": ".npmrc" in names}
        if manager == "yarn" or ".yarnrc.yml" in names:
            head = (self.read_text(_join(d, "yarn.lock")) or "")[:4096]
            berry = "__metadata:" in head or ".yarnrc.yml" in names
            extra["yarn"] = "berry" if berry else "classic"
            if berry:
                manifests += [f for f in self.files if f.startswith(
                    tuple(_join(d, f".yarn/{s}/") for s in ("releases", "plugins", "patches")))]
        members = self._node_workspaces(d, names)
        extra["workspaces"] = members
        manifests += [_join(m, "package.json") for m in members]
        return Ecosystem("node", d, tuple(dict.fromkeys(manifests)), lock, extra)

    def _node_workspaces(self, d: str, names: set[str]) -> list[str]:
        globs: list[str] = []
        try:
            pkg = json.loads(self.read_text(_join(d, "package.json")) or "{}")
        except ValueError:
            pkg = {}
        ws = pkg.get("workspaces") if isinstance(pkg, dict) else None
        if isinstance(ws, dict):
            ws = ws.get("packages")
        if isinstance(ws, list):
            globs += [g for g in ws if isinstance(g, str)]
        if "pnpm-workspace.yaml" in names:
            globs += _pnpm_packages(self.read_text(_join(d, "pnpm-workspace.yaml")) or "")
        members: list[str] = []
        excluded = [g[1:] for g in globs if g.startswith("!")]
        for g in globs:
            if g.startswith("!"):
                continue
            for manifest in self.glob(_join(d, g.rstrip("/") + "/package.json")):
                member = manifest.rsplit("/", 1)[0]
                rel = member[len(d) + 1:] if d else member
                if "node_modules" in member.split("/"):
                    continue
                if any(Pattern.compile(go_clean(x)).match(rel) for x in excluded
                       if _valid(x)):
                    continue
                if member != d:
                    members.append(member)
        return sorted(set(members))

    def _python(self, d: str, names: set[str]) -> Ecosystem | None:
        reqs = sorted(n for n in names if n.startswith("requirements") and n.endswith(".txt"))
        reqs_dir = self.glob(_join(d, "requirements/*.txt")) if "requirements" in names else []
        top = [_join(d, r) for r in reqs if _join(d, r) in self.files] + reqs_dir
        others = self._present(d, names, (
            "pyproject.toml", "poetry.lock", "uv.lock", "pdm.lock", "Pipfile",
            "Pipfile.lock", "setup.py", "setup.cfg", ".python-version"))
        if not top and not any(o.rsplit("/", 1)[-1] in (
                "pyproject.toml", "Pipfile", "setup.py", "setup.cfg") for o in others):
            return None
        closure: list[str] = []
        for r in top:
            closure += self.requirements_closure(r)
        manifests = list(dict.fromkeys(closure + others))
        base = {m.rsplit("/", 1)[-1]: m for m in others}
        lock = next((base[n] for n in ("poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock")
                     if n in base), None)
        extra: dict[str, Any] = {"requirements": top,
                                 "setup": "setup.py" in base or "setup.cfg" in base}
        project = poetry = False
        if "pyproject.toml" in base:
            import tomllib  # only for Python projects: kept off the start-up path

            try:
                data = tomllib.loads(self.read_text(base["pyproject.toml"]) or "")
            except (tomllib.TOMLDecodeError, ValueError):
                data = {}
            poetry = isinstance(data.get("tool"), dict) and "poetry" in data["tool"]
            project = "project" in data
        extra["poetry"], extra["project"] = poetry, project
        if "poetry.lock" in base or poetry:
            tool = "poetry"
        elif "uv.lock" in base:
            tool = "uv"
        elif "pdm.lock" in base:
            tool = "pdm"
        elif "Pipfile" in base or "Pipfile.lock" in base:
            tool = "pipenv"
        elif top:
            tool = "pip"
        else:
            tool = "setuptools"
        extra["tool"] = tool
        return Ecosystem("python", d, tuple(manifests), lock, extra)

    def requirements_closure(self, rel: str) -> list[str]:
        """``rel`` and every file it includes (``-r``/``-c``, nested), in order.

        Includes are resolved relative to the including file; files outside the
        context or absent are left out; each file appears once.
        """
        seen: list[str] = []

        def visit(path: str) -> None:
            path = go_clean(path)
            if path in seen or path.startswith("../") or path == ".." or \
                    not self.is_file(path):
                return
            seen.append(path)
            base = path.rsplit("/", 1)[0] if "/" in path else ""
            text = (self.read_text(path) or "").replace("\\\n", " ")
            for line in text.splitlines():
                m = _REQ_INCLUDE.match(line)
                if m is None:
                    continue
                target = m.group(1)
                if "://" in target or target.startswith("/"):
                    continue
                visit(_join(base, target))

        visit(rel)
        return seen

    def _go(self, d: str, names: set[str]) -> Ecosystem | None:
        if "go.mod" not in names:
            return None
        manifests = self._present(d, names, ("go.mod", "go.sum", "go.work", "go.work.sum"))
        lock = _join(d, "go.sum") if "go.sum" in names else None
        return Ecosystem("go", d, tuple(manifests), lock, {})

    def _java(self, d: str, names: set[str]) -> Ecosystem | None:
        if "pom.xml" in names:
            manifests = self._present(d, names, ("pom.xml", "mvnw", "mvnw.cmd"))
            manifests += [f for f in self.files if f.startswith(_join(d, ".mvn/"))]
            return Ecosystem("java", d, tuple(manifests), None,
                             {"build": "maven", "wrapper": "mvnw" in names})
        gradle = ("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts")
        if not any(g in names for g in gradle):
            return None
        manifests = self._present(d, names, (*gradle, "gradle.properties", "gradlew",
                                             "gradlew.bat", "gradle.lockfile"))
        manifests += [f for f in self.files if f.startswith(_join(d, "gradle/wrapper/"))]
        manifests += self.glob(_join(d, "gradle/*.versions.toml"))
        lock = _join(d, "gradle.lockfile") if "gradle.lockfile" in names else None
        return Ecosystem("java", d, tuple(manifests), lock,
                         {"build": "gradle", "wrapper": "gradlew" in names})

    def _ruby(self, d: str, names: set[str]) -> Ecosystem | None:
        if "Gemfile" not in names and "gems.rb" not in names:
            return None
        manifests = self._present(d, names, ("Gemfile", "Gemfile.lock", "gems.rb",
                                             "gems.locked", ".ruby-version"))
        manifests += [_join(d, n) for n in sorted(names) if n.endswith(".gemspec")]
        lock = next((m for m in manifests if m.endswith(("Gemfile.lock", "gems.locked"))),
                    None)
        return Ecosystem("ruby", d, tuple(manifests), lock, {})

    def _php(self, d: str, names: set[str]) -> Ecosystem | None:
        if "composer.json" not in names:
            return None
        manifests = self._present(d, names, ("composer.json", "composer.lock", "auth.json"))
        lock = _join(d, "composer.lock") if "composer.lock" in names else None
        return Ecosystem("php", d, tuple(manifests), lock, {})

    def _rust(self, d: str, names: set[str]) -> Ecosystem | None:
        if "Cargo.toml" not in names:
            return None
        manifests = self._present(d, names, ("Cargo.toml", "Cargo.lock", "rust-toolchain",
                                             "rust-toolchain.toml"))
        manifests += [f for f in self.files if f.startswith(_join(d, ".cargo/"))]
        lock = _join(d, "Cargo.lock") if "Cargo.lock" in names else None
        return Ecosystem("rust", d, tuple(manifests), lock, {})

    def _dotnet(self, d: str, names: set[str]) -> Ecosystem | None:
        projects = [_join(d, n) for n in sorted(names) if n.endswith(_DOTNET_PROJECT)]
        slns = [_join(d, n) for n in sorted(names) if n.endswith(".sln")]
        if not projects and not slns:
            return None
        extras = [_join(d, n) for n in sorted(names) if n.lower() in (
            "nuget.config", "directory.build.props", "directory.build.targets",
            "directory.packages.props", "global.json", "packages.lock.json")]
        manifests = [m for m in (*projects, *slns, *extras) if m in self.files]
        lock = next((m for m in manifests if m.endswith("packages.lock.json")), None)
        return Ecosystem("dotnet", d, tuple(manifests), lock, {"projects": projects})


def _lsize(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _valid(pattern: str) -> bool:
    try:
        check_go_pattern(pattern)
    except BadPattern:
        return False
    return True


def _pnpm_packages(text: str) -> list[str]:
    """The ``packages:`` list of a pnpm-workspace.yaml (a tiny YAML subset)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if not line[:1].isspace():
            inside = stripped.startswith("packages:")
            continue
        if inside and stripped.lstrip().startswith("- "):
            item = stripped.lstrip()[2:].strip().strip("'\"")
            if item:
                out.append(item)
    return out
