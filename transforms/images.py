"""A small, documented table of facts about well-known base images.

The user and base-image transforms (DO604, DO605) must know, for the image a FROM
names, which OS family it is built on (so a user is created with the right tools),
which non-root user it already ships, whether its entrypoint drops privileges by
itself, whether a ``-slim`` variant exists and what it is called, and roughly how
much smaller that variant is.  Nothing here talks to a registry: the facts are
written down from the official images' Dockerfiles and documentation, and an image
that is not in the table is *unknown* (the transforms then leave it alone).

Sources (as of 2024): github.com/docker-library/{node,python,ruby,golang,php,
openjdk,debian,...}, github.com/nodejs/docker-node (user ``node``, uid 1000),
github.com/GoogleContainerTools/distroless (user ``nonroot``, uid 65532),
Chainguard images (run as ``nonroot`` 65532 by default), the .NET 8+ images
(user ``app``, uid 1654; the ``-chiseled`` variants have no shell).

Sizes are **approximate** uncompressed linux/amd64 sizes of a recent tag, rounded;
they are only used to tell the user the order of magnitude of a saving.

Image references are parsed like ``docker/reference``: ``[registry/][namespace/]
name[:tag][@digest]``.  A first component with a ``.`` or ``:``, or ``localhost``,
is a registry; ``docker.io``, ``index.docker.io`` and ``registry-1.docker.io`` are
Docker Hub, whose official images live under ``library/``.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Dockerfile, Stage

Family = Literal["debian", "ubuntu", "alpine", "busybox", "distroless", "scratch",
                 "windows", "unknown"]
Kind = Literal["sdk", "runtime", "os", "service", "server"]
SlimStyle = Literal["suffix", "infix"]

_HUB = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_NAME = lazy(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = lazy(r"[\w][\w.-]{0,127}")
_DIGEST = lazy(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed image reference; offsets are into ``text``."""

    text: str
    registry: str | None  # None: Docker Hub
    path: str  # "library/node", "distroless/static-debian12", "dotnet/aspnet"
    tag: str | None
    digest: str | None
    tag_start: int | None  # where the tag begins (after ':'), None without a tag
    name_end: int  # end of the repository name (where ':tag' or '@digest' starts)

    @property
    def official(self) -> bool:
        """A Docker Hub official image (``node``, ``docker.io/library/node``)."""
        return self.registry is None and self.path.startswith("library/")

    @property
    def repository(self) -> str:
        """The key used in the facts table: ``node`` or ``gcr.io/distroless/base``."""
        if self.official:
            return self.path[len("library/"):]
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@functools.lru_cache(maxsize=1024)
def parse_image_ref(text: str) -> ImageRef | None:
    """Parse ``[registry/]path[:tag][@digest]``; None if invalid or built from ARGs."""
    if not text or "$" in text or any(c.isspace() for c in text):
        return None
    rest = text
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            return None
    name_end = len(rest)
    tag = None
    tag_start = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        tag = rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            return None
        tag_start = colon + 1
        name_end = colon
        rest = rest[:colon]
    parts = rest.split("/")
    registry = None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts[0].lower()
        parts = parts[1:]
    if not parts or not all(_NAME.fullmatch(p) for p in parts):
        return None
    if registry in _HUB:
        registry = None
    if registry is None and len(parts) == 1:
        parts = ["library", *parts]
    return ImageRef(text, registry, "/".join(parts), tag, digest, tag_start, name_end)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One row of the table (see ``_TABLE``)."""

    family: Family  # the family of the default (untagged-variant) image
    kind: Kind
    user: str | None = None  # a non-root user the image ships
    uid: int | None = None
    drops_privileges: bool = False  # its entrypoint starts as root and drops (gosu...)
    privileged_port: int | None = None  # its default configuration binds this port
    slim: SlimStyle | None = None  # how a -slim tag is spelled, None: no slim variant
    full_mb: int | None = None  # approximate size of the default variant
    slim_mb: int | None = None  # approximate size of the -slim variant


# The table.  "suffix" slim: node:20-bookworm -> node:20-bookworm-slim (also debian's
# bookworm -> bookworm-slim); "infix": python:3.12-bookworm -> python:3.12-slim-bookworm.
_TABLE: dict[str, _Entry] = {
    # Language images: the default variant is buildpack-deps (compilers, git, curl,
    # wget, ssh, many -dev libraries); -slim is debian:*-slim plus the runtime.
    "node": _Entry("debian", "sdk", "node", 1000, slim="suffix", full_mb=1100, slim_mb=240),
    "python": _Entry("debian", "sdk", slim="infix", full_mb=1020, slim_mb=150),
    "ruby": _Entry("debian", "sdk", slim="infix", full_mb=1000, slim_mb=220),
    "perl": _Entry("debian", "sdk", slim="infix", full_mb=900, slim_mb=150),
    "golang": _Entry("debian", "sdk"),  # no slim variant
    "rust": _Entry("debian", "sdk"),  # -slim exists, but it is a toolchain either way
    "php": _Entry("debian", "runtime"),  # -cli/-fpm/-apache, no slim
    "openjdk": _Entry("unknown", "sdk"),  # deprecated; 18+ is Oracle Linux by default
    "eclipse-temurin": _Entry("ubuntu", "runtime"),
    "maven": _Entry("ubuntu", "sdk"),  # default tags are eclipse-temurin (Ubuntu) based
    "gradle": _Entry("ubuntu", "sdk"),
    # OS images.
    "debian": _Entry("debian", "os", slim="suffix", full_mb=120, slim_mb=75),
    "ubuntu": _Entry("ubuntu", "os"),
    "alpine": _Entry("alpine", "os"),
    "busybox": _Entry("busybox", "os"),
    "scratch": _Entry("scratch", "os"),
    # Servers: they bind a privileged port by default.
    "nginx": _Entry("debian", "server", "nginx", 101, privileged_port=80),
    "httpd": _Entry("debian", "server", "www-data", 33, privileged_port=80),
    # Services whose docker-entrypoint.sh starts as root, fixes ownership of the
    # data directory, then drops privileges with gosu/su-exec: leave them alone.
    "postgres": _Entry("debian", "service", "postgres", 999, drops_privileges=True),
    "redis": _Entry("debian", "service", "redis", 999, drops_privileges=True),
    "mysql": _Entry("unknown", "service", "mysql", 999, drops_privileges=True),
    "mariadb": _Entry("ubuntu", "service", "mysql", 999, drops_privileges=True),
    "mongo": _Entry("ubuntu", "service", "mongodb", 999, drops_privileges=True),
    "rabbitmq": _Entry("ubuntu", "service", "rabbitmq", 999, drops_privileges=True),
    # .NET (mcr.microsoft.com/dotnet/...): Debian by default; 8.0+ ships user app.
    "mcr.microsoft.com/dotnet/sdk": _Entry("debian", "sdk", "app", 1654),
    "mcr.microsoft.com/dotnet/aspnet": _Entry("debian", "runtime", "app", 1654),
    "mcr.microsoft.com/dotnet/runtime": _Entry("debian", "runtime", "app", 1654),
    "mcr.microsoft.com/dotnet/runtime-deps": _Entry("debian", "runtime", "app", 1654),
}
# Prefixes: every image below them shares the facts.
_PREFIXES: dict[str, _Entry] = {
    "gcr.io/distroless/": _Entry("distroless", "runtime", "nonroot", 65532),
    "cgr.dev/chainguard/": _Entry("distroless", "runtime", "nonroot", 65532),
}
_DEBIAN_CODENAMES = ("trixie", "bookworm", "bullseye", "buster", "stretch", "jessie")
_UBUNTU_CODENAMES = ("noble", "jammy", "focal", "bionic", "xenial", "mantic", "lunar",
                     "oracular", "kinetic")
_OTHER_DISTROS = ("ubi", "oraclelinux", "oracle", "amazoncorretto", "corretto", "azurelinux",
                  "cbl-mariner", "mariner", "centos", "rockylinux", "fedora", "wolfi",
                  "graal", "semeru", "sapmachine", "zulu", "liberica")


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the table knows about one image reference."""

    ref: ImageRef
    repository: str
    family: Family
    kind: Kind
    user: str | None  # a non-root user the image ships (None: create one)
    uid: int | None
    default_user: str  # the user the image runs as when the Dockerfile sets none
    drops_privileges: bool
    privileged_port: int | None
    slim_tag: str | None  # the tag of the -slim variant, None when there is none
    full_mb: int | None
    slim_mb: int | None

    @property
    def runs_as_root(self) -> bool:
        return self.default_user in ("root", "0")


