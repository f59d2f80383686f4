"""DO101 for Python: pip installs into a virtualenv in the builder; the runtime is
``python:X-slim`` with that virtualenv and the app's files copied again from the
build context.

Two starting points: a full ``python:X`` image (the runtime is its -slim variant),
and a ``python:X-slim`` image that installs compilers and ``-dev`` packages itself
(the runtime is that same -slim image, digest included, without them). The second
is the commonest real-world shape; only the image choice and the reading of the
build context differ (on -slim a dependency can only link what -slim has or what
the stage installs, so the context's dependencies add no libraries).

Why a virtualenv: everything pip installs then lives in one folder (``/opt/venv``)
that a single ``COPY --from`` moves, compiled extensions included, instead of files
scattered over ``/usr/local/lib/pythonX.Y/site-packages`` and ``/usr/local/bin``
mixed with the interpreter's own. A venv records the interpreter by path
(``pyvenv.cfg`` ``home = /usr/local/bin``, ``bin/python`` a symlink to it); the
-slim variant of the same tag has the same Python at the same path (official
images: ``/usr/local/bin/python``; the e2e stand-ins: Debian's ``/usr/bin/python3``
behind a ``/usr/local/bin/python`` symlink in both variants), so the venv works
there unchanged.

Why the app's files come from the context again rather than from the builder: a
source change then rebuilds the runtime cheaply (no pip run, no compiler), and
nothing the build left in the app's folder (``build/``, ``*.egg-info``, caches)
reaches the runtime.

The builder stays byte-identical except for ``AS build``, two inserted lines
before its first RUN/COPY/ADD (so before the first pip command; see
``python_plan`` for why not right above it): ``RUN python -m venv /opt/venv`` and
``ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"``, and what followed its
last RUN, left out when the runtime repeats it (``split.common.trim_tail``). The pip lines need no
change: with the venv's ``bin`` first on PATH, ``pip``, ``pip3``, ``pip3.X``,
``python -m pip`` and ``python3 -m pip`` all resolve to the venv's (a venv ships
all of those names; ``VIRTUAL_ENV`` also tells tools such as uv and poetry where
it is). The venv's pip is the one the image's ``ensurepip`` bundles, which may be
a release older than the image's upgraded system pip. What does not go through
PATH, or installs elsewhere, is refused: ``pip`` or ``python`` named by an
absolute path, ``--user``, ``--target``, ``--prefix``, ``--root``, editable
installs, and the ``PIP_TARGET``-like variables.

apt packages: build-only ones stay in the builder, each ``-dev`` package becomes
its run-time library in the runtime, and any other package is installed in the
runtime as well. Why install those rather than refuse: the original image had
them and the app may run them (ffmpeg, sqlite3, curl for a HEALTHCHECK...); we
cannot see whether it does, and keeping them costs far less than the toolchain
the split removes. An unknown ``-dev`` package refuses the split instead: its
library would be missing and the app would fail at import time.
"""

from __future__ import annotations

import posixpath
import re

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import (
    BUILD_PACKAGES,
    FULL_ONLY_TOOLS,
    NATIVE_PYPI,
    native_dependencies,
)
from dockopt.transforms.images import ImageRef, facts_for, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs
from dockopt.transforms.split.common import (
    KEEP,
    PLAIN_WORD,
    Blocked,
    Plan,
    block,
    builder_name,
    check_copy,
    cmd_words,
    render,
    slim_variant,
)

VENV = "/opt/venv"
VENV_ENV = f'VIRTUAL_ENV={VENV} PATH="{VENV}/bin:$PATH"'

_PIP = lazy(r"pip(\d+(\.\d+)?)?")
_PYTHON = lazy(r"python(\d+(\.\d+)?)?")
# Debian's headers for its own Python (the image's Python has its own in /usr/local).
_PYTHON_DEV = lazy(r"(lib)?python(\d+(\.\d+)?)?-(dev|all-dev)")

