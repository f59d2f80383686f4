"""The apt (and apk) package tables and helpers the splits share (DO101: the native,
node and Rust families): which installed packages are build-only, which runtime
library a `-dev` package implies on each Debian/Ubuntu release, and the runtime's
`apt-get install` line."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import field

from dockopt.rewriter.edit import Style
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import SimpleCommand
from dockopt.transforms.context.base_image import BUILD_PACKAGES
from dockopt.transforms.images import ImageRef
from dockopt.transforms.split.common import Blocked, cmd_words

# --- apt packages ------------------------------------------------------------------

# Packages only a build needs (with BUILD_PACKAGES and every `*-dev`): compilers and
# their versioned names, build systems, generators, and version-control clients used
# to fetch sources. Everything else an original installs (ca-certificates, curl, tzdata,
# explicit runtime libraries...) is installed in the runtime too.
BUILD_ONLY_PACKAGES = BUILD_PACKAGES | frozenset({
    "gcc-multilib", "g++-multilib", "bison", "flex", "m4", "nasm", "yasm", "patch",
    "libtool-bin", "autoconf-archive", "autopoint", "gettext", "ccache", "scons",
    "debhelper", "fakeroot", "devscripts", "git", "subversion", "mercurial", "llvm",
    "lld", "gdb", "valgrind", "cmake-data", "pkgconf-bin",
})
_VERSIONED_BUILD = lazy(
    r"(gcc|g\+\+|cpp|clang|clang\+\+|llvm|lld|gfortran)(-\d+(\.\d+)?)?(-multilib)?")
# The C library's and the compiler's own headers: their shared libraries (libc6,
# libstdc++6, libgcc-s1) are in every Debian/Ubuntu image.
_NO_RUNTIME_DEV = lazy(r"(libc6|libc|linux-libc|libstdc\+\+-\d+|libgcc-\d+)-dev")
# `-dev` packages that are build tools, not a library's headers: nothing to install
# in the runtime (autotools-dev: config.guess/config.sub; dpkg-dev: packaging tools).
_TOOL_DEV = frozenset({"autotools-dev", "dpkg-dev"})
# The releases the tables below know, by the words their tags use.
_RELEASES: dict[str, dict[str, str]] = {
    "debian": {"bullseye": "bullseye", "11": "bullseye", "bookworm": "bookworm",
               "12": "bookworm", "trixie": "trixie", "13": "trixie"},
    "ubuntu": {"focal": "focal", "20.04": "focal", "jammy": "jammy", "22.04": "jammy",
               "noble": "noble", "24.04": "noble"},
}
_OLD = ("bullseye", "focal")  # OpenSSL 1.1 / libffi7 era
_T64 = ("trixie", "noble")  # after the 64-bit time_t transition (libfoo -> libfoot64)
_MID = ("bookworm", "jammy")


def _rel(pairs: Iterable[tuple[Sequence[str], str]]) -> dict[str, str]:
    return {release: name for releases, name in pairs for release in releases}


# `-dev` package -> the package with its shared library, per release ("*": every
# release, "debian"/"ubuntu": that distribution's releases). Written from
# packages.debian.org and packages.ubuntu.com; a `-dev` package missing here, or a
# release missing for it, blocks the split (the runtime would lack a library).
RUNTIME_LIBS: dict[str, dict[str, str]] = {
    "zlib1g-dev": {"*": "zlib1g"},
    "libssl-dev": _rel([(_OLD, "libssl1.1"), (_MID, "libssl3"), (_T64, "libssl3t64")]),
    "libcurl4-openssl-dev": _rel([(_OLD + _MID, "libcurl4"), (_T64, "libcurl4t64")]),
    "libcurl4-gnutls-dev": _rel([(_OLD + _MID, "libcurl3-gnutls"),
                                 (_T64, "libcurl3t64-gnutls")]),
    "libpq-dev": {"*": "libpq5"},
    "libsqlite3-dev": {"*": "libsqlite3-0"},
    "libpcre3-dev": _rel([(_OLD + _MID + ("noble",), "libpcre3")]),
    "libpcre2-dev": {"*": "libpcre2-8-0"},
    "libyaml-dev": {"*": "libyaml-0-2"},
    "libffi-dev": _rel([(_OLD, "libffi7"), (_MID + _T64, "libffi8")]),
    "libxml2-dev": _rel([(_OLD + _MID + ("noble",), "libxml2")]),
    "libbz2-dev": {"*": "libbz2-1.0"},
    "liblzma-dev": {"*": "liblzma5"},
    "libzstd-dev": {"*": "libzstd1"},
    "libreadline-dev": _rel([(_OLD + _MID, "libreadline8"), (_T64, "libreadline8t64")]),
    "libncurses-dev": {"*": "libncursesw6"},
    "libncurses5-dev": {"*": "libncursesw6"},
    "libncursesw5-dev": {"*": "libncursesw6"},
    "libpng-dev": _rel([(_OLD + _MID, "libpng16-16"), (_T64, "libpng16-16t64")]),
    "libjpeg-dev": {"debian": "libjpeg62-turbo", "ubuntu": "libjpeg8"},
    "libjpeg62-turbo-dev": {"debian": "libjpeg62-turbo"},
    "libjpeg-turbo8-dev": {"ubuntu": "libjpeg-turbo8"},
    "libevent-dev": _rel([(_OLD + _MID, "libevent-2.1-7"), (_T64, "libevent-2.1-7t64")]),
    "libuv1-dev": _rel([(_OLD + _MID, "libuv1"), (_T64, "libuv1t64")]),
    "libsodium-dev": {"*": "libsodium23"},
    "libgmp-dev": {"*": "libgmp10"},
    "libexpat1-dev": {"*": "libexpat1"},
    "libjansson-dev": {"*": "libjansson4"},
    "libedit-dev": {"*": "libedit2"},
    "libmariadb-dev": {"*": "libmariadb3"},
    "libmariadb-dev-compat": {"*": "libmariadb3"},
    "default-libmysqlclient-dev": {"debian": "libmariadb3", "ubuntu": "libmysqlclient21"},
    "libhiredis-dev": _rel([(_MID, "libhiredis0.14"), (_T64, "libhiredis1.1.0")]),
    "libltdl-dev": {"*": "libltdl7"},
}
# Compilers whose programs need a runtime library the slim images lack.
_COMPILER_LIBS = {"gfortran": "libgfortran5"}
# Compiler features whose runtime library the slim images lack.
FLAG_LIBS = {"-fopenmp": "libgomp1", "find_package(OpenMP": "libgomp1"}
_APT_VALUE_FLAGS = frozenset({"-o", "--option", "-c", "--config-file"})


def is_build_only(package: str) -> bool:
    name = package.split("=", 1)[0].split(":", 1)[0].lower()
    return (name in BUILD_ONLY_PACKAGES or name == "build-base"
            or _VERSIONED_BUILD.fullmatch(name) is not None)


def release_of(ref: ImageRef, distro: str, *, numbers: bool = True) -> str | None:
    """The Debian/Ubuntu release a tag names (bookworm, 12, 22.04, jammy-2024...).
    ``numbers=False`` for language images, whose version numbers are not releases."""
    known = _RELEASES.get(distro, {})
    for word in re.split(r"[-_]", (ref.tag or "").lower()):
        if word in known and (numbers or not word[:1].isdigit()):
            return known[word]
        if not numbers:
            continue
        m = re.fullmatch(r"(\d+)(\.\d+)*", word)
        if m and distro == "debian" and m.group(1) in known:
            return known[m.group(1)]
        m = re.fullmatch(r"(\d+\.\d+)(\.\d+)?", word)
        if m and distro == "ubuntu" and m.group(1) in known:
            return known[m.group(1)]
    return None


def runtime_library(dev: str, distro: str, release: str | None) -> str | None:
    """The package with the shared library behind ``dev``; "" when none is needed;
    None when unknown for this release (the caller blocks)."""
    name = dev.split("=", 1)[0].split(":", 1)[0].lower()
    if _NO_RUNTIME_DEV.fullmatch(name) or name in _TOOL_DEV:
        return ""
    table = RUNTIME_LIBS.get(name)
    if table is None:
        return None
    for key in (release, distro, "*"):
        if key is not None and key in table:
            return table[key]
    return None


@dataclass
class AptPackages:
    """What a stage installs with apt-get/apt (or apk), in order."""

    installed: list[str] = field(default_factory=list)  # as written (pins kept)
    manager: str = ""  # "apt" or "apk" ("" when nothing is installed)


def read_installs(cmd: SimpleCommand, line: int, into: AptPackages) -> bool:
    """Add the packages an `apt-get install`/`apk add` command installs to ``into``.

    True when ``cmd`` is a package-manager command (any subcommand); raises when an
    install cannot be read (a variable, a target release, a .deb file)."""
    words = cmd_words(cmd)
    name = words[0] if words else ""
    if name not in ("apt-get", "apt", "apk", "aptitude"):
        return False
    args = list(cmd.resolved_args)
    sub = next((w.value for w in args if w.value and not w.value.startswith("-")), None)
    if sub not in ("install", "add"):
        return True  # update, clean, upgrade, del...: nothing to carry over
    manager = "apk" if name == "apk" else "apt"
    into.manager = into.manager or manager
    seen = False
    skip = False
    for w in args:
        v = w.value
        if skip:
            skip = False
            continue
        if v is None:
            raise Blocked(f"line {line}: the packages come from a variable")
        if not seen:
            seen = v == sub
            if v in _APT_VALUE_FLAGS or v in ("-t", "--target-release", "--default-release"):
                if v in ("-t", "--target-release", "--default-release"):
                    raise Blocked(f"line {line}: {name} installs from another release (-t)")
                skip = True
            continue
        if v.startswith("-"):
            if v in _APT_VALUE_FLAGS or (manager == "apk" and v in ("-t", "--virtual",
                                                                      "--repository", "-X")):
                skip = True  # the flag's value (apk's --virtual names a group)
            elif manager == "apt" and v.startswith(("-t", "--target-release",
                                                    "--default-release")):
                raise Blocked(f"line {line}: {name} installs from another release (-t)")
            continue
        if v.endswith(".deb") or "/" in v:
            raise Blocked(f"line {line}: {name} installs a package file ({v})")
        into.installed.append(v)
    return True


def runtime_packages(packages: AptPackages, distro: str, release: str | None,
                     extra: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The packages the runtime installs, and why (one phrase per package).

    Build-only packages are dropped; each `-dev` package becomes its runtime library
    (raises when that is not known); any other package is installed as written."""
    out: dict[str, str] = {}
    for spec in packages.installed:
        name = spec.split("=", 1)[0].split(":", 1)[0].lower()
        if name.endswith("-dev") and packages.manager == "apk":
            raise Blocked(f"the runtime library for the apk package {name} is not known")
        if name.endswith("-dev"):
            lib = runtime_library(name, distro, release)
            if lib is None:
                where = f"{distro} {release}" if release else f"this {distro} tag"
                raise Blocked(f"the runtime library for {name} on {where} is not known")
            if lib:
                out.setdefault(lib, f"{lib} for {name}")
        elif not is_build_only(spec):
            out.setdefault(spec, f"{spec} (installed in the original)")
    for spec in packages.installed:
        compiler = _VERSIONED_BUILD.fullmatch(spec.split("=", 1)[0].lower())
        lib = _COMPILER_LIBS.get(compiler.group(1)) if compiler else None
        if lib:
            out.setdefault(lib, f"{lib} for {compiler.group(1) if compiler else ''}")
    for lib in extra:
        out.setdefault(lib, f"{lib} (OpenMP)")
    return list(out), list(out.values())


def apk_run(style: Style, packages: Sequence[str]) -> str:
    """The runtime's install RUN on Alpine."""
    return style.keyword("RUN") + " apk add --no-cache " + " ".join(packages)


def apt_run(style: Style, packages: Sequence[str]) -> str:
    """The runtime's install RUN (LF newlines; ``render`` adapts them to the file)."""
    lf = dataclasses.replace(style, newline="\n")
    install = "apt-get install -y --no-install-recommends " + " ".join(packages)
    return lf.keyword("RUN") + " " + lf.join_and(
        ["apt-get update", install, "rm -rf /var/lib/apt/lists/*"])
