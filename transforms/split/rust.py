"""DO101 for Rust: `cargo build` (or `cargo install --path`) in a `rust:X` image; the
binary alone on the same Debian release's `debian:X-slim`, with the shared libraries
its native dependencies link.

Image facts (docker-library/rust, rust-lang/docker-rust): ``rust:<v>[-<release>]`` is
``buildpack-deps:<release>`` (compilers and ~40 `-dev` libraries: libssl-dev,
libpq-dev, libsqlite3-dev, libcurl4-openssl-dev...) with rustup's toolchain in
``RUSTUP_HOME=/usr/local/rustup`` and ``CARGO_HOME=/usr/local/cargo``,
``PATH=/usr/local/cargo/bin:$PATH``; no WORKDIR; ``rust:<v>-slim[-<release>]`` is
``debian:<release>-slim`` with gcc and libc6-dev. Because the full image carries the
`-dev` libraries, a crate such as ``openssl-sys`` links ``libssl.so.3`` without the
Dockerfile installing anything: the runtime libraries come from the `-sys` crates in
``Cargo.lock`` as well as from the stage's own apt `-dev` packages.

The runtime must be the builder's Debian release (or newer): a binary linked against
bookworm's glibc 2.36 does not start on bullseye's 2.31. A tag that names the release
(``rust:1.77-bookworm``, ``rust:1-slim-trixie``) says it; a bare version is mapped by
when the image's default release changed (bullseye for 1.56-1.69, bookworm for
1.71-1.88, trixie from 1.90; the releases on either side of a switch, 1.70 and 1.89,
were published with both and are not guessed), and a floating tag (``rust:1``,
``latest``) is not mapped: it will move to the next release while the runtime's tag
would not.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import FULL_ONLY_TOOLS
from dockopt.transforms.images import ImageRef, parse_image_ref
from dockopt.transforms.shellfix import RunShell
from dockopt.transforms.split.common import (
    ASSET_DIRS,
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
    walk_stage,
)
from dockopt.transforms.split.native import context_path
from dockopt.transforms.split.packages import (
    AptPackages,
    apt_run,
    read_installs,
    runtime_library,
    runtime_packages,
)

# The rust image's CARGO_HOME and PATH (docker-library/rust).
CARGO_HOME = "/usr/local/cargo"
_RUST_PATH = ("/usr/local/cargo/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
              "/usr/bin", "/sbin", "/bin")
# debian:X-slim's PATH: a binary copied into one of these is found by its bare name.
_DEBIAN_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_RELEASES = ("bullseye", "bookworm", "trixie")
_OLD_RELEASES = ("buster", "stretch", "jessie")
# (first minor, last minor, release): the default release of `rust:1.<minor>` tags.
_DEFAULT_RELEASE = ((56, 69, "bullseye"), (71, 88, "bookworm"), (90, 999, "trixie"))
# Users every Debian image has (base-passwd).
_BASE_USERS = frozenset({"root", "daemon", "bin", "sys", "nobody", "www-data"})

# `-sys` crates (read from Cargo.lock) -> the `-dev` package whose runtime library the
# binary then needs (mapped per release by packages.RUNTIME_LIBS), "" when nothing has to
# be installed, with the reason. A `-sys` crate missing here blocks the split.
SYS_CRATES: dict[str, tuple[str, str]] = {
    # Linked against the rust image's own -dev libraries (buildpack-deps ships them).
    "openssl-sys": ("libssl-dev", "links libssl (and the program may need CA files)"),
    "libsqlite3-sys": ("libsqlite3-dev", "links libsqlite3 unless built with `bundled` "
                       "(installing it anyway is harmless)"),
    "pq-sys": ("libpq-dev", "links libpq"),
    "mysqlclient-sys": ("default-libmysqlclient-dev", "links libmysqlclient (MariaDB's "
                        "on Debian)"),
    "curl-sys": ("libcurl4-openssl-dev", "links the system libcurl when pkg-config finds "
                 "it, which the rust image has"),
    # Libraries every Debian image has (dpkg and apt link them), or always vendored.
    "libz-sys": ("", "zlib1g is in every Debian image (dpkg links it)"),
    "bzip2-sys": ("", "libbz2-1.0 is in every Debian image (dpkg links it)"),
    "lzma-sys": ("", "liblzma5 is in every Debian image (dpkg links it)"),
    "zstd-sys": ("", "libzstd1 is in every Debian image (dpkg links it); the crate builds "
                 "zstd statically by default"),
    "aws-lc-sys": ("", "AWS-LC is always built from the crate's sources, statically"),
    "libgit2-sys": ("", "libgit2 is built from the crate's sources unless the system has "
                    "libgit2-dev (an apt libgit2-dev is then mapped, or blocks)"),
    # Bindings with no library on Linux (other platforms, syscalls, wasm).
    "linux-raw-sys": ("", "syscall definitions, no library"),
    "windows-sys": ("", "Windows only"),
    "js-sys": ("", "WebAssembly only"),
    "web-sys": ("", "WebAssembly only"),
    "core-foundation-sys": ("", "macOS only"),
    "security-framework-sys": ("", "macOS only"),
    "system-configuration-sys": ("", "macOS only"),
    "fsevent-sys": ("", "macOS only"),
    "objc-sys": ("", "macOS only"),
    "io-kit-sys": ("", "macOS only"),
    "inotify-sys": ("", "the C library's inotify calls, no other library"),
}
# Crates that read the system's CA certificates at run time: the runtime needs
# ca-certificates (the rust image has it, debian:X-slim does not).
_CA_CRATES = frozenset({"openssl-sys", "openssl-probe", "native-tls", "rustls-native-certs",
                        "rustls-platform-verifier"})
# apt packages a Rust build uses only at build time, beyond packages.is_build_only's:
# bindgen's libclang, protoc and its headers (prost generates Rust code from them),
# musl's gcc wrapper, linkers.
_RUST_BUILD_ONLY = frozenset({"libclang-dev", "protobuf-compiler", "libprotobuf-dev",
                              "musl-tools", "musl-dev", "mold", "lld", "clang", "llvm",
                              "llvm-dev", "perl", "cmake", "pkg-config", "pkgconf"})
# Build-time environment: stays in the builder.
_BUILD_ENV = lazy(r"(CARGO_\w*|RUSTUP_\w*|RUSTFLAGS|RUSTDOCFLAGS|RUSTC_\w*|"
                        r"RUST_VERSION|RUSTC)")
# Commands a RUN before the build may run (fetch, prepare, install toolchains).
_PREP_COMMANDS = frozenset({
    "cd", "echo", "true", "set", "export", "rm", "mkdir", "git", "curl", "wget", "tar",
    "ls", "cat", "chmod", "test", "[", "rustup", "rustc", "cargo", "update-ca-certificates",
    "touch", "apt-get", "apt", "apt-cache", "which", "useradd", "groupadd", "adduser",
    "addgroup",
})
# After the cargo command, in its RUN: copies of the binary, strip, cleanups.
_AFTER_BUILD_OK = frozenset({"cp", "mv", "install", "strip", "rm", "echo", "ls", "true"})
# Rust code that reads files at run time (they would have to move too).
_RUST_FILE_ACCESS = lazy(
    r"\b(?:File::open|fs::read(?:_to_string|_dir)?|OpenOptions::new|ServeDir::new|"
    r"Tera::new|Handlebars::|NamedFile::open|dotenv(?:y)?::|config::File::)\s*[(<]?")
_CARGO_VALUE_FLAGS = frozenset({
    "-p", "--package", "--bin", "--example", "--test", "--bench", "-F", "--features",
    "--target", "--target-dir", "--profile", "-j", "--jobs", "--manifest-path", "--exclude",
    "--color", "--message-format", "--config", "-Z", "--path", "--root", "--version",
    "--git", "--branch", "--tag", "--rev", "--registry", "--index", "--lockfile-path",
})


def rust_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """``FROM rust`` with a `cargo build`/`cargo install` (``_builds`` saw it)."""
    return ref.repository == "rust" and any(w.startswith("Rust:") for w in what)


# --- the runtime image -----------------------------------------------------------------


def runtime_image(ref: ImageRef) -> tuple[str, str]:
    """(``debian:<release>-slim``, release) for the rust image ``ref``; raises when the
    Debian release is not certain."""
    words = (ref.tag or "latest").lower().split("-")
    if ref.digest:
        raise Blocked(f"{ref.text} pins a digest: which Debian release it is cannot be read")
    for w in words:
        if w.startswith("alpine"):
            raise Blocked(f"{ref.text} is Alpine (musl): the runtime's Alpine release is not "
                          "mapped")
        if w in _OLD_RELEASES:
            raise Blocked(f"{ref.text} is Debian {w}, which is past its support")
        if w in _RELEASES:
            return f"debian:{w}-slim", w
    version = next((w for w in words if re.fullmatch(r"\d+(\.\d+){1,2}", w)), None)
    if version is not None:
        minor = int(version.split(".")[1])
        for first, end, release in _DEFAULT_RELEASE:
            if first <= minor <= end and version.startswith("1."):
                return f"debian:{release}-slim", release
    raise Blocked(f"the tag of {ref.text} names no Debian release (write it, e.g. "
                  f"rust:<v>-bookworm): a binary built on a newer glibc does not start on an "
                  "older runtime")


# --- the cargo command -----------------------------------------------------------------


@dataclass
class _Cargo:
    install: bool
    profile: str  # the folder under target/: debug, release or a custom profile
    triple: str | None  # --target
    packages: list[str]  # -p
    bins: list[str] | None  # --bin (None: every binary of the selected packages)
    manifest: str | None  # --manifest-path
    path: str | None  # cargo install --path
    root: str | None  # cargo install --root
    all_members: bool  # --workspace / --all
    text: str  # the command as written (for the dependency step)


def _is_cargo_build(cmd: SimpleCommand) -> bool:
    words = cmd_words(cmd)
    if words[:2] == ["cargo", "build"]:
        return True
    return words[:2] == ["cargo", "install"] and any(
        w == "--path" or w.startswith("--path=") for w in words[2:])


def _read_cargo(run: RunShell, cmd: SimpleCommand) -> _Cargo:
    words = cmd_words(cmd)
    if any(w.value is None for w in cmd.resolved_args):
        raise Blocked(f"line {run.ins.start_line}: cargo has an argument built from a "
                      "variable")
    install = words[1] == "install"
    profile = "release" if install else "debug"
    out = _Cargo(install, profile, None, [], None, None, None, None, False,
                 run.src.text[cmd.start:cmd.end])
    i = 2
    while i < len(words):
        w = words[i]
        flag, eq, value = w.partition("=")
        if flag in _CARGO_VALUE_FLAGS and not eq and w.startswith("-"):
            if i + 1 >= len(words):
                raise Blocked(f"cargo {flag} has no value")
            value = words[i + 1]
            i += 1
        if flag in ("--release", "-r"):
            out.profile = "release"
        elif flag == "--debug" and install:
            out.profile = "debug"
        elif flag == "--profile":
            out.profile = {"dev": "debug", "test": "debug", "bench": "release"}.get(value,
                                                                                     value)
        elif flag == "--target":
            if "," in value or value.endswith(".json"):
                raise Blocked("cargo --target names several targets or a target file")
            out.triple = value
        elif flag in ("-p", "--package"):
            out.packages.append(value)
        elif flag == "--bin":
            out.bins = (out.bins or []) + [value]
        elif flag in ("--bins",):
            pass
        elif flag in ("--workspace", "--all"):
            out.all_members = True
        elif flag == "--manifest-path":
            out.manifest = value
        elif flag == "--path":
            out.path = value
        elif flag == "--root":
            out.root = value
        elif flag in ("--target-dir", "--example", "--examples", "--config", "-Z",
                      "--out-dir", "--artifact-dir"):
            raise Blocked(f"cargo {flag} changes where or what it builds")
        elif not w.startswith("-") and install:
            raise Blocked("cargo install names a crate as well as --path")
        i += 1
    for assignment in cmd.env:
        name = assignment.text.partition("=")[0]
        if name in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "CARGO_BUILD_TARGET_DIR",
                    "CARGO_INSTALL_ROOT", "CARGO_HOME"):
            raise Blocked(f"{name} is set for cargo, which moves its output")
    return out


# --- Cargo.toml and the binaries ---------------------------------------------------------


@dataclass
class _Project:
    root: str  # the workspace (or package) folder in the image: target/ is here
    packages: dict[str, list[str]]  # package name -> its binaries
    folders: dict[str, str]  # package name -> its folder in the image
    deps: bool  # any [dependencies]/[build-dependencies]
    lock: str | None  # Cargo.lock's text
    path_deps: bool  # a dependency with `path =` (the dependency step needs its folder)
    simple: bool  # one package, targets only src/main.rs (+ src/lib.rs): dummy step ok


@dataclass
class _Files:
    copies: list[tuple[Instruction, str]] = field(default_factory=list)

    def read(self, ctx: Context, path: str) -> str | None:
        rel = context_path(self.copies, path, ctx)
        return ctx.read_context_file(rel) if rel is not None else None

    def rel(self, ctx: Context, path: str) -> str | None:
        return context_path(self.copies, path, ctx)


def _toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Blocked(f"{where} does not parse ({exc})") from exc


def _has_deps(doc: dict[str, Any]) -> tuple[bool, bool]:
    """(any dependency, any `path =` dependency) in the manifest's dependency tables."""
    tables: list[Any] = [doc.get("dependencies"), doc.get("build-dependencies")]
    for target in (doc.get("target") or {}).values():
        if isinstance(target, dict):
            tables += [target.get("dependencies"), target.get("build-dependencies")]
    ws = doc.get("workspace")
    if isinstance(ws, dict):
        tables.append(ws.get("dependencies"))
    deps = path = False
    for t in tables:
        if isinstance(t, dict) and t:
            deps = True
            path = path or any(isinstance(v, dict) and "path" in v for v in t.values())
    return deps, path


