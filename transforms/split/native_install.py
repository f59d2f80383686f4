"""DO101 for C/C++ builds that `make install` (or `cmake --install`, `ninja install`)
into a known prefix: the runtime copies the installed tree instead of one program.

The prefix is read from the build itself: `./configure --prefix=P` (autoconf's
default is /usr/local), `cmake -DCMAKE_INSTALL_PREFIX=P` (default /usr/local) or
`cmake --install DIR --prefix P`, `make install PREFIX=P`/`prefix=P`, else a plain
Makefile's own `PREFIX`/`prefix` variable. The whole prefix is copied (a later
install into the same prefix, such as a library the program links, comes along),
and the runtime runs `ldconfig` after the copy: /usr/local/lib is in Debian's and
Ubuntu's ld.so.conf, but the dynamic loader finds libraries there only through the
cache, which the builder's `make install`/`ldconfig` wrote and the runtime lacks.

Held back: `DESTDIR` (a staged tree), directory options that put files outside the
prefix (`--sysconfdir=/etc`, `-DCMAKE_INSTALL_SYSCONFDIR=/etc`...), a prefix that is
the system's own tree (/usr, /, /etc...), a prefix computed from variables, a
Makefile without a prefix variable, a CMD whose program is not under the prefix.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Instruction
from dockopt.transforms.base import Context
from dockopt.transforms.shellfix import RunShell
from dockopt.transforms.split.common import Blocked, cmd_words

DEFAULT_PREFIX = "/usr/local"
# Trees that hold the distribution's own files: copying one would bring the builder's
# toolchain along (or overwrite the runtime's system).
_SYSTEM_TREES = frozenset({"/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/var",
                           "/usr/lib", "/usr/bin", "/usr/share", "/usr/include", "/root",
                           "/home", "/tmp", "/opt"})
# Options that move part of an install out of the prefix (autoconf, CMake GNUInstallDirs).
_DIR_OPTIONS = ("bindir", "sbindir", "libexecdir", "sysconfdir", "sharedstatedir",
                "localstatedir", "runstatedir", "libdir", "includedir", "datarootdir",
                "datadir", "mandir", "docdir", "exec-prefix")
_PREFIX_VAR = lazy(r"^\s*(?:export\s+|override\s+)?(PREFIX|prefix)\s*(?:\?=|:=|::=|=)"
                         r"\s*(\S*)\s*$", re.M)


@dataclass
class Installed:
    prefixes: list[str]  # absolute, in the order the installs ran
    how: str  # for the message


def installed_tree(ctx: Context, runs: Sequence[tuple[RunShell, str]],
                   read_makefile: Callable[[str], str | None]) -> Installed:
    """The prefixes the build RUNs install into; raises when one is not certain.
    ``runs``: (RUN, WORKDIR at it) up to the last build. ``read_makefile(folder)``
    returns the text of the Makefile the stage copied there, or None."""
    configured: dict[str, str] = {}  # folder -> prefix (configure, cmake build folder)
    prefixes: list[str] = []
    hows: list[str] = []
    for run, here in runs:
        cwd = here
        line = run.ins.start_line
        for cmd in run.script.commands:
            words = cmd_words(cmd)
            if not words:
                continue
            if any(w.value is None for w in cmd.resolved_args) and words[0] in (
                    "configure", "cmake", "make", "gmake", "ninja"):
                raise Blocked(f"line {line}: {words[0]} has an argument built from a "
                              "variable")
            name = words[0]
            raw = cmd.words[cmd.resolved_index or 0].value or ""
            if name == "cd" and len(words) == 2:
                cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
            elif name == "configure" and raw.endswith("/configure"):
                configured[cwd] = _configure_prefix(words[1:], line)
            elif name == "cmake":
                _cmake(words[1:], cwd, line, configured, prefixes, hows)
            elif name in ("make", "gmake") and any(w.startswith("install") for w in words[1:]
                                                   if not w.startswith("-")):
                folder = _make_folder(words[1:], cwd)
                prefix = _make_prefix(words[1:], folder, configured, read_makefile, line)
                prefixes.append(prefix)
                hows.append(f"`{' '.join(words[:2])}` into {prefix}")
            elif name in ("ninja", "samu") and "install" in words[1:]:
                folder = cwd
                if "-C" in words:
                    i = words.index("-C")
                    folder = posixpath.normpath(posixpath.join(cwd, words[i + 1]))
                if folder not in configured:
                    raise Blocked(f"line {line}: the prefix of `{name} install` in {folder} "
                                  "is not known")
                prefixes.append(configured[folder])
                hows.append(f"`{name} install` into {configured[folder]}")
    if not prefixes:
        raise Blocked("no install with a known prefix")
    for p in prefixes:
        if p in _SYSTEM_TREES or not p.startswith("/"):
            raise Blocked(f"the install prefix {p} is the system's own tree; copying it "
                          "would bring the toolchain along")
    return Installed(list(dict.fromkeys(prefixes)), "; ".join(dict.fromkeys(hows)))


def _configure_prefix(args: list[str], line: int) -> str:
    prefix = DEFAULT_PREFIX
    i = 0
    while i < len(args):
        a = args[i]
        key, eq, value = a.partition("=")
        if key in ("--prefix", *(f"--{d}" for d in _DIR_OPTIONS)) and not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        if key == "--prefix":
            prefix = posixpath.normpath(value)
        elif key.lstrip("-") in _DIR_OPTIONS and key.startswith("--") and \
                not value.startswith(("${prefix}", "$prefix", "${exec_prefix}")):
            raise Blocked(f"line {line}: configure {key}={value} puts files outside the "
                              "install prefix")
        i += 1
    if "$" in prefix:
        raise Blocked(f"line {line}: the configure prefix comes from a variable")
    return prefix


def _cmake(args: list[str], cwd: str, line: int, configured: dict[str, str],
           prefixes: list[str], hows: list[str]) -> None:
    if "--install" in args:
        i = args.index("--install")
        folder = posixpath.normpath(posixpath.join(cwd, args[i + 1] if i + 1 < len(args)
                                                   else "."))
        prefix = configured.get(folder)
        if "--prefix" in args:
            j = args.index("--prefix")
            prefix = posixpath.normpath(args[j + 1]) if j + 1 < len(args) else None
        if prefix is None or "$" in prefix:
            raise Blocked(f"line {line}: the prefix of `cmake --install` is not known")
        prefixes.append(prefix)
        hows.append(f"`cmake --install` into {prefix}")
        return
    if "--build" in args:
        i = args.index("--build")
        folder = posixpath.normpath(posixpath.join(cwd, args[i + 1] if i + 1 < len(args)
                                                   else "."))
        rest = args[i + 2:]
        if "install" in rest and ("--target" in rest or "-t" in rest):
            if folder not in configured:
                raise Blocked(f"line {line}: the prefix of the install target is not known")
            prefixes.append(configured[folder])
            hows.append(f"`cmake --build --target install` into {configured[folder]}")
        return
    prefix = DEFAULT_PREFIX
    build = cwd
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-B" and i + 1 < len(args):
            build = posixpath.normpath(posixpath.join(cwd, args[i + 1]))
            i += 2
            continue
        if a.startswith("-B") and len(a) > 2:
            build = posixpath.normpath(posixpath.join(cwd, a[2:]))
        if a == "-D" and i + 1 < len(args):
            a = "-D" + args[i + 1]
            i += 1
        m = re.fullmatch(r"-D(CMAKE_INSTALL_[A-Z_]+)(?::\w+)?=(.*)", a)
        if m and m.group(1) == "CMAKE_INSTALL_PREFIX":
            prefix = posixpath.normpath(m.group(2))
        elif m and m.group(2).startswith("/"):
            raise Blocked(f"line {line}: cmake -D{m.group(1)}={m.group(2)} puts files "
                          "outside the install prefix")
        i += 1
    if "$" in prefix:
        raise Blocked(f"line {line}: the CMake install prefix comes from a variable")
    configured[build] = prefix


def _make_folder(args: list[str], cwd: str) -> str:
    folder = cwd
    for i, a in enumerate(args):
        if a in ("-C", "--directory") and i + 1 < len(args):
            folder = posixpath.normpath(posixpath.join(folder, args[i + 1]))
        elif a.startswith("-C") and len(a) > 2:
            folder = posixpath.normpath(posixpath.join(folder, a[2:]))
    return folder


def _make_prefix(args: list[str], folder: str, configured: dict[str, str],
                 read_makefile: Callable[[str], str | None], line: int) -> str:
    for a in args:
        key, eq, value = a.partition("=")
        if eq and key == "DESTDIR":
            raise Blocked(f"line {line}: make install DESTDIR={value} stages the tree "
                          "elsewhere")
        if eq and key in ("PREFIX", "prefix"):
            if "$" in value or not value.startswith("/"):
                raise Blocked(f"line {line}: the make install prefix is not a plain path")
            return posixpath.normpath(value)
    if folder in configured:
        return configured[folder]
    for parent, prefix in configured.items():
        if folder.startswith(parent.rstrip("/") + "/"):
            return prefix  # a subfolder of a configured tree
    text = read_makefile(folder)
    if text is None:
        raise Blocked(f"line {line}: the Makefile in {folder} cannot be read, so the "
                      "install prefix is not known")
    found = _PREFIX_VAR.findall(text)
    if not found:
        raise Blocked(f"line {line}: the Makefile in {folder} has no PREFIX/prefix "
                      "variable, so where `make install` puts files is not known")
    value = str(found[-1][1])
    if "$" in value or not value.startswith("/"):
        raise Blocked(f"line {line}: the Makefile's install prefix {value} is not a plain "
                      "path")
    return posixpath.normpath(value)


def program_under(prefixes: Sequence[str], program: str, workdir: str,
                  path_dirs: Sequence[str]) -> str | None:
    """The absolute path of ``program`` (as CMD names it) when it lies under one of
    ``prefixes``."""
    if "/" in program:
        candidates = [posixpath.normpath(posixpath.join(workdir, program))]
    else:
        candidates = [posixpath.join(d, program) for d in path_dirs]
    for c in candidates:
        if any(c.startswith(p.rstrip("/") + "/") for p in prefixes):
            return c
    return None


def env_path(keep: Sequence[Instruction]) -> list[str] | None:
    """The PATH an ENV sets (plain folders), or None."""
    found: list[str] | None = None
    for ins in keep:
        if ins.keyword == "ENV":
            v = ins.value
            for i in range(0, len(v) - 1, 2):
                if v[i] == "PATH":
                    found = [d for d in v[i + 1].split(":") if d.startswith("/")]
    return found
