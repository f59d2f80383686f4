"""DO605 full-base-image: the final stage uses a full language image where -slim would do."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.context.manifests.installs import Install, classify, install_cwd
from dockopt.transforms.context.manifests.paths import ImageView, join_path
from dockopt.transforms.images import ImageFacts, ImageRef, facts_for, parse_image_ref
from dockopt.transforms.shellfix import STATEFUL, RunShell, shell_runs

# Packages that make a build toolchain (apt names); any `*-dev` package counts too.
BUILD_PACKAGES = frozenset({
    "build-essential", "gcc", "g++", "make", "cmake", "autoconf", "automake", "libtool",
    "pkg-config", "pkgconf", "clang", "gfortran", "cargo", "rustc", "node-gyp", "cpp",
    "binutils", "dpkg-dev", "ninja-build", "meson",
})
# Programs the full (buildpack-deps based) images ship and the -slim ones do not,
# mapped to the apt package that provides them (installing it first is fine).
FULL_ONLY_TOOLS: dict[str, str] = {
    "git": "git", "curl": "curl", "wget": "wget", "ssh": "openssh-client",
    "scp": "openssh-client", "sftp": "openssh-client", "ssh-keyscan": "openssh-client",
    "make": "make", "gcc": "gcc", "g++": "g++", "cc": "gcc", "c++": "g++", "cpp": "cpp",
    "autoconf": "autoconf", "automake": "automake", "libtool": "libtool",
    "pkg-config": "pkg-config", "patch": "patch", "unzip": "unzip", "file": "file",
    "hg": "mercurial", "svn": "subversion", "bzr": "bzr", "gpg": "gnupg",
    "convert": "imagemagick", "identify": "imagemagick", "xz": "xz-utils",
    "bzip2": "bzip2", "ps": "procps", "node-gyp": "node-gyp",
}
# The node images: node-gyp needs python3, which only the full image has.
_NODE_ONLY_TOOLS = {"python": "python3", "python3": "python3"}
# Dependencies known to compile native code at install time, or to need shared
# libraries (-dev in the full image) that the slim image lacks.  Deliberately not
# listed: packages with manylinux/prebuilt binaries for glibc (numpy, lxml, cffi,
# psycopg2-binary, cryptography, esbuild...).
NATIVE_NPM = frozenset({
    "bcrypt", "sharp", "node-sass", "canvas", "sqlite3", "better-sqlite3", "argon2",
    "node-gyp", "re2", "grpc", "libxmljs", "libxmljs2", "zeromq", "usb", "serialport",
    "@serialport/bindings-cpp", "leveldown", "fibers", "deasync", "microtime", "kerberos",
    "node-expat", "iconv", "ffi-napi", "ref-napi", "epoll", "node-pty", "isolated-vm",
    "oracledb", "ibm_db", "odbc", "farmhash", "hiredis", "couchbase", "dtrace-provider",
})
NATIVE_PYPI = frozenset({
    "psycopg2", "mysqlclient", "pycrypto", "uwsgi", "python-ldap", "pyodbc", "mod-wsgi",
    "pycurl", "python-magic", "weasyprint", "cairocffi", "pycairo", "pygobject",
    "dbus-python", "gssapi", "pykerberos", "kerberos", "xmlsec", "m2crypto", "pyaudio",
    "pygraphviz", "pyldap", "mysql-python", "cx-oracle", "pymssql", "python-poppler",
    "wand", "gdal", "osgeo",
})
_INSTALLERS = {
    "npm": ("install", "ci", "i", "rebuild", "add"),
    "yarn": ("", "install", "add"),
    "pnpm": ("install", "i", "add"),
    "pip": ("install",), "pip3": ("install",), "pipenv": ("install", "sync"),
    "poetry": ("install",), "uv": ("pip", "sync"),
    "bundle": ("install", ""), "gem": ("install",),
}
_TOKEN = lazy(r"@?[A-Za-z0-9][A-Za-z0-9._/-]*")


def _norm_pkg(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class FullBaseImage(Transform):
    """The final stage is built on a full language image; its -slim variant would do.

    What it does:
        For the final stage only, rewrites the tag of an official image that has a
        `-slim` variant to that variant, keeping the rest of the tag: `node:20` →
        `node:20-slim`, `node:18.19.1-bookworm` → `node:18.19.1-bookworm-slim`,
        `python:3.11` → `python:3.11-slim`, `python:3.12-bookworm` →
        `python:3.12-slim-bookworm`, `ruby:3.3` → `ruby:3.3-slim`, `perl:5.38` →
        `perl:5.38-slim`, `debian:bookworm` → `debian:bookworm-slim`. Only the
        image text changes: `--platform`, registry prefix and `AS name` stay as
        written. Images without a slim variant (golang, php, openjdk, ubuntu...),
        tags that already are `-slim`/`-alpine`, and ARG-based FROMs are skipped.

        With `[tool.dockopt.rules.full-base-image] allow-alpine = true` it moves to
        `-alpine` instead, when the final stage runs no apt/dpkg and installs no
        dependencies (musl breaks glibc wheels and native modules).

        It reports, without a fix, a final stage that:
        - has ONBUILD triggers (they run in images built from this one);
        - pins the image by digest (the slim tag has a different digest: change
          tag and digest together by hand);
        - installs a build toolchain (build-essential, gcc, make, any `*-dev`...);
        - uses a program the full image ships and slim lacks (git, curl, wget,
          ssh, make, gcc, unzip, gpg, ps...; python3 for node), in RUN, CMD,
          ENTRYPOINT or HEALTHCHECK, without installing it first;
        - runs `bundle install`/`gem install` (most Gemfiles build native gems);
        - installs packages (npm/yarn/pnpm/pip/pipenv/poetry/uv) or copies
          artifacts from another stage, when the build context shows native
          dependencies (`binding.gyp`; npm packages such as bcrypt, sharp,
          node-sass, canvas, sqlite3; Python packages such as psycopg2,
          mysqlclient, uwsgi, python-ldap, pycurl, `--no-binary`), in the
          manifests the installs read or among the packages they name, or when
          this cannot be checked: the build context is unknown (stdin), or an
          install reads a manifest (`package.json`, `requirements.txt`,
          `pyproject.toml`, `Pipfile`...) that the context does not provide at
          the install's folder (missing, dockerignored, never copied), or its
          folder or arguments are only known at build time. Unknown is never
          taken for "no native dependencies". Manifests are located like DO601
          and DO602 do: through the COPY/ADD (or bind mount) that put them there.

    Why:
        The full images are buildpack-deps: compilers, VCS tools and hundreds of
        -dev libraries a running app does not need. The slim variants are about
        a fifth of the size (approximate figures, linux/amd64: node:20 ≈ 1.1 GB vs
        node:20-slim ≈ 240 MB; python:3.12 ≈ 1 GB vs python:3.12-slim ≈ 150 MB),
        pull faster and carry far fewer CVEs.

    Example:
        `FROM node:20 AS app` → `FROM node:20-slim AS app`

    Fix safety:
        Unsafe: the slim image lacks tools and libraries; something the app uses at
        run time may be missing although no rule above saw it.

    References:
        https://hub.docker.com/_/node (Image Variants);
        https://hub.docker.com/_/python (Image Variants)
    """

    code = "DO605"
    reads_context = True
    name = "full-base-image"
    fix_title = "Use the -slim variant of the base image"
    default_safety = Safety.UNSAFE
    semantic_scope = "image"
    options: ClassVar[dict[str, type]] = {"allow-alpine": bool}

    def check(self, ctx: Context) -> Iterator[Finding]:
        stages = ctx.tree.stages
        if not stages:
            return
        final = stages[-1]
        names = {s.name for s in stages[:-1] if s.name}
        if final.base.lower() in names:
            return  # built on an earlier stage: that stage is a builder
        ref = parse_image_ref(final.base)
        if ref is None:
            return  # ARG-based or unparsable: the image is unknown
        facts = facts_for(ref)
        if facts is None or facts.slim_tag is None:
            return
        frm = final.from_instruction
        alpine = bool(ctx.options(self).get("allow-alpine", False))
        target = facts.slim_tag
        if ref.digest is not None:
            yield self.finding(ctx, frm, f"{ref.repository}:{ref.tag or 'latest'} is a full "
                               f"image; {ref.repository}:{target} is smaller, but this FROM "
                               "pins a digest, which the slim tag does not have: change tag "
                               "and digest together by hand")
            return
        reason = self._blocker(ctx, final, facts)
        if reason is not None:
            yield self.finding(ctx, frm, f"{ref.repository}:{ref.tag or 'latest'} is a full "
                               f"image, but {reason}; keeping it")
            return
        if alpine and ref.tag and not _uses_apt(ctx, final) and not _installs(ctx, final) \
                and not any(i.keyword == "COPY" and any(f.startswith("--from") for f in i.flags)
                            for i in final.body):
            target = _alpine_tag(ref.tag) or target
        fix = self._fix(ctx, frm, ref, facts, target)
        yield self.finding(ctx, frm, f"{ref.repository}:{ref.tag or 'latest'} is a full image: "
                           f"use {ref.repository}:{target}", fix=fix)

    def _blocker(self, ctx: Context, final: Stage, facts: ImageFacts) -> str | None:
        tools = dict(FULL_ONLY_TOOLS)
        if facts.repository == "node":
            tools.update(_NODE_ONLY_TOOLS)
        if facts.kind == "os":
            tools = {}  # debian vs debian-slim: the same programs, minus docs/locales
        if any(ins.keyword == "ONBUILD" for ins in final.body):
            return ("it has ONBUILD triggers, which run (and may compile) in every image "
                    "built from it")
        installed: set[str] = set()
        runs = {r.ins.start: r for r in shell_runs(ctx, final)}
        for ins in final.body:
            if ins.keyword == "RUN":
                run = runs.get(ins.start)
                if run is None:
                    if ins.passthrough or ins.heredoc_docs or ins.is_json:
                        continue
                    return "a RUN cannot be read as a shell script, so what it uses is unknown"
                for cmd in run.script.commands:
                    name = cmd.resolved_name or ""
                    if name in ("apt-get", "apt", "apk"):
                        pkgs = _apt_packages(cmd)
                        build = sorted(p for p in pkgs if p in BUILD_PACKAGES
                                       or p.endswith("-dev"))
                        if build:
                            return (f"the final stage installs a build toolchain "
                                    f"({', '.join(build[:3])}); build in another stage and "
                                    "copy the result")
                        installed |= pkgs
                    elif name in tools and tools[name] not in installed and name not in installed:
                        return (f"the final stage runs {name}, which the -slim image does not "
                                "ship (install it first, or use it in a build stage)")
                    elif name in ("bundle", "gem") and _is_install(cmd, name):
                        return (f"the final stage runs `{name} install`: Ruby gems often build "
                                "native extensions, which need the compilers of the full image")
            elif ins.keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK") and not ins.passthrough:
                words = set(re.split(r"[\s;&|()\"'\[\],]+", " ".join(ins.value)))
                used = sorted(w for w in words if w in tools and tools[w] not in installed)
                if used:
                    return (f"its {ins.keyword} runs {used[0]}, which the -slim image does not "
                            "ship")
        copies_built = any(i.keyword == "COPY" and any(f.startswith("--from") for f in i.flags)
                           for i in final.body)
        if _installs(ctx, final) or copies_built:
            what = ("installs dependencies" if _installs(ctx, final)
                    else "copies artifacts built in another stage")
            if ctx.build is None:
                return (f"the final stage {what} and the build context is unknown, so native "
                        "dependencies (which need the full image's compilers and libraries) "
                        "cannot be ruled out")
            native = native_dependencies(ctx)
            if native:
                return (f"the final stage {what} and the build context shows native "
                        f"dependencies ({', '.join(native[:3])})")
            native, unknown = install_evidence(ctx, _install_stages(ctx, final))
            if native:
                return (f"the final stage {what} and its installs name native "
                        f"dependencies ({', '.join(native[:3])})")
            if unknown is not None:
                return (f"the final stage {what} and {unknown}, so native dependencies "
                        "(which need the full image's compilers and libraries) cannot be "
                        "ruled out")
        return None

    def _fix(self, ctx: Context, frm: Instruction, ref: ImageRef, facts: ImageFacts,
             target: str) -> Fix | None:
        args = frm.args
        if not args.text.startswith(ref.text):
            return None
        if ref.tag_start is not None and ref.tag is not None:
            a, b, new = ref.tag_start, ref.tag_start + len(ref.tag), target
        else:
            a, b, new = ref.name_end, ref.name_end, f":{target}"
        start, end = args.to_physical(a), args.to_physical_end(b)
        if end - start != b - a:
            return None  # the image reference is split over lines: leave it
        size = ""
        if facts.full_mb and facts.slim_mb and not target.endswith("alpine") \
                and "alpine" not in target:
            size = (f" (approximately {facts.full_mb} MB → {facts.slim_mb} MB uncompressed; "
                    "figures from the image-facts table, they vary by version)")
        old = f"{ref.repository}:{ref.tag or 'latest'}"
        if facts.kind == "os":
            msg = (f"{old} → {ref.repository}:{target}{size}. The slim variant leaves out "
                   "documentation, man pages and most locales. Unsafe: something the app "
                   "reads from those may be missing.")
        else:
            msg = (f"{old} → {ref.repository}:{target}{size}. The final stage installs no "
                   "build toolchain and uses none of the tools only the full image ships. "
                   "Unsafe: the slim image lacks compilers, git/curl/wget and many shared "
                   "libraries the app might load at run time.")
        if "alpine" in target:
            msg += " Alpine uses musl: glibc binaries and wheels do not run there."
        return Fix((Edit(start, end, new),), Safety.UNSAFE, msg)


def _is_install(cmd: SimpleCommand, name: str) -> bool:
    subs = _INSTALLERS.get(name, ())
    args = [w.value for w in cmd.resolved_args if w.value is not None
            and not w.value.startswith("-")]
    first = args[0] if args else ""
    return first in subs


def _installs(ctx: Context, final: Stage) -> bool:
    """Whether a RUN of the stage installs language packages."""
    for run in shell_runs(ctx, final):
        for cmd in run.script.commands:
            name = cmd.resolved_name or ""
            values = [w.value for w in cmd.resolved_args]
            if name.startswith("python") and values[:3] == ["-m", "pip", "install"]:
                return True
            if name in _INSTALLERS and _is_install(cmd, name):
                return True
    return False


# What each install reads, at its working directory: any one of the names must be there.
_MANIFESTS: dict[str, tuple[str, ...]] = {
    "npm": ("package.json",), "yarn": ("package.json",), "pnpm": ("package.json",),
    "poetry": ("pyproject.toml",), "pipenv": ("Pipfile", "Pipfile.lock"),
    "uv": ("pyproject.toml",),
}
_LOCKS: dict[str, tuple[str, ...]] = {
    "npm": ("package-lock.json", "npm-shrinkwrap.json"), "poetry": ("poetry.lock",),
    "pipenv": ("Pipfile.lock",), "uv": ("uv.lock",),
}
_PIP_LOCAL = ("pyproject.toml", "setup.py", "setup.cfg")


def _install_stages(ctx: Context, final: Stage) -> list[Stage]:
    """The final stage and the stages it copies artifacts from (``COPY --from``)."""
    stages = ctx.tree.stages
    out = [final]
    for ins in final.body:
        if ins.keyword != "COPY":
            continue
        for flag in ins.flags:
            if not flag.lower().startswith("--from="):
                continue
            ref = flag.split("=", 1)[1].lower()
            for st in stages[: final.index]:
                named = (st.name and st.name.lower() == ref) or str(st.index) == ref
                if named and st not in out:
                    out.append(st)
    return out


def install_evidence(ctx: Context, stages: list[Stage]) -> tuple[list[str], str | None]:
    """Native dependencies the stages' installs name, and why some install could not
    be checked (None: every install was read).

    Each install's manifest is found with the image-path model DO601/DO602 use (the
    COPY/ADD or bind mount that put it at the install's folder, after
    ``.dockerignore``): a manifest that is missing from the context, not copied from
    it, or sits in a folder that cannot be worked out is *unknown*, never "no native
    dependencies".  Packages named on the command line are checked by name.
    """
    from dockopt.rewriter.context import BuildContext

    build = _build(ctx)
    found: list[str] = []
    unknown: str | None = None
    for stage in stages:
        for run in shell_runs(ctx, stage):
            view = ImageView(ctx, build, stage, run.ins) if isinstance(build, BuildContext) \
                else None
            top = {id(step.command): i for i, step in enumerate(run.script.top_level)
                   if step.command is not None}
            for cmd in run.script.commands:
                name = cmd.resolved_name or ""
                values = [w.value for w in cmd.resolved_args]
                pip = name.startswith("python") and values[:3] == ["-m", "pip", "install"]
                if not pip and not (name in _INSTALLERS and _is_install(cmd, name)):
                    continue
                if name in ("bundle", "gem"):
                    continue  # reported by _blocker already
                line = run.ins.start_line
                what = f"the install on line {line}"
                if any(v is None for v in values):
                    unknown = unknown or f"{what} has arguments only known at build time"
                    continue
                args = [v for v in values if v is not None]
                if "--no-binary" in " ".join(args):
                    found.append(f"--no-binary on line {line}")
                named = _named_packages(name, args)
                if name in ("npm", "pnpm", "yarn") and named[:1] == ["rebuild"]:
                    found.append(f"{name} rebuild on line {line}")
                    continue
                found += [p for p in named if _native_name(p)]
                inst = classify(cmd, top[id(cmd)]) if id(cmd) in top else None
                if inst is None:
                    if not named:
                        unknown = unknown or f"{what} reads files that cannot be located"
                    continue
                if view is None:
                    unknown = unknown or "the build context is unknown"
                    continue
                cwd = _cwd(run, inst, view.cwd)
                if cwd is None:
                    unknown = unknown or f"the folder of {what} cannot be worked out"
                    continue
                rels, missing = _install_files(inst.tool, inst.args, cwd, view, build)
                if missing is not None:
                    unknown = unknown or (f"{what} reads {missing}, which the build context "
                                          "does not provide (missing, ignored or not copied)")
                for rel in rels:
                    found += native_in_file(rel, _read(ctx, rel) or "")
    return list(dict.fromkeys(found)), unknown


def _cwd(run: RunShell, inst: Install, cwd: str) -> str | None:
    """The install's folder: DO601's ``install_cwd``, or, when that gives up only
    because of the operators between steps (``set -ex; pip install ...``), the
    RUN's folder if no step before the install can change directory."""
    got = install_cwd(run, inst, cwd)
    if got is not None or run.heredoc:
        return got
    for step in run.script.top_level[: inst.step]:
        name = step.command.name if step.command is not None else None
        if step.command is None or (name in STATEFUL and name != "set"):
            return None
    if inst.cwd is not None:
        return None if "$" in inst.cwd else join_path(cwd, inst.cwd)
    return cwd