def _bins(ctx: Context, files: _Files, folder: str, doc: dict[str, Any], where: str
          ) -> tuple[str, list[str], bool]:
    """(package name, binary names, whether its only targets are src/main.rs and
    src/lib.rs)."""
    pkg = doc.get("package")
    if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
        raise Blocked(f"{where} has no [package] name")
    name: str = pkg["name"]
    bins: list[str] = []
    declared = doc.get("bin") or []
    for b in declared:
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise Blocked(f"{where} has a [[bin]] without a name")
        bins.append(b["name"])
    build = ctx.build
    src = files.rel(ctx, posixpath.join(folder, "src"))
    listing = build.listdir(src) if build is not None and src is not None else []
    if pkg.get("autobins", True) is not False:
        if "main.rs" in listing and name not in bins:
            bins.append(name)
        if "bin" in listing and build is not None and src is not None:
            for entry in build.listdir(posixpath.join(src, "bin")):
                stem = entry[:-3] if entry.endswith(".rs") else entry
                if stem not in bins and (entry.endswith(".rs") or build.is_file(
                        posixpath.join(src, "bin", entry, "main.rs"))):
                    bins.append(stem)
    simple = (not declared and "lib" not in doc and "build" not in pkg
              and not any(k in doc for k in ("example", "test", "bench"))
              and "main.rs" in listing and "bin" not in listing
              and not (build is not None and src is not None
                       and build.is_file(posixpath.join(posixpath.dirname(src), "build.rs"))))
    return name, bins, simple


