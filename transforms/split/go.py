"""DO101 for Go: a static CGO_ENABLED=0 build, the binary alone on distroless."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import BUILD_PACKAGES
from dockopt.transforms.images import ImageRef
from dockopt.transforms.shellfix import RunShell
from dockopt.transforms.split.common import (
    ASSET_DIRS,
    GO_WORKDIR,
    PLAIN_WORD,
    Blocked,
    Plan,
    adapt_newlines_lf,
    arg_lines,
    block,
    builder_name,
    cmd_words,
    command_argv,
    last,
    render,
    walk_stage,
)

GO_RUNTIME = "gcr.io/distroless/static-debian12:nonroot"
# The golang image's WORKDIR and PATH (docker-library/golang).
# The golang image's PATH (docker-library/golang).
_GO_PATH = ("/go/bin", "/usr/local/go/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
            "/usr/bin", "/sbin", "/bin")
# distroless's PATH: a binary built into one of these keeps its path (commands that name
# it, such as `docker run image app`, keep working).
_RUNTIME_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# `go build` flags that take a value (as `-flag value` or `-flag=value`).
_GO_VALUE_FLAGS = frozenset({
    "-o", "-ldflags", "-gcflags", "-asmflags", "-tags", "-mod", "-p", "-pkgdir", "-buildmode",
    "-installsuffix", "-modfile", "-overlay", "-pgo", "-toolexec", "-compiler", "-gccgoflags",
    "-C", "-coverpkg", "-covermode", "-buildvcs", "-modcacherw", "-debug-actiongraph",
})
# Modules that need cgo (a static CGO_ENABLED=0 build would fail or lose features).
_CGO_MODULES = lazy(
    r"github\.com/(mattn/go-sqlite3|confluentinc/confluent-kafka-go|go-gl/|gotk3/|"
    r"ebitengine/|hajimehoshi/ebiten|google/gopacket|tecbot/gorocksdb|linxGnu/grocksdb|"
    r"DataDog/zstd|go-vgo/robotgo|h2non/bimg|davidbyttow/govips|gen2brain/)")
# Go code that reads files at run time: the files would have to move too.
_GO_FILE_ACCESS = lazy(
    r"os\.(Open|ReadFile|ReadDir|DirFS|Stat)\(|ioutil\.(ReadFile|ReadDir)\(|"
    r"template\.(ParseFiles|ParseGlob|Must\(template\.ParseFiles)|http\.Dir\(|"
    r"\.LoadHTML(Glob|Files)\(|godotenv\.|viper\.")
# Packages a build stage may install that a static Go binary does not need at run time
# (distroless/static ships CA certificates and tzdata itself).
_GO_BUILD_ONLY_PACKAGES = BUILD_PACKAGES | frozenset({
    "git", "ca-certificates", "tzdata", "curl", "wget", "bash", "openssh-client", "upx",
    "musl-dev", "libc-dev", "libc6-dev", "gnupg", "unzip", "xz-utils",
})
# Context folders whose files an app usually reads at run time.


def _go_builds(run: RunShell) -> list[SimpleCommand]:
    """`go build`, and `go install` of the context's own packages (relative paths, or
    none): `go install tool@version` or an import path installs something else."""
    return [c for c in run.script.commands if cmd_words(c)[:2] == ["go", "build"]
            or (cmd_words(c)[:2] == ["go", "install"] and _local_install(c))]


def _local_install(cmd: SimpleCommand) -> bool:
    args = [w for w in cmd_words(cmd)[2:] if not w.startswith("-")]
    return all(a == "." or a.startswith("./") for a in args)


def _install_dir(keep: list[Instruction], build: RunShell, cmd: SimpleCommand) -> str:
    """Where `go install` puts the binary: $GOBIN, else $GOPATH/bin (the golang image
    sets GOPATH=/go). Raises when that cannot be known: a GOPATH list, a variable, a
    cross-compile (GOOS/GOARCH: a GOOS_GOARCH subfolder)."""
    env = _env_before(keep, build)
    for assignment in cmd.env:
        name, _, value = assignment.text.partition("=")
        env[name] = value.strip("'\"")
    for name in ("GOOS", "GOARCH"):
        if name in env:
            raise Blocked(f"go install with {name} set puts the binary in a "
                          "GOOS_GOARCH folder (use go build -o)")
    folder = env.get("GOBIN") or posixpath.join(env.get("GOPATH", GO_WORKDIR), "bin")
    if "$" in folder or ":" in folder or not folder.startswith("/"):
        raise Blocked(f"go install puts the binary in {folder}, which is not a plain path")
    return posixpath.normpath(folder)


def go_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """``FROM golang`` with a `go build` (``_builds`` saw it)."""
    return ref.repository == "golang" and any(w.startswith("Go:") for w in what)


def go_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    walk = walk_stage(ctx, final, lambda r: bool(_go_builds(r)), GO_WORKDIR)
    cmds = _go_builds(walk.build)
    if len(cmds) != 1:
        raise Blocked("the RUN has more than one go build")
    install = cmd_words(cmds[0])[1] == "install"
    if any(cmd_words(c)[:1] == ["go"] and cmd_words(c)[1:2] == ["install"]
           for r in walk.runs_before for c in r.script.commands):
        raise Blocked("go install puts binaries in GOPATH/bin, which is not followed")
    for r in walk.runs_before:
        _check_go_run(r)
    workdir = walk.workdir or GO_WORKDIR
    out, pkgs, race = _parse_go_build(cmds[0])
    if race:
        raise Blocked("-race needs cgo")
    if install:
        if out is not None:
            raise Blocked("go install has no -o")
        if len(pkgs) > 1 or any("..." in p for p in pkgs):
            raise Blocked("go install of several packages makes several binaries; which "
                          "one the image runs is not certain")
        out = _install_dir(walk.keep, walk.build, cmds[0]) + "/"
    if any(c.resolved_name == "cd" for c in walk.build.script.commands) and \
            (out is None or not out.startswith("/") or install):
        raise Blocked("the RUN changes directory, so the output path is not certain")
    cgo = _cgo_env(walk.keep, walk.build)
    if cgo == "1":
        raise Blocked("CGO_ENABLED=1: the binary links C libraries, distroless/static "
                      "has none")
    go_mod, std = _check_go_context(ctx)
    name = _go_default_name(pkgs, go_mod)
    if out is None:
        if name is None:
            raise Blocked("go build has no -o and the binary name cannot be worked out "
                          "(no go.mod in the build context)")
        binary = posixpath.join(workdir, name)
    else:
        if out.endswith("/") or out in (".", ".."):
            if name is None:
                raise Blocked("-o names a folder and the binary name cannot be worked out")
            out = posixpath.join(out, name)
        binary = posixpath.normpath(posixpath.join(workdir, out))
        name = posixpath.basename(binary)
    if not PLAIN_WORD.fullmatch(binary):
        raise Blocked(f"the binary path {binary} is not a plain path")
    dest = binary if posixpath.dirname(binary) in _RUNTIME_PATH else f"/app/{name}"

    def is_binary(prog: str) -> bool:
        if prog.startswith("/"):
            return posixpath.normpath(prog) == binary
        if "/" in prog:
            return posixpath.normpath(posixpath.join(walk.workdir or GO_WORKDIR,
                                                     prog)) == binary
        return prog == name and posixpath.dirname(binary) in _GO_PATH

    entry, cmd = last(walk.keep, "ENTRYPOINT"), last(walk.keep, "CMD")
    keep_lines: list[str] = []
    env_lines: list[str] = []
    moved = [f"the binary {binary} (built with CGO_ENABLED=0, so it is static) "
             f"as {dest}"]
    head = entry if entry is not None else cmd
    if head is None:
        raise Blocked("no CMD or ENTRYPOINT runs the binary")
    if entry is not None and not entry.is_json and cmd is not None:
        raise Blocked("a shell-form ENTRYPOINT ignores CMD; exec form would not")
    argv = command_argv(head)
    if not argv or not is_binary(argv[0]):
        raise Blocked(f"line {head.start_line}: {head.keyword} does not run the built binary "
                      f"{binary}")
    for ins in walk.keep:
        kw = ins.keyword
        if ins is head:
            new = [dest, *argv[1:]]
            line = f"{style.keyword(kw)} {json.dumps(new)}"
            comments = "".join(c.text for c in tree.owned_comments(ins))
            keep_lines.append(adapt_newlines_lf(comments) + line)
            continue
        if kw == "CMD" and entry is not None:
            if not ins.is_json:
                raise Blocked("a shell-form CMD passed to an ENTRYPOINT needs a shell")
            keep_lines.append(block(tree, ins))
            continue
        if kw in ("CMD", "ENTRYPOINT"):
            continue  # overridden by a later one of the same kind
        if kw == "ENV":
            keys = [ins.value[i] for i in range(0, len(ins.value), 2)]
            if all(k.startswith(("GO", "CGO_")) for k in keys):
                continue
            if any(k.startswith(("GO", "CGO_")) for k in keys):
                raise Blocked(f"line {ins.start_line}: ENV mixes Go toolchain and app "
                              "variables")
            env_lines.append(block(tree, ins))
            continue
        if kw == "USER":
            user = ins.value[0] if ins.value else ""
            if not (user.split(":")[0].isdigit() or user.split(":")[0] in
                    ("nonroot", "root", "nobody")):
                raise Blocked(f"USER {user} is a user created in this image; distroless has "
                              "only root and nonroot")
        if kw == "HEALTHCHECK":
            _go_healthcheck(ins, is_binary)
        keep_lines.append(block(tree, ins))
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("go", builder, from_edit)
    plan.protected = [binary]
    if cgo is None:
        build_run = walk.build.ins
        above = tree.owned_comments(build_run)
        at = above[0].start if above else build_run.start
        plan.inserts[at] = style.instruction("ENV", "CGO_ENABLED=0")
    first_copy = next((i for i in final.body if i.keyword in ("COPY", "ADD")
                       and i.start < walk.build.ins.start), None)
    warm = _warm_up(cmds[0], std) if first_copy is not None else None
    if warm is not None and first_copy is not None:
        above = tree.owned_comments(first_copy)
        at = above[0].start if above else first_copy.start
        plan.inserts[at] = plan.inserts.get(at, "") + style.instruction("RUN", warm)
        plan.notes.append(f"The builder first compiles the standard packages the app "
                          f"imports in their own cached layer (`{warm}`), so a source change "
                          "recompiles only the app.")
    kept = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
            if not line.lstrip().startswith("#")]
    if kept:
        moved.append("the image settings " + ", ".join(dict.fromkeys(kept))
                     + " (CMD/ENTRYPOINT in exec form: distroless has no shell)")
    moved.append(f"base {GO_RUNTIME} (CA certificates and tzdata, no shell, runs as uid "
                 "65532)")
    plan.moved = moved
    plan.runtime = render("go", style, {
        "image": GO_RUNTIME, "builder": builder, "binary_src": binary, "binary_dest": dest,
        "workdir": walk.workdir, "env": env_lines,
        "args": arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
    return plan


def _check_go_run(run: RunShell) -> None:
    for cmd in run.script.commands:
        words = cmd_words(cmd)
        if words[:1] in (["apt-get"], ["apt"], ["apk"]) and ("install" in words or
                                                              "add" in words):
            pkgs = [w for w in words[2:] if not w.startswith("-") and w not in
                    ("install", "add")]
            extra = [p for p in pkgs if p.split("=")[0] not in _GO_BUILD_ONLY_PACKAGES
                     and not p.endswith("-dev")]
            if extra:
                raise Blocked(f"line {run.ins.start_line}: it installs {', '.join(extra[:3])}, "
                              "which the app may need at run time")


def _parse_go_build(cmd: SimpleCommand) -> tuple[str | None, list[str], bool]:
    words = cmd.resolved_args[1:]
    out: str | None = None
    pkgs: list[str] = []
    race = False
    i = 0
    while i < len(words):
        w = words[i].value
        if w is None:
            raise Blocked("go build has an argument built from a variable")
        if w.startswith("-") and len(w) > 1:
            flag, eq, value = w.partition("=")
            flag = "-" + flag.lstrip("-")
            if flag == "-race":
                race = True
            if flag == "-C":
                raise Blocked("go build -C changes directory")
            if flag in _GO_VALUE_FLAGS and not eq:
                i += 1
                if i >= len(words):
                    raise Blocked(f"go build {flag} has no value")
                value = words[i].value or ""
                if words[i].value is None and flag == "-o":
                    raise Blocked("the -o path comes from a variable")
            if flag == "-o":
                out = value
            if flag == "-buildmode" and value not in ("default", "exe", "pie"):
                raise Blocked(f"-buildmode={value} does not make a plain executable")
        else:
            pkgs.append(w)
        i += 1
    return out, pkgs, race


def _env_before(keep: list[Instruction], build: RunShell) -> dict[str, str]:
    """The variables the stage's ENV instructions set before the build RUN."""
    env: dict[str, str] = {}
    for ins in keep:
        if ins.keyword == "ENV" and ins.start < build.ins.start:
            v = ins.value
            for i in range(0, len(v) - 1, 2):
                env[v[i]] = v[i + 1]
    return env


