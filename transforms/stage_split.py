"""DO101 single-stage-build: the final image carries the toolchain that built the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.base_image import BUILD_PACKAGES
from dockopt.transforms.images import ImageRef, facts_for, parse_image_ref
from dockopt.transforms.shellfix import shell_runs, windows_file
from dockopt.transforms.split_common import (
    Blocked,
    Plan,
    apply_edits,
    cmd_words,
    growth,
)
from dockopt.transforms.split_go import go_plan
from dockopt.transforms.split_node import has_npm_build, node_plan

__all__ = ["FAMILIES", "Family", "SingleStageBuild", "apply_edits"]


@dataclass(frozen=True)
class Family:
    """One ecosystem the split is automated for. ``matches`` decides from the final
    stage's base image and what it builds (``_builds``' descriptions) whether this
    family applies; ``plan`` makes the split or raises :class:`Blocked` with the
    reason, which becomes a display-only suggestion."""

    name: str  # shown in messages: "the {name} toolchain"
    matches: Callable[[Context, Stage, ImageRef, list[str]], bool]
    plan: Callable[[Context, Stage], Plan]


def _go_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    return ref.repository == "golang" and any(w.startswith("Go:") for w in what)


def _node_build_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    return ref.repository == "node" and has_npm_build(ctx, final)


# In order: the first family that matches plans the split.
FAMILIES: tuple[Family, ...] = (
    Family("go", _go_matches, go_plan),
    Family("node", _node_build_matches, node_plan),
)


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
        if copies_from(final) or final.base.lower() in {s.name for s in stages[:-1] if s.name}:
            return  # already multi-stage: the final stage is a runtime
        ref = parse_image_ref(final.base)
        if ref is None:
            return  # ARG-based or unparsable FROM: the image is unknown
        facts = facts_for(ref)
        if facts is not None and facts.family == "windows":
            return
        frm = final.from_instruction
        what = _builds(ctx, final)
        for family in FAMILIES:
            if family.matches(ctx, final, ref, what):
                yield self._split(ctx, final, family, frm)
                return
        if what:
            names = ", ".join(f.name for f in FAMILIES)
            yield self.finding(ctx, frm, "The final stage builds the app "
                               f"({'; '.join(what)}) and ships the toolchain: move the build "
                               "to a builder stage and copy only the artifacts into a slim "
                               "runtime stage. Suggestion only: dockopt automates the split "
                               f"for {names} when it recognises the build.")

    def _split(self, ctx: Context, final: Stage, family: Family, frm: Instruction) -> Finding:
        try:
            plan = family.plan(ctx, final)
        except Blocked as exc:
            return self.finding(ctx, frm, "The final stage builds the app and ships the "
                                f"{family.name} toolchain; a builder/runtime split was not "
                                f"made: {exc}. Suggestion only.")
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
        edits = [Edit(start, end, apply_edits(ctx.text, edits)[start:end + growth(edits)])]
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
                            f"{family.name} toolchain: split it into a builder and a runtime "
                            "stage", fix=fix)



# --- detection ----------------------------------------------------------------------


def copies_from(stage: Stage) -> bool:
    return any(f.startswith("--from") for i in stage.body if i.keyword in ("COPY", "ADD")
               for f in i.flags)



def _builds(ctx: Context, stage: Stage) -> list[str]:
    """What the stage builds (one description per kind), in file order."""
    out: list[str] = []
    for run in shell_runs(ctx, stage):
        # A RUN that removes its build packages again (`apk del .build-deps`, `apt-get
        # purge`) already keeps the toolchain out of the image: not a split candidate.
        cleans = any(w[:2] in (["apk", "del"], ["apt-get", "purge"], ["apt-get", "remove"],
                               ["apt-get", "autoremove"], ["apt", "purge"], ["apt", "remove"],
                               ["yum", "remove"], ["dnf", "remove"])
                     for w in map(cmd_words, run.script.commands))
        for cmd in run.script.commands:
            words = cmd_words(cmd)
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