def _project(ctx: Context, files: _Files, folder: str, cargo: _Cargo) -> _Project:
    manifest = posixpath.join(folder, "Cargo.toml")
    text = files.read(ctx, manifest)
    if text is None:
        raise Blocked(f"{manifest} does not come from the build context, so the binary's "
                      "name is not certain")
    doc = _toml(text, manifest)
    for config in (".cargo/config.toml", ".cargo/config"):
        conf = files.read(ctx, posixpath.join(folder, config))
        if conf is not None and re.search(r"^\s*(target-dir|target)\s*=", conf, re.M):
            raise Blocked(f"{config} sets the build target or target-dir")
    deps, path_deps = _has_deps(doc)
    packages: dict[str, list[str]] = {}
    folders: dict[str, str] = {}
    simple = False
    ws = doc.get("workspace")
    if isinstance(ws, dict):
        members = ws.get("members") or []
        if not isinstance(members, list) or ws.get("exclude"):
            raise Blocked(f"{manifest}: the workspace members are not a plain list")
        found: list[str] = []
        for m in members:
            if not isinstance(m, str):
                raise Blocked(f"{manifest}: a workspace member is not a string")
            if any(c in m for c in "*?["):
                base = files.rel(ctx, folder)
                if base is None or ctx.build is None:
                    raise Blocked(f"{manifest}: the member glob {m} cannot be expanded")
                pattern = posixpath.join(base, m, "Cargo.toml") if base else \
                    posixpath.join(m, "Cargo.toml")
                found += [posixpath.join(folder, posixpath.relpath(posixpath.dirname(p),
                                                                   base or "."))
                          for p in ctx.build.glob(pattern)]
            else:
                found.append(posixpath.normpath(posixpath.join(folder, m)))
        if "package" in doc:
            found.append(folder)
        for member in found:
            where = posixpath.join(member, "Cargo.toml")
            mtext = files.read(ctx, where)
            if mtext is None:
                raise Blocked(f"the workspace member {where} does not come from the build "
                              "context")
            mdoc = _toml(mtext, where)
            name, bins, _ = _bins(ctx, files, member, mdoc, where)
            deps = deps or _has_deps(mdoc)[0]
            path_deps = True  # members depend on each other by path
            packages[name], folders[name] = bins, member
        if ws.get("default-members") and not (cargo.packages or cargo.all_members):
            raise Blocked(f"{manifest} sets default-members")
    else:
        name, bins, simple = _bins(ctx, files, folder, doc, manifest)
        packages[name], folders[name] = bins, folder
    lock = files.read(ctx, posixpath.join(folder, "Cargo.lock"))
    return _Project(folder, packages, folders, deps, lock, path_deps, simple)


