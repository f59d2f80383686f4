"""DO101 for Next.js apps (``next.config.*`` in the build context, ``next build`` as
the build script), built with npm, yarn classic or pnpm.

Two runtimes, chosen by the config's ``output``:

- ``output: "standalone"``: ``next build`` writes a self-contained server to
  ``.next/standalone`` (``server.js`` plus only the ``node_modules`` files it
  traced); the static assets (``.next/static``) and ``public/`` are not in it and
  are copied beside it, as Next.js's own Docker example does. The runtime needs no
  install and no package manager, and runs ``node server.js``: ``next start``'s
  port and hostname flags become ``PORT``/``HOSTNAME``. ``HOSTNAME=0.0.0.0`` is set
  unless the start script names a host: the server listens on ``$HOSTNAME``, which
  Docker sets to the container's id.
- otherwise: ``next start`` serves ``.next`` with ``next`` from ``node_modules``, so
  the runtime installs the production dependencies from the lockfile (as the node
  and yarn/pnpm families do) and copies ``.next``, ``public/`` and the config from
  the builder; the CMD stays as written.

Refused with the reason: ``output: "export"`` (static files: a web server image
serves ``out/``), an ``output`` or ``distDir`` set from an expression or to
another folder, a start command other than ``next start`` (a custom server), and
what the npm/yarn/pnpm families refuse (lifecycle scripts, workspaces, no lockfile).
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from dockopt.rewriter.syntax import Stage
from dockopt.transforms.base import Context
from dockopt.transforms.images import ImageRef, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs
from dockopt.transforms.split.common import (
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
from dockopt.transforms.split.node import check_runtime_settings
from dockopt.transforms.split.node_pm import (
    check_manifests,
    package_manager,
    read_runs,
    runtime_install,
)

CONFIGS = ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts")
_NPM_LOCK = "package-lock.json"


def _config(ctx: Context) -> tuple[str, str] | None:
    for name in CONFIGS:
        text = ctx.read_context_file(name)
        if text is not None:
            return name, text
    return None


def _pm(ctx: Context, stage: Stage) -> str:
    return package_manager(ctx, stage) or "npm"


def _is_build(words: list[str], pm: str) -> bool:
    return words[:2] in ([pm, "build"], ["next", "build"]) or \
        words[:3] in ([pm, "run", "build"], ["npx", "next", "build"])


def nextjs_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """``FROM node`` with a build, and a ``next.config.*`` in the build context."""
    if ref.repository != "node" or ctx.build is None or _config(ctx) is None:
        return False
    pm = _pm(ctx, final)
    return any(_is_build(cmd_words(c), pm) for run in shell_runs(ctx, final)
               for c in run.script.commands)


def _output(name: str, text: str) -> str | None:
    """The config's ``output`` ("standalone", "export") or None when it sets none.
    Raises when it is set in a way a regular expression cannot read for certain."""
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    found = re.findall(r"\boutput\s*:\s*([^,}\n]+)", code)
    if not found:
        return None
    values: set[str] = {str(v).strip().strip("'\"`") for v in found}
    if len(values) != 1 or not all(re.fullmatch(r"\s*['\"`](standalone|export)['\"`]\s*", v)
                                   for v in found):
        raise Blocked(f"{name} sets output from an expression ({found[0].strip()[:40]})")
    return values.pop()


def _start_flags(argv: list[str], pm: str, pkg: dict[str, Any]) -> list[str]:
    """The flags of the ``next start`` the command runs (itself or via the start
    script)."""
    if argv[:2] == ["next", "start"]:
        return argv[2:]
    if argv[:3] == ["npx", "next", "start"]:
        return argv[3:]
    if argv[:1] in ([pm], ["npm"]) and (argv[1:2] == ["start"] or argv[1:3] == ["run", "start"]):
        scripts = pkg.get("scripts") or {}
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if isinstance(start, str) and all(PLAIN_WORD.fullmatch(w) for w in start.split()):
            words = start.split()
            if words[:2] == ["next", "start"]:
                extra = argv[2:] if argv[1:2] == ["start"] else argv[3:]
                if extra[:1] == ["--"]:
                    extra = extra[1:]
                return words[2:] + extra
        raise Blocked(f"{argv[0]} start does not run `next start` (a custom server?)")
    raise Blocked("CMD does not run `next start`")


def _standalone_env(flags: list[str]) -> list[str]:
    """``next start`` flags as the standalone server's environment."""
    port: str | None = None
    host: str | None = None
    i = 0
    while i < len(flags):
        flag, _, value = flags[i].partition("=")
        if flag in ("-p", "--port", "-H", "--hostname"):
            if not value:
                i += 1
                value = flags[i] if i < len(flags) else ""
            if not re.fullmatch(r"[\w.:-]+", value):
                raise Blocked(f"next start {flag} {value}: not a plain value")
            if flag in ("-p", "--port"):
                port = value
            else:
                host = value
        else:
            raise Blocked(f"next start {flags[i]}: not followed by the standalone server")
        i += 1
    env = [f"HOSTNAME={host or '0.0.0.0'}"]
    if port is not None:
        env.append(f"PORT={port}")
    return env


