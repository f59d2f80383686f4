"""Build contexts from Compose files, for `dockopt bulk` (every compose file in a
repository) and for `fix`/`check`/`verify` on one Dockerfile (``context_for``: the
compose files of its folder and its parents).

A Dockerfile's build context is the folder `docker build` sends; a transform that
reads the context (COPY sources, `.dockerignore`) needs the right one.  Compose
files say it: ``services.<name>.build`` is either a string (the context folder, the
Dockerfile being ``Dockerfile`` in it) or a mapping with ``context`` (default ``.``)
and ``dockerfile`` (relative to the context; default ``Dockerfile``).  Paths are
relative to the compose file's folder.

What is left out, each with a note in the report:

- ``dockerfile_inline`` (no file to rewrite) is skipped silently;
- remote contexts (git or http URLs) and absolute paths (they name another machine);
- paths that leave the repository;
- a ``${VAR}`` with no default: no environment is read (the machine running
  `dockopt bulk` is not the one that runs compose), so only ``${VAR:-default}`` and
  ``${VAR-default}`` resolve, to their default; ``$$`` is a literal ``$``;
- malformed YAML: the file is ignored.

Override files (``docker-compose.override.yml``, ``docker-compose.prod.yml``,
``compose.override.yaml``...) are merged with the base file of their folder
(``compose.yaml``, ``compose.yml``, ``docker-compose.yaml``, ``docker-compose.yml``,
the first that exists, as compose picks it) the way compose merges ``build``: the
override's keys replace the base's.

When several services build the same Dockerfile from different contexts, the first
in (compose file path, service name) order wins and the Dockerfile gets a note.

PyYAML is imported only when a repository has a compose file (start-up cost), and
only its safe loader is used (compose files come from other people's repositories).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass

# Compose's own order of preference among the default file names.
BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_COMPOSE_NAME = lazy(r"(?:docker-)?compose(?:\.[^/]+)?\.ya?ml")
# Compose files are small; a huge one is not a compose file worth reading here.
MAX_BYTES = 1 << 20
_VAR_NAME = lazy(r"[A-Za-z_][A-Za-z0-9_]*")


def is_compose_name(name: str) -> bool:
    """compose.yaml, docker-compose.yml and their overrides (docker-compose.*.yml...)."""
    return _COMPOSE_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Build:
    """One service's build: repo-relative, "/"-separated paths ("" = the root)."""

    dockerfile: str
    context: str
    source: str  # "docker-compose.yml (service api)"


@dataclass
class ComposeContexts:
    contexts: dict[str, Build] = field(default_factory=dict)  # Dockerfile -> the build
    file_notes: dict[str, list[str]] = field(default_factory=dict)  # Dockerfile -> notes
    notes: list[str] = field(default_factory=list)  # about the compose files


class Unresolved(ValueError):
    """A variable reference with no default (the text of the reference)."""


