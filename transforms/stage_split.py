"""DO101 single-stage-build: the final image carries the toolchain that built the app."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockopt.rewriter.edit import Style
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Dockerfile, Instruction, Stage, parse
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.base_image import BUILD_PACKAGES, FULL_ONLY_TOOLS, NATIVE_NPM
from dockopt.transforms.images import facts_for, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs, windows_file

GO_RUNTIME = "gcr.io/distroless/static-debian12:nonroot"
# The golang image's WORKDIR and PATH (docker-library/golang).
_GO_WORKDIR = "/go"
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
_CGO_MODULES = re.compile(
    r"github\.com/(mattn/go-sqlite3|confluentinc/confluent-kafka-go|go-gl/|gotk3/|"
    r"ebitengine/|hajimehoshi/ebiten|google/gopacket|tecbot/gorocksdb|linxGnu/grocksdb|"
    r"DataDog/zstd|go-vgo/robotgo|h2non/bimg|davidbyttow/govips|gen2brain/)")
# Go code that reads files at run time: the files would have to move too.
_GO_FILE_ACCESS = re.compile(
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
_ASSET_DIRS = frozenset({"templates", "static", "public", "assets", "views", "web", "www",
                         "migrations", "config", "locales", "i18n", "prisma"})
_KEEP = ("ENV", "EXPOSE", "LABEL", "USER", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "CMD",
         "ENTRYPOINT")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:=@,+%-]+")
# Build steps of other ecosystems: reported, not rewritten.
_OTHER_BUILDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("cargo", ("build", "install"), "Rust: cargo build (copy target/release/<bin> to "
     "debian:bookworm-slim or distroless/cc)"),
    ("mvn", ("package", "install", "verify"), "Java: mvn package (copy target/*.jar to a "
     "JRE image such as eclipse-temurin:<v>-jre)"),
    ("mvnw", ("package", "install", "verify"), "Java: mvnw package (copy target/*.jar to a "
     "JRE image)"),
    ("gradle", ("build", "assemble", "bootJar", "installDist", "shadowJar"), "Java: gradle "
     "build (copy build/libs/*.jar to a JRE image)"),
    ("gradlew", ("build", "assemble", "bootJar", "installDist", "shadowJar"), "Java: gradlew "
     "build (copy build/libs/*.jar to a JRE image)"),
    ("dotnet", ("publish", "build"), ".NET: dotnet publish (copy the publish folder to "
     "mcr.microsoft.com/dotnet/aspnet or runtime)"),
    ("pip", ("wheel",), "Python: pip wheel (install the wheels in python:<v>-slim)"),
    ("pip3", ("wheel",), "Python: pip wheel (install the wheels in python:<v>-slim)"),
    ("go", ("build", "install"), "Go: go build (copy the binary to distroless/static)"),
    ("tsc", ("",), "TypeScript: tsc (copy the output and production node_modules to "
     "node:<v>-slim)"),
    ("make", ("", "all", "build", "install", "release"), "make (copy the named outputs to a "
     "slim runtime image)"),
)


class Blocked(Exception):
    """The split cannot be made with confidence; the message says why."""


@dataclass
class _Plan:
    family: str  # "go" | "node"
    builder: str  # the builder stage's name
    from_edit: Edit | None  # names the builder stage (None: it already has a name)
    inserts: dict[int, str] = field(default_factory=dict)
    runtime: str = ""  # the rendered runtime stage (file newline, keyword case)
    moved: list[str] = field(default_factory=list)  # what the runtime gets, and why
    notes: list[str] = field(default_factory=list)


class SingleStageBuild(Transform):
    """The final stage builds the app, so the image ships the whole toolchain.

    What it does:
        Finds a single-stage Dockerfile (or a final stage with no `COPY --from`)
        that builds something, and splits it into a builder stage and a small
        runtime stage appended after it. The existing stage is kept as it is and
        becomes the builder (`AS build`, or its own name); the runtime stage gets
        only the artifacts:

        - **Go** (`FROM golang:X` with `go build`): `ENV CGO_ENABLED=0` goes right
          before the build so the binary is static; the runtime is
          `gcr.io/distroless/static-debian12:nonroot` with `COPY --from=build` of the
          binary (to the same path when it was built into a `PATH` folder such as
          `/usr/local/bin`, else to `/app/<name>`), and CMD/ENTRYPOINT rewritten to
          exec form naming that path with the same arguments. The binary is the
          `-o` path (made absolute with WORKDIR; the golang image's WORKDIR is
          `/go`), or, without `-o`, the package folder's name or the last element
          of the module path in `go.mod`.
        - **node** with a build step (`FROM node:X`, `npm ci`/`npm install`, then
          `npm run build` with a `build` script in `package.json`): the builder
          runs `npm prune --omit=dev` after the build; the runtime is `node:X-slim`
          (the same image when there is no slim variant) with the same WORKDIR,
          `package.json`, the production `node_modules` and the build output
          folder that CMD runs (`node dist/server.js`, or `npm start` whose script
          does).

        The runtime stage keeps ENV (the Go toolchain's `GO*`/`CGO_*` variables
        excepted), EXPOSE, LABEL, USER, HEALTHCHECK, STOPSIGNAL, VOLUME, CMD and
        ENTRYPOINT with the comments above them, and re-declares the stage's ARGs
        when one of those uses a variable. The runtime stage is rendered from
        `templates/stages/*.j2` and parsed before it is spliced in. A non-root USER
        for the node runtime is left to DO604 (root-user), which runs later;
        distroless `:nonroot` already runs as uid 65532.

        Only a suggestion (display-only, with the reason) when the artifacts are
        not certain: no build context (the app's files cannot be checked), cgo
        (`CGO_ENABLED=1`, `import "C"`, cgo modules in `go.mod`), `-race`, a RUN,
        COPY or ADD after the build, packages installed that the runtime may
        need, Go code that reads files at run time, asset folders (`templates`,
        `static`, `public`...), a CMD that is not the built program, a Go
        HEALTHCHECK other than `NONE` (distroless has no shell or curl; the check
        would need rewriting), a node HEALTHCHECK using a tool -slim lacks (curl,
        wget...), a USER that distroless lacks, yarn/pnpm, native npm modules,
        and every other ecosystem (cargo, maven, gradle, dotnet, pip wheel, make,
        compilers installed).

        Left alone: already multi-stage finals (`COPY --from`), FROM built from an
        ARG, Windows images, files with parse errors. Stages are only appended, so
        numeric `COPY --from=N` references keep pointing at the same stages.

    Why:
        Compilers, SDKs, dev dependencies and sources are needed to build, not to
        run. A static Go binary on distroless is a few MB instead of ~800 MB for
        golang; a node app on -slim with production dependencies only is a fraction
        of node:X with devDependencies.

    Example:
        ```dockerfile
        FROM golang:1.22
        WORKDIR /src
        COPY . .
        RUN go build -o /usr/local/bin/app .
        CMD ["app"]
        ```
        becomes
        ```dockerfile
        FROM golang:1.22 AS build
        WORKDIR /src
        COPY . .
        ENV CGO_ENABLED=0
        RUN go build -o /usr/local/bin/app .
        CMD ["app"]

        FROM gcr.io/distroless/static-debian12:nonroot
        WORKDIR /src
        COPY --from=build /usr/local/bin/app /usr/local/bin/app
        CMD ["/usr/local/bin/app"]
        ```

    Fix safety:
        Unsafe: the runtime image no longer has a shell (Go), the toolchain,
        dev dependencies or the sources; anything the app reads at run time that
        is not in the copied artifacts is gone. Applied only with `--unsafe-fixes`.

    References:
        https://docs.docker.com/build/building/multi-stage/;
        https://github.com/GoogleContainerTools/distroless;
        https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md
    """

    code = "DO101"
    name = "single-stage-build"
    fix_title = "Split into a builder and a runtime stage"
    default_safety = Safety.UNSAFE
    semantic_scope = "stages"

    def check(self, ctx: Context) -> Iterator[Finding]:
        tree = ctx.tree
        stages = tree.stages
        if not stages or tree.has_errors or windows_file(ctx):
            return
        final = stages[-1]
        if any(i.passthrough for i in final.instructions):
            return
        if _copies_from(final) or final.base.lower() in {s.name for s in stages[:-1] if s.name}:
            return  # already multi-stage: the final stage is a runtime
        ref = parse_image_ref(final.base)
        if ref is None:
            return  # ARG-based or unparsable FROM: the image is unknown
        facts = facts_for(ref)
        if facts is not None and facts.family == "windows":
            return
        frm = final.from_instruction
        family = ref.repository if ref.repository in ("golang", "node") else None
        what = _builds(ctx, final)
        if family == "golang" and any(w.startswith("Go:") for w in what):
            yield self._split(ctx, final, "go", frm)
        elif family == "node" and _has_npm_build(ctx, final):
            yield self._split(ctx, final, "node", frm)
        elif what:
            yield self.finding(ctx, frm, "The final stage builds the app "
                               f"({'; '.join(what)}) and ships the toolchain: move the build "
                               "to a builder stage and copy only the artifacts into a slim "
                               "runtime stage. Suggestion only: dockopt automates the split "
                               "for Go and for node with a build script.")

    def _split(self, ctx: Context, final: Stage, family: str, frm: Instruction) -> Finding:
        try:
            plan = _go_plan(ctx, final) if family == "go" else _node_plan(ctx, final)
        except Blocked as exc:
            return self.finding(ctx, frm, "The final stage builds the app and ships the "
                                f"{family} toolchain; a builder/runtime split was not made: "
                                f"{exc}. Suggestion only.")
        edits = [] if plan.from_edit is None else [plan.from_edit]
        inserts = dict(plan.inserts)
        end = len(ctx.text)
        sep, runtime = ctx.style.newline, plan.runtime
        if not ctx.text.endswith("\n"):
            # Keep a missing final newline missing, at the new end of the file.
            sep, runtime = ctx.style.newline * 2, runtime.rstrip("\r\n")
        inserts[end] = inserts.get(end, "") + sep + runtime
        edits += [Edit(at, at, text) for at, text in sorted(inserts.items())]
        # One edit over the whole final stage: the other transforms' fixes in it wait
        # for the next pass and then see the split (e.g. DO604 on the new runtime).
        start = frm.start
        edits = [Edit(start, end, apply_edits(ctx.text, edits)[start:end + _growth(edits)])]
        message = (f"Split into a builder stage ({plan.builder}) and a runtime stage; the "
                   "runtime gets: " + "; ".join(plan.moved) + ".")
        if plan.notes:
            message += " " + " ".join(plan.notes)
        safety = Safety.UNSAFE
        if ctx.build is None:
            safety = Safety.DISPLAY_ONLY
            message += (" Shown only: without the build context the files the app needs "
                        "at run time cannot be checked.")
        else:
            message += (" Unsafe: the runtime has no toolchain, sources or dev "
                        "dependencies; anything else the app reads at run time is gone.")
        fix = Fix(tuple(edits), safety, message)
        return self.finding(ctx, frm, "The final stage builds the app and ships the "
                            f"{family} toolchain: split it into a builder and a runtime "
                            "stage", fix=fix)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with the (non-overlapping) ``edits`` applied."""
    out: list[str] = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out += [text[pos:e.start], e.content]
        pos = e.end
    return "".join(out) + text[pos:]


def _growth(edits: Sequence[Edit]) -> int:
    return sum(len(e.content) - (e.end - e.start) for e in edits)


# --- detection ----------------------------------------------------------------------


def _copies_from(stage: Stage) -> bool:
    return any(f.startswith("--from") for i in stage.body if i.keyword in ("COPY", "ADD")
               for f in i.flags)


def _cmd_words(cmd: SimpleCommand) -> list[str]:
    """The resolved program's name and its arguments (None words as '')."""
    if cmd.resolved_index is None:
        return []
    return [cmd.resolved_name or ""] + [w.value or "" for w in cmd.resolved_args]


def _builds(ctx: Context, stage: Stage) -> list[str]:
    """What the stage builds (one description per kind), in file order."""
    out: list[str] = []
    for run in shell_runs(ctx, stage):
        # A RUN that removes its build packages again (`apk del .build-deps`, `apt-get
        # purge`) already keeps the toolchain out of the image: not a split candidate.
        cleans = any(w[:2] in (["apk", "del"], ["apt-get", "purge"], ["apt-get", "remove"],
                               ["apt-get", "autoremove"], ["apt", "purge"], ["apt", "remove"],
                               ["yum", "remove"], ["dnf", "remove"])
                     for w in map(_cmd_words, run.script.commands))
        for cmd in run.script.commands:
            words = _cmd_words(cmd)
            if not words or (cleans and words[0] in ("make", "apt-get", "apt", "apk")):
                continue
            name = words[0]
            args = [w for w in words[1:] if w and not w.startswith("-")]
            for prog, subs, desc in _OTHER_BUILDS:
                # The subcommand is the first non-flag word (any goal for maven/gradle).
                goals = args if prog.startswith(("mvn", "gradle")) else args[:1]
                matched = subs == ("",) or any(a in subs for a in goals) or \
                    ("" in subs and not args)
                if name == prog and matched and desc not in out:
                    out.append(desc)
            if name in ("npm", "yarn", "pnpm") and "build" in words[1:3]:
                desc = "node: a build script (copy the output and production node_modules " \
                       "to node:<v>-slim)"
                if desc not in out:
                    out.append(desc)
            if name in ("apt-get", "apt", "apk") and ("install" in words or "add" in words):
                pkgs = [w for w in words[2:] if not w.startswith("-")]
                tools = [p for p in pkgs if p in BUILD_PACKAGES or p.endswith("-dev")
                         or p == "build-base"]
                if tools:
                    desc = (f"compilers installed ({', '.join(tools[:4])}): build in a "
                            "builder stage and copy the named outputs")
                    if desc not in out:
                        out.append(desc)
    return out


def _has_npm_build(ctx: Context, stage: Stage) -> bool:
    for run in shell_runs(ctx, stage):
        for cmd in run.script.commands:
            w = _cmd_words(cmd)
            if w[:1] in (["npm"], ["yarn"], ["pnpm"]) and "build" in w[1:3]:
                return True
    return False


# --- shared planning --------------------------------------------------------------


@dataclass
class _Walk:
    """The final stage read in order, up to and after the build RUN."""

    build: RunShell
    workdir: str | None  # absolute WORKDIR at the build (None: the image's default)
    runs_before: list[RunShell]
    after: list[Instruction]  # instructions after the build RUN
    keep: list[Instruction]  # instructions preserved into the runtime, in order
    args: list[Instruction]  # the stage's ARGs


def _walk(ctx: Context, stage: Stage, is_build: Any, base_workdir: str) -> _Walk:
    runs = {r.ins.start: r for r in shell_runs(ctx, stage)}
    workdir: str | None = None
    build: RunShell | None = None
    before: list[RunShell] = []
    after: list[Instruction] = []
    keep: list[Instruction] = []
    args: list[Instruction] = []
    for ins in stage.body:
        kw = ins.keyword
        if kw == "ONBUILD" or kw == "SHELL":
            raise Blocked(f"the stage has {kw}, which a generated runtime cannot reproduce")
        if kw == "ARG":
            args.append(ins)
        if kw in _KEEP:
            keep.append(ins)
        if kw == "WORKDIR" and ins.value:
            value = ins.value[0]
            if "$" in value:
                raise Blocked("WORKDIR comes from a variable")
            workdir = posixpath.normpath(posixpath.join(workdir or base_workdir, value))
        if kw in ("COPY", "ADD") and build is None and len(ins.value) >= 2:
            _check_copy(ins, workdir or base_workdir, base_workdir == _GO_WORKDIR)
        if build is not None:
            if kw in ("RUN", "COPY", "ADD"):
                after.append(ins)
            continue
        if kw == "RUN":
            run = runs.get(ins.start)
            if run is None:
                raise Blocked(f"line {ins.start_line}: a RUN that cannot be read (exec form, "
                              "heredoc or a shell parse error)")
            if is_build(run):
                build = run
            else:
                before.append(run)
    if build is None:
        raise Blocked("the build command was not found in a plain shell-form RUN")
    if after:
        ins = after[0]
        raise Blocked(f"line {ins.start_line}: a {ins.keyword} after the build may make "
                      "something the app needs at run time")
    return _Walk(build, workdir, before, after, keep, args)


_GO_SOURCE_FILES = re.compile(r".*\.go|go\.(mod|sum|work|work\.sum)|\.dockerignore|Makefile")


def _check_copy(ins: Instruction, here: str, go: bool) -> None:
    """Raise when a COPY/ADD before the build brings in files the app may read at run
    time (they would not reach the runtime stage)."""
    *sources, dest = ins.value
    for src in sources:
        name = posixpath.basename(src.rstrip("/"))
        if "://" in src or src.startswith("git@"):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} downloads {src}")
        if name.startswith(".env"):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} copies {src}, which the app "
                          "reads at run time")
        if go and "." in name.strip(".") and not _GO_SOURCE_FILES.fullmatch(name):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} copies {src}, which the app "
                          "may read at run time")
    if go:
        return  # Go sources may go anywhere: only the binary reaches the runtime
    full = posixpath.normpath(posixpath.join(here, dest))
    if "$" in dest or not (full + "/").startswith(here.rstrip("/") + "/"):
        raise Blocked(f"line {ins.start_line}: {ins.keyword} puts files in {dest}, outside "
                      "the app's folder: the app may need them at run time")