# apt packages that only build: they stay in the builder. Compilers and build tools
# (base_image.BUILD_PACKAGES), Debian's own Python tooling (pip/venv/headers for the
# interpreter; the image's Python is the one in /usr/local and the venv brings its
# own pip), the C library headers, git (pip's `git+` requirements), and the tools
# used to add apt repositories.
_BUILD_ONLY_APT = BUILD_PACKAGES | frozenset({
    "python3", "python3-pip", "python-pip", "python3-venv", "python3-setuptools",
    "python3-wheel", "python3-distutils", "python-is-python3", "cython3", "swig",
    "libc6-dev", "libc-dev", "linux-libc-dev", "linux-headers-amd64", "linux-headers-arm64",
    "git", "apt-transport-https", "software-properties-common", "gnupg", "gnupg2",
    "dirmngr", "lsb-release", "build-base",
})
# -dev packages whose run-time library every python:*-slim already has: the
# interpreter itself links them (ssl, ctypes/libffi, zlib, bz2, lzma, sqlite3,
# readline, curses, uuid, dbm, pyexpat), so the official -slim images keep them
# (their Dockerfile keeps every library `ldd` finds for /usr/local), and so do the
# stand-ins (Debian's libpython3.11-stdlib depends on them). Also the C++/GCC
# runtime headers (libstdc++6 and libgcc-s1 are in every Debian image).
_IN_SLIM_DEV = frozenset({
    "zlib1g-dev", "libffi-dev", "libssl-dev", "libbz2-dev", "liblzma-dev",
    "libsqlite3-dev", "libreadline-dev", "libncurses-dev", "libncursesw5-dev",
    "libncurses5-dev", "uuid-dev", "libgdbm-dev", "libexpat1-dev", "libcrypt-dev",
    "libnsl-dev", "libtirpc-dev", "libstdc++-12-dev", "libstdc++-14-dev",
    "libgcc-12-dev", "libgcc-14-dev",
})
# -dev package -> the run-time libraries a Python extension built against it links,
# as (Debian 12 bookworm names, Debian 13 trixie names; None: no such -dev there).
# Derived from each -dev package's Depends in both releases (`apt-cache show`),
# keeping the shared libraries an extension links and dropping tools, GIR data and
# GTK plugins. Unknown -dev packages block the split: the runtime would miss their
# library and the app would fail at import time.
_B = tuple[str, ...]
_DEV_RUNTIME: dict[str, tuple[_B, _B | None]] = {
    "libpq-dev": (("libpq5",), ("libpq5",)),
    "libjpeg-dev": (("libjpeg62-turbo",), ("libjpeg62-turbo",)),
    "libjpeg62-turbo-dev": (("libjpeg62-turbo",), ("libjpeg62-turbo",)),
    "libxml2-dev": (("libxml2",), ("libxml2",)),
    "libxslt1-dev": (("libxslt1.1",), ("libxslt1.1",)),
    "libyaml-dev": (("libyaml-0-2",), ("libyaml-0-2",)),
    "default-libmysqlclient-dev": (("libmariadb3",), ("libmariadb3",)),
    "libmariadb-dev": (("libmariadb3",), ("libmariadb3",)),
    "libmariadb-dev-compat": (("libmariadb3",), ("libmariadb3",)),
    "libldap2-dev": (("libldap-2.5-0",), ("libldap2",)),
    "libldap-dev": (("libldap-2.5-0",), ("libldap2",)),
    "libsasl2-dev": (("libsasl2-2",), ("libsasl2-2",)),
    "libcurl4-openssl-dev": (("libcurl4",), ("libcurl4t64",)),
    "libcurl4-gnutls-dev": (("libcurl3-gnutls",), ("libcurl3t64-gnutls",)),
    "libpng-dev": (("libpng16-16",), ("libpng16-16t64",)),
    "libfreetype-dev": (("libfreetype6",), ("libfreetype6",)),
    "libfreetype6-dev": (("libfreetype6",), None),
    "libtiff-dev": (("libtiff6",), ("libtiff6",)),
    "libtiff5-dev": (("libtiff6",), None),
    "libwebp-dev": (("libwebp7", "libwebpmux3", "libwebpdemux2"),
                    ("libwebp7", "libwebpmux3", "libwebpdemux2")),
    "liblcms2-dev": (("liblcms2-2",), ("liblcms2-2",)),
    "libopenjp2-7-dev": (("libopenjp2-7",), ("libopenjp2-7",)),
    "libharfbuzz-dev": (("libharfbuzz0b",), ("libharfbuzz0b",)),
    "libfribidi-dev": (("libfribidi0",), ("libfribidi0",)),
    "libimagequant-dev": (("libimagequant0",), ("libimagequant0",)),
    "libraqm-dev": (("libraqm0",), ("libraqm0",)),
    "libxcb1-dev": (("libxcb1",), ("libxcb1",)),
    "libmagic-dev": (("libmagic1",), ("libmagic1t64",)),
    "libgeos-dev": (("libgeos-c1v5",), ("libgeos-c1t64",)),
    "libproj-dev": (("libproj25",), ("libproj25",)),
    "libpcre2-dev": (("libpcre2-8-0",), ("libpcre2-8-0",)),
    "libkrb5-dev": (("libkrb5-3", "libgssapi-krb5-2"), ("libkrb5-3", "libgssapi-krb5-2")),
    "libsnappy-dev": (("libsnappy1v5",), ("libsnappy1v5",)),
    "libev-dev": (("libev4",), ("libev4t64",)),
    "libuv1-dev": (("libuv1",), ("libuv1t64",)),
    "libsodium-dev": (("libsodium23",), ("libsodium23",)),
    "libgmp-dev": (("libgmp10",), ("libgmp10",)),
    "libmpfr-dev": (("libmpfr6",), ("libmpfr6",)),
    "libmpc-dev": (("libmpc3",), ("libmpc3",)),
    "libblas-dev": (("libblas3",), ("libblas3",)),
    "liblapack-dev": (("liblapack3",), ("liblapack3",)),
    "libopenblas-dev": (("libopenblas0",), ("libopenblas0",)),
    "libcairo2-dev": (("libcairo2",), ("libcairo2",)),
    "libdbus-1-dev": (("libdbus-1-3",), ("libdbus-1-3",)),
    "libusb-1.0-0-dev": (("libusb-1.0-0",), ("libusb-1.0-0",)),
    "portaudio19-dev": (("libportaudio2",), ("libportaudio2",)),
    "libasound2-dev": (("libasound2",), ("libasound2t64",)),
    "unixodbc-dev": (("libodbc2", "libodbcinst2"), ("libodbc2", "libodbcinst2")),
    "freetds-dev": (("libsybdb5", "libct4"), ("libsybdb5", "libct4")),
    "libxmlsec1-dev": (("libxmlsec1", "libxmlsec1-openssl"),
                       ("libxmlsec1t64", "libxmlsec1t64-openssl")),
    "libgraphviz-dev": (("libgvc6", "libcgraph6", "libcdt5", "libpathplan4"),
                        ("libgvc6", "libcgraph6", "libcdt5", "libpathplan4")),
    "libcap-dev": (("libcap2",), ("libcap2",)),
    "libzstd-dev": (("libzstd1",), ("libzstd1",)),
    "liblz4-dev": (("liblz4-1",), ("liblz4-1",)),
    "libsystemd-dev": (("libsystemd0",), ("libsystemd0",)),
    "libudev-dev": (("libudev1",), ("libudev1",)),
    "libzmq3-dev": (("libzmq5",), ("libzmq5",)),
    "librdkafka-dev": (("librdkafka1",), ("librdkafka1",)),
    "libaio-dev": (("libaio1",), ("libaio1t64",)),
    "libsndfile1-dev": (("libsndfile1",), ("libsndfile1",)),
    "libjansson-dev": (("libjansson4",), ("libjansson4",)),
    "libleveldb-dev": (("libleveldb1d",), ("libleveldb1d",)),
    "libargon2-dev": (("libargon2-1",), ("libargon2-1",)),
    "libacl1-dev": (("libacl1",), ("libacl1",)),
    "libattr1-dev": (("libattr1",), ("libattr1",)),
    "libseccomp-dev": (("libseccomp2",), ("libseccomp2",)),
    "libbrotli-dev": (("libbrotli1",), ("libbrotli1",)),
    "liblzo2-2-dev": (("liblzo2-2",), ("liblzo2-2",)),
    "liblzo2-dev": (("liblzo2-2",), ("liblzo2-2",)),
    "libssh-dev": (("libssh-4",), ("libssh-4",)),
    "libssh2-1-dev": (("libssh2-1",), ("libssh2-1t64",)),
    "libnss3-dev": (("libnss3",), ("libnss3",)),
    "libxrender-dev": (("libxrender1",), ("libxrender1",)),
    "libxext-dev": (("libxext6",), ("libxext6",)),
    "libsm-dev": (("libsm6",), ("libsm6",)),
}
# Build tools whose code the built extension links at run time (-slim already has
# libstdc++6 and libgcc-s1 for g++).
_TOOLCHAIN_RUNTIME: dict[str, tuple[str, ...]] = {"gfortran": ("libgfortran5",)}
# Debian 13 renamed these libraries for the 64-bit time_t transition and its t64
# packages `Provides:` the old name, so `apt-get install <bookworm name>` installs
# them there too (apt selects the only provider of a virtual package).
_TRIXIE_PROVIDES = frozenset({
    "libcurl4", "libpng16-16", "libmagic1", "libgeos-c1v5", "libev4", "libuv1",
    "libasound2", "libxmlsec1", "libevent-2.1-7",
})
# PyPI projects that compile against a library the full image has as -dev (so no
# apt line names it) -> those -dev packages. Other NATIVE_PYPI names (uwsgi,
# weasyprint, gdal, pygobject, cx-oracle, wand, mod-wsgi...) load more than one
# library, or one from outside Debian: they block.
_PYPI_DEV: dict[str, tuple[str, ...]] = {
    "psycopg2": ("libpq-dev",),
    "mysqlclient": ("default-libmysqlclient-dev",),
    "mysql-python": ("default-libmysqlclient-dev",),
    "python-ldap": ("libldap-dev", "libsasl2-dev"),
    "pyldap": ("libldap-dev", "libsasl2-dev"),
    "pycurl": ("libcurl4-openssl-dev",),
    "python-magic": ("libmagic-dev",),
    "pyodbc": ("unixodbc-dev",),
    "gssapi": ("libkrb5-dev",),
    "pykerberos": ("libkrb5-dev",),
    "kerberos": ("libkrb5-dev",),
    "xmlsec": ("libxmlsec1-dev", "libxml2-dev", "libxslt1-dev"),
    "pycairo": ("libcairo2-dev",),
    "cairocffi": ("libcairo2-dev",),
    "pyaudio": ("portaudio19-dev",),
    "pygraphviz": ("libgraphviz-dev",),
    "dbus-python": ("libdbus-1-dev",),
    "m2crypto": ("libssl-dev",),
    "pycrypto": ("libgmp-dev",),
    "pymssql": ("freetds-dev",),
}
# Commands a RUN before the build may run besides apt and pip: they change nothing
# the runtime would need (the runtime gets the venv and the context's files only).
_HARMLESS = frozenset({
    "cd", "set", "true", "false", ":", "echo", "printf", "which", "command", "type",
    "ls", "pwd", "id", "whoami", "uname", "nproc", "date", "env", "test", "[", "sleep",
})
_APT_VALUE_FLAGS = frozenset({"-o", "--option", "-c", "--config-file"})
_PIP_INSTALL_BLOCKED = {
    "--user": "installs into the user site, outside the venv",
    "--target": "installs into another folder, outside the venv",
    "--prefix": "installs into another prefix, outside the venv",
    "--root": "installs under another root, outside the venv",
    "--editable": "an editable install points into the builder's source tree",
    "--src": "an editable VCS install keeps its checkout outside the venv",
    "--system": "installs into the system Python",
}
_PIP_SHORT = {"t": "--target", "e": "--editable"}
_PIP_VALUE_SHORT = frozenset("rceitfb")
_PIP_VALUE_LONG = frozenset({
    "--requirement", "--constraint", "--editable", "--target", "--platform",
    "--python-version", "--implementation", "--abi", "--root", "--prefix", "--src",
    "--upgrade-strategy", "--progress-bar", "--root-user-action", "--report",
    "--index-url", "--extra-index-url", "--find-links", "--trusted-host", "--cert",
    "--client-cert", "--cache-dir", "--log", "--proxy", "--retries", "--timeout",
    "--exists-action", "--global-option", "--install-option", "--config-settings",
    "--no-binary", "--only-binary", "--python", "--keyring-provider", "--use-feature",
    "--use-deprecated", "--resume-retries", "--group", "--wheel-dir", "--dest",
    "--build", "--log-file", "--format",
})
_PIP_READONLY = frozenset({"list", "freeze", "show", "check", "config", "cache", "debug",
                            "inspect", "hash", "help", "--version", "-V"})
