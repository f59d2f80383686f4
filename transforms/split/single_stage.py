"""DO101 single-stage-build: the final image carries the toolchain that built the app."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import cast

from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import ShellScript, TextMemo
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.context.base_image import BUILD_PACKAGES
from dockopt.transforms.images import ImageRef, facts_for, parse_image_ref
from dockopt.transforms.shellfix import shell_runs, windows_file
from dockopt.transforms.split.common import (
    Blocked,
    Plan,
    apply_edits,
    cmd_words,
    growth,
    trim_tail,
)

__all__ = ["FAMILIES", "Family", "SingleStageBuild", "apply_edits", "split_candidate"]

Matcher = Callable[[Context, Stage, ImageRef, list[str]], bool]
Planner = Callable[[Context, Stage], Plan]


@dataclass(frozen=True)
class Family:
    """One ecosystem the split is automated for, in ``dockopt.transforms.<module>``:
    ``<module>.<matches>`` decides from the final stage's base image and what it
    builds (``_builds``' descriptions) whether this family applies; ``<module>.<plan>``
    makes the split or raises :class:`Blocked` with the reason, which becomes a
    display-only suggestion. The module is imported only for a final stage on one of
    ``images`` (the family modules are large; most files never need them)."""

    name: str  # shown in messages: "the {name} toolchain"
    images: frozenset[str]  # base-image repositories the family can apply to
    module: str
    matches_name: str
    plan_name: str

    def _attr(self, name: str) -> object:
        return getattr(importlib.import_module(f"dockopt.transforms.{self.module}"), name)

    def matches(self, ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
        if ref.repository not in self.images:
            return False
        return cast(Matcher, self._attr(self.matches_name))(ctx, final, ref, what)

    def plan(self, ctx: Context, final: Stage) -> Plan:
        return cast(Planner, self._attr(self.plan_name))(ctx, final)


# In order: the first family that matches plans the split. node with a build step
# comes before node without one (node-prod), which only matches where the split pays
# more than DO605's switch to -slim (see split.node_prod.node_prod_matches).
FAMILIES: tuple[Family, ...] = (
    Family("go", frozenset({"golang"}), "split.go", "go_matches", "go_plan"),
    Family("Next.js", frozenset({"node"}), "split.nextjs", "nextjs_matches", "nextjs_plan"),
    Family("yarn", frozenset({"node"}), "split.node_pm", "yarn_matches", "yarn_plan"),
    Family("pnpm", frozenset({"node"}), "split.node_pm", "pnpm_matches", "pnpm_plan"),
    Family("node", frozenset({"node"}), "split.node", "node_build_matches", "node_plan"),
    Family("npm", frozenset({"node"}), "split.node_prod", "node_prod_matches",
           "node_prod_plan"),
    Family("yarn", frozenset({"node"}), "split.node_prod", "yarn_prod_matches",
           "yarn_prod_plan"),
    Family("pnpm", frozenset({"node"}), "split.node_prod", "pnpm_prod_matches",
           "pnpm_prod_plan"),
    Family("python", frozenset({"python"}), "split.python", "python_matches", "python_plan"),
    Family("C/C++", frozenset({"debian", "ubuntu"}), "split.native", "native_matches",
           "native_plan"),
    Family("java", frozenset({"maven", "gradle", "eclipse-temurin", "openjdk",
                              "amazoncorretto"}), "split.java", "java_matches", "java_plan"),
    Family("Rust", frozenset({"rust"}), "split.rust", "rust_matches", "rust_plan"),
    Family(".NET", frozenset({"mcr.microsoft.com/dotnet/sdk",
                              "mcr.microsoft.com/dotnet/core/sdk"}),
           "split.dotnet", "dotnet_matches", "dotnet_plan"),
)

# The families that can apply to a base-image repository, in FAMILIES' order
# (Family.matches is False for any other): most final stages are on none of them.
_FAMILIES_BY_IMAGE: dict[str, tuple[Family, ...]] = {
    image: tuple(f for f in FAMILIES if image in f.images)
    for image in sorted({image for f in FAMILIES for image in f.images})}


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


def split_candidate(ctx: Context) -> Stage | None:
    """The final stage when DO101 may split it: not already a runtime stage (no
    ``COPY --from``, not based on an earlier stage), readable, not Windows."""
    tree = ctx.tree
    stages = tree.stages
    if not stages or tree.has_errors or windows_file(ctx):
        return None
    final = stages[-1]
    if any(i.passthrough for i in final.instructions):
        return None
    if copies_from(final) or final.base.lower() in {s.name for s in stages[:-1] if s.name}:
        return None  # already multi-stage: the final stage is a runtime
    return final


class SingleStageBuild(Transform):
    """The final stage builds the app, so the image ships the whole toolchain.

    What it does:
        Finds a single-stage Dockerfile (or a final stage with no `COPY --from`)
        that builds something, and splits it into a builder stage and a small
        runtime stage appended after it. The existing stage is kept as it is and
        becomes the builder (`AS build`, or its own name); the runtime stage gets
        only the artifacts. What follows the builder's last RUN (the source COPY
        that only the runtime needs, EXPOSE, CMD and other settings) is left out of
        a builder the split names when the runtime repeats it word for word, so a
        source change does not rebuild the builder; a stage with its own name keeps
        everything (`--target` may build it). DO601 runs first, so the split sees
        the manifests copied before the install and the source copy after it:

        - **Go** (`FROM golang:X` with `go build`): `ENV CGO_ENABLED=0` goes right
          before the build so the binary is static; the runtime is
          `gcr.io/distroless/static-debian12:nonroot` with `COPY --from=build` of the
          binary (to the same path when it was built into a `PATH` folder such as
          `/usr/local/bin`, else to `/app/<name>`), and CMD/ENTRYPOINT rewritten to
          exec form naming that path with the same arguments. The binary is the
          `-o` path (made absolute with WORKDIR; the golang image's WORKDIR is
          `/go`), or, without `-o`, the package folder's name or the last element
          of the module path in `go.mod`. `go install` of one of the context's own
          packages (`.`, `./cmd/server`) counts too: its binary is in `$GOBIN`, else
          `$GOPATH/bin` (`/go/bin`); `./...` (several binaries), a cross-compile
          (GOOS/GOARCH) and `cd` before it are suggestions, and `go install
          tool@version` is not the app's build.
        - **node** with a build step (`FROM node:X`, `npm ci`/`npm install`, then
          `npm run build` with a `build` script in `package.json`): the runtime is
          `node:X-slim` (the same image when there is no slim variant) with the same
          WORKDIR, `package.json`, the production `node_modules` and the build
          output folder that CMD runs (`node dist/server.js`, or `npm start` whose
          script does). The production dependencies come from `npm ci --omit=dev`
          (with `ENV NODE_ENV=production` unless the stage sets NODE_ENV)
          run in the runtime from `package.json` and `package-lock.json` (a layer
          cached until they change, so a source change rebuilds only the output)
          when that is certain to give the pruned tree: the whole context is copied
          into WORKDIR, the lockfile is v2+, no production package has an install
          script (it could need a compiler), the root package has no lifecycle
          scripts, workspaces or local dependencies. Otherwise the builder runs
          `npm prune --omit=dev` after the build and the runtime copies its
          `node_modules`.
        - **yarn (classic, v1) and pnpm** with a build step (`yarn install`/`pnpm
          install`, then `yarn build`/`pnpm run build`): the runtime is `node:X-slim`
          with `ENV NODE_ENV=production` (unless the stage sets NODE_ENV), the
          package manager installed as the builder installed it (`npm install -g
          pnpm@8`, `corepack enable`/`prepare`; yarn 1.x otherwise comes with the
          image), `package.json`, the lockfile and `.npmrc`/`.yarnrc` copied from
          the build context, `yarn install --frozen-lockfile --production` or `pnpm
          install --frozen-lockfile --prod` in a cached layer of its own, and the
          build output folder CMD runs (`node dist/server.js`, or `yarn start`/`pnpm
          start` whose script does). Needed: the builder's manifests are the
          context's (`COPY . .` or a COPY naming them, into WORKDIR), the lockfile
          is in the context, no lifecycle scripts, workspaces
          (`pnpm-workspace.yaml`), local or known native dependencies. Yarn 2+
          (`.yarnrc.yml`, a `__metadata` lockfile, `--immutable`, `packageManager:
          yarn@2+`) is a suggestion: its production install needs `yarn workspaces
          focus --production`.
        - **Next.js** (`next.config.*` in the build context, `next build` as the
          build script; npm, yarn or pnpm): with `output: "standalone"` the runtime
          copies `.next/standalone`, `.next/static` and `public/` from the builder
          and runs `CMD ["node", "server.js"]` with `ENV HOSTNAME=0.0.0.0` (the
          server listens on `$HOSTNAME`, which Docker sets to the container id) and
          `PORT`/`HOSTNAME` from `next start`'s `-p`/`-H`; without it, a production
          install from the lockfile plus `.next`, the config and `public/`, with the
          CMD as written. `output: "export"`, `distDir`, an `output` from an
          expression, a start command other than `next start`, an ENTRYPOINT, or a
          build context not copied whole are suggestions.
        - **node without a build step** (`FROM node:X`, `npm ci`/`npm install`,
          `yarn install` or `pnpm install`, CMD `node <file>` or `npm start`/`yarn
          start`/`pnpm start`): a production install only. It applies
          where the split gives more than DO605's switch to `-slim` (so the two
          never fight: DO605 handles the rest, and waits for the split when both
          apply): the install brings devDependencies (`--omit=dev` is added to it
          in the builder, `--production` before node 16; `--production` for Yarn
          classic, `--prod` for pnpm; Yarn 2+ with `nodeLinker: node-modules` gets
          `RUN yarn workspaces focus --all --production` after its install, which
          relinks `node_modules` from yarn's cache, on Yarn 4 or Yarn 3 with the
          workspace-tools plugin), native modules need the
          full image's compilers (bcrypt, sqlite3...), or the stage installs build
          tools for node-gyp; without a build context, a full `node:X` image or an
          install with devDependencies (shown only). The runtime is `node:X-slim`
          with the same WORKDIR, `COPY --from=build <workdir>/node_modules`, and the
          app's files copied again from the build context by the builder's own
          COPY instructions (one that a later `COPY . .` repeats is left out), so
          the runtime never gets what the install wrote outside `node_modules`.
          Packages the stage installs that are not build tools (tini...) are
          installed in the runtime too. A runtime whose CMD runs yarn or pnpm gets
          it the way the builder did (`npm install -g pnpm@8`, `corepack prepare
          ... --activate`; yarn 1 otherwise comes with the image).
        - **Python** with compiled dependencies (`FROM python:X`, not -slim or
          -alpine, with a `pip install` and either compilers/`-dev` packages
          installed with apt or dependencies in the context that compile against
          the full image's libraries, such as psycopg2 or mysqlclient; a pure-Python
          install is left to DO605, which moves it to -slim in place): the builder
          gets `RUN python -m venv /opt/venv` and `ENV VIRTUAL_ENV=/opt/venv
          PATH="/opt/venv/bin:$PATH"` before its first RUN/COPY/ADD, so every
          `pip`, `pip3` and `python -m pip` installs into the venv unchanged. The
          runtime is `python:X-slim` (same Python, same interpreter path, so the
          venv works there) with the same ENV/WORKDIR, `COPY --from=build /opt/venv
          /opt/venv`, and the app's files copied again from the build context by
          the builder's own COPY/ADD lines in file order (one that a later `COPY .
          .` repeats is left out). apt packages: compilers, headers, git and the
          like stay in the builder; each `-dev` package becomes its run-time
          library (libpq-dev → libpq5, libjpeg-dev → libjpeg62-turbo, libxml2-dev →
          libxml2; zlib1g-dev, libffi-dev, libssl-dev: already in -slim) with the
          names of the tag's Debian release (bookworm or trixie; names valid in
          both when the tag names none); other packages (ffmpeg, curl...) are
          installed in the runtime too, as the app may run them. On a **-slim**
          base that installs its own compilers or `-dev` packages with apt
          (`python:X-slim` + `apt-get install gcc libc6-dev libpq-dev`), the same
          split is made with the runtime on that very -slim image (tag and digest
          as written): the builder keeps the compilers, the runtime gets the
          `-dev` packages' run-time libraries. Other python tags that install a
          toolchain (-alpine: the apk names are not mapped; Debian releases
          without a -slim tag) get a suggestion that names the reason.
        - **C/C++ with apt toolchains** (`FROM debian:X` or `ubuntu:X`, a compiler
          installed — build-essential, gcc, g++, make, cmake, `-dev` packages — and
          a build: `make`, `cc -o`, `cmake`, `./configure && make`): the runtime is
          the same release's slim image (`debian:X-slim`; Ubuntu has no slim
          variant: the same tag) with the program CMD/ENTRYPOINT runs, copied to
          the same path, when the build is seen to make it: the `-o` path of a
          compiler, a target the copied Makefile builds, `add_executable()` in
          CMakeLists.txt for the CMake build folder, `*_PROGRAMS` in Makefile.am,
          or a `cp`/`install` of one of those. The runtime installs (`apt-get
          install --no-install-recommends`, lists removed) the shared library of
          each `-dev` package for that release (libssl-dev → libssl3, libcurl4-
          openssl-dev → libcurl4, zlib1g-dev → zlib1g, libpq-dev → libpq5; the
          `t64` names on trixie/noble), libgomp1 for OpenMP, libgfortran5 for
          gfortran, and every installed package that is not a build tool
          (ca-certificates, curl...).
          When CMD runs a program that `make install`, `cmake --install`, `cmake
          --build --target install` or `ninja install` put under a known prefix
          (`./configure --prefix=P`, `-DCMAKE_INSTALL_PREFIX=P`, `cmake --install
          --prefix P`, `make install PREFIX=P`, a Makefile's `PREFIX`/`prefix`;
          /usr/local by default for configure and CMake), the runtime copies that
          whole prefix (libraries another install put there come along) and runs
          `ldconfig`; RUNs after the build that only run `ldconfig` or `rm` are
          allowed.
        - **Java** (`FROM maven`, `gradle`, `eclipse-temurin`, `openjdk` or
          `amazoncorretto` with `mvn package`/`verify`/`install`, `gradle
          build`/`assemble`/`jar`/`bootJar`/`shadowJar` (or the `mvnw`/`gradlew`
          wrappers), or `jar c...f NAME` after `javac`): the runtime is
          `eclipse-temurin:<N>-jre` for the JDK major version N the tag names
          (`maven:<v>-eclipse-temurin-N`, `maven:<v>-jdk-N`, `gradle:<v>-jdkN`,
          `eclipse-temurin:N[-jdk]`, `openjdk:N`, `amazoncorretto:N`; `-alpine`
          and a Temurin Ubuntu codename are kept). The openjdk images are
          deprecated and Corretto is another vendor's build of the same OpenJDK;
          the explanation says so. The jar is copied to the same path, so
          CMD/ENTRYPOINT (`java [flags] -jar <jar>`, `java -cp <jar> Main`, exec or
          shell form, `sh -c`) stay as written, JVM flags included. The jar is
          `target/<finalName>.jar` from `pom.xml` (artifactId, version, also the
          parent's, `finalName`, `<properties>` and `-D` values; packaging `jar`),
          `build/libs/<name>[-<version>].jar` from `settings.gradle`'s
          `rootProject.name` (else the project folder) and the `version` of
          `build.gradle` or `gradle.properties` (Spring Boot's `bootJar` and its
          `-plain` jar, the shadow plugin's `-all` jar), or the `jar` command's
          file; the CMD must name one of them (a shell glob must match exactly
          one). Maven/Gradle ENV (`MAVEN_*`, `GRADLE_*`) and cache VOLUMEs
          (`~/.m2`, `~/.gradle`) stay in the builder. Without a build context the
          Maven/Gradle jar is taken from a CMD naming it in `target/` or
          `build/libs/` (shown only).
          Multi-module builds: each module of a Maven aggregator (`<modules>`,
          packaging `pom`; a module inherits the aggregator's properties, version,
          `finalName` and build plugins; `-pl` limits the modules) makes
          `<module>/target/<finalName>.jar`, and each Gradle subproject `include`d
          in `settings.gradle(.kts)` (`:a:b` is the folder `a/b`; task paths such as
          `:app:bootJar` select it) makes `<sub>/build/libs/<name>[-<version>].jar`
          from its own build script and version (or gradle.properties'); the module
          whose jar CMD runs is copied, and when CMD runs none the suggestion names
          the jars the build makes.
        - **Rust** (`FROM rust:X` with `cargo build`, or `cargo install --path`):
          the runtime is `debian:<release>-slim` for the Debian release the rust tag
          names (`rust:1.77-bookworm`, `-slim-trixie`; a bare version by the image's
          default then: bullseye for 1.56-1.69, bookworm for 1.71-1.88, trixie from
          1.90), so the binary's glibc matches; the binary CMD/ENTRYPOINT runs is
          copied to the same path (`cargo install`'s `$CARGO_HOME/bin` becomes
          `/usr/local/bin`, on debian's PATH). The binaries come from `Cargo.toml`:
          `[[bin]]` names, the package name for `src/main.rs`, `src/bin/*`, workspace
          members (`-p`, `--bin`), under `target/[<triple>/]<profile>/`; a `cp`/`mv`
          of one after the build is followed. The runtime installs the shared library
          of each `-dev` package the stage installs (bindgen's libclang-dev, protoc
          and pkg-config stay behind) and of each `-sys` crate in `Cargo.lock`
          (openssl-sys → libssl3 and ca-certificates, pq-sys → libpq5,
          libsqlite3-sys → libsqlite3-0; crates for other platforms or always built
          from source need nothing). Where the project is one package with
          `src/main.rs` and a `Cargo.lock`, copied with `COPY . <folder>` (or the
          manifests first), the builder first builds the dependencies against a
          dummy `src/main.rs` in a cached layer, then removes the dummy and the
          package's build records.
        - **.NET** (`FROM mcr.microsoft.com/dotnet/sdk:X` with `dotnet publish`):
          the runtime is `mcr.microsoft.com/dotnet/aspnet:N` for a
          `Microsoft.NET.Sdk.Web` project (or one with a FrameworkReference to
          Microsoft.AspNetCore.App), else `runtime:N` (`Microsoft.NET.Sdk`,
          `.Worker`), N from the project's `TargetFramework` (`net8.0` → 8.0,
          `netcoreapp3.1` → 3.1, or `-f`), with the SDK tag's OS variant
          (`-bookworm-slim`, `-alpine`, `-noble`...). The project is the one
          `dotnet publish` names or the only project file in its folder; the publish
          folder (`-o`, else `bin/<configuration>/<tfm>/publish`) is copied to the
          same path and CMD/ENTRYPOINT must be `dotnet <publish
          folder>/<AssemblyName>.dll`.
          SDK and NuGet ENV (`NUGET_*`, `DOTNET_CLI_*`) stay in the builder. Golden
          cases only: no .NET SDK can be fetched where dockopt is developed.

        The runtime stage keeps ENV (the Go toolchain's `GO*`/`CGO_*` variables
        excepted), EXPOSE, LABEL, USER, HEALTHCHECK, STOPSIGNAL, VOLUME, CMD and
        ENTRYPOINT with the comments above them, and re-declares the stage's ARGs
        when one of those uses a variable. The runtime stage is rendered from
        `templates/stages/*.j2` and parsed before it is spliced in. A non-root USER
        for the node, Python, C/C++ and Java runtimes is left to DO604 (root-user),
        which runs later;
        distroless `:nonroot` already runs as uid 65532.

        Only a suggestion (display-only, with the reason) when the artifacts are
        not certain: no build context (the app's files cannot be checked), cgo
        (`CGO_ENABLED=1`, `import "C"`, cgo modules in `go.mod`), `-race`, a RUN,
        COPY or ADD after the build, packages installed that the runtime may
        need, Go code that reads files at run time, asset folders (`templates`,
        `static`, `public`...), a CMD that is not the built program, a Go
        HEALTHCHECK other than `NONE` (distroless has no shell or curl; the check
        would need rewriting), a node HEALTHCHECK using a tool -slim lacks (curl,
        wget...), a USER that distroless lacks, Yarn 2+ with a build step, native
        npm modules,
        Java builds whose jar is not certain (a JDK tag without the version such
        as `maven:3.9`, a module built from its own folder with its parent pom in
        the context, nested Maven aggregators, `-rf`, a profile with a build section
        or modules, pluginManagement that renames jars, the shade plugin attaching
        a second jar, other assemblies, `copy-dependencies`, a manifest Class-Path,
        a Gradle root script with `allprojects`/`subprojects`, `buildSrc` or
        `includeBuild`, a moved project folder, a renamed or computed jar name or
        version, a war), a CMD
        that does not run the jar, JVM flags naming files (`-javaagent`,
        `-D...=/etc/...`), ENV JAVA_HOME/PATH, a HEALTHCHECK using a JDK tool,
        application/logback config files at the context root or Java code that
        reads files, node installs that run scripts (`postinstall`, `prepare`),
        workspaces, `binding.gyp`, npm modules linking system libraries (canvas...),
        an unignored `node_modules/` in the context, `npm install <pkg>`/`-g`, a
        RUN after the install, C/C++ installs with `DESTDIR`, a prefix that is a
        system tree (/usr, /opt...), directory options outside the prefix
        (`--sysconfdir=/etc`), a Makefile without a prefix variable, a CMD running
        a script or a program the build is not seen to
        make, a build that also makes shared libraries, a `-dev` package whose
        runtime library is not known for the release (or a tag that names no
        release), a USER created in the builder, and every other ecosystem (pip
        wheel, compilers without a recognised build). For yarn and pnpm without a
        build step, also: Yarn 2+ Plug'n'Play (no `node_modules` to copy), Yarn 2
        or 3 without `yarn workspaces focus --all`, a command after a Yarn 2+
        install, pnpm workspaces or an `.npmrc` moving pnpm's store out of
        `node_modules` (`node-linker=pnp`, `virtual-store-dir`, `modules-dir`), a
        CMD running pnpm that the stage does not install, or running it through
        `corepack enable` alone (it would download at container start). For Rust:
        a tag that names no Debian release (`rust:1`, `latest`, 1.70, 1.89) or Alpine, a `-sys`
        crate whose library is not known (rdkafka-sys...), dependencies without a
        `Cargo.lock`, Rust code or asset folders that read files at run time,
        `--target-dir`/`CARGO_TARGET_DIR`, a CMD that is not a built binary. For
        .NET: a runtime identifier, self-contained, single-file, AOT or trimmed
        publish (those run on `runtime-deps`), a solution or a folder with several
        projects, several target frameworks, .NET Framework/netstandard or
        platform TFMs, other SDKs (Blazor WebAssembly...), an app that runs from
        another folder than its publish folder while the context has
        `appsettings*.json`/`wwwroot` there (its content root is the working
        directory), no build context.

        For Python, also only a suggestion: pip installs outside the venv
        (`--user`, `--target`, `--prefix`, `--root`, `pip` or `python` named by an
        absolute path, `PIP_TARGET`-like ENV), editable installs (`-e`, also in
        requirement files), an existing virtualenv, poetry/pipenv/uv, a `-dev`
        package whose run-time library is not known (or a tag on Debian older than
        12), a dependency that loads libraries not mapped (uwsgi, weasyprint, gdal,
        `--no-binary :all:`...), Debian `python3-*` packages (a venv does not see
        them), `apt-get upgrade`, commands before the install that write files
        (`mkdir` other than the WORKDIR, `rm` in the app's folder, redirections,
        downloads), a non-root USER before the install, a CMD/ENTRYPOINT/
        HEALTHCHECK (or a `.sh` it runs from the context) using a tool -slim lacks
        or a path under `/usr/local/bin`, Python 2 (no venv module).

        Left alone: already multi-stage finals (`COPY --from`), FROM built from an
        ARG, Windows images, files with parse errors. Stages are only appended, so
        numeric `COPY --from=N` references keep pointing at the same stages.

    Why:
        Compilers, SDKs, dev dependencies and sources are needed to build, not to
        run. A static Go binary on distroless is a few MB instead of ~800 MB for
        golang; a node app on -slim with production dependencies only is a fraction
        of node:X with devDependencies; a C program on debian:X-slim with its
        shared libraries is tens of MB instead of hundreds with build-essential; a
        JRE image leaves out the JDK's compiler,
        jmods and tools, Maven/Gradle, the sources and the dependency cache. A Python
        app's venv on python:X-slim leaves out the compilers, headers and the full
        image's hundreds of -dev libraries (~1 GB vs ~150 MB plus the venv).

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
    reads_context = True
    name = "single-stage-build"
    fix_title = "Split into a builder and a runtime stage"
    default_safety = Safety.UNSAFE
    semantic_scope = "stages"

    def check(self, ctx: Context) -> Iterator[Finding]:
        final = split_candidate(ctx)
        if final is None:
            return
        ref = parse_image_ref(final.base)
        if ref is None:
            return  # ARG-based or unparsable FROM: the image is unknown
        facts = facts_for(ref)
        if facts is not None and facts.family == "windows":
            return
        frm = final.from_instruction
        what = _builds(ctx, final)
        for family in _FAMILIES_BY_IMAGE.get(ref.repository, ()):
            if family.matches(ctx, final, ref, what):
                yield self._split(ctx, final, family, frm, what)
                return
        if what:
            names = ", ".join(f.name for f in FAMILIES)
            yield self.finding(ctx, frm, "The final stage builds the app "
                               f"({'; '.join(what)}) and ships the toolchain: move the build "
                               "to a builder stage and copy only the artifacts into a slim "
                               "runtime stage. Suggestion only: dockopt automates the split "
                               f"for {names} when it recognises the build.")

    def _split(self, ctx: Context, final: Stage, family: Family, frm: Instruction,
               what: list[str]) -> Finding:
        try:
            plan = family.plan(ctx, final)
        except Blocked as exc:
            # The generic hint (`_OTHER_BUILDS`: what to copy where) stays in the message.
            hint = f" ({'; '.join(what)})" if what else ""
            return self.finding(ctx, frm, f"The final stage builds the app{hint} and ships "
                                f"the {family.name} toolchain; a builder/runtime split was "
                                f"not made: {exc}. Suggestion only.")
        trim_tail(ctx, final, plan)
        edits = [] if plan.from_edit is None else [plan.from_edit]
        inserts = dict(plan.inserts)
        end = len(ctx.text)
        sep, runtime = ctx.style.newline, plan.runtime
        if not ctx.text.endswith("\n"):
            # Keep a missing final newline missing, at the new end of the file. A
            # trimmed builder tail (`trim_tail`) leaves the builder ending in one.
            trimmed = any(b == end for _, b in plan.deletes)
            sep = ctx.style.newline * (1 if trimmed else 2)
            runtime = runtime.rstrip("\r\n")
        inserts[end] = inserts.get(end, "") + sep + runtime
        edits += [Edit(a, b, "") for a, b in plan.deletes]
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


# The programs `_builds` reads (every other command is skipped before its words are
# made), and the commands that remove build packages again.
_BUILD_PROGRAMS = frozenset({*(prog for prog, _, _ in _OTHER_BUILDS), "npm", "yarn", "pnpm",
                             "apt-get", "apt", "apk"})
_CLEANS = frozenset({("apk", "del"), ("apt-get", "purge"), ("apt-get", "remove"),
                     ("apt-get", "autoremove"), ("apt", "purge"), ("apt", "remove"),
                     ("yum", "remove"), ("dnf", "remove")})
_CLEANERS = frozenset(name for name, _ in _CLEANS)
_NODE_BUILD = "node: a build script (copy the output and production node_modules to " \
    "node:<v>-slim)"


def _builds(ctx: Context, stage: Stage) -> list[str]:
    """What the stage builds (one description per kind), in file order."""
    out: list[str] = []
    for run in shell_runs(ctx, stage):
        script = run.script
        # A function of the script's text alone: kept for the texts seen last, as the
        # parsed scripts are (the official images' variants repeat their RUNs).
        found = cast("tuple[str, ...] | None", _run_builds_memo.get(script.text))
        if found is None:
            found = tuple(_run_builds(script))
            _run_builds_memo.put(script.text, found, len(script.text))
        for desc in found:
            if desc not in out:
                out.append(desc)
    return out


_run_builds_memo = TextMemo(1 << 18)


def _run_builds(script: ShellScript) -> list[str]:
    """What one RUN's script builds (one description per kind), in command order."""
    commands = script.commands
    # A RUN that removes its build packages again (`apk del .build-deps`, `apt-get
    # purge`) already keeps the toolchain out of the image: not a split candidate.
    cleans = False
    for cmd in commands:
        if cmd.resolved_index is not None and cmd.resolved_name in _CLEANERS:
            first = cmd.resolved_args[:1]
            if first and (cmd.resolved_name, first[0].value or "") in _CLEANS:
                cleans = True
                break
    out: list[str] = []
    for cmd in commands:
        # Only the programs below describe a build: the others' words are not made
        # (most commands of a RUN are none of them).
        if cmd.resolved_index is None or cmd.resolved_name not in _BUILD_PROGRAMS:
            continue
        words = cmd_words(cmd)
        name = words[0]
        if cleans and name in ("make", "apt-get", "apt", "apk"):
            continue
        args = [w for w in words[1:] if w and not w.startswith("-")]
        for prog, subs, desc in _OTHER_BUILDS:
            if name != prog:
                continue
            # The subcommand is the first non-flag word (any goal for maven/gradle).
            goals = args if prog.startswith(("mvn", "gradle")) else args[:1]
            matched = subs == ("",) or any(a in subs for a in goals) or \
                ("" in subs and not args)
            if matched and desc not in out:
                out.append(desc)
        if name in ("npm", "yarn", "pnpm") and "build" in words[1:3] \
                and _NODE_BUILD not in out:
            out.append(_NODE_BUILD)
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
