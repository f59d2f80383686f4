"""DO101 for node with a build step (npm ci + build + prune, the output on node:X-slim),
and the helpers the node families share (the output folder, the runtime settings).
Without a build step: ``split.node_prod``."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import FULL_ONLY_TOOLS, NATIVE_NPM
from dockopt.transforms.images import ImageRef, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs
from dockopt.transforms.split.common import (
    ASSET_DIRS,
    PLAIN_WORD,
    Blocked,
    Plan,
    arg_lines,
    builder_name,
    cmd_words,
    image_command,
    render,
    settings_lines,
    slim_variant,
    walk_stage,
)


def _npm_words(run: RunShell) -> list[list[str]]:
    return [cmd_words(c) for c in run.script.commands]


def _is_npm_build(run: RunShell) -> bool:
    return any(w[:1] in (["npm"], ["yarn"], ["pnpm"]) and "build" in w[1:3]
               for w in _npm_words(run))


def node_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    walk = walk_stage(ctx, final, _is_npm_build, "/")
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
    if not PLAIN_WORD.fullmatch(workdir):
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
            for d in sorted(ASSET_DIRS):
                if d in ctx.build.dirs:
                    raise Blocked(f"the context has {d}/, files the app may read at run "
                                  "time")
    head, argv = image_command(walk.keep)
    script = _node_script(argv, pkg)
    outdir = output_folder(script, pkg)
    check_runtime_settings(walk.keep)
    ref = parse_image_ref(final.base)
    assert ref is not None
    image = slim_variant(ref) or final.base
    env_lines, keep_lines = settings_lines(tree, walk.keep)
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("node", builder, from_edit)
    major = re.match(r"(\d+)", ref.tag or "")
    modern = major is None or int(major.group(1)) >= 16
    ws = workdir.rstrip("/") + "/"
    manifests = _runtime_install_manifests(ctx, final, workdir, pkg)
    install: str | None = None
    # A runtime that runs a production install says so in NODE_ENV too, unless the
    # stage sets NODE_ENV itself (the runtime repeats the stage's ENV lines).
    node_env = manifests is not None and not any(
        ins.keyword == "ENV" and "NODE_ENV" in ins.value[::2] for ins in walk.keep)
    if manifests is not None:
        # The runtime installs the production dependencies itself, from the lockfile,
        # in a layer of its own: a source change then rebuilds only the build output
        # (a `npm prune` in the builder would run again after every build).
        install = "npm ci --omit=dev" if modern else "npm ci --production"
        plan.moved = [f"{ws}node_modules from `{install}` in the runtime, from "
                      f"{' and '.join(manifests)} (production dependencies only, in their "
                      "own cached layer; the lockfile shows no install scripts, so -slim "
                      "needs no compiler)"]
        if node_env:
            plan.moved.append("ENV NODE_ENV=production (a production install; libraries "
                              "such as express read it)")
    else:
        prune = "npm prune --omit=dev" if modern else "npm prune --production"
        build_run = walk.build.ins
        if build_run.text.endswith("\n"):
            plan.inserts[build_run.end] = style.instruction("RUN", prune)
        else:
            plan.inserts[build_run.end] = style.newline + \
                style.instruction("RUN", prune).rstrip("\r\n")
        plan.moved = [f"{ws}node_modules after `{prune}` (production dependencies only)"]
    plan.moved += [f"{ws}{outdir} (the build output that {head.keyword} runs)",
                   f"{ws}package.json (module type and npm scripts)",
                   f"base {image} (" + ("the -slim variant: no compilers or dev libraries"
                                         if image != final.base else "the same image") + ")"]
    kept = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
            if not line.lstrip().startswith("#")]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    plan.protected = [ws + outdir, ws + "node_modules", ws + "package.json"]
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    plan.runtime = render("node", style, {
        "image": image, "builder": builder, "workdir": workdir, "workdir_slash": ws,
        "outputs": [outdir], "env": env_lines, "manifests": manifests or [],
        "install": install, "node_env": node_env,
        "args": arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
    return plan


_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "preprepare",
              "postprepare", "dependencies")


def _runtime_install_manifests(ctx: Context, stage: Stage, workdir: str,
                               pkg: dict[str, Any]) -> list[str] | None:
    """The context files a runtime `npm ci --omit=dev` needs, when it is certain to
    give the same production tree as pruning the builder's, else None.

    Needed: the builder copies the whole context into WORKDIR (so the context's root
    manifests are the builder's), a package-lock.json v2+ beside package.json, no
    lifecycle script in the root package, no production package with an install
    script (it could need the compilers -slim lacks), no workspaces or local
    (`file:`/`link:`) dependencies, and none of the files dockerignored."""
    build = ctx.build
    if build is None:
        return None
    whole = False
    for ins in stage.body:
        if ins.keyword in ("COPY", "ADD") and len(ins.value) == 2 and \
                not any(f.lower().startswith("--from") for f in ins.flags):
            src, dest = ins.value
            full = posixpath.normpath(posixpath.join(workdir, dest))
            if src in (".", "./") and full == posixpath.normpath(workdir):
                whole = True
    if not whole:
        return None
    scripts = pkg.get("scripts") or {}
    if not isinstance(scripts, dict) or any(s in scripts for s in _LIFECYCLE):
        return None
    if pkg.get("workspaces") or pkg.get("bundleDependencies") or \
            pkg.get("bundledDependencies"):
        return None
    lock_text = ctx.read_context_file("package-lock.json")
    if lock_text is None:
        return None
    try:
        lock = json.loads(lock_text)
    except ValueError:
        return None
    packages = lock.get("packages") if isinstance(lock, dict) else None
    if not isinstance(packages, dict) or int(lock.get("lockfileVersion") or 0) < 2:
        return None
    for path, meta in packages.items():
        if not isinstance(meta, dict):
            return None
        if path and not meta.get("dev") and (meta.get("hasInstallScript") or
                                             meta.get("link")):
            return None
    deps = pkg.get("dependencies") or {}
    if not isinstance(deps, dict) or any(str(v).startswith(("file:", "link:", "git", ".", "/"))
                                         for v in deps.values()):
        return None
    files = ["package.json", "package-lock.json"]
    if build.is_file(".npmrc"):
        files.append(".npmrc")
    from dockopt.transforms.context.manifests.paths import ignore_matcher

    matcher = ignore_matcher(ctx, build)
    if matcher is not None and any(matcher.excludes(f) for f in files):
        return None
    return files


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
            if words[:1] == ["node"] and all(PLAIN_WORD.fullmatch(w) for w in words):
                return _node_script(words, {})
        raise Blocked("npm start does not run `node <file>`")
    raise Blocked("CMD does not run `node <file>` or `npm start`")


def node_build_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """``FROM node`` with an npm/yarn/pnpm build script run."""
    return ref.repository == "node" and has_npm_build(ctx, final)


def has_npm_build(ctx: Context, stage: Stage) -> bool:
    for run in shell_runs(ctx, stage):
        for cmd in run.script.commands:
            w = cmd_words(cmd)
            if w[:1] in (["npm"], ["yarn"], ["pnpm"]) and "build" in w[1:3]:
                return True
    return False


def output_folder(script: str, pkg: dict[str, Any]) -> str:
    """The build output folder the CMD's script lies in (dist/, build/, out/, lib/ or
    package.json's `main` folder); Blocked otherwise. Shared by the node families."""
    outdir = posixpath.normpath(script).split("/", 1)[0]
    if "/" not in posixpath.normpath(script) or outdir in (".", "..", "node_modules", "src"):
        raise Blocked(f"CMD runs {script}, which is not inside a build output folder")
    expected = {"dist", "build", "out", "lib"}
    main = pkg.get("main")
    if isinstance(main, str):
        expected.add(posixpath.normpath(main).split("/", 1)[0])
    if outdir not in expected:
        raise Blocked(f"{outdir}/ is not a known build output folder")
    return outdir


def check_runtime_settings(keep: Sequence[Instruction]) -> None:
    """What a node:-slim runtime cannot repeat of the settings it keeps: a USER made
    in the builder, a HEALTHCHECK with a tool only the full image has."""
    for ins in keep:
        user = ins.value[0].split(":")[0] if ins.keyword == "USER" and ins.value else "0"
        if not (user.isdigit() or user in ("root", "node")):
            raise Blocked(f"USER {user} may be a user created in the builder; the runtime "
                          "image has only root and node")
        if ins.keyword == "HEALTHCHECK":
            used = set(re.findall(r"[\w.-]+", ins.args.text))
            missing = sorted(w for w in used if w in FULL_ONLY_TOOLS)
            if missing:
                raise Blocked(f"HEALTHCHECK uses {missing[0]}, which node:-slim lacks")