def _cgo_env(keep: list[Instruction], build: RunShell) -> str | None:
    value = _env_before(keep, build).get("CGO_ENABLED")
    m = re.search(r"\bCGO_ENABLED=(\S+)", build.src.text)
    if m:
        value = m.group(1).strip("'\"")
    return value


def _check_go_context(ctx: Context) -> tuple[str | None, list[str]]:
    """go.mod's text and the standard-library packages the app imports; raises when
    the context shows cgo or files read at run time."""
    build = ctx.build
    if build is None:
        return None, []
    std: set[str] = set()
    go_mod: str | None = ctx.read_context_file("go.mod")
    found = _CGO_MODULES.search(go_mod) if go_mod is not None else None
    if found is not None:
        raise Blocked(f"go.mod requires a cgo module ({found.group(1).rstrip('/')})")
    files = sorted(build.files)
    for rel in files:
        top = rel.split("/", 1)[0]
        if "/" in rel and top in ASSET_DIRS:
            raise Blocked(f"the context has {top}/, files the app may read at run time")
    for rel in [f for f in files if f.endswith(".go")][:500]:
        if rel.startswith(("vendor/", "testdata/")) or rel.endswith("_test.go"):
            continue
        src = build.read_text(rel) or ""
        if re.search(r'^\s*import\s+"C"|^\s*"C"\s*$', src, re.M):
            raise Blocked(f"{rel} uses cgo (import \"C\")")
        m = _GO_FILE_ACCESS.search(src)
        if m:
            raise Blocked(f"{rel} reads files at run time ({m.group(0).rstrip('(')}), which "
                          "would have to move too")
        std.update(p for p in _imports(src) if "." not in p.split("/", 1)[0]
                   and not p.startswith("internal/"))
    return go_mod, sorted(std)