_ENV_BLOCKED = {
    "PIP_TARGET": "pip installs into another folder",
    "PIP_PREFIX": "pip installs into another prefix",
    "PIP_USER": "pip installs into the user site",
    "PIP_ROOT": "pip installs under another root",
    "PYTHONUSERBASE": "the user site moves",
    "PYTHONHOME": "the interpreter's home moves",
    "VIRTUAL_ENV": "the Dockerfile already names a virtualenv",
}
_RELEASES = ("trixie", "bookworm", "bullseye", "buster", "stretch")


# --- matching ---------------------------------------------------------------------


def _pip_args(words: list[str]) -> list[str] | None:
    """The arguments after ``pip`` when the command runs pip, else None."""
    if not words:
        return None
    if _PIP.fullmatch(words[0]):
        return words[1:]
    if _PYTHON.fullmatch(words[0]) and words[1:3] == ["-m", "pip"]:
        return words[3:]
    return None


def _pip_subcommand(args: list[str]) -> tuple[str, list[str]]:
    """pip's subcommand (after global options) and its arguments."""
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-") or a in ("--version", "-V"):
            return a, args[i + 1:]
        if "=" not in a and a in _PIP_VALUE_LONG:
            i += 1
        i += 1
    return "", []


def _apt_install(words: list[str]) -> list[str] | None:
    """The packages of ``apt-get install``/``apt install``, else None."""
    if words[:1] not in (["apt-get"], ["apt"]) or "install" not in words:
        return None
    out: list[str] = []
    after = False
    skip = False
    for w in words[1:]:
        if skip:
            skip = False
        elif w in _APT_VALUE_FLAGS:
            skip = True
        elif w == "install":
            after = True
        elif after and w and not w.startswith("-"):
            out.append(w)
    return out