def _install_files(tool: str, args: list[str], cwd: str, view: ImageView,
                   build: Any) -> tuple[list[str], str | None]:
    """The context files an install reads, and the first required one that is absent."""
    base = cwd.rstrip("/") + "/"
    rels: list[str] = []
    if tool == "pip":
        reqs = [a for i, a in enumerate(args) if i > 0 and args[i - 1] in ("-r", "--requirement")]
        reqs += [a[len("--requirement="):] for a in args if a.startswith("--requirement=")]
        reqs += [a[2:] for a in args if a.startswith("-r") and len(a) > 2 and a != "-r"]
        for req in reqs:
            got = view.provider(req if req.startswith("/") else base + req)
            if got is None:
                return rels, req
            rels += build.requirements_closure(got[0])
        if any(a in (".", "-e", "--editable") or a.startswith(("./", "-e.", ".["))
               for a in args):
            local = [g[0] for g in (view.provider(base + n) for n in _PIP_LOCAL) if g]
            if not local:
                return rels, "a Python project (pyproject.toml, setup.py or setup.cfg)"
            rels += local
        return rels, None
    names = _MANIFESTS.get(tool)
    if names is None:
        return rels, None
    got = next((g for g in (view.provider(base + n) for n in names) if g), None)
    if got is None:
        return rels, base + names[0]
    rels.append(got[0])
    rels += [g[0] for g in (view.provider(base + n) for n in _LOCKS.get(tool, ())) if g]
    return rels, None