def _built_binaries(project: _Project, cargo: _Cargo) -> list[str]:
    selected = list(project.packages)
    if cargo.packages:
        unknown = [p for p in cargo.packages if p not in project.packages]
        if unknown:
            raise Blocked(f"cargo -p {unknown[0]} names no package of the build")
        selected = cargo.packages
    names = [b for p in selected for b in project.packages[p]]
    if cargo.bins is not None:
        missing = [b for b in cargo.bins if b not in names]
        if missing:
            raise Blocked(f"cargo --bin {missing[0]} names no binary the build files declare")
        names = cargo.bins
    return names


def _native_libraries(project: _Project, release: str) -> tuple[list[str], list[str]]:
    """The runtime packages the `-sys` crates of Cargo.lock need, and why."""
    if project.lock is None:
        if project.deps:
            raise Blocked("no Cargo.lock in the build context: which native libraries the "
                          "dependencies link is not certain")
        return [], []
    doc = _toml(project.lock, "Cargo.lock")
    crates = {p.get("name") for p in doc.get("package") or [] if isinstance(p, dict)}
    packages: list[str] = []
    why: list[str] = []
    for crate in sorted(c for c in crates if isinstance(c, str) and c.endswith("-sys")):
        if crate not in SYS_CRATES:
            raise Blocked(f"the crate {crate} links a native library whose runtime package "
                          "is not known")
        dev, reason = SYS_CRATES[crate]
        if not dev:
            continue
        lib = runtime_library(dev, "debian", release)
        if not lib:
            raise Blocked(f"the runtime library of {crate} ({dev}) on Debian {release} is "
                          "not known")
        if lib not in packages:
            packages.append(lib)
            why.append(f"{lib} for the crate {crate} ({reason})")
    if crates & _CA_CRATES:
        packages.append("ca-certificates")
        why.append("ca-certificates (" + ", ".join(sorted(c for c in crates & _CA_CRATES
                                                          if isinstance(c, str)))
                   + " read the system's CA certificates)")
    return packages, why