def _apt_name(spec: str) -> str:
    return re.split(r"[=:/]", spec, maxsplit=1)[0].lower()


def python_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """A ``python:<tag>`` final stage that pip-installs and compiles.

    - A full image (one with a -slim variant): it installs compilers or -dev packages
      with apt, or the build context shows dependencies that compile against the
      full image's libraries (psycopg2, mysqlclient...). A stage that only
      pip-installs pure-Python packages is not a split candidate: DO605
      (full-base-image) moves it to -slim in place. DO605 refuses whenever this
      matcher accepts (it keeps the full image for a toolchain installed with the
      same test, and for native dependencies in the context), so the two never both
      rewrite one stage; after the split the final stage is -slim and DO605 has
      nothing to do.
    - A -slim image that installs compilers or -dev packages with apt: the runtime
      is the same -slim image without them (the builder keeps them).
    - Any other python tag (-alpine, Debian releases without a -slim variant) that
      installs a toolchain with apt or apk: matched so that the finding says why the
      split is not made (:func:`python_plan` refuses it), instead of the generic
      suggestion.

    ``what`` (the generic build descriptions) is not needed."""
    if ref.repository != "python":
        return False
    facts = facts_for(ref)
    if facts is None or facts.family == "windows":
        return False
    full = facts.slim_tag is not None
    pip = toolchain = False
    for run in shell_runs(ctx, final):
        all_words = [cmd_words(c) for c in run.script.commands]
        # On a -slim or other tag, a RUN that removes its build packages again (`apk
        # del .build-deps`, `apt-get purge`) already keeps the toolchain out of the
        # image: not a split candidate (as for the generic detection).
        removes = not full and any(w[:2] in (["apk", "del"], ["apt-get", "purge"],
                                             ["apt-get", "remove"], ["apt", "purge"],
                                             ["apt", "remove"]) for w in all_words)
        for words in all_words:
            args = _pip_args(words)
            if args is not None and _pip_subcommand(args)[0] == "install":
                pip = True
            pkgs = _apt_install(words) if full or is_slim(ref) else _toolchain_install(words)
            if pkgs and not removes and any(_is_toolchain(_apt_name(p)) for p in pkgs):
                toolchain = True
    if not pip:
        return False
    if full:
        return toolchain or (ctx.build is not None and bool(_native_pypi(ctx)))
    return toolchain


def is_slim(ref: ImageRef) -> bool:
    """``python:3.12-slim``, ``3.12-slim-bookworm``, ``slim``: the -slim variant itself."""
    return "slim" in (ref.tag or "").lower().split("-")


def _toolchain_install(words: list[str]) -> list[str] | None:
    """The packages of an apt or apk install (apk: ``add``), else None."""
    if words[:1] == ["apk"] and "add" in words:
        return [w for w in words[words.index("add") + 1:] if w and not w.startswith("-")]
    return _apt_install(words)


def _is_toolchain(name: str) -> bool:
    # DO605's own test for "installs a build toolchain" (base_image._blocker), plus
    # Alpine's meta-package.
    return name in BUILD_PACKAGES or name.endswith("-dev") or name == "build-base"


def _native_pypi(ctx: Context) -> list[str]:
    """Python dependencies in the context that compile (DO605's list), normalised."""
    out: list[str] = []
    for name in native_dependencies(ctx):
        if name.startswith("--no-binary"):
            out.append(name)
            continue
        norm = re.sub(r"[-_.]+", "-", name).lower()
        if norm in NATIVE_PYPI and norm not in out:
            out.append(norm)
    return out


# --- planning ---------------------------------------------------------------------


class _Walk:
    """The final stage read in order (see :func:`_walk`)."""

    def __init__(self) -> None:
        self.workdir: str | None = None
        self.runs: list[RunShell] = []
        self.first_pip: RunShell | None = None
        # Instructions replayed into the runtime, in file order, each with the
        # WORKDIR in effect.
        self.replay: list[tuple[Instruction, str]] = []
        # Where the venv lines go: before the stage's first RUN/COPY/ADD (an
        # Instruction of the stage), and how many replayed instructions precede it.
        self.insert_before: Instruction | None = None
        self.venv_at = 0


def _runs_pip(run: RunShell) -> bool:
    return any(_pip_args(cmd_words(c)) is not None for c in run.script.commands)


def _installs(run: RunShell) -> bool:
    return any(_pip_subcommand(a)[0] == "install" for a in
               (_pip_args(cmd_words(c)) for c in run.script.commands) if a is not None)