def _named_packages(name: str, args: list[str]) -> list[str]:
    """Package names given on the command line (``npm install bcrypt``)."""
    ops = [a for a in args if not a.startswith("-")]
    if name.startswith("python"):
        ops = ops[2:]
    if not ops:
        return []
    ops = ops[1:] if ops[0] in ("install", "i", "add", "sync", "pip") else ops
    if name == "uv" and ops[:1] == ["install"]:
        ops = ops[1:]
    out: list[str] = []
    for op in ops:
        if op.startswith((".", "/")) or "://" in op or op.endswith((".txt", ".whl")):
            continue
        out.append(re.split(r"(?<=.)@|[=<>!~\[; ]", op, maxsplit=1)[0])
    return out


def _native_name(pkg: str) -> bool:
    return pkg in NATIVE_NPM or _norm_pkg(pkg) in NATIVE_PYPI


def native_in_file(rel: str, text: str) -> list[str]:
    """Native dependencies one manifest or lockfile names."""
    name = rel.rsplit("/", 1)[-1]
    found: list[str] = []
    if name in ("package.json", "package-lock.json", "npm-shrinkwrap.json"):
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return found
        for key in ("dependencies", "optionalDependencies", "devDependencies"):
            deps = data.get(key)
            if isinstance(deps, dict) and name == "package.json":
                found += [n for n in deps if n in NATIVE_NPM]
        if data.get("gypfile") is True:
            found.append("gypfile")
        packages = data.get("packages")
        if isinstance(packages, dict):
            found += [k.rsplit("node_modules/", 1)[-1] for k in packages
                      if k.rsplit("node_modules/", 1)[-1] in NATIVE_NPM]
        return found
    if "--no-binary" in text:
        found.append(f"--no-binary in {rel}")
    found += [t for t in _TOKEN.findall(text) if _norm_pkg(t) in NATIVE_PYPI]
    return found