def family_from_tag(tag: str | None, default: Family) -> Family:
    """The OS family a tag names (``-alpine``, ``-slim``, ``bookworm``...), else ``default``."""
    if not tag:
        return default
    t = tag.lower()
    if "windowsservercore" in t or "nanoserver" in t or re.search(r"ltsc\d", t):
        return "windows"
    if "alpine" in t:
        return "alpine"
    if "chiseled" in t or "distroless" in t:
        return "distroless"
    words = set(re.split(r"[-_.]", t))
    if words & set(_UBUNTU_CODENAMES):
        return "ubuntu"
    if words & set(_DEBIAN_CODENAMES) or "slim" in words or "debian" in words:
        return "debian"
    if any(w.startswith(d) for w in words for d in _OTHER_DISTROS) or "graal" in t:
        return "unknown"
    return default


def _major(tag: str | None) -> int | None:
    m = re.match(r"(\d+)", tag or "")
    return int(m.group(1)) if m else None


def slim_tag(tag: str | None, style: SlimStyle, repository: str) -> str | None:
    """The ``-slim`` variant of ``tag``, or None when it has none (or already is one).

    ``suffix``: ``20`` -> ``20-slim``, ``20-bookworm`` -> ``20-bookworm-slim``,
    ``bookworm`` -> ``bookworm-slim``.  ``infix``: ``3.12`` -> ``3.12-slim``,
    ``3.12-bookworm`` -> ``3.12-slim-bookworm``.  No tag or ``latest`` -> ``slim``
    (except for debian, which has no bare ``slim`` tag).
    """
    if tag is None or tag == "latest":
        return None if repository == "debian" else "slim"
    parts = tag.split("-")
    low = [p.lower() for p in parts]
    blocked = ("slim", "alpine", "windowsservercore", "nanoserver", "onbuild", "threaded",
               "ltsc", "stretch", "jessie", "wheezy")
    if any(p.startswith(b) for p in low for b in blocked):
        return None
    if any(p.startswith(d) for p in low for d in _OTHER_DISTROS + _UBUNTU_CODENAMES):
        return None
    if not re.fullmatch(r"[A-Za-z0-9.]+(-[A-Za-z0-9.]+)*", tag):
        return None
    if style == "suffix":
        return f"{tag}-slim"
    # infix: put -slim before a trailing Debian codename, else at the end.
    if len(parts) > 1 and low[-1] in _DEBIAN_CODENAMES:
        return "-".join(parts[:-1]) + "-slim-" + parts[-1]
    if low[0] in _DEBIAN_CODENAMES:
        return f"slim-{tag}"
    return f"{tag}-slim"