def _walk(ctx: Context, stage: Stage) -> _Walk:
    runs = {r.ins.start: r for r in shell_runs(ctx, stage)}
    body = stage.body
    build_at = max((i for i, ins in enumerate(body) if ins.keyword == "RUN" and
                    ins.start in runs and _installs(runs[ins.start])), default=-1)
    if build_at < 0:
        raise Blocked("pip install was not found in a plain shell-form RUN")
    w = _Walk()
    cmd_seen: set[str] = set()
    for i, ins in enumerate(body):
        kw = ins.keyword
        here = w.workdir or "/"
        if kw in ("RUN", "COPY", "ADD") and w.insert_before is None:
            w.insert_before = ins
            w.venv_at = len(w.replay)
        if kw in ("ONBUILD", "SHELL"):
            raise Blocked(f"the stage has {kw}, which a generated runtime cannot reproduce")
        if kw == "RUN":
            if i > build_at:
                what = " ".join(ins.args.text.split()[:3])
                raise Blocked(f"line {ins.start_line}: a RUN after the pip install (`{what}`) "
                              "may make something the app needs at run time")
            run = runs.get(ins.start)
            if run is None:
                raise Blocked(f"line {ins.start_line}: a RUN that cannot be read (exec form, "
                              "heredoc or a shell parse error)")
            w.runs.append(run)
            if w.first_pip is None and _runs_pip(run):
                w.first_pip = run
            continue
        if kw == "WORKDIR" and ins.value:
            if "$" in ins.value[0]:
                raise Blocked("WORKDIR comes from a variable")
            w.workdir = posixpath.normpath(posixpath.join(here, ins.value[0]))
        elif kw in ("COPY", "ADD"):
            if ins.heredoc_docs:
                raise Blocked(f"line {ins.start_line}: {kw} with a heredoc")
            if len(ins.value) < 2:
                raise Blocked(f"line {ins.start_line}: {kw} without a destination")
            check_copy(ins, here, False)
        elif kw == "USER" and w.first_pip is None and ins.value and \
                ins.value[0].split(":")[0] not in ("root", "0"):
            raise Blocked(f"line {ins.start_line}: USER {ins.value[0]} before pip: the venv "
                          f"in {VENV} is made as root")
        elif kw == "ENV":
            _check_env(ins, w.insert_before is not None)
        elif kw in ("CMD", "ENTRYPOINT"):
            cmd_seen.add(kw)
        if kw in (*KEEP, "WORKDIR", "COPY", "ADD", "ARG", "MAINTAINER"):
            w.replay.append((ins, w.workdir or "/"))
    if not cmd_seen:
        raise Blocked("no CMD or ENTRYPOINT: the image may be a base for other builds, "
                      "which may need its compilers")
    return w


def _check_env(ins: Instruction, after_venv: bool) -> None:
    pairs = ins.value
    for key, value in zip(pairs[::2], pairs[1::2], strict=False):
        if key in _ENV_BLOCKED:
            raise Blocked(f"line {ins.start_line}: ENV {key}: {_ENV_BLOCKED[key]}")
        if key == "PATH" and after_venv and not re.search(r"\$\{?PATH\b", value):
            raise Blocked(f"line {ins.start_line}: ENV PATH replaces PATH, so the venv's bin "
                          "folder would drop out of it")


def _check_runs(walk: _Walk) -> list[str]:
    """Raise for commands whose effect a venv-only runtime would lose; return the apt
    packages installed (as written, in order)."""
    apt: list[str] = []
    workdir = walk.workdir or "/"
    for run in walk.runs:
        for cmd in run.script.commands:
            words = cmd_words(cmd)
            line = run.ins.start_line
            if not words:
                if cmd.words:
                    raise Blocked(f"line {line}: a command whose name is not static")
                _check_assignments(cmd, line)
                continue
            name = words[0]
            shown = " ".join(words[:3])
            _check_redirects(cmd, line, shown)
            pip = _pip_args(words)
            if pip is not None:
                _check_pip(cmd, pip, line)
                continue
            if _PYTHON.fullmatch(name):
                if words[1:2] in (["--version"], ["-V"]):
                    continue
                if words[1:3] == ["-m", "venv"] or words[1:3] == ["-m", "virtualenv"]:
                    raise Blocked(f"line {line}: the Dockerfile already makes a virtualenv")
                raise Blocked(f"line {line}: `{shown}` may write files the runtime would "
                              "not get")
            if name in ("apt-get", "apt"):
                apt += _check_apt(words, line)
                continue
            if name == "rm":
                _check_rm(words, line, workdir)
                continue
            if name == "mkdir" and all(_is_ancestor(posixpath.normpath(posixpath.join(
                    workdir, a)), workdir) for a in words[1:] if not a.startswith("-")):
                continue  # `mkdir /app` before `WORKDIR /app`: the runtime's WORKDIR makes it
            if name in ("export", "declare", "typeset"):
                _check_assignments(cmd, line, words[1:])
                continue
            if name in _HARMLESS:
                continue
            raise Blocked(f"line {line}: `{shown}` may make or install something the runtime "
                          "needs")
    return apt


def _check_assignments(cmd: SimpleCommand, line: int, extra: list[str] | None = None) -> None:
    texts = [w.value or "" for w in cmd.env] + list(extra or [])
    for t in texts:
        key = t.split("=", 1)[0]
        if key in _ENV_BLOCKED or key == "PATH":
            raise Blocked(f"line {line}: the RUN sets {key}, which changes where pip installs")


def _check_redirects(cmd: SimpleCommand, line: int, shown: str) -> None:
    for r in cmd.redirects:
        text = (r.value or r.text).strip()
        m = re.match(r"\d*(>>?|&>>?|>\|)\s*(.*)", text)
        if m and m.group(2) not in ("/dev/null", "/dev/stdout", "/dev/stderr", "&1", "&2"):
            raise Blocked(f"line {line}: `{shown}` writes {m.group(2) or 'a file'}, which "
                          "the runtime would not get")


def _is_ancestor(path: str, of: str) -> bool:
    return path == of or of.startswith(path.rstrip("/") + "/")