def interpolate(value: str) -> str:
    """*value* with compose's variable syntax resolved without an environment.

    ``${VAR:-default}`` and ``${VAR-default}`` give their default (itself
    interpolated), ``$$`` gives ``$``; any other reference raises Unresolved."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        char = value[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = value[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt != "{":
            name = _VAR_NAME.match(value, i + 1)
            raise Unresolved("$" + name.group() if name else value[i:])
        end = _closing_brace(value, i + 2)
        if end < 0:
            raise Unresolved(value[i:])
        inner = value[i + 2 : end]
        name = _VAR_NAME.match(inner)
        rest = inner[name.end():] if name else ""
        if name is None or not rest.startswith(("-", ":-")):
            raise Unresolved("${" + inner + "}")
        out.append(interpolate(rest[2:] if rest.startswith(":-") else rest[1:]))
        i = end + 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    """The index of the ``}`` that closes a ``${`` opened just before *start*; -1 if none."""
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _is_remote(context: str) -> bool:
    # What docker/compose take for a git or http context (urlutil.IsGitURL/IsURL).
    return "://" in context or context.startswith(("git@", "github.com/"))


def _load(full: str, rel: str, notes: list[str]) -> dict[str, Any] | None:
    """The ``services`` mapping of a compose file; None (with a note) when unusable."""
    try:
        if os.path.getsize(full) > MAX_BYTES:
            notes.append(f"{rel}: bigger than {MAX_BYTES} bytes; not read")
            return None
        with open(full, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        notes.append(f"{rel}: cannot read: {exc.strerror or exc}")
        return None
    import yaml  # only when a repository has a compose file

    # yaml.safe_load's loader, in its C build when PyYAML has one (5x faster); never
    # a loader that can build arbitrary objects.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(data, Loader=loader)
    except Exception as exc:  # any failure of a third-party parser on foreign input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        notes.append(f"{rel}: not valid YAML ({first[:200]}); ignored")
        return None
    if doc is None:
        return None
    if not isinstance(doc, dict):
        notes.append(f"{rel}: not a mapping at the top; ignored")
        return None
    services = doc.get("services")
    if services is None:
        return None
    if not isinstance(services, dict):
        notes.append(f"{rel}: `services` is not a mapping; ignored")
        return None
    return services


def _build_spec(build: Any) -> dict[str, Any] | None:
    """``build`` as a mapping (the short form is the context); None when absent."""
    if isinstance(build, str):
        return {"context": build}
    if isinstance(build, dict):
        return dict(build)
    return None


def _resolve(spec: dict[str, Any], compose_dir: str, source: str, repo: str,
             notes: list[str]) -> Build | None:
    """The Dockerfile and context of one build; None (with a note) when they cannot be
    known or are not in the repository."""
    if "dockerfile_inline" in spec and "dockerfile" not in spec:
        return None
    raw: dict[str, str] = {}
    for key, default in (("context", "."), ("dockerfile", "Dockerfile")):
        value = spec.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, str):
            notes.append(f"{source}: build.{key} is not a string; ignored")
            return None
        try:
            raw[key] = interpolate(value)
        except Unresolved as exc:
            notes.append(f"{source}: build.{key} uses {exc} with no default; ignored")
            return None
    context, dockerfile = raw["context"] or ".", raw["dockerfile"] or "Dockerfile"
    if _is_remote(context):
        notes.append(f"{source}: remote build context {context} ignored")
        return None
    if os.path.isabs(context) or os.path.isabs(dockerfile):
        notes.append(f"{source}: absolute path in build ignored")
        return None
    ctx_rel = _inside(compose_dir, context)
    df_rel = _inside(ctx_rel, dockerfile) if ctx_rel is not None else None
    if ctx_rel is None or df_rel is None:
        notes.append(f"{source}: build context or Dockerfile outside the repository; "
                     "ignored")
        return None
    real_repo = os.path.realpath(repo)
    real_ctx = os.path.realpath(os.path.join(repo, ctx_rel))
    if real_ctx != real_repo and not real_ctx.startswith(real_repo + os.sep):
        notes.append(f"{source}: build context {ctx_rel} leads out of the repository; "
                     "ignored")
        return None
    return Build(df_rel, ctx_rel, source)


def _inside(base: str, rel: str) -> str | None:
    """*rel* joined to the repo-relative folder *base*, normalized; None if it leaves
    the repository."""
    joined = os.path.normpath(os.path.join(base or ".", rel)).replace(os.sep, "/")
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def compose_contexts(repo: str, compose_files: Sequence[str]) -> ComposeContexts:
    """The build of every Dockerfile the repository's compose files name.

    *compose_files* are repo-relative, "/"-separated."""
    result = ComposeContexts()
    loaded: dict[str, dict[str, Any] | None] = {}

    def services_of(rel: str) -> dict[str, Any] | None:
        if rel not in loaded:
            loaded[rel] = _load(os.path.join(repo, rel), rel, result.notes)
        return loaded[rel]

    present = set(compose_files)
    builds: list[tuple[str, str, Build]] = []
    for rel in sorted(compose_files):
        folder, _, name = rel.rpartition("/")
        services = services_of(rel)
        if not services:
            continue
        base_services: dict[str, Any] = {}
        if name not in BASE_NAMES:
            base = next((f"{folder}/{b}" if folder else b for b in BASE_NAMES
                         if (f"{folder}/{b}" if folder else b) in present), None)
            if base is not None:
                base_services = services_of(base) or {}
        for service in sorted(services, key=str):
            body = services[service]
            if not isinstance(body, dict) or body.get("build") is None:
                continue
            source = f"{rel} (service {service})"
            spec = _build_spec(body["build"])
            if spec is None:
                result.notes.append(f"{source}: build is neither a string nor a mapping; "
                                    "ignored")
                continue
            base_body = base_services.get(service)
            if isinstance(base_body, dict):
                base_spec = _build_spec(base_body.get("build"))
                if base_spec is not None:
                    if "dockerfile_inline" in spec:
                        base_spec.pop("dockerfile", None)
                    spec = {**base_spec, **spec}
            build = _resolve(spec, folder, source, repo, result.notes)
            if build is not None:
                builds.append((rel, str(service), build))
    for _rel, _service, build in builds:  # already in (file, service) order
        chosen = result.contexts.get(build.dockerfile)
        if chosen is None:
            result.contexts[build.dockerfile] = build
        elif chosen.context != build.context:
            result.file_notes.setdefault(build.dockerfile, []).append(
                f"also built with context {build.context or '.'} by {build.source}; "
                f"using {chosen.context or '.'} from {chosen.source}")
    return result


# How far `fix`/`check` look up from a Dockerfile for compose files when no .git
# folder marks the repository root first.
MAX_LEVELS = 8


def _compose_files_up(folder: str) -> tuple[str, tuple[str, ...]]:
    """The compose files of ``folder`` and of each parent up to the repository root
    (the first folder holding ``.git``; at most MAX_LEVELS folders), relative to the
    top folder reached, which is returned with them (the folder's own first, then
    each parent's).  Kept per folder like the folders' own facts: each file's context
    lookup and DO603 ask for the same one."""
    return _files_up(folder, MAX_LEVELS)


@functools.lru_cache(maxsize=2048)
def _files_up(folder: str, levels: int) -> tuple[str, tuple[str, ...]]:
    """``_compose_files_up`` looking at most ``levels`` folders up.  The parent's
    answer (one level fewer) is kept too: sibling folders, the usual case (one
    folder per image variant), share it instead of each walking up again."""
    names, is_root = _folder_facts(folder)
    parent = os.path.dirname(folder)
    if is_root or parent == folder or levels <= 1:
        return folder, names
    repo, above = _files_up(parent, levels - 1)
    if not names:
        return repo, above
    here = os.path.relpath(folder, repo).replace(os.sep, "/")
    return repo, tuple(f"{here}/{n}" for n in names) + above


def build_for_dockerfile(dockerfile: str) -> tuple[str, Build, list[str]] | None:
    """The compose build of one Dockerfile, for `fix`/`check`/`verify` without
    ``--context``: (the folder its paths are relative to, the build, notes) or None.

    Looked for in the compose files of the Dockerfile's folder and of each parent up
    to the repository root (the first folder holding ``.git``; at most MAX_LEVELS
    folders), read together as in `dockopt bulk`: compose files elsewhere in the
    repository (beside other services) are not searched, to keep a per-file editor
    call cheap (a few ``listdir`` calls; PyYAML only when a compose file exists)."""
    path = os.path.abspath(dockerfile)
    folder = os.path.dirname(path)
    repo, files = _compose_files_up(folder)
    if not files:
        return None
    got = _contexts(repo, files)
    rel = os.path.relpath(path, repo).replace(os.sep, "/")
    build = got.contexts.get(rel)
    if build is None:
        return None
    return repo, build, got.file_notes.get(rel, [])


def context_for(dockerfile: Path) -> tuple[Path, str | None]:
    """The Dockerfile's context without --context (`build_for_dockerfile`, else its
    folder), and a note when a compose file chose it (it then differs from the
    Dockerfile's folder, or the compose file says more, such as a conflict between
    services)."""
    found = build_for_dockerfile(str(dockerfile))
    if found is None:
        return dockerfile.parent, None
    repo, build, notes = found
    where = Path(repo) / build.context if build.context else Path(repo)
    if where.resolve() == dockerfile.parent.resolve() and not notes:
        return where, None
    note = f"build context {os.path.relpath(where)} (from {build.source})"
    return where, "; ".join([note, *notes])


# One `check`/`fix` run may take thousands of files from the same folders: each
# folder is listed once, each set of compose files read once.
def forget_cached() -> None:
    """Drop what this module caches about folders and compose files (an editor's
    server calls it when files change on disk)."""
    _folder_facts.cache_clear()
    _files_up.cache_clear()
    _contexts.cache_clear()


@functools.lru_cache(maxsize=1024)
def _folder_facts(folder: str) -> tuple[tuple[str, ...], bool]:
    """(the compose files in *folder*, whether it is a repository root)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return (), False
    names = tuple(sorted(n for n in entries if is_compose_name(n)
                         and os.path.isfile(os.path.join(folder, n))))
    return names, ".git" in entries


@functools.lru_cache(maxsize=64)
def _contexts(repo: str, files: tuple[str, ...]) -> ComposeContexts:
    return compose_contexts(repo, files)


def dockerfiles_building_from(context: str) -> list[str]:
    """Absolute paths of the Dockerfiles that compose files build with *context* as
    their build context: the compose files of *context* and of each parent up to the
    repository root (as ``build_for_dockerfile`` looks), read together."""
    folder = os.path.abspath(context)
    repo, files = _compose_files_up(folder)
    if not files:
        return []
    want = os.path.relpath(os.path.abspath(context), repo).replace(os.sep, "/")
    want = "" if want == "." else want
    got = _contexts(repo, files)
    return sorted(os.path.join(repo, df) for df, b in got.contexts.items()
                  if b.context == want)