def _render(family: str, style: Style, params: dict[str, Any]) -> str:
    """Render ``templates/stages/<family>.j2``, parse it, and adapt it to the file."""
    import jinja2

    import dockopt.templates as templates

    folder = Path(templates.__file__).parent / "stages"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, autoescape=False)
    kw = {k: style.keyword(k) for k in ("FROM", "WORKDIR", "COPY", "ARG", "ENV")}
    text = env.get_template(f"{family}.j2").render(kw=kw, **params)
    fragment = parse(text)
    if fragment.has_errors or len(fragment.stages) != 1:
        raise Blocked("the generated runtime stage does not parse")
    return text.replace("\n", style.newline) if style.newline != "\n" else text


def _block(tree: Dockerfile, ins: Instruction) -> str:
    """The instruction with the comment lines above it, LF-separated, no final newline."""
    parts = [c.text for c in tree.owned_comments(ins)] + [ins.text]
    return adapt_newlines_lf("".join(parts)).rstrip("\n")


def adapt_newlines_lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _builder_name(stages: Sequence[Stage], final: Stage, style: Style) -> tuple[str, Edit | None]:
    if final.name:
        return final.name, None
    taken = {s.name for s in stages if s.name}
    name = next(n for n in ("build", "builder", "build-stage", "dockopt-build")
                if n not in taken)
    frm = final.from_instruction
    logical = frm.logical
    pos = logical.to_physical_end(len(logical.text.rstrip()))
    return name, Edit(pos, pos, f" {'AS' if style.upper_keywords else 'as'} {name}")


