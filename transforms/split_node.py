"""DO101 for node with a build step: npm ci + build + prune, the output on node:X-slim."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from dockopt.rewriter.syntax import Stage
from dockopt.transforms.base import Context
from dockopt.transforms.base_image import FULL_ONLY_TOOLS, NATIVE_NPM
from dockopt.transforms.images import facts_for, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs
from dockopt.transforms.split_common import (
    ASSET_DIRS,
    PLAIN_WORD,
    Blocked,
    Plan,
    arg_lines,
    block,
    builder_name,
    cmd_words,
    command_argv,
    last,
    render,
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
    entry, cmd = last(walk.keep, "ENTRYPOINT"), last(walk.keep, "CMD")
    head = entry if entry is not None else cmd
    if head is None:
        raise Blocked("no CMD or ENTRYPOINT")
    argv = command_argv(head)
    if entry is not None and cmd is not None:
        argv = argv + command_argv(cmd) if entry.is_json else argv
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
        if ins.keyword in ("CMD", "ENTRYPOINT") and ins is not last(walk.keep, ins.keyword):
            continue
        (env_lines if ins.keyword == "ENV" else keep_lines).append(block(tree, ins))
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("node", builder, from_edit)
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
    plan.runtime = render("node", style, {
        "image": image, "builder": builder, "workdir": workdir, "workdir_slash": ws,
        "outputs": [outdir], "env": env_lines,
        "args": arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
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
            if words[:1] == ["node"] and all(PLAIN_WORD.fullmatch(w) for w in words):
                return _node_script(words, {})
        raise Blocked("npm start does not run `node <file>`")
    raise Blocked("CMD does not run `node <file>` or `npm start`")


def has_npm_build(ctx: Context, stage: Stage) -> bool:
    for run in shell_runs(ctx, stage):
        for cmd in run.script.commands:
            w = cmd_words(cmd)
            if w[:1] in (["npm"], ["yarn"], ["pnpm"]) and "build" in w[1:3]:
                return True
    return False