@functools.lru_cache(maxsize=1024)
def facts_for(ref: ImageRef) -> ImageFacts | None:
    """The table's facts for ``ref``, or None when the image is not in the table.
    Both are immutable, and every file asks several rules' worth of times about the
    same few images: each answer is made once per process."""
    repo = ref.repository
    entry = _TABLE.get(repo)
    if entry is None:
        for prefix, e in _PREFIXES.items():
            if repo.startswith(prefix):
                entry = e
                break
    if entry is None:
        return None
    tag = ref.tag
    family = family_from_tag(tag, entry.family)
    if repo == "scratch":
        family = "scratch"
    elif entry.family == "distroless":
        family = "distroless"
    elif repo in ("alpine", "busybox", "ubuntu", "debian"):
        family = entry.family if family != "windows" else family
    if repo in ("mysql",) and tag and "debian" in tag.lower():
        family = "debian"
    if repo == "openjdk" and tag and re.search(r"(^|-)(slim|bullseye|buster)", tag):
        family = "debian"
    user, uid = entry.user, entry.uid
    default_user = "root"
    if repo.startswith("gcr.io/distroless/") and tag and "nonroot" in tag:
        default_user = "nonroot"
    elif repo.startswith("cgr.dev/chainguard/"):
        default_user = "nonroot"  # Chainguard images run as nonroot (65532) by default
    elif repo.startswith("mcr.microsoft.com/dotnet/"):
        major = _major(tag)
        if major is not None and major < 8:
            user, uid = None, None  # the app user arrived with .NET 8
        elif family == "distroless":
            default_user = "app"  # the chiseled images run as app by default
    slim = slim_tag(tag, entry.slim, repo) if entry.slim else None
    if slim is not None and family not in ("debian",):
        slim = None
    return ImageFacts(ref, repo, family, entry.kind, user, uid, default_user,
                      entry.drops_privileges, entry.privileged_port, slim,
                      entry.full_mb if slim else None, entry.slim_mb if slim else None)


@dataclass(frozen=True, slots=True)
class StageBase:
    """Where a stage's base really comes from, after following stage references."""

    stage: Stage  # the stage whose FROM names a registry image (or an ARG)
    ref: ImageRef | None  # None: built from an ARG or unparsable
    facts: ImageFacts | None  # None: not in the table
    chain: tuple[Stage, ...]  # the stages from ``stage`` down to the one asked about


def resolve_stage_base(tree: Dockerfile, stage: Stage) -> StageBase:
    """Follow ``FROM <earlier stage>`` to the registry image at the root of the chain."""
    by_name = {s.name: s for s in tree.stages if s.name}
    chain = [stage]
    current = stage
    seen = {stage.index}
    while True:
        parent = by_name.get(current.base.lower())
        if parent is None or parent.index >= current.index or parent.index in seen:
            break
        seen.add(parent.index)
        chain.append(parent)
        current = parent
    ref = parse_image_ref(current.base)
    facts = facts_for(ref) if ref is not None else None
    return StageBase(current, ref, facts, tuple(reversed(chain)))