# --- the plan ----------------------------------------------------------------------------


def rust_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    ref = parse_image_ref(final.base)
    assert ref is not None
    image, release = runtime_image(ref)
    walk = walk_stage(ctx, final, lambda r: any(_is_cargo_build(c) for c in
                                                r.script.commands), "/")
    files = _Files()
    here = "/"
    for ins in final.body:
        if ins.start >= walk.build.ins.start:
            break
        if ins.keyword == "WORKDIR" and ins.value:
            here = posixpath.normpath(posixpath.join(here, ins.value[0]))
        if ins.keyword in ("COPY", "ADD"):
            if any(f.startswith("--from") for f in ins.flags):
                raise Blocked(f"line {ins.start_line}: {ins.keyword} --from another image")
            files.copies.append((ins, here))
    apt = AptPackages()
    users: set[str] = set()
    for run in walk.runs_before:
        _check_prep(run, apt, users)
    cargo, cwd, after = _build_command(walk.build, here, apt)  # WORKDIR at the build
    folder = cwd
    if cargo.manifest is not None:
        folder = posixpath.normpath(posixpath.join(cwd, posixpath.dirname(cargo.manifest)))
    if cargo.path is not None:
        folder = posixpath.normpath(posixpath.join(cwd, cargo.path))
    env = _env(walk.keep, walk.build.ins)
    if ctx.build is None:
        project = None
        names: list[str] = []
    else:
        project = _project(ctx, files, folder, cargo)
        names = _built_binaries(project, cargo)
    root = project.root if project is not None else folder
    if cargo.install:
        if cargo.root is not None:
            bindir = posixpath.normpath(posixpath.join(cwd, cargo.root, "bin"))
        else:
            if "CARGO_INSTALL_ROOT" in env:
                raise Blocked("CARGO_INSTALL_ROOT moves cargo install's output")
            bindir = posixpath.join(env.get("CARGO_HOME", CARGO_HOME), "bin")
        made = {posixpath.join(bindir, n): n for n in names}
    else:
        if "CARGO_TARGET_DIR" in env or "CARGO_BUILD_TARGET" in env:
            raise Blocked("CARGO_TARGET_DIR/CARGO_BUILD_TARGET move cargo's output")
        outdir = posixpath.join(root, "target", *([cargo.triple] if cargo.triple else []),
                                cargo.profile)
        made = {posixpath.join(outdir, n): n for n in names}
    for src, dest in after:
        if src in made:
            made[dest] = made[src]
    entry, cmd = last(walk.keep, "ENTRYPOINT"), last(walk.keep, "CMD")
    if entry is not None and not entry.is_json and cmd is not None:
        raise Blocked("a shell-form ENTRYPOINT ignores CMD")
    head, argv = image_command(walk.keep, "no CMD or ENTRYPOINT runs the binary")
    program = argv[0] if argv else ""
    if not PLAIN_WORD.fullmatch(program):
        raise Blocked(f"{head.keyword} does not run a plain path")
    workdir = walk.workdir or "/"
    if "/" in program:
        candidates = [posixpath.normpath(posixpath.join(workdir, program))]
    else:
        candidates = [posixpath.join(d, program) for d in _RUST_PATH]
    binary = next((c for c in candidates if c in made), None)
    if binary is None and project is None:
        binary = _without_context(cargo, candidates, root, cwd, env)
    if binary is None:
        built = ", ".join(sorted(made)) or "no binary"
        raise Blocked(f"{head.keyword} runs {program}, but the build makes {built}")
    dest = binary
    if "/" not in program and posixpath.dirname(binary) not in _DEBIAN_PATH:
        dest = posixpath.join("/usr/local/bin", program)  # debian's PATH lacks cargo's bin
    _check_context(ctx)
    packages, why = _apt_runtime(apt, release)
    if project is not None:
        more, more_why = _native_libraries(project, release)
        for p, w in zip(more, more_why, strict=True):
            if p not in packages:
                packages.append(p)
                why.append(w)
    env_lines, keep_lines, dropped = _settings(ctx, walk.keep, users)
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("rust", builder, from_edit)
    plan.protected = [binary]
    how = "cargo install" if cargo.install else f"cargo build ({cargo.profile} profile)"
    plan.moved = [f"the binary {binary} ({how})" + (f" as {dest}" if dest != binary else "")]
    if packages:
        plan.moved.append("apt packages " + ", ".join(why) + " (the shared libraries the "
                          "binary links; compilers and headers stay behind)")
    plan.moved.append(f"base {image} (the Debian release the builder used, so its glibc "
                      "matches the binary's)")
    kept = [next(ln for ln in line.split("\n") if not ln.lstrip().startswith("#"))
            .split(None, 1)[0].upper() for line in env_lines + keep_lines]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    if dropped:
        plan.notes.append(f"Left in the builder: {', '.join(dropped)} (cargo/rustup "
                          "settings; the runtime runs no toolchain).")
    if project is None:
        plan.notes.append(f"Without the build context the binary's name is taken from "
                          f"{head.keyword}, not checked against Cargo.toml, and the native "
                          "libraries of the dependencies cannot be read.")
    else:
        _dependency_step(ctx, walk.build.ins, files, project, cargo, cwd, plan)
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    lines = keep_lines + env_lines
    args = [block(tree, a) for a in walk.args] if any("$" in x for x in lines) else []
    plan.runtime = render("rust", style, {
        "image": image, "builder": builder, "workdir": walk.workdir, "env": env_lines,
        "apt": apt_run(style, packages) if packages else "", "outputs": [(binary, dest)],
        "args": args, "keep": keep_lines})
    return plan