def _read_npm_runs(runs: list[RunShell], build: RunShell) -> None:
    installed = False
    for run in [*runs, build]:
        line = run.ins.start_line
        for cmd in run.script.commands:
            w = cmd_words(cmd)
            if not w:
                if cmd.words or cmd.env:
                    raise Blocked(f"line {line}: a command whose name or settings are not "
                                  "static")
                continue
            if w[:1] == ["npm"] and len(w) > 1 and w[1] in ("ci", "install", "i"):
                if [a for a in w[2:] if not a.startswith("-")]:
                    raise Blocked(f"line {line}: npm install names packages outside "
                                  "package.json")
                installed = True
            elif _is_build(w, "npm"):
                if not installed:
                    raise Blocked("no npm ci/npm install before the build")
            elif not (w[0] in ("echo", "true", "set") or w[1:] in (["-v"], ["--version"])):
                raise Blocked(f"line {line}: `{' '.join(w[:3])}` may make or install "
                              "something the runtime needs")
    if not installed:
        raise Blocked("no npm ci/npm install before the build")


def nextjs_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    found = _config(ctx)
    assert found is not None and ctx.build is not None
    config_name, config_text = found
    pm = _pm(ctx, final)
    walk = walk_stage(ctx, final, lambda run: any(_is_build(cmd_words(c), pm)
                                                  for c in run.script.commands), "/")
    setup: list[str] = []
    if pm == "npm":
        _read_npm_runs(walk.runs_before, walk.build)
    else:
        setup = read_runs(walk.runs_before, walk.build, pm)
    if walk.workdir in (None, "/"):
        raise Blocked("no WORKDIR: the app's folder is the filesystem root")
    workdir = walk.workdir
    assert workdir is not None
    if not PLAIN_WORD.fullmatch(workdir):
        raise Blocked("the WORKDIR is not a plain path")
    if not _whole_context(final, workdir):
        raise Blocked("the build context is not copied whole into WORKDIR (`COPY . .`), so "
                      "which sources and assets the build saw is not certain")
    output = _output(config_name, config_text)
    if output == "export":
        raise Blocked(f"{config_name} sets output: \"export\" (static files in out/: serve "
                      "them from a web server image)")
    if re.search(r"\bdistDir\s*:", config_text):
        raise Blocked(f"{config_name} sets distDir: the build output is not in .next")
    pkg = _package_json(ctx)
    scripts = pkg.get("scripts") or {}
    if not isinstance(scripts, dict) or "next build" not in str(scripts.get("build", "")):
        raise Blocked("package.json's build script does not run `next build`")
    head, argv = image_command(walk.keep)
    if head.keyword == "ENTRYPOINT":
        raise Blocked("an ENTRYPOINT runs the app: a standalone/production runtime would "
                      "need it rewritten")
    flags = _start_flags(argv, pm, pkg)
    check_runtime_settings(walk.keep)
    ref = parse_image_ref(final.base)
    assert ref is not None
    image = slim_variant(ref) or final.base
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("nextjs", builder, from_edit)
    ws = workdir.rstrip("/") + "/"
    public = "public" in ctx.build.dirs
    node_env = not any(ins.keyword == "ENV" and "NODE_ENV" in ins.value[::2]
                       for ins in walk.keep)
    copies: list[tuple[str, str]] = []
    install = ""
    manifests: list[str] = []
    extra_env: list[str] = []
    keep = list(walk.keep)
    if output == "standalone":
        copies = [(f"{ws}.next/standalone", "./"), (f"{ws}.next/static", "./.next/static")]
        if public:
            copies.append((f"{ws}public", "./public"))
        extra_env = _standalone_env(flags)
        keep = [i for i in keep if i.keyword != "CMD"]
        node_env = False  # the standalone server.js sets NODE_ENV=production itself
        plan.moved = [
            f"{ws}.next/standalone (the server `next build` writes for output: "
            "\"standalone\", with only the node_modules files it traced), "
            f"{ws}.next/static" + (f" and {ws}public" if public else "") +
            " beside it (the standalone folder has no static assets)",
            "CMD [\"node\", \"server.js\"] in place of `next start`, with "
            + " and ".join(f"ENV {e}" for e in extra_env) +
            " (the server listens on $HOSTNAME, which Docker sets to the container id)"]
    else:
        if pm == "npm":
            lock = ctx.read_context_file(_NPM_LOCK)
            if lock is None:
                raise Blocked("no package-lock.json: the runtime's `npm ci --omit=dev` needs it")
            manifests = ["package.json", _NPM_LOCK] + \
                ([".npmrc"] if ctx.build.is_file(".npmrc") else [])
            install = "npm ci --omit=dev"
            _check_root_package(pkg)
        else:
            manifests = check_manifests(ctx, pkg, pm)
            install = runtime_install([*walk.runs_before, walk.build], pm)
            if pm == "pnpm" and not setup:
                raise Blocked("pnpm is not installed by the stage (npm install -g pnpm, "
                              "corepack), so the runtime would not have it")
        deps = pkg.get("dependencies") or {}
        if not isinstance(deps, dict) or "next" not in deps:
            raise Blocked("next is not a production dependency, and `next start` needs it "
                          "at run time")
        copies = [(f"{ws}.next", "./.next"), (f"{ws}{config_name}", f"./{config_name}")]
        if public:
            copies.append((f"{ws}public", "./public"))
        plan.moved = [
            f"{ws}node_modules from `{install.split(' && ')[0]}` in the runtime, from "
            f"{' and '.join(manifests)} (production dependencies only, in their own cached "
            "layer)",
            f"{ws}.next (the build output `next start` serves; its cache/ folder too), "
            f"{config_name}" + (" and public/" if public else "") + ", copied from the builder"]
        if setup:
            plan.moved.append(f"{pm} itself, installed as the builder did "
                              f"(`{' && '.join(setup)}`)")
    if node_env:
        plan.moved.append("ENV NODE_ENV=production (a production install; Next.js and "
                          "libraries read it)")
    plan.moved.append(f"base {image} (" + ("the -slim variant: no compilers or dev "
                                           "libraries" if image != final.base
                                           else "the same image") + ")")
    env_lines, keep_lines = settings_lines(tree, keep)
    plan.protected = [ws + ".next"] + ([ws + "public"] if public else [])
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    plan.runtime = render("nextjs", style, {
        "image": image, "builder": builder, "workdir": workdir, "env": env_lines,
        "node_env": node_env, "setup": " && ".join(setup) if install else "",
        "manifests": manifests, "install": install, "copies": copies,
        "extra_env": extra_env, "standalone": output == "standalone",
        "cmd_kw": style.keyword("CMD"),
        "args": arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
    return plan


def _whole_context(stage: Stage, workdir: str) -> bool:
    here = "/"
    for ins in stage.body:
        if ins.keyword == "WORKDIR" and ins.value:
            here = posixpath.normpath(posixpath.join(here, ins.value[0]))
        if ins.keyword in ("COPY", "ADD") and len(ins.value) == 2 and \
                not any(f.lower().startswith("--from") for f in ins.flags) and \
                posixpath.normpath(ins.value[0]) == "." and \
                posixpath.normpath(posixpath.join(here, ins.value[1])) == workdir:
            return True
    return False


def _package_json(ctx: Context) -> dict[str, Any]:
    text = ctx.read_context_file("package.json")
    if text is None:
        raise Blocked("no package.json at the root of the build context")
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise Blocked("package.json does not parse") from exc
    if not isinstance(loaded, dict):
        raise Blocked("package.json is not an object")
    return loaded


def _check_root_package(pkg: dict[str, Any]) -> None:
    scripts = pkg.get("scripts") or {}
    lifecycle = ("preinstall", "install", "postinstall", "prepare")
    if isinstance(scripts, dict) and any(s in scripts for s in lifecycle):
        raise Blocked("package.json has a lifecycle script, which the install runs")
    if pkg.get("workspaces"):
        raise Blocked("workspaces: node_modules links to folders of the sources")