def _check_rm(words: list[str], line: int, workdir: str) -> None:
    for w in words[1:]:
        if w.startswith("-"):
            continue
        full = posixpath.normpath(posixpath.join(workdir, w))
        inside = workdir != "/" and (full + "/").startswith(workdir.rstrip("/") + "/")
        if inside or full == VENV or full.startswith(VENV + "/") or full == "/" or \
                "$" in w:
            raise Blocked(f"line {line}: rm {w}: the runtime copies the app's files again "
                          "and would still have it")


def _check_apt(words: list[str], line: int) -> list[str]:
    sub = next((w for w in words[1:] if not w.startswith("-")), "")
    if sub in ("update", "clean", "autoclean", "autoremove", "purge", "remove"):
        return []
    if sub in ("upgrade", "dist-upgrade", "full-upgrade"):
        raise Blocked(f"line {line}: apt-get {sub}: the runtime image would not get the "
                      "upgrades")
    if sub != "install":
        raise Blocked(f"line {line}: `{' '.join(words[:2])}` is not followed")
    if "" in words:
        raise Blocked(f"line {line}: the apt packages come from a variable")
    if any(w in ("-t", "--target-release", "--default-release") or
           w.startswith(("--target-release=", "-t=")) for w in words):
        raise Blocked(f"line {line}: apt-get install from another release (-t): the runtime "
                      "would not have its sources")
    pkgs = _apt_install(words) or []
    for p in pkgs:
        if "/" in p or p.endswith(".deb") or any(c in p for c in "*?^$[") or ":" in p:
            raise Blocked(f"line {line}: apt package {p} is not a plain package name")
    return pkgs


def _check_pip(cmd: SimpleCommand, args: list[str], line: int) -> None:
    prog = cmd.words[cmd.resolved_index].value if cmd.resolved_index is not None else None
    if prog and "/" in prog and not prog.startswith(VENV + "/"):
        raise Blocked(f"line {line}: {prog} is named by path, so it bypasses the venv on "
                      "PATH")
    sub, rest = _pip_subcommand(args)
    if sub in _PIP_READONLY or sub == "":
        return
    if sub in ("install", "uninstall", "wheel", "download"):
        # wheel/download write into the builder only; the runtime gets the venv.
        if sub == "install":
            _check_pip_install(rest, line)
        return
    raise Blocked(f"line {line}: `pip {sub}` is not followed")


def _check_pip_install(rest: list[str], line: int) -> None:
    i = 0
    while i < len(rest):
        a = rest[i]
        i += 1
        if a.startswith("--"):
            name = a.split("=", 1)[0]
            if name in _PIP_INSTALL_BLOCKED:
                raise Blocked(f"line {line}: pip install {name}: "
                              f"{_PIP_INSTALL_BLOCKED[name]}")
            if name == "--no-binary" and ":all:" in (a.split("=", 1)[1:] or rest[i:i + 1]):
                raise Blocked(f"line {line}: --no-binary :all: builds every package from "
                              "source, against libraries the slim image may lack")
            if "=" not in a and name in _PIP_VALUE_LONG:
                i += 1
        elif a.startswith("-") and len(a) > 1:
            for j, ch in enumerate(a[1:]):
                if ch in _PIP_SHORT:
                    long = _PIP_SHORT[ch]
                    raise Blocked(f"line {line}: pip install -{ch}: "
                                  f"{_PIP_INSTALL_BLOCKED[long]}")
                if ch in _PIP_VALUE_SHORT:
                    if j == len(a) - 2:
                        i += 1  # the value is the next word
                    break


def _runtime_packages(apt: list[str], native: list[str],
                      release: str | None) -> tuple[list[str], list[str], list[str]]:
    """(packages to install in the runtime, why each, packages left in the builder)."""
    install: list[str] = []
    why: list[str] = []
    left: list[str] = []
    devs: list[tuple[str, str]] = []  # (-dev package, what needs it)
    for spec in apt:
        name = _apt_name(spec)
        if name in _TOOLCHAIN_RUNTIME:
            left.append(name)
            for n in _TOOLCHAIN_RUNTIME[name]:
                if n not in install:
                    install.append(n)
                    why.append(f"{n} (the run-time library of code {name} compiles)")
        elif name in _BUILD_ONLY_APT or name in _IN_SLIM_DEV or _PYTHON_DEV.fullmatch(name) \
                or name.endswith("-dev-bin"):
            left.append(name)
        elif name in _DEV_RUNTIME:
            left.append(name)
            devs.append((name, name))
        elif name.endswith("-dev"):
            raise Blocked(f"{name}: the run-time library an extension built against it "
                          "links is not known, so the runtime stage could not install it")
        elif name.startswith(("python3-", "python-")):
            raise Blocked(f"apt package {name}: Debian's Python packages are not visible in "
                          "a virtualenv")
        elif spec not in install:
            install.append(spec)
            why.append(f"{spec} (installed in the original; the app may run it)")
    for dep in native:
        if dep.startswith("--no-binary"):
            raise Blocked(f"{dep}: packages built from source may link libraries the slim "
                          "image lacks")
        if dep not in _PYPI_DEV:
            raise Blocked(f"the dependency {dep} builds against, or loads, libraries whose "
                          "run-time packages are not known")
        devs += [(d, dep) for d in _PYPI_DEV[dep] if d not in _IN_SLIM_DEV]
    for dev, source in devs:
        names = _release_names(dev, release)
        for n in names:
            if n not in install:
                install.append(n)
                why.append(f"{n} (the run-time library of {source})")
    return install, why, list(dict.fromkeys(left))


def _release_names(dev: str, release: str | None) -> tuple[str, ...]:
    bookworm, trixie = _DEV_RUNTIME[dev]
    if release == "bookworm":
        return bookworm
    if release == "trixie":
        if trixie is None:
            raise Blocked(f"{dev} does not exist in Debian 13 (trixie)")
        return trixie
    if release is None:
        # The tag names no Debian release, so it may be either: use names that
        # install on both (Debian 13's t64 packages provide the Debian 12 names).
        if trixie is not None and all(n in trixie or n in _TRIXIE_PROVIDES for n in bookworm):
            return bookworm
        raise Blocked(f"the run-time library of {dev} has another name in Debian 12 and "
                      "13, and the tag names no release (use a -bookworm or -trixie tag)")
    raise Blocked(f"the run-time library names of {dev} are known for Debian 12 and 13 "
                  f"only, not {release}")