def _without_context(cargo: _Cargo, candidates: Sequence[str], root: str, cwd: str,
                     env: dict[str, str]) -> str | None:
    """No build context: trust a CMD naming a file in cargo's output folder."""
    if cargo.install:
        folder = posixpath.normpath(posixpath.join(cwd, cargo.root, "bin")) if cargo.root \
            else posixpath.join(env.get("CARGO_HOME", CARGO_HOME), "bin")
    else:
        folder = posixpath.join(root, "target", *([cargo.triple] if cargo.triple else []),
                                cargo.profile)
    return next((c for c in candidates if posixpath.dirname(c) == folder), None)


def _check_prep(run: RunShell, apt: AptPackages, users: set[str]) -> None:
    for cmd in run.script.commands:
        if read_installs(cmd, run.ins.start_line, apt):
            continue
        words = cmd_words(cmd)
        if not words:
            if cmd.words:
                raise Blocked(f"line {run.ins.start_line}: a command name comes from a "
                              "variable")
            continue
        if words[0] in ("useradd", "adduser", "groupadd", "addgroup"):
            users.update(w for w in words[1:] if w and not w.startswith("-"))
        if words[0] == "cargo" and words[1:2] == ["install"]:
            raise Blocked(f"line {run.ins.start_line}: cargo install puts a program in "
                          "cargo's bin folder, which the runtime would not have")
        if words[0] not in _PREP_COMMANDS:
            raise Blocked(f"line {run.ins.start_line}: `{' '.join(words[:3])}` may make "
                          "something the program needs at run time")