def _arg_lines(tree: Dockerfile, walk: _Walk, keep: list[str]) -> list[str]:
    if any("$" in line for line in keep):
        return [_block(tree, a) for a in walk.args]
    return []


def _command(ins: Instruction) -> list[str]:
    """CMD/ENTRYPOINT as argv: exec form, or shell form made of plain words only."""
    if ins.is_json:
        return list(ins.value)
    text = ins.args.text.strip()
    words = text.split()
    if not words or not all(_PLAIN_WORD.fullmatch(w) for w in words):
        raise Blocked(f"line {ins.start_line}: the shell-form {ins.keyword} is not plain words "
                      "(it needs a shell)")
    return words


def _last(keep: list[Instruction], kw: str) -> Instruction | None:
    found = [i for i in keep if i.keyword == kw]
    return found[-1] if found else None


# --- Go -------------------------------------------------------------------------


def _go_builds(run: RunShell) -> list[SimpleCommand]:
    return [c for c in run.script.commands if _cmd_words(c)[:2] == ["go", "build"]]


def _go_plan(ctx: Context, final: Stage) -> _Plan:
    tree, style = ctx.tree, ctx.style
    walk = _walk(ctx, final, lambda r: bool(_go_builds(r)), _GO_WORKDIR)
    cmds = _go_builds(walk.build)
    if len(cmds) != 1:
        raise Blocked("the RUN has more than one go build")
    if any(_cmd_words(c)[:1] == ["go"] and _cmd_words(c)[1:2] == ["install"]
           for r in walk.runs_before for c in r.script.commands):
        raise Blocked("go install puts binaries in GOPATH/bin, which is not followed")
    for r in walk.runs_before:
        _check_go_run(r)
    workdir = walk.workdir or _GO_WORKDIR
    out, pkgs, race = _parse_go_build(cmds[0])
    if race:
        raise Blocked("-race needs cgo")
    if any(c.resolved_name == "cd" for c in walk.build.script.commands) and \
            (out is None or not out.startswith("/")):
        raise Blocked("the RUN changes directory, so the output path is not certain")
    cgo = _cgo_env(walk.keep, walk.build)
    if cgo == "1":
        raise Blocked("CGO_ENABLED=1: the binary links C libraries, distroless/static "
                      "has none")
    go_mod = _check_go_context(ctx)
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
    if not _PLAIN_WORD.fullmatch(binary):
        raise Blocked(f"the binary path {binary} is not a plain path")
    dest = binary if posixpath.dirname(binary) in _RUNTIME_PATH else f"/app/{name}"

    def is_binary(prog: str) -> bool:
        if prog.startswith("/"):
            return posixpath.normpath(prog) == binary
        if "/" in prog:
            return posixpath.normpath(posixpath.join(walk.workdir or _GO_WORKDIR,
                                                     prog)) == binary
        return prog == name and posixpath.dirname(binary) in _GO_PATH

    entry, cmd = _last(walk.keep, "ENTRYPOINT"), _last(walk.keep, "CMD")
    keep_lines: list[str] = []
    env_lines: list[str] = []
    moved = [f"the binary {binary} (built with CGO_ENABLED=0, so it is static) "
             f"as {dest}"]
    head = entry if entry is not None else cmd
    if head is None:
        raise Blocked("no CMD or ENTRYPOINT runs the binary")
    if entry is not None and not entry.is_json and cmd is not None:
        raise Blocked("a shell-form ENTRYPOINT ignores CMD; exec form would not")
    argv = _command(head)
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
            keep_lines.append(_block(tree, ins))
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
            env_lines.append(_block(tree, ins))
            continue
        if kw == "USER":
            user = ins.value[0] if ins.value else ""
            if not (user.split(":")[0].isdigit() or user.split(":")[0] in
                    ("nonroot", "root", "nobody")):
                raise Blocked(f"USER {user} is a user created in this image; distroless has "
                              "only root and nonroot")
        if kw == "HEALTHCHECK":
            _go_healthcheck(ins, is_binary)
        keep_lines.append(_block(tree, ins))
    builder, from_edit = _builder_name(tree.stages, final, style)
    plan = _Plan("go", builder, from_edit)
    if cgo is None:
        build_run = walk.build.ins
        above = tree.owned_comments(build_run)
        at = above[0].start if above else build_run.start
        plan.inserts[at] = style.instruction("ENV", "CGO_ENABLED=0")
    kept = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
            if not line.lstrip().startswith("#")]
    if kept:
        moved.append("the image settings " + ", ".join(dict.fromkeys(kept))
                     + " (CMD/ENTRYPOINT in exec form: distroless has no shell)")
    moved.append(f"base {GO_RUNTIME} (CA certificates and tzdata, no shell, runs as uid "
                 "65532)")
    plan.moved = moved
    plan.runtime = _render("go", style, {
        "image": GO_RUNTIME, "builder": builder, "binary_src": binary, "binary_dest": dest,
        "workdir": walk.workdir, "env": env_lines,
        "args": _arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
    return plan


def _check_go_run(run: RunShell) -> None:
    for cmd in run.script.commands:
        words = _cmd_words(cmd)
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


def _cgo_env(keep: list[Instruction], build: RunShell) -> str | None:
    value: str | None = None
    for ins in keep:
        if ins.keyword == "ENV" and ins.start < build.ins.start:
            v = ins.value
            for i in range(0, len(v) - 1, 2):
                if v[i] == "CGO_ENABLED":
                    value = v[i + 1]
    m = re.search(r"\bCGO_ENABLED=(\S+)", build.src.text)
    if m:
        value = m.group(1).strip("'\"")
    return value


def _check_go_context(ctx: Context) -> str | None:
    """go.mod's text; raises when the context shows cgo or files read at run time."""
    build = ctx.build
    if build is None:
        return None
    go_mod: str | None = ctx.read_context_file("go.mod")
    found = _CGO_MODULES.search(go_mod) if go_mod is not None else None
    if found is not None:
        raise Blocked(f"go.mod requires a cgo module ({found.group(1).rstrip('/')})")
    files = sorted(build.files)
    for rel in files:
        top = rel.split("/", 1)[0]
        if "/" in rel and top in _ASSET_DIRS:
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
    return go_mod


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


# --- node -----------------------------------------------------------------------


def _npm_words(run: RunShell) -> list[list[str]]:
    return [_cmd_words(c) for c in run.script.commands]


def _is_npm_build(run: RunShell) -> bool:
    return any(w[:1] in (["npm"], ["yarn"], ["pnpm"]) and "build" in w[1:3]
               for w in _npm_words(run))


def _node_plan(ctx: Context, final: Stage) -> _Plan:
    tree, style = ctx.tree, ctx.style
    walk = _walk(ctx, final, _is_npm_build, "/")
    installed = False
    for run in [*walk.runs_before, walk.build]:
        for w in _npm_words(run):
            if w[:1] in (["yarn"], ["pnpm"]):
                raise Blocked("yarn/pnpm: pruning to production dependencies differs")
            if w[:1] == ["npm"] and len(w) > 1 and w[1] in ("ci", "install", "i"):
                if [a for a in w[2:] if not a.startswith("-")]:
                    raise Blocked("npm install names packages outside package.json")
                installed = True
            elif w[:1] == ["npm"] and (w[1:3] in (["run", "build"], ["run-script", "build"])
                                       or w[1:2] in (["config"], ["-v"])):
                continue
            else:
                raise Blocked(f"line {run.ins.start_line}: `{' '.join(w[:3])}` may make or "
                              "install something the runtime needs")
        if run is walk.build and not installed:
            raise Blocked("no npm ci/npm install before the build")
    if walk.workdir in (None, "/"):
        raise Blocked("no WORKDIR: the app's folder is the filesystem root")
    workdir = walk.workdir
    assert workdir is not None
    if not _PLAIN_WORD.fullmatch(workdir):
        raise Blocked("the WORKDIR is not a plain path")
    if ctx.build is None:
        pkg_text = None
    else:
        pkg_text = ctx.read_context_file("package.json")
        if pkg_text is None:
            raise Blocked("no package.json at the root of the build context")
    pkg: dict[str, Any] = {}
    if pkg_text is not None:
        try:
            loaded = json.loads(pkg_text)
        except ValueError as exc:
            raise Blocked("package.json does not parse") from exc
        pkg = loaded if isinstance(loaded, dict) else {}
        scripts = pkg.get("scripts") or {}
        if not isinstance(scripts, dict) or "build" not in scripts:
            raise Blocked("package.json has no build script")
        deps = set(pkg.get("dependencies") or {})
        native = sorted(deps & NATIVE_NPM)
        if native:
            raise Blocked(f"native modules ({', '.join(native[:3])}) may need system "
                          "libraries the slim image lacks")
        if ctx.build is not None:
            if "binding.gyp" in ctx.build.files:
                raise Blocked("binding.gyp: a native addon")
            for d in sorted(_ASSET_DIRS):
                if d in ctx.build.dirs:
                    raise Blocked(f"the context has {d}/, files the app may read at run "
                                  "time")
    entry, cmd = _last(walk.keep, "ENTRYPOINT"), _last(walk.keep, "CMD")
    head = entry if entry is not None else cmd
    if head is None:
        raise Blocked("no CMD or ENTRYPOINT")
    argv = _command(head)
    if entry is not None and cmd is not None:
        argv = argv + _command(cmd) if entry.is_json else argv
    script = _node_script(argv, pkg)
    outdir = posixpath.normpath(script).split("/", 1)[0]
    if "/" not in posixpath.normpath(script) or outdir in (".", "..", "node_modules", "src"):
        raise Blocked(f"CMD runs {script}, which is not inside a build output folder")
    expected = {"dist", "build", "out", "lib"}
    main = pkg.get("main")
    if isinstance(main, str):
        expected.add(posixpath.normpath(main).split("/", 1)[0])
    if outdir not in expected:
        raise Blocked(f"{outdir}/ is not a known build output folder")
    for ins in walk.keep:
        user = ins.value[0].split(":")[0] if ins.keyword == "USER" and ins.value else "0"
        if not (user.isdigit() or user in ("root", "node")):
            raise Blocked(f"USER {user} may be a user created in the builder; the runtime "
                          "image has only root and node")
        if ins.keyword == "HEALTHCHECK":
            words = set(re.findall(r"[\w.-]+", ins.args.text))
            missing = sorted(w for w in words if w in FULL_ONLY_TOOLS)
            if missing:
                raise Blocked(f"HEALTHCHECK uses {missing[0]}, which node:-slim lacks")
    ref = parse_image_ref(final.base)
    assert ref is not None
    facts = facts_for(ref)
    image = final.base
    if facts is not None and facts.slim_tag is not None and ref.tag_start is not None:
        image = ref.text[:ref.tag_start] + facts.slim_tag + ref.text[ref.name_end +
                                                                      len(ref.tag or "") + 1:]
    elif facts is not None and facts.slim_tag is not None:
        image = ref.text + ":" + facts.slim_tag
    keep_lines: list[str] = []
    env_lines: list[str] = []
    for ins in walk.keep:
        if ins.keyword in ("CMD", "ENTRYPOINT") and ins is not _last(walk.keep, ins.keyword):
            continue
        (env_lines if ins.keyword == "ENV" else keep_lines).append(_block(tree, ins))
    builder, from_edit = _builder_name(tree.stages, final, style)
    plan = _Plan("node", builder, from_edit)
    major = re.match(r"(\d+)", ref.tag or "")
    prune = "npm prune --omit=dev" if major is None or int(major.group(1)) >= 16 \
        else "npm prune --production"
    build_run = walk.build.ins
    if build_run.text.endswith("\n"):
        plan.inserts[build_run.end] = style.instruction("RUN", prune)
    else:
        plan.inserts[build_run.end] = style.newline + style.instruction("RUN", prune).rstrip("\r\n")
    ws = workdir.rstrip("/") + "/"
    plan.moved = [f"{ws}node_modules after `{prune}` (production dependencies only)",
                  f"{ws}{outdir} (the build output that {head.keyword} runs)",
                  f"{ws}package.json (module type and npm scripts)",
                  f"base {image} (" + ("the -slim variant: no compilers or dev libraries"
                                        if image != final.base else "the same image") + ")"]
    kept = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
            if not line.lstrip().startswith("#")]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    plan.runtime = _render("node", style, {
        "image": image, "builder": builder, "workdir": workdir, "workdir_slash": ws,
        "outputs": [outdir], "env": env_lines,
        "args": _arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
    return plan


def _node_script(argv: list[str], pkg: dict[str, Any]) -> str:
    """The JS file the command runs: `node <file>` or `npm start`/`npm run start`."""
    if argv and posixpath.basename(argv[0]) == "node":
        files = [a for a in argv[1:] if not a.startswith("-")]
        if files:
            return files[0]
    if argv[:2] == ["npm", "start"] or argv[:3] == ["npm", "run", "start"]:
        scripts = pkg.get("scripts") or {}
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if isinstance(start, str):
            words = start.split()
            if words[:1] == ["node"] and all(_PLAIN_WORD.fullmatch(w) for w in words):
                return _node_script(words, {})
        raise Blocked("npm start does not run `node <file>`")
    raise Blocked("CMD does not run `node <file>` or `npm start`")