def _uses_apt(ctx: Context, final: Stage) -> bool:
    return any(ins.keyword == "RUN" and re.search(r"\b(apt-get|apt|dpkg)\b", ins.original)
               for ins in final.body)


def _apt_packages(cmd: SimpleCommand) -> set[str]:
    values = [w.value for w in cmd.resolved_args]
    if "install" not in values and "add" not in values:
        return set()
    out: set[str] = set()
    seen = False
    for v in values:
        if v in ("install", "add"):
            seen = True
            continue
        if seen and v and not v.startswith("-"):
            out.add(re.split(r"[=:]", v, maxsplit=1)[0].lower())
    return out


def _alpine_tag(tag: str) -> str | None:
    if re.fullmatch(r"\d+(\.\d+)*|lts|current", tag):
        return f"{tag}-alpine"
    return None


def _build(ctx: Context) -> Any:
    """The build context object; a bare folder path is wrapped in a BuildContext.

    (``pipeline._build_context`` takes anything with ``read_text`` as a context, and
    ``pathlib.Path`` has one: reading a file through it would read the folder.)
    """
    build = ctx.build
    if isinstance(build, os.PathLike):
        from dockopt.rewriter.context import BuildContext

        build = BuildContext(Path(os.fspath(build)))
    return build


def _read(ctx: Context, rel: str) -> str | None:
    if rel in ctx.overlay:
        return ctx.overlay[rel]
    build = _build(ctx)
    if build is None:
        return None
    text: str | None = build.read_text(rel)
    return text