_IMPORT_ONE = lazy(r'^\s*import\s+(?:[\w.]+\s+)?"([^"\n]+)"', re.M)
_IMPORT_BLOCK = lazy(r"^\s*import\s*\((.*?)\)", re.M | re.S)
_IMPORT_LINE = lazy(r'^\s*(?:[\w.]+\s+)?"([^"\n]+)"', re.M)


def _imports(src: str) -> list[str]:
    found = _IMPORT_ONE.findall(src)
    for block_text in _IMPORT_BLOCK.findall(src):
        found += _IMPORT_LINE.findall(block_text)
    return [p for p in found if p != "C" and re.fullmatch(r"[A-Za-z0-9_./-]+", p)]


# `go build` flags that change how packages compile (and so the build cache's keys).
_COMPILE_FLAGS = frozenset({"-trimpath", "-tags", "-gcflags", "-asmflags"})


def _warm_up(cmd: SimpleCommand, std: list[str]) -> str | None:
    """`go build` of the standard packages the app imports, with the build's own
    compile flags and GO* variables: run before the source is copied, it fills the
    build cache in its own layer, so a source change recompiles only the app (with
    CGO_ENABLED=0 the prebuilt standard library does not apply)."""
    if not std:
        return None
    env = []
    for assignment in cmd.env:
        if re.fullmatch(r"(GO[A-Z0-9]*|CGO_ENABLED)=[A-Za-z0-9_.,=-]*", assignment.text):
            env.append(assignment.text)
        else:
            return None
    # The build runs with CGO_ENABLED=0 (set by the user or by this split); the ENV
    # that says so may come after the copy, so the warm-up names it itself.
    if not any(e.startswith("CGO_ENABLED=") for e in env):
        env.insert(0, "CGO_ENABLED=0")
    flags: list[str] = []
    words = [w.value for w in cmd.resolved_args[1:]]
    i = 0
    while i < len(words):
        w = words[i]
        if w is None:
            return None
        flag, eq, _ = w.partition("=")
        flag = "-" + flag.lstrip("-") if w.startswith("-") else ""
        takes_value = flag in _GO_VALUE_FLAGS and not eq
        if flag in _COMPILE_FLAGS:
            flags.append(w)
            if takes_value and i + 1 < len(words):
                value = words[i + 1]
                if value is None or not PLAIN_WORD.fullmatch(value):
                    return None
                flags.append(value)
        if takes_value:
            i += 1
        i += 1
    if any(not PLAIN_WORD.fullmatch(f) for f in flags):
        return None
    return " ".join([*env, "go", "build", *flags, *std])