def _build_command(run: RunShell, workdir: str, apt: AptPackages
                   ) -> tuple[_Cargo, str, list[tuple[str, str]]]:
    """The cargo command of the build RUN, the folder it runs in, and the copies after
    it (source, destination), absolute."""
    cwd = workdir
    cargo: _Cargo | None = None
    copies: list[tuple[str, str]] = []
    line = run.ins.start_line
    for cmd in run.script.commands:
        words = cmd_words(cmd)
        if not words:
            continue
        if cargo is None:
            if _is_cargo_build(cmd):
                cargo = _read_cargo(run, cmd)
                continue
            if words[0] == "cd":
                if len(words) != 2 or cmd.resolved_args[0].value is None:
                    raise Blocked(f"line {line}: `cd` without a plain folder")
                cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
                continue
            if read_installs(cmd, line, apt):
                continue
            if words[0] not in _PREP_COMMANDS:
                raise Blocked(f"line {line}: `{' '.join(words[:3])}` may make something "
                              "the program needs at run time")
            continue
        if words[0] not in _AFTER_BUILD_OK:
            raise Blocked(f"line {line}: `{words[0]}` runs after the build and may make "
                          "something the program needs at run time")
        if words[0] in ("cp", "mv", "install"):
            args = [w for w in words[1:] if not w.startswith("-")]
            if words[0] == "install" and any(w in ("-d", "--directory") for w in words):
                continue
            if len(args) != 2:
                continue  # not followed: a binary copied this way stays unknown
            src = posixpath.normpath(posixpath.join(cwd, args[0]))
            dest = posixpath.normpath(posixpath.join(cwd, args[1]))
            if args[1].endswith("/") or dest in _DEBIAN_PATH or dest in _RUST_PATH:
                dest = posixpath.join(dest, posixpath.basename(src))
            copies.append((src, dest))
    assert cargo is not None  # walk_stage chose this RUN for its cargo build
    return cargo, cwd, copies


def _env(keep: list[Instruction], build: Instruction) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in keep:
        if ins.keyword == "ENV" and ins.start < build.start:
            v = ins.value
            for i in range(0, len(v) - 1, 2):
                env[v[i]] = v[i + 1]
    return env


def _apt_runtime(apt: AptPackages, release: str) -> tuple[list[str], list[str]]:
    if apt.manager == "apk":
        raise Blocked("apk on a Debian image")
    kept = AptPackages([p for p in apt.installed
                        if p.split("=", 1)[0].lower() not in _RUST_BUILD_ONLY], apt.manager)
    return runtime_packages(kept, "debian", release)


def _settings(ctx: Context, keep: list[Instruction], users: set[str]
              ) -> tuple[list[str], list[str], list[str]]:
    tree = ctx.tree
    dropped: list[str] = []
    kept: list[Instruction] = []
    for ins in keep:
        kw = ins.keyword
        if kw == "ENV":
            keys = [ins.value[i] for i in range(0, len(ins.value), 2)]
            build_keys = [k for k in keys if _BUILD_ENV.fullmatch(k)]
            if build_keys and len(build_keys) == len(keys):
                dropped.append(f"ENV {' '.join(keys)}")
                continue
            # Mixed with app variables: kept whole (harmless in the runtime).
            if any(k in ("PATH", "LD_LIBRARY_PATH") for k in keys):
                raise Blocked(f"line {ins.start_line}: ENV sets PATH or LD_LIBRARY_PATH, "
                              "which differ in the runtime image")
        if kw == "USER" and ins.value:
            user = ins.value[0].split(":")[0]
            if not user.isdigit() and (user not in _BASE_USERS or user in users):
                raise Blocked(f"USER {user} is created in the builder; the runtime image "
                              "does not have it")
        if kw == "HEALTHCHECK":
            words = set(re.findall(r"[\w.+-]+", ins.args.text))
            missing = sorted(words & set(FULL_ONLY_TOOLS))
            if missing:
                raise Blocked(f"HEALTHCHECK uses {missing[0]}, which debian:X-slim lacks")
        kept.append(ins)
    env_lines, keep_lines = settings_lines(tree, kept)
    return env_lines, keep_lines, dropped