def native_dependencies(ctx: Context) -> list[str]:
    """Names in the build context that point at native builds (see the rule's doc)."""
    found: list[str] = []
    if _read(ctx, "binding.gyp") is not None:
        found.append("binding.gyp")
    pkg = _read(ctx, "package.json")
    if pkg is not None:
        try:
            data = json.loads(pkg)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            for key in ("dependencies", "optionalDependencies", "devDependencies"):
                deps = data.get(key)
                if isinstance(deps, dict):
                    found += [n for n in deps if n in NATIVE_NPM]
            if isinstance(data.get("gypfile"), bool) and data["gypfile"]:
                found.append("gypfile")
    lock = _read(ctx, "package-lock.json")
    if lock is not None:
        try:
            packages = json.loads(lock).get("packages", {})
        except (ValueError, AttributeError):
            packages = {}
        if isinstance(packages, dict):
            for key in packages:
                name = key.rsplit("node_modules/", 1)[-1]
                if name in NATIVE_NPM:
                    found.append(name)
    for rel in _python_manifests(ctx):
        text = _read(ctx, rel)
        if text is None:
            continue
        if "--no-binary" in text:
            found.append(f"--no-binary in {rel}")
        for token in _TOKEN.findall(text):
            if _norm_pkg(token) in NATIVE_PYPI:
                found.append(token)
    return list(dict.fromkeys(found))


def _python_manifests(ctx: Context) -> list[str]:
    names = ["requirements.txt", "pyproject.toml", "Pipfile", "Pipfile.lock", "poetry.lock",
             "uv.lock", "setup.py", "setup.cfg"]
    root = getattr(_build(ctx), "root", None)
    if root is not None:
        try:
            names += sorted(p.name for p in root.glob("requirements*.txt"))
            names += sorted(f"requirements/{p.name}" for p in root.glob("requirements/*.txt"))
        except OSError:
            pass
    return list(dict.fromkeys(names))