def _go_default_name(pkgs: list[str], go_mod: str | None) -> str | None:
    if len(pkgs) == 1 and pkgs[0].endswith(".go"):
        return posixpath.basename(pkgs[0])[:-3]
    if len(pkgs) > 1:
        if all(p.endswith(".go") for p in pkgs):
            return posixpath.basename(pkgs[0])[:-3]
        return None
    pkg = pkgs[0] if pkgs else "."
    pkg = posixpath.normpath(pkg)
    if pkg not in (".",) and not pkg.startswith(("..", "/")) and "..." not in pkg:
        return posixpath.basename(pkg)
    if go_mod is None:
        return None
    m = re.search(r"^\s*module\s+\"?([^\s\"]+)", go_mod, re.M)
    if m is None:
        return None
    parts = m.group(1).split("/")
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        parts = parts[:-1]
    return parts[-1]


def _go_healthcheck(ins: Instruction, is_binary: Any) -> None:
    v = ins.value
    if v and v[0].upper() == "NONE":
        return
    args = ins.args.text.strip()
    rest = re.sub(r"^(--\S+\s+)*", "", args)
    if not rest.upper().startswith("CMD") or "[" not in rest:
        raise Blocked("HEALTHCHECK is in shell form, and distroless has no shell")
    try:
        argv = json.loads(rest[3:].strip())
    except ValueError as exc:
        raise Blocked("HEALTHCHECK cannot be read") from exc
    if not argv or not is_binary(str(argv[0])):
        raise Blocked("HEALTHCHECK runs a program distroless does not have")
    raise Blocked("HEALTHCHECK runs the binary by its builder path")

