"""DO101 for apt toolchains on Debian/Ubuntu: the builder compiles, the runtime (the same
distribution's slim image) gets the program CMD/ENTRYPOINT runs and the shared libraries
behind the `-dev` packages the build used (the package tables are in ``split.packages``)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import field

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.images import ImageRef, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs
from dockopt.transforms.split.common import (
    ASSET_DIRS,
    KEEP,
    PLAIN_WORD,
    Blocked,
    Plan,
    block,
    builder_name,
    cmd_words,
    image_command,
    last,
    render,
    settings_lines,
    slim_variant,
)
from dockopt.transforms.split.native_install import (
    Installed,
    env_path,
    installed_tree,
    program_under,
)
from dockopt.transforms.split.packages import (
    FLAG_LIBS,
    AptPackages,
    apt_run,
    read_installs,
    release_of,
    runtime_packages,
)

# --- native builds ----------------------------------------------------------------

_COMPILERS = lazy(r"(gcc|g\+\+|cc|c\+\+|clang|clang\+\+|gfortran|tcc)(-\d+(\.\d+)?)?")
_MAKES = frozenset({"make", "gmake"})
# PATH of the Debian/Ubuntu images.
_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_INITS = frozenset({"tini", "tini-static", "dumb-init"})
# Users every Debian/Ubuntu image has (base-passwd).
_BASE_USERS = frozenset({"root", "daemon", "bin", "sys", "sync", "games", "man", "lp",
                         "mail", "news", "uucp", "proxy", "www-data", "backup", "list",
                         "irc", "nobody", "ubuntu"})
# Commands a RUN before the build may run: they fetch or unpack sources, or prepare the
# package manager; they leave nothing the program needs at run time.
_PREP_COMMANDS = frozenset({
    "cd", "echo", "true", "set", "export", "rm", "mkdir", "git", "curl", "wget", "tar",
    "unzip", "gunzip", "xz", "bzip2", "ls", "cat", "sha256sum", "md5sum", "gpg",
    "update-ca-certificates", "ldconfig", "chmod", "test", "[", "apt-get", "apt", "apk",
    "aptitude", "apt-cache", "dpkg-reconfigure", "locale-gen", "ln", "which", "sed",
    "autoreconf", "autogen.sh", "bootstrap", "aclocal", "automake", "autoconf", "libtoolize",
})


def _is_build(cmd: SimpleCommand) -> str | None:
    """The kind of build ``cmd`` runs: make, compile, cmake, configure, ninja, meson."""
    words = cmd_words(cmd)
    if not words:
        return None
    name, raw = words[0], cmd.words[cmd.resolved_index or 0].value or ""
    if name in _MAKES:
        return "make"
    if _COMPILERS.fullmatch(name) and any(w == "-o" or (w.startswith("-o") and len(w) > 2)
                                          for w in words[1:]):
        return "compile"
    if name == "cmake" and ("--build" in words or "--install" in words
                            or any(not w.startswith("-") for w in words[1:])):
        return "cmake"
    if name == "configure" and raw.endswith("/configure"):
        return "configure"
    if name in ("ninja", "meson", "samu"):
        return name
    return None


def native_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """Debian/Ubuntu base, a compiler toolchain installed (``_builds`` saw it, and no
    RUN removes it again), and a C/C++ build step (make, cc -o, cmake, configure)."""
    if ref.repository not in ("debian", "ubuntu"):
        return False
    if not any(w.startswith("compilers installed") for w in what):
        return False
    return any(_is_build(c) for r in shell_runs(ctx, final) for c in r.script.commands)


@dataclass
class _Make:
    folder: str  # the folder make runs in
    makefile: str | None  # -f
    goals: list[str]
    line: int


@dataclass
class _CMake:
    source: str
    build: str


@dataclass
class _Outputs:
    """What the build RUNs make, followed command by command."""

    compiled: dict[str, str] = field(default_factory=dict)  # path -> how
    copied: dict[str, str] = field(default_factory=dict)  # path -> source path
    makes: list[_Make] = field(default_factory=list)
    cmakes: list[_CMake] = field(default_factory=list)  # configured (source, build)
    cmake_builds: list[str] = field(default_factory=list)  # built folders
    configures: list[str] = field(default_factory=list)  # ./configure folders
    installs: list[str] = field(default_factory=list)  # `make install`...: not followed
    shared: list[str] = field(default_factory=list)  # shared libraries made
    flags_text: list[str] = field(default_factory=list)  # compile command lines


def _value(words: Sequence[Word], i: int, line: int, what: str) -> str:
    if i >= len(words) or words[i].value is None:
        raise Blocked(f"line {line}: {what} comes from a variable or is missing")
    value = words[i].value
    assert value is not None
    return value


def _follow(run: RunShell, cwd: str, out: _Outputs) -> None:
    """Follow one build RUN: compile outputs, make/cmake folders, copies, `cd`."""
    line = run.ins.start_line
    for cmd in run.script.commands:
        words = cmd_words(cmd)
        if not words:
            continue
        name = words[0]
        args = cmd.resolved_args
        if name == "cd":
            if len(args) != 1 or args[0].value is None:
                raise Blocked(f"line {line}: `cd` without a plain folder")
            cwd = posixpath.normpath(posixpath.join(cwd, args[0].value))
            continue
        kind = _is_build(cmd)
        if kind == "compile":
            out.flags_text.append(" ".join(words))
            _compile(args, cwd, line, name, out)
        elif kind == "make":
            _make(args, cwd, line, out)
        elif kind == "cmake":
            _cmake(args, cwd, line, out)
        elif kind == "configure":
            out.configures.append(cwd)
        elif kind in ("ninja", "samu"):
            folder = cwd
            for i, w in enumerate(args):
                if w.value == "-C":
                    folder = posixpath.normpath(posixpath.join(cwd, _value(args, i + 1, line,
                                                                           "ninja -C")))
            if "install" in words[1:]:
                out.installs.append(f"`{name} install`")
            out.cmake_builds.append(folder)
        elif kind == "meson":
            if "install" in words[1:]:
                out.installs.append("`meson install`")
            raise Blocked(f"line {line}: meson builds are not followed")
        elif name in ("cp", "install", "mv"):
            _copy(args, cwd, line, name, out)


def _compile(args: Sequence[Word], cwd: str, line: int, name: str, out: _Outputs) -> None:
    values = [w.value for w in args]
    if any(v in ("-c", "-S", "-E") for v in values):
        return  # objects, not a program
    target: str | None = None
    for i, v in enumerate(values):
        if v == "-o":
            target = _value(args, i + 1, line, f"{name} -o")
        elif v is not None and v.startswith("-o") and len(v) > 2:
            target = v[2:]
        elif v is None:
            raise Blocked(f"line {line}: {name} has an argument built from a variable")
    if target is None:
        return
    path = posixpath.normpath(posixpath.join(cwd, target))
    if "-shared" in values or re.search(r"\.so(\.|$)", target):
        out.shared.append(path)
        return
    out.compiled[path] = f"`{name} -o {target}`"


def _make(args: Sequence[Word], cwd: str, line: int, out: _Outputs) -> None:
    folder, makefile, goals = cwd, None, []
    i = 0
    while i < len(args):
        v = args[i].value
        if v is None:
            raise Blocked(f"line {line}: make has an argument built from a variable")
        if v in ("-C", "--directory"):
            folder = posixpath.normpath(posixpath.join(folder, _value(args, i + 1, line,
                                                                      "make -C")))
            i += 1
        elif v.startswith("-C") and len(v) > 2:
            folder = posixpath.normpath(posixpath.join(folder, v[2:]))
        elif v in ("-f", "--file", "--makefile"):
            makefile = _value(args, i + 1, line, "make -f")
            i += 1
        elif v in ("-o", "-W", "-I", "-l") or (v == "-j" and i + 1 < len(args)
                                                and (args[i + 1].value or "").isdigit()):
            i += 1
        elif v.startswith("-") or "=" in v:
            pass
        else:
            goals.append(v)
        i += 1
    if any(g.startswith("install") for g in goals):
        out.installs.append(f"line {line}: `make {' '.join(goals)}`")
    out.makes.append(_Make(folder, makefile, goals, line))


def _cmake(args: Sequence[Word], cwd: str, line: int, out: _Outputs) -> None:
    values = [w.value for w in args]
    if any(v is None for v in values):
        raise Blocked(f"line {line}: cmake has an argument built from a variable")
    vals = [v for v in values if v is not None]
    if "--install" in vals:
        out.installs.append("`cmake --install`")
        return
    if "--build" in vals:
        i = vals.index("--build")
        folder = posixpath.normpath(posixpath.join(cwd, _value(args, i + 1, line,
                                                              "cmake --build")))
        if "install" in vals[i + 2:]:
            out.installs.append("`cmake --build --target install`")
        out.cmake_builds.append(folder)
        return
    source, build = None, None
    i = 0
    while i < len(vals):
        v = vals[i]
        if v in ("-S", "-B", "-G", "-D", "-C", "-T", "-A", "-U"):
            if i + 1 >= len(vals):
                raise Blocked(f"line {line}: cmake {v} has no value")
            if v == "-S":
                source = vals[i + 1]
            elif v == "-B":
                build = vals[i + 1]
            i += 2
            continue
        if v.startswith("-S") and len(v) > 2:
            source = v[2:]
        elif v.startswith("-B") and len(v) > 2:
            build = v[2:]
        elif not v.startswith("-"):
            source = v
        i += 1
    src = posixpath.normpath(posixpath.join(cwd, source or "."))
    dst = posixpath.normpath(posixpath.join(cwd, build)) if build else cwd
    out.cmakes.append(_CMake(src, dst))


def _copy(args: Sequence[Word], cwd: str, line: int, name: str, out: _Outputs) -> None:
    values = [w.value for w in args]
    if any(v is None for v in values):
        return  # not followed; a program copied this way stays uncertain
    vals = [v for v in values if v is not None]
    target_dir: str | None = None
    files: list[str] = []
    i = 0
    while i < len(vals):
        v = vals[i]
        if v in ("-t", "--target-directory"):
            target_dir = vals[i + 1] if i + 1 < len(vals) else None
            i += 2
            continue
        if name == "install" and v in ("-m", "--mode", "-o", "--owner", "-g", "--group"):
            i += 2
            continue
        if name == "install" and v in ("-d", "--directory"):
            return
        if not v.startswith("-"):
            files.append(v)
        i += 1
    if target_dir is None:
        if len(files) < 2:
            return
        *sources, dest = files
        dest_abs = posixpath.normpath(posixpath.join(cwd, dest))
        is_dir = dest.endswith("/") or len(sources) > 1 or dest_abs in _PATH
    else:
        sources, dest_abs, is_dir = files, posixpath.normpath(posixpath.join(cwd, target_dir)), True
    for src in sources:
        src_abs = posixpath.normpath(posixpath.join(cwd, src))
        target = posixpath.join(dest_abs, posixpath.basename(src_abs)) if is_dir else dest_abs
        out.copied[target] = src_abs


# --- reading the build files ----------------------------------------------------------


def context_path(copies: Sequence[tuple[Instruction, str]], path: str, ctx: Context,
                 ) -> str | None:
    """The build-context path the stage's COPY/ADD instructions put at ``path`` (an
    absolute image path), or None. ``copies`` are (instruction, WORKDIR at it)."""
    build = ctx.build
    for ins, here in reversed(copies):
        if len(ins.value) < 2:
            continue
        *sources, dest = ins.value
        dest_abs = posixpath.normpath(posixpath.join(here, dest))
        many = len(sources) > 1 or dest.endswith("/") or dest in (".", "./")
        for src in sources:
            s = posixpath.normpath(src).lstrip("/")
            s = "" if s == "." else s
            candidates = [s]
            if any(c in s for c in "*?[") and build is not None:
                candidates = build.glob(s)
            for c in candidates:
                is_dir = c == "" or src.endswith("/") or (build is not None and c in build.dirs)
                if is_dir:
                    if path == dest_abs or path.startswith(dest_abs.rstrip("/") + "/"):
                        rel = posixpath.relpath(path, dest_abs)
                        return posixpath.normpath(posixpath.join(c, rel)) if c else rel
                    continue
                target = posixpath.join(dest_abs, posixpath.basename(c)) if many else dest_abs
                if target == path:
                    return c
    return None


_MAKE_ASSIGN = lazy(r"(?:export\s+|override\s+)?([A-Za-z_][\w.-]*)\s*"
                          r"(\?=|:::=|::=|:=|\+=|!=|=)\s*(.*)")
_MAKE_RULE = lazy(r"([^\t:=#][^:=]*?)\s*::?(?!=)(.*)")
_MAKE_VAR = lazy(r"\$[({]([A-Za-z_][\w.-]*)[)}]")


@dataclass
class Makefile:
    rules: dict[str, list[str]]  # target -> prerequisites
    default: str | None
    recipes: str  # every recipe line, for -shared / -fopenmp
    includes: bool  # `include` lines: targets may be defined elsewhere


def parse_makefile(text: str) -> Makefile:
    """Targets, prerequisites and the default goal of a plain Makefile (simple
    variables expanded; conditionals read as if every branch applied)."""
    variables: dict[str, str] = {}
    rules: dict[str, list[str]] = {}
    default: str | None = None
    recipes: list[str] = []
    includes = False

    def expand(s: str, depth: int = 0) -> str:
        if depth > 8:
            return s
        new = _MAKE_VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), s)
        new = re.sub(r"\$\((EXEEXT)\)", "", new)
        return new if new == s else expand(new, depth + 1)

    logical = re.sub(r"\\\r?\n", " ", text).splitlines()
    for raw in logical:
        if raw.startswith("\t"):
            recipes.append(raw)
            continue
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        stripped = line.strip()
        if re.match(r"-?s?include\s", stripped):
            includes = True
            continue
        if re.match(r"(ifeq|ifneq|ifdef|ifndef|else|endif|define|endef|vpath|unexport)\b",
                    stripped):
            continue
        m = _MAKE_ASSIGN.fullmatch(stripped)
        if m:
            name, op, value = m.groups()
            if op == "+=":
                variables[name] = (variables.get(name, "") + " " + value).strip()
            elif op == "?=":
                variables.setdefault(name, value)
            elif op != "!=":
                variables[name] = value
            if name == ".DEFAULT_GOAL":
                default = expand(value).strip() or default
            continue
        m = _MAKE_RULE.fullmatch(stripped)
        if m is None:
            continue
        left, right = m.groups()
        right = right.split(";", 1)[0]
        targets = expand(left).split()
        prereqs = [p for p in expand(right.replace("|", " ")).split() if "$" not in p]
        for t in targets:
            if "$" in t or "%" in t:
                continue
            rules.setdefault(t, []).extend(prereqs)
            if default is None and not t.startswith("."):
                default = t
    return Makefile(rules, default, "\n".join(expand(r) for r in recipes), includes)


def make_reaches(mk: Makefile, goals: Sequence[str]) -> set[str]:
    """Every name ``goals`` (or the default goal) builds, prerequisites included."""
    todo = list(goals) or ([mk.default] if mk.default else [])
    seen: set[str] = set()
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        todo.extend(mk.rules.get(t, ()))
    return seen


def _strip_cmake_comments(text: str) -> str:
    return re.sub(r"#[^\n]*", "", text)


# --- the plan -----------------------------------------------------------------------


@dataclass
class _Walk:
    workdir: str | None = None
    keep: list[Instruction] = field(default_factory=list)
    args: list[Instruction] = field(default_factory=list)
    copies: list[tuple[Instruction, str]] = field(default_factory=list)
    runs: list[tuple[RunShell, str]] = field(default_factory=list)  # (run, WORKDIR)
    last_build: int = -1  # index in ``runs``
    packages: AptPackages = field(default_factory=AptPackages)
    users_made: set[str] = field(default_factory=set)


def _own_folder_chown(words: list[str], users: set[str]) -> bool:
    """A non-recursive `chown` to a user the file creates (or a numeric uid): it gives
    a folder to the app user (as DO604 writes after WORKDIR) and makes no file the
    program could need, so it does not block the split."""
    if words[0] != "chown" or len(words) < 3:
        return False
    if any(w == "--recursive" or (w.startswith("-") and not w.startswith("--") and "R" in w)
           for w in words[1:]):
        return False
    owner = next((w for w in words[1:] if not w.startswith("-")), "")
    user = owner.split(":", 1)[0]
    return bool(user) and (user in users or user.isdigit())


def _walk(ctx: Context, final: Stage) -> _Walk:
    runs = {r.ins.start: r for r in shell_runs(ctx, final)}
    walk = _Walk()
    order: list[Instruction] = []
    for ins in final.body:
        kw = ins.keyword
        here = walk.workdir or "/"
        if kw in ("ONBUILD", "SHELL"):
            raise Blocked(f"the stage has {kw}, which a generated runtime cannot reproduce")
        if kw == "ARG":
            walk.args.append(ins)
        if kw in KEEP:
            walk.keep.append(ins)
        if kw == "WORKDIR" and ins.value:
            if "$" in ins.value[0]:
                raise Blocked("WORKDIR comes from a variable")
            walk.workdir = posixpath.normpath(posixpath.join(here, ins.value[0]))
        if kw in ("COPY", "ADD"):
            for src in ins.value[:-1]:
                if posixpath.basename(src.rstrip("/")).startswith(".env"):
                    raise Blocked(f"line {ins.start_line}: {kw} copies {src}, which the "
                                  "program reads at run time")
            if "$" in "".join(ins.value):
                raise Blocked(f"line {ins.start_line}: {kw} paths come from variables")
            walk.copies.append((ins, here))
            order.append(ins)
        if kw == "RUN":
            run = runs.get(ins.start)
            if run is None:
                raise Blocked(f"line {ins.start_line}: a RUN that cannot be read (exec form, "
                              "heredoc or a shell parse error)")
            if any(_is_build(c) for c in run.script.commands):
                walk.last_build = len(walk.runs)
            walk.runs.append((run, here))
            order.append(ins)
    if walk.last_build < 0:
        raise Blocked("the build command was not found in a plain shell-form RUN")
    build_ins = walk.runs[walk.last_build][0].ins
    after = [i for i in order if i.start > build_ins.start
             and not _refreshes_only(runs.get(i.start))]
    if after:
        raise Blocked(f"line {after[0].start_line}: a {after[0].keyword} after the build may "
                      "make something the program needs at run time")
    for run, _ in walk.runs:
        building = any(_is_build(c) for c in run.script.commands)
        for cmd in run.script.commands:
            if read_installs(cmd, run.ins.start_line, walk.packages):
                continue
            words = cmd_words(cmd)
            if not words:
                continue
            if words[0] in ("useradd", "adduser", "groupadd", "addgroup"):
                walk.users_made.update(w for w in words[1:] if w and not w.startswith("-"))
                continue
            if _own_folder_chown(words, walk.users_made):
                continue  # DO604's `chown app:app /src` of the WORKDIR makes nothing
            if building or words[0] in _PREP_COMMANDS:
                continue
            raw = cmd.words[cmd.resolved_index or 0].value or ""
            if raw.endswith(("/autogen.sh", "/bootstrap", "/bootstrap.sh")):
                continue
            raise Blocked(f"line {run.ins.start_line}: `{' '.join(words[:3])}` may make "
                          "something the program needs at run time")
    if walk.packages.manager == "apk":
        raise Blocked("apk on a Debian/Ubuntu image")
    return walk


# Commands a RUN after the build may consist of: they refresh the loader cache (the
# runtime runs ldconfig itself after copying an installed tree) or remove files,
# which the runtime never gets anyway.
_REFRESH_COMMANDS = frozenset({"ldconfig", "rm", "true", "echo"})


def _refreshes_only(run: RunShell | None) -> bool:
    return run is not None and all(
        (cmd_words(c)[:1] or [""])[0] in _REFRESH_COMMANDS for c in run.script.commands)


def native_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    ref = parse_image_ref(final.base)
    assert ref is not None
    distro = ref.repository
    release = release_of(ref, distro)
    walk = _walk(ctx, final)
    out = _Outputs()
    for run, here in walk.runs[:walk.last_build + 1]:
        if any(_is_build(c) for c in run.script.commands):
            _follow(run, here, out)
    workdir = walk.workdir or "/"
    entry, cmd = last(walk.keep, "ENTRYPOINT"), last(walk.keep, "CMD")
    if entry is not None and not entry.is_json and cmd is not None:
        raise Blocked("a shell-form ENTRYPOINT ignores CMD")
    head, argv = image_command(walk.keep, "no CMD or ENTRYPOINT names the program")
    if argv and posixpath.basename(argv[0]) in _INITS:
        # `tini -- ./hello`: the init is an installed package (kept in the runtime by
        # the package rule below); the program is what it starts.
        argv = argv[argv.index("--") + 1:] if "--" in argv else argv[1:]
    program = argv[0] if argv else ""
    if posixpath.basename(program) in ("sh", "bash", "dash", "env"):
        raise Blocked(f"{head.keyword} runs {program}, not the built program")
    installed: Installed | None = None
    try:
        path, how = _program(ctx, walk, out, program, workdir)
    except Blocked:
        if not out.installs:
            raise
        installed, path = _installed(ctx, walk, program, workdir)
        how = installed.how
    if out.shared and installed is None:
        raise Blocked(f"the build also makes shared libraries ({out.shared[0]}) the program "
                      "may load")
    _check_context(ctx)
    extra = [lib for flag, lib in FLAG_LIBS.items()
             if any(flag in t for t in out.flags_text + _build_texts(ctx, walk, out))]
    packages, why = runtime_packages(walk.packages, distro, release, extra)
    for ins in walk.keep:
        if ins.keyword == "USER" and ins.value:
            user = ins.value[0].split(":")[0]
            if not user.isdigit() and (user not in _BASE_USERS or user in walk.users_made):
                raise Blocked(f"USER {user} is created in the builder; the runtime image "
                              "does not have it")
    image = slim_variant(ref) or final.base
    env_lines, keep_lines = settings_lines(tree, walk.keep)
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("native", builder, from_edit)
    plan.protected = [path] if installed is None else list(installed.prefixes)
    if installed is None:
        plan.moved = [f"{path} (the program {head.keyword} runs, made by {how})"]
    else:
        plan.moved = [f"the installed tree {', '.join(installed.prefixes)} ({how}; "
                      f"{head.keyword} runs {path}), then ldconfig for its libraries"]
    if packages:
        plan.moved.append("apt packages " + ", ".join(why) + " (the shared libraries and "
                          "tools the program may use; compilers and headers stay behind)")
    plan.moved.append(f"base {image} (" + ("the slim variant of the same release"
                                           if image != final.base else
                                           "the same image, without the toolchain") + ")")
    kept = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
            if not line.lstrip().startswith("#")]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    lines = keep_lines + env_lines
    args = [block(tree, a) for a in walk.args] if any("$" in x for x in lines) else []
    plan.runtime = render("native", style, {
        "image": image, "builder": builder, "workdir": walk.workdir,
        "env": env_lines, "apt": apt_run(style, packages) if packages else "",
        "outputs": [(path, path)] if installed is None else
                   [(p, p) for p in installed.prefixes],
        "after": [style.keyword("RUN") + " ldconfig"] if installed is not None else [],
        "args": args,
        "keep": keep_lines})
    return plan


def _installed(ctx: Context, walk: _Walk, program: str, workdir: str
               ) -> tuple[Installed, str]:
    """The installed tree (``split.native_install``) and the program CMD runs in it;
    raises with the reason when either is not certain."""
    def read_makefile(folder: str) -> str | None:
        for name in ("GNUmakefile", "makefile", "Makefile"):
            _, text = _read_image_file(ctx, walk, posixpath.join(folder, name))
            if text is not None:
                return text
        return None

    installed = installed_tree(ctx, walk.runs[:walk.last_build + 1], read_makefile)
    path = program_under(installed.prefixes, program, workdir,
                         (env_path(walk.keep) or []) + list(_PATH))
    if path is None:
        raise Blocked(f"CMD runs {program}, which is not under the install prefix "
                      f"{', '.join(installed.prefixes)}")
    return installed, path


def _program(ctx: Context, walk: _Walk, out: _Outputs, program: str,
             workdir: str) -> tuple[str, str]:
    """The absolute path of the program CMD runs and how the build makes it; raises
    when that is not certain."""
    if not program or not PLAIN_WORD.fullmatch(program):
        raise Blocked("the program CMD runs is not a plain path")
    if "/" in program:
        candidates = [posixpath.normpath(posixpath.join(workdir, program))]
    else:
        candidates = [posixpath.join(d, program) for d in _PATH]
    reasons: list[str] = []
    for path in candidates:
        how = _made(ctx, walk, out, path, reasons, 0)
        if how is not None:
            return path, how
    if out.installs:
        raise Blocked(f"{out.installs[0]} installs files under a prefix; which of them "
                      f"{program} needs is not certain")
    detail = f" ({reasons[0]})" if reasons else ""
    raise Blocked(f"CMD runs {program}, which the build is not seen to make{detail}")


def _made(ctx: Context, walk: _Walk, out: _Outputs, path: str, reasons: list[str],
          depth: int) -> str | None:
    if path in out.compiled:
        return out.compiled[path]
    if path in out.copied and depth < 4:
        how = _made(ctx, walk, out, out.copied[path], reasons, depth + 1)
        if how is not None:
            return f"{how}, copied to {posixpath.dirname(path)}"
    for cm in out.cmakes:
        if cm.build in out.cmake_builds or any(m.folder == cm.build for m in out.makes):
            how = _cmake_made(ctx, walk, cm, path, reasons)
            if how is not None:
                return how
    for mk in reversed(out.makes):
        if any(cm.build == mk.folder for cm in out.cmakes):
            continue  # a CMake build folder: read above
        under = path.startswith(mk.folder.rstrip("/") + "/")
        if not under:
            continue
        rel = posixpath.relpath(path, mk.folder)
        if any(c == mk.folder or mk.folder.startswith(c.rstrip("/") + "/")
               for c in out.configures):
            how = _autotools_made(ctx, walk, mk.folder, path, reasons)
            if how is not None:
                return how
            continue
        if rel in mk.goals:
            return f"`make {rel}`"
        how = _make_made(ctx, walk, mk, rel, reasons)
        if how is not None:
            return how
    return None


def _read_image_file(ctx: Context, walk: _Walk, path: str) -> tuple[str | None, str | None]:
    """(context path, text) of the file the stage copied to ``path``."""
    rel = context_path(walk.copies, path, ctx)
    if rel is None:
        return None, None
    return rel, ctx.read_context_file(rel)


def _make_made(ctx: Context, walk: _Walk, mk: _Make, rel: str,
               reasons: list[str]) -> str | None:
    names = [mk.makefile] if mk.makefile else ["GNUmakefile", "makefile", "Makefile"]
    for name in names:
        where, text = _read_image_file(ctx, walk, posixpath.join(mk.folder, name))
        if ctx.build is None:
            if where is not None:
                return "`make` (the Makefile could not be checked: no build context)"
            continue
        if text is None:
            continue
        parsed = parse_makefile(text)
        reached = make_reaches(parsed, [g for g in mk.goals if not g.startswith("install")])
        if any(re.search(r"\.so(\.|$)", t) for t in reached) or "-shared" in parsed.recipes:
            raise Blocked(f"{where} also builds a shared library the program may load")
        if rel in reached:
            return f"`make` ({where} names {rel})"
        reasons.append(f"{where} does not name {rel} as a target"
                       + (" (it includes other makefiles)" if parsed.includes else ""))
        return None
    if ctx.build is not None:
        reasons.append(f"no Makefile copied into {mk.folder}")
    return None


def _cmake_made(ctx: Context, walk: _Walk, cm: _CMake, path: str,
                reasons: list[str]) -> str | None:
    if posixpath.dirname(path) != cm.build:
        return None
    name = posixpath.basename(path)
    where, text = _read_image_file(ctx, walk, posixpath.join(cm.source, "CMakeLists.txt"))
    if ctx.build is None:
        return "CMake (CMakeLists.txt could not be checked: no build context)" \
            if where is not None or cm.source else None
    if text is None:
        reasons.append(f"no CMakeLists.txt copied into {cm.source}")
        return None
    body = _strip_cmake_comments(text)
    if re.search(r"RUNTIME_OUTPUT_DIRECTORY|OUTPUT_NAME", body):
        raise Blocked(f"{where} moves or renames its outputs")
    if re.search(r"add_library\s*\([^)]*\bSHARED\b|BUILD_SHARED_LIBS\s+ON", body, re.I):
        raise Blocked(f"{where} builds a shared library the program may load")
    project = re.search(r"project\s*\(\s*([\w.+-]+)", body, re.I)
    targets = set()
    for m in re.finditer(r"add_executable\s*\(\s*([^\s)]+)([^)]*)\)", body, re.I):
        if re.search(r"\b(IMPORTED|ALIAS)\b", m.group(2)):
            continue
        target = m.group(1)
        if project is not None:
            target = target.replace("${PROJECT_NAME}", project.group(1))
        targets.add(target)
    if name in targets:
        return f"CMake ({where} has add_executable({name}))"
    reasons.append(f"{where} has no add_executable({name}) at its top level")
    return None


def _autotools_made(ctx: Context, walk: _Walk, folder: str, path: str,
                    reasons: list[str]) -> str | None:
    name = posixpath.basename(path)
    here = posixpath.dirname(path)
    where, text = _read_image_file(ctx, walk, posixpath.join(here, "Makefile.am"))
    if ctx.build is None:
        return "./configure && make (Makefile.am could not be checked: no build context)"
    if text is None:
        where, text = _read_image_file(ctx, walk, posixpath.join(here, "Makefile.in"))
        if text is None:
            reasons.append(f"no Makefile.am or Makefile.in copied into {here}")
            return None
        parsed = parse_makefile(text)
        if name in parsed.rules:
            return f"./configure && make ({where} names {name})"
        reasons.append(f"{where} does not name {name}")
        return None
    if re.search(r"_LTLIBRARIES\s*\+?=", text):
        raise Blocked(f"{where} builds libtool libraries; {name} may be a wrapper script")
    for m in re.finditer(r"^\s*((?:bin|sbin|noinst|libexec)_PROGRAMS)\s*\+?=\s*(.*)$",
                         re.sub(r"\\\n", " ", text), re.M):
        if name in m.group(2).split():
            return f"./configure && make ({where} lists {name} in {m.group(1)})"
    reasons.append(f"{where} does not list {name} in bin_PROGRAMS")
    return None


def _build_texts(ctx: Context, walk: _Walk, out: _Outputs) -> list[str]:
    """Makefile and CMakeLists.txt texts of the build, for compiler flags that need a
    runtime library (-fopenmp)."""
    texts: list[str] = []
    for mk in out.makes:
        for name in ([mk.makefile] if mk.makefile else ["Makefile", "makefile"]):
            _, text = _read_image_file(ctx, walk, posixpath.join(mk.folder, name))
            if text is not None:
                texts.append(text)
    for cm in out.cmakes:
        _, text = _read_image_file(ctx, walk, posixpath.join(cm.source, "CMakeLists.txt"))
        if text is not None:
            texts.append(text)
    return texts


def _check_context(ctx: Context) -> None:
    build = ctx.build
    if build is None:
        return
    for rel in sorted(build.files):
        top = rel.split("/", 1)[0]
        if "/" in rel and top in ASSET_DIRS:
            raise Blocked(f"the context has {top}/, files the program may read at run time")