def _python_version(tag: str | None) -> tuple[int, int] | None:
    m = re.match(r"(\d+)(?:\.(\d+))?", tag or "")
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2) or 99)


def _release(ref: ImageRef) -> str | None:
    words = set(re.split(r"[-_.]", (ref.tag or "").lower()))
    return next((r for r in _RELEASES if r in words), None)


def _check_command(ins: Instruction, runtime: set[str], ctx: Context, workdir: str) -> None:
    """CMD/ENTRYPOINT/HEALTHCHECK must not need what the runtime lacks."""
    text = " ".join(ins.value) if ins.is_json else ins.args.text
    if re.search(r"/usr/local/(bin|lib)/(python|pip)|site-packages|/usr/local/bin/\w", text):
        raise Blocked(f"line {ins.start_line}: {ins.keyword} names a path outside the venv "
                      "where pip used to install")
    words = set(re.split(r"[\s;&|()\"'\[\],=]+", text))
    _check_tools(words, runtime, f"line {ins.start_line}: {ins.keyword}")
    if {"pip", "pip3"} & words:
        raise Blocked(f"line {ins.start_line}: {ins.keyword} runs pip: an install at run time "
                      "may need the compilers")
    if ctx.build is None:
        return
    for w in words:
        if not w.endswith(".sh") or "$" in w:
            continue
        path = posixpath.normpath(posixpath.join(workdir, w))
        if not path.startswith(workdir.rstrip("/") + "/"):
            continue
        script = ctx.read_context_file(path[len(workdir.rstrip("/")) + 1:])
        if script is not None:
            found = set(re.split(r"[\s;&|()\"'`\[\],=]+", script))
            _check_tools(found, runtime, f"{w} (run by {ins.keyword})")
            if re.search(r"\bpip3?\s+install\b", script):
                raise Blocked(f"{w} runs pip install at start-up, which may need the "
                              "compilers")


def _check_tools(words: set[str], runtime: set[str], where: str) -> None:
    for tool in sorted(words & set(FULL_ONLY_TOOLS)):
        if FULL_ONLY_TOOLS[tool] not in runtime and tool not in runtime:
            raise Blocked(f"{where} uses {tool}, which python:-slim lacks")


def _check_context(ctx: Context, walk: _Walk) -> None:
    """Editable requirements point into the builder's source tree: refuse them."""
    build = ctx.build
    closure = getattr(build, "requirements_closure", None)
    files: list[str] = []
    workdir = walk.workdir or "/"
    for run in walk.runs:
        for cmd in run.script.commands:
            args = _pip_args(cmd_words(cmd))
            if args is None:
                continue
            _, rest = _pip_subcommand(args)
            for a, b in zip(rest, [*rest[1:], ""], strict=True):
                target = b if a in ("-r", "--requirement") else \
                    a.split("=", 1)[1] if a.startswith("--requirement=") else \
                    a[2:] if a.startswith("-r") and len(a) > 2 else None
                if target:
                    full = posixpath.normpath(posixpath.join(workdir, target))
                    rel = full[len(workdir.rstrip("/")) + 1:] if \
                        full.startswith(workdir.rstrip("/") + "/") else target
                    files.append(rel)
    files.append("requirements.txt")
    seen: list[str] = []
    for f in files:
        seen += closure(f) if callable(closure) else [f]
    for rel in dict.fromkeys(seen):
        text = ctx.read_context_file(rel) or ""
        for line in text.splitlines():
            if re.match(r"\s*(-e|--editable)\b", line):
                raise Blocked(f"{rel} has an editable requirement ({line.strip()[:60]}), "
                              "which points into the builder's source tree")


def _subsumed(walk: _Walk) -> set[int]:
    """COPYs of single files into the WORKDIR that a later `COPY . .` (same WORKDIR,
    no --exclude/--parents) copies again: the later COPY overwrites them (content and
    ownership), so the runtime needs only that one."""
    drop: set[int] = set()
    for i, (ins, here) in enumerate(walk.replay):
        if ins.keyword != "COPY" or any(f.startswith(("--from", "--parents"))
                                        for f in ins.flags):
            continue
        *srcs, dest = ins.value
        if posixpath.normpath(posixpath.join(here, dest)) != here:
            continue
        if not all(PLAIN_WORD.fullmatch(s) and "/" not in s and s not in (".", "..")
                   for s in srcs):
            continue
        for later, there in walk.replay[i + 1:]:
            if later.keyword == "WORKDIR":
                break
            if later.keyword == "COPY" and later.value[:-1] == (".",) and there == here and \
                    posixpath.normpath(posixpath.join(there, later.value[-1])) == here and \
                    not any(f.startswith(("--exclude", "--parents", "--from"))
                            for f in later.flags):
                drop.add(i)
                break
    return drop