def _check_context(ctx: Context) -> None:
    build = ctx.build
    if build is None:
        return
    for d in sorted(ASSET_DIRS):
        if d in build.dirs:
            raise Blocked(f"the context has {d}/, files the program may read at run time")
    sources = [f for f in sorted(build.files) if f.endswith(".rs")
               and not f.startswith(("target/", "tests/", "benches/", "examples/"))
               and posixpath.basename(f) != "build.rs"]
    for rel in sources[:500]:
        m = _RUST_FILE_ACCESS.search(build.read_text(rel) or "")
        if m:
            raise Blocked(f"{rel} reads files at run time ({m.group(0).rstrip('(< ')}), "
                          "which would have to move too")


# --- the dependency step -------------------------------------------------------------------


def _dependency_step(ctx: Context, build: Instruction, files: _Files,
                     project: _Project, cargo: _Cargo, cwd: str, plan: Plan) -> None:
    """Before the copy of the whole project: copy Cargo.toml and Cargo.lock, build the
    dependencies against a dummy `src/main.rs`, then remove the dummy and the package's
    own build records, so the dependencies stay in a cached layer and a source change
    recompiles only the package. Removing the records matters: COPY keeps the context
    files' modification times, which may be older than the dummy build's, and cargo
    would then keep the dummy binary. Only for the plain shape (one package,
    src/main.rs, Cargo.lock, the whole context copied into the folder cargo builds in,
    or the manifests copied there first and the sources after); otherwise a note says
    why there is none. Both cache policies get it: it is a layer, not a cache mount
    (the registry cache would have to be mounted on the user's build RUN too)."""
    why = _no_dependency_step(build, files, project, cargo, cwd)
    if isinstance(why, str):
        plan.notes.append(f"No dependency-caching step: {why}.")
        return
    copy, manifests = why
    style = ctx.style
    name = next(iter(project.packages))
    crate = name.replace("-", "_")
    target = posixpath.join("target", *([cargo.triple] if cargo.triple else []),
                            cargo.profile)
    step = style.join_and([
        "mkdir -p src", "echo 'fn main() {}' > src/main.rs", cargo.text,
        f"rm -rf src {target}/.fingerprint/{name}-* {target}/deps/{crate}-* "
        f"{target}/{name}*"])
    above = ctx.tree.owned_comments(copy)
    at = above[0].start if above else copy.start
    text = style.instruction("COPY", manifests) if manifests else ""
    plan.inserts[at] = plan.inserts.get(at, "") + text + style.instruction("RUN", step)
    plan.notes.append("The builder first compiles the dependencies from Cargo.toml and "
                      "Cargo.lock against a dummy src/main.rs in their own cached layer, "
                      "then removes the dummy and its build records (so the real sources, "
                      "whatever their timestamps, are compiled), so a source change "
                      "recompiles only the package.")


def _no_dependency_step(build: Instruction, files: _Files, project: _Project, cargo: _Cargo,
                        cwd: str
                        ) -> str | tuple[Instruction, str | None]:
    if cargo.install:
        return "cargo install keeps its own build folder"
    if not project.simple or len(project.packages) != 1:
        return "the package has other targets than src/main.rs, or is a workspace"
    if project.path_deps:
        return "a path dependency would have to be copied first"
    if project.lock is None:
        return "there is no Cargo.lock"
    copies = [(i, h) for i, h in files.copies if i.start < build.start]
    if any(i.flags for i, _ in copies):
        return "a COPY before the build has flags"
    first, here = copies[0] if copies else (None, "")
    if first is None or len(first.value) < 2:
        return "the sources are not copied into the image"
    dest = posixpath.normpath(posixpath.join(here, first.value[-1]))
    if dest != project.root or cwd != project.root:
        return "the project is not copied into the folder cargo runs in"
    names = {posixpath.normpath(v) for v in first.value[:-1]}
    if len(copies) == 1 and names == {"."} and here == project.root:
        # `COPY . .`: the manifests are copied on their own first.
        folder = first.value[-1]
        return first, "Cargo.toml Cargo.lock " + (folder if folder.endswith("/")
                                                  else folder + "/")
    if len(copies) == 2 and names == {"Cargo.toml", "Cargo.lock"} and \
            copies[1][1] == project.root:
        return copies[1][0], None  # the manifests come first already
    return "the sources are not copied with one `COPY . <folder>` or after the manifests"
