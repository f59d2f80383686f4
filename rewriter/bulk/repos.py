"""Finding repositories, their Dockerfiles and build contexts, and the shard of each."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dockopt.rewriter.compose import Build, compose_contexts, is_compose_name
from dockopt.rewriter.discover import SKIP_DIRS, is_dockerfile_name
from dockopt.rewriter.records import dataclass

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
    files (see RepoPlan)."""
    plan = RepoPlan(repo, exclude, context_map)
    return list(plan), plan.notes


class RepoPlan:
    """The repository's Dockerfiles (sorted by path) with their build contexts, made
    one at a time: only the sorted list of paths is kept (about 100 bytes a file), so
    a repository of 100,000 Dockerfiles costs the parent a few MB, not a Planned
    object per file.

    ``--context-map`` wins over compose files, compose files over the Dockerfile's
    own folder.  A Dockerfile a compose file names is taken even when its name is
    not a Dockerfile's (``build/app.docker``).  ``notes`` are about its compose files."""

    def __init__(self, repo: str, exclude: Sequence[str] = (),
                 context_map: dict[str, str] | None = None) -> None:
        found, composes = scan_repo(repo, exclude)
        self.notes: list[str] = []
        self._by_compose: dict[str, Build] = {}
        self._file_notes: dict[str, list[str]] = {}
        if composes:
            got = compose_contexts(repo, composes)
            self._by_compose, self._file_notes = got.contexts, got.file_notes
            self.notes = got.notes
            known = set(found)
            inside = os.path.realpath(repo) + os.sep
            for rel in sorted(self._by_compose):
                if rel in known:
                    continue
                full = os.path.join(repo, rel)
                if not os.path.isfile(full):
                    self.notes.append(f"{self._by_compose[rel].source}: Dockerfile {rel} "
                                      "not found")
                elif (not _skipped(rel, exclude)
                      and os.path.realpath(full).startswith(inside)):
                    found.append(rel)
            found.sort()
        self.paths = found
        self._context_map = context_map or {}

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Planned]:
        return self.planned(0)

    def planned(self, start: int) -> Iterator[Planned]:
        """The plan from its ``start``-th file on (a resumed run skips the files done)."""
        for i in range(start, len(self.paths)):
            yield self._plan(self.paths[i])

    def _plan(self, rel: str) -> Planned:
        extra = tuple(self._file_notes.get(rel, ()))
        if rel in self._context_map:
            return Planned(rel, self._context_map[rel], CONTEXT_MAP, None, extra)
        if rel in self._by_compose:
            build = self._by_compose[rel]
            return Planned(rel, build.context, COMPOSE, build.source, extra)
        return Planned(rel, rel.rsplit("/", 1)[0] if "/" in rel else "", DEFAULT, None, extra)


def _skipped(rel: str, exclude: Sequence[str]) -> bool:
    """Whether the walk would have left *rel* out (a skipped or excluded folder)."""
    parts = rel.split("/")
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return True
    return any(_excluded("/".join(parts[: i + 1]), exclude) for i in range(len(parts)))