def python_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    ref = parse_image_ref(final.base)
    assert ref is not None
    slim_base = is_slim(ref)
    facts = facts_for(ref)
    if facts is not None and facts.family == "alpine":
        raise Blocked(f"{ref.text} is Alpine: the split is automated for the Debian-based "
                      "python images, where each -dev package's run-time library is known "
                      "(apt); the apk names are not mapped")
    if not slim_base and (facts is None or facts.slim_tag is None):
        raise Blocked(f"{ref.text} has no -slim variant to run on (dockopt knows -slim tags "
                      "for current Debian releases only)")
    if ref.digest is not None and not slim_base:
        raise Blocked("the FROM pins a digest, which the -slim tag does not have")
    if final.platform and "$" in final.platform:
        raise Blocked("FROM --platform uses a variable: the venv's compiled extensions are "
                      "for the build platform")
    version = _python_version(ref.tag)
    if version is not None and version[0] < 3:
        raise Blocked("Python 2 has no venv module")
    walk = _walk(ctx, final)
    # Without a WORKDIR the COPYs put files into / and are replayed there just the
    # same; only the whole context in / is refused (it could bring an opt/ folder
    # that meets the venv).
    workdir = walk.workdir or "/"
    for ins, here in walk.replay:
        if ins.keyword in ("COPY", "ADD") and here == "/" and \
                any(posixpath.normpath(src) == "." for src in ins.value[:-1]):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} copies the whole build "
                          "context into the filesystem root")
    if not PLAIN_WORD.fullmatch(workdir):
        raise Blocked("the WORKDIR is not a plain path")
    if workdir != "/" and (_is_ancestor(workdir, VENV) or _is_ancestor(VENV, workdir)):
        raise Blocked(f"the WORKDIR {workdir} overlaps the venv folder {VENV}")
    apt = _check_runs(walk)
    native: list[str] = []
    if ctx.build is not None:
        _check_context(ctx, walk)
        # On a -slim base a dependency compiles only against the libraries -slim has
        # (the runtime has them too) and those of the packages the stage installs
        # (each mapped below), never against a full image's hundreds of -dev
        # libraries: what the context's dependencies are does not matter there.
        native = [] if slim_base else _native_pypi(ctx)
    release = _release(ref)
    if release is None and version is not None and version < (3, 8):
        # Tags that name no release follow the newest Debian at the time: Python
        # 3.7 and older stopped before Debian 12, so their images are older.
        release = "an older Debian (Python before 3.8)"
    packages, why, left = _runtime_packages(apt, native, release)
    runtime_names = {_apt_name(p) for p in packages}
    cmds = [i for i, _ in walk.replay if i.keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK")]
    for ins in cmds:
        if ins.keyword != "HEALTHCHECK" or ins.value[:1] != ("NONE",):
            _check_command(ins, runtime_names, ctx, workdir)
    # On a -slim base the runtime is that very image (digest and all); on a full
    # one, its -slim variant.
    slim = final.base if slim_base else slim_variant(ref)
    assert slim is not None  # the checks above made sure
    image = slim
    if final.platform:
        image = f"--platform={final.platform} {image}"

    # The runtime's instructions: the replayed ones in file order (only the last
    # CMD and ENTRYPOINT count), without COPYs a later `COPY . .` repeats. The venv
    # (ENV and COPY) goes where the builder got its venv lines: before the first
    # COPY/ADD/RUN, so the PATH order is the builder's and a source change does not
    # copy the venv again.
    drop = _subsumed(walk)
    last = {kw: max((i for i, (ins, _) in enumerate(walk.replay) if ins.keyword == kw),
                    default=-1) for kw in ("CMD", "ENTRYPOINT")}
    items: list[tuple[int, Instruction]] = [
        (i, ins) for i, (ins, _) in enumerate(walk.replay)
        if i not in drop and not (ins.keyword in last and i != last[ins.keyword])]
    lines = {i: block(tree, ins) for i, ins in items}
    if not any("$" in text for i, text in lines.items()
               if walk.replay[i][0].keyword != "ARG"):
        items = [(i, ins) for i, ins in items if ins.keyword != "ARG"]
    head = [lines[i] for i, _ in items if i < walk.venv_at]
    tail = [lines[i] for i, _ in items if i >= walk.venv_at]

    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("python", builder, from_edit)
    plan.protected = [VENV]
    # The venv lines go before the stage's first RUN/COPY/ADD (above its comments),
    # not right before the pip RUN: the venv layer then never rebuilds when the
    # source or the apt packages change, and DO601 (manifests-after-source), which
    # knows that apt and pip do not read the source but not what `python -m venv`
    # reads, can still move a `COPY . .` below the installs in the builder. Nothing
    # before the first pip RUN runs python or pip (`_check_runs`), so the earlier
    # PATH change affects no command before it.
    first = walk.insert_before
    assert first is not None
    comments = tree.owned_comments(first)
    pos = comments[0].start if comments else first.start
    pos = ctx.text.rfind("\n", 0, pos) + 1
    plan.inserts[pos] = (style.instruction("RUN", f"python -m venv {VENV}") +
                         style.instruction("ENV", VENV_ENV))
    copies = ", ".join(f"`{' '.join(ins.logical.text.split())}`"
                       for _, ins in items if ins.keyword in ("COPY", "ADD"))
    dropped = ", ".join(f"`{' '.join(walk.replay[i][0].logical.text.split())}`"
                        for i in sorted(drop))
    plan.moved = [
        f"{VENV}, a virtualenv the builder makes before its first pip command (the venv "
        "first on PATH, so pip installs into it): the dependencies, compiled extensions "
        "included, in one folder",
        (f"the app's files, copied again from the build context ({copies}) rather than "
         "from the builder, so a source change does not re-run pip" if copies else
         "no app files (the stage copies none)") +
        (f"; {dropped} left out: the later `COPY . .` copies it again" if dropped else ""),
        f"base {image} (" + ("the builder's own -slim image, without the compilers and "
                             "-dev headers it installs" if slim_base else
                             "the -slim variant of the same Python: the venv's interpreter is "
                             "at the same path; no compilers or -dev headers") + ")",
    ]
    if packages:
        plan.moved.append("apt packages " + ", ".join(why))
    kept = [ins.keyword for _, ins in items if ins.keyword not in ("COPY", "ADD")]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    if left:
        plan.notes.append("Left in the builder (needed to build only): " + ", ".join(left)
                          + ".")
    if not any(ins.keyword == "USER" for _, ins in items):
        plan.notes.append("A non-root USER is left to DO604 (root-user).")
    plan.runtime = render("python", style, {
        "image": image, "builder": builder, "venv": VENV, "venv_env": VENV_ENV,
        "run": style.keyword("RUN"), "packages": packages, "head": head, "tail": tail})
    return plan
