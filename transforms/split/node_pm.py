"""DO101 for node apps built with yarn (classic, v1) or pnpm: the builder is the stage
as written (install, build); the runtime is ``node:X-slim`` with the build output
copied from the builder and the production dependencies installed from the lockfile.

Why the runtime installs its own production dependencies rather than copying a
pruned ``node_modules``: yarn classic has no ``prune``, and a second install in the
builder after the build would run again on every source change. In the runtime the
install is a layer of its own keyed on the manifests (``package.json``, the
lockfile, ``.npmrc``/``.yarnrc``), so a source change rebuilds only the output copy.
It is made only when that install is certain to give the builder's production tree:
the builder's manifests are the build context's (copied whole or by name into
WORKDIR), the lockfile is there (the runtime installs with ``--frozen-lockfile``,
so a stale lockfile fails the build rather than resolving other versions), the root
package has no lifecycle scripts, workspaces or local dependencies, and no
production dependency is a known native module (-slim has no compiler).

Where the runtime gets the package manager: the commands that installed it in the
builder (``npm install -g pnpm@8``, ``corepack enable``, ``corepack prepare
pnpm@8 --activate``) are repeated there; otherwise the -slim variant of the same
node image ships the same tools as the full one (the official images up to Node 24
bundle yarn 1.x and corepack in both). pnpm without such a command is refused: no
node image ships it.

Yarn 2+ ("berry": ``.yarnrc.yml``, a ``__metadata`` lockfile, ``--immutable``,
``packageManager: yarn@2+``) is a suggestion: its production install (``yarn
workspaces focus --production``) needs a plugin before Yarn 4, and Plug'n'Play keeps
the dependencies outside ``node_modules``.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Callable
from typing import Any

from dockopt.rewriter.syntax import Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import NATIVE_NPM
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
from dockopt.transforms.split.node import check_runtime_settings, output_folder

PMS = ("yarn", "pnpm")
LOCKFILES = {"yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}
# The runtime's production install, per package manager.
_RUNTIME_INSTALL = {
    "yarn": "yarn install --frozen-lockfile --production && yarn cache clean",
    "pnpm": "pnpm install --frozen-lockfile --prod",
}
# Config files the install reads, copied with the manifests when the context has them.
_CONFIGS = {"yarn": (".yarnrc", ".npmrc"), "pnpm": (".npmrc",)}
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "preprepare",
              "postprepare", "dependencies")
# Install flags that change nothing the runtime's install must repeat.
_INSTALL_FLAGS = frozenset({
    "--frozen-lockfile", "--non-interactive", "--silent", "--prefer-offline",
    "--no-progress", "--pure-lockfile", "--check-files", "--reporter=silent",
    "--loglevel=error", "--reporter=append-only", "--reporter=ndjson",
})
_INSTALL_VALUE_FLAGS = frozenset({"--network-timeout", "--network-concurrency",
                                  "--child-concurrency", "--reporter", "--loglevel"})


def _words(run: RunShell) -> list[list[str]]:
    return [cmd_words(c) for c in run.script.commands]


def _is_build(words: list[str], pm: str) -> bool:
    return words[:2] == [pm, "build"] or words[:3] == [pm, "run", "build"]


def is_install(words: list[str], pm: str) -> bool:
    if words[:1] != [pm]:
        return False
    sub = next((w for w in words[1:] if not w.startswith("-")), None)
    # Bare `yarn` installs; `pnpm` alone prints its help.
    return sub in ("install", "i") or (sub is None and pm == "yarn"
                                       and not {"-v", "--version", "-h", "--help"}
                                       & set(words[1:]))


def package_manager(ctx: Context, stage: Stage) -> str | None:
    """yarn or pnpm when the stage's RUNs install with exactly one of them."""
    found: set[str] = set()
    for run in shell_runs(ctx, stage):
        for w in _words(run):
            for pm in PMS:
                if is_install(w, pm):
                    found.add(pm)
    return found.pop() if len(found) == 1 else None


def _matches(pm: str) -> Callable[[Context, Stage, ImageRef, list[str]], bool]:
    def matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
        if ref.repository != "node" or package_manager(ctx, final) != pm:
            return False
        return any(_is_build(w, pm) for run in shell_runs(ctx, final) for w in _words(run))
    return matches


yarn_matches = _matches("yarn")
pnpm_matches = _matches("pnpm")


def yarn_plan(ctx: Context, final: Stage) -> Plan:
    return _plan(ctx, final, "yarn")


def pnpm_plan(ctx: Context, final: Stage) -> Plan:
    return _plan(ctx, final, "pnpm")


# --- reading the builder --------------------------------------------------------------


def setup_command(words: list[str], pm: str) -> bool:
    """A command that installs or activates the package manager (repeated in the
    runtime): `npm install -g pnpm[@v]`, `corepack enable [...]`, `corepack prepare
    pnpm@v --activate`, `corepack install -g pnpm@v`."""
    if words[:1] == ["npm"] and len(words) > 1 and words[1] in ("install", "i", "add") and \
            ("-g" in words or "--global" in words):
        named = [w for w in words[2:] if not w.startswith("-")]
        return len(named) == 1 and re.fullmatch(rf"{pm}(@[\w.^~<>=-]+)?", named[0]) is not None
    if words[:1] == ["corepack"] and len(words) > 1:
        return words[1] in ("enable", "prepare", "install")
    return False


def _harmless(words: list[str], pm: str) -> bool:
    """Commands that leave nothing the runtime needs: version prints, cache cleaning."""
    if words[0] in (pm, "npm", "node", "corepack") and words[1:] in (["-v"], ["--version"]):
        return True
    if words[:3] in ([pm, "cache", "clean"], ["pnpm", "store", "prune"],
                     ["npm", "cache", "clean"]):
        return True
    return words[0] in ("echo", "true", "set")


def read_runs(walk_runs: list[RunShell], build: RunShell, pm: str) -> list[str]:
    """The setup commands to repeat in the runtime, as text, when an install runs
    before the build. Raises for anything else the runtime would miss."""
    setup: list[str] = []
    installed = False
    for run in [*walk_runs, build]:
        line = run.ins.start_line
        for cmd in run.script.commands:
            w = cmd_words(cmd)
            if not w:
                if cmd.words or cmd.env:
                    raise Blocked(f"line {line}: a command whose name or settings are not "
                                  "static")
                continue
            shown = " ".join(w[:3])
            if cmd.env:
                raise Blocked(f"line {line}: `{shown}` runs with variables set for it, which "
                              "the runtime's install would not have")
            if setup_command(w, pm):
                if not all(PLAIN_WORD.fullmatch(x) for x in w):
                    raise Blocked(f"line {line}: `{shown}` is not plain words")
                setup.append(" ".join(w))
            elif is_install(w, pm):
                check_install(w, pm, line)
                installed = True
            elif _is_build(w, pm):
                if not installed:
                    raise Blocked(f"no {pm} install before the build")
            elif w[:1] in ([pm], ["npm"]) and len(w) > 1 and w[1] == "config":
                raise Blocked(f"line {line}: `{shown}`: the runtime's install would not have "
                              "the setting")
            elif w[:1] == ["npm"] and len(w) > 1 and w[1] in ("ci", "install", "i"):
                raise Blocked(f"line {line}: npm and {pm} both install")
            elif not _harmless(w, pm):
                raise Blocked(f"line {line}: `{shown}` may make or install something the "
                              "runtime needs")
    if not installed:
        raise Blocked(f"no {pm} install before the build")
    return setup


def runtime_install(runs: list[RunShell], pm: str) -> str:
    """The runtime's production install: the builder's `--ignore-scripts` is kept
    (without it the runtime would run install scripts the builder never ran)."""
    install = _RUNTIME_INSTALL[pm]
    if any(is_install(w, pm) and "--ignore-scripts" in w for run in runs for w in _words(run)):
        first, sep, rest = install.partition(" && ")
        install = first + " --ignore-scripts" + sep + rest
    return install


def check_install(words: list[str], pm: str, line: int) -> None:
    skip = False
    for w in words[1:]:
        if skip:
            skip = False
            continue
        if w in ("install", "i"):
            continue
        if w == "--immutable" or w.startswith("--immutable"):
            raise Blocked(f"line {line}: `{pm} install --immutable` is Yarn 2+ (berry), "
                          "whose production install needs `yarn workspaces focus "
                          "--production`")
        if w in _INSTALL_VALUE_FLAGS:
            skip = True
            continue
        if w.split("=", 1)[0] in _INSTALL_VALUE_FLAGS or w in _INSTALL_FLAGS or \
                w in ("--production", "--prod", "-P", "--production=false", "--prod=false",
                      "--ignore-scripts"):
            continue
        if w.startswith("-"):
            raise Blocked(f"line {line}: `{pm} install {w}` is not followed (the runtime's "
                          "install would not repeat it)")
        raise Blocked(f"line {line}: `{pm} install {w}` names packages outside package.json")


# --- the build context ----------------------------------------------------------------


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


def check_manifests(ctx: Context, pkg: dict[str, Any], pm: str) -> list[str]:
    """The manifests the runtime's install copies; raises when that install is not
    certain to give the builder's production tree."""
    build = ctx.build
    assert build is not None
    lock = LOCKFILES[pm]
    manager = pkg.get("packageManager")
    if isinstance(manager, str) and manager.startswith("yarn@") and \
            not manager.startswith("yarn@1."):
        raise Blocked(f"package.json names {manager} (Yarn 2+, berry), whose production "
                      "install differs")
    if pm == "yarn" and build.is_file(".yarnrc.yml"):
        raise Blocked(".yarnrc.yml: Yarn 2+ (berry), whose production install differs and "
                      "whose Plug'n'Play keeps dependencies outside node_modules")
    lock_text = ctx.read_context_file(lock)
    if lock_text is None:
        raise Blocked(f"no {lock} in the build context: the runtime's install could resolve "
                      "other versions than the builder's")
    if pm == "yarn" and re.search(r"^__metadata:", lock_text, re.M):
        raise Blocked("yarn.lock is a Yarn 2+ (berry) lockfile")
    if pm == "pnpm" and build.is_file("pnpm-workspace.yaml"):
        raise Blocked("pnpm-workspace.yaml: a workspace, whose packages link to folders of "
                      "the sources")
    scripts = pkg.get("scripts") or {}
    if not isinstance(scripts, dict):
        raise Blocked("package.json's scripts are not an object")
    ran = [s for s in _LIFECYCLE if s in scripts]
    if ran:
        raise Blocked(f"package.json has a {ran[0]} script, which the install runs")
    if pkg.get("workspaces"):
        raise Blocked("workspaces: node_modules links to folders of the sources")
    deps = pkg.get("dependencies") or {}
    if not isinstance(deps, dict):
        raise Blocked("package.json's dependencies are not an object")
    local = sorted(n for n, v in deps.items() if str(v).startswith(
        ("file:", "link:", "workspace:", "portal:", ".", "/")))
    if local:
        raise Blocked(f"the dependency {local[0]} is a local folder")
    native = sorted(set(deps) & NATIVE_NPM)
    if native:
        raise Blocked(f"native modules ({', '.join(native[:3])}) would compile in the "
                      "runtime's install, and -slim has no compiler")
    if "binding.gyp" in build.files:
        raise Blocked("binding.gyp: a native addon")
    files = ["package.json", lock] + [c for c in _CONFIGS[pm] if build.is_file(c)]
    from dockopt.transforms.context.manifests.paths import ignore_matcher

    matcher = ignore_matcher(ctx, build)
    if matcher is not None:
        gone = [f for f in files if matcher.excludes(f)]
        if gone:
            raise Blocked(f".dockerignore leaves out {gone[0]}, which the runtime's install "
                          "needs")
    return files


def _copies_manifests(stage: Stage, workdir: str, pm: str) -> bool:
    """Whether the builder's package.json and lockfile in WORKDIR are the build
    context's root ones: `COPY . .`, or COPYs naming them (or a pattern such as
    `package*.json` matching them), into WORKDIR."""
    here = "/"
    wanted = {"package.json", LOCKFILES[pm]}
    for ins in stage.body:
        if ins.keyword == "WORKDIR" and ins.value:
            here = posixpath.normpath(posixpath.join(here, ins.value[0]))
        if ins.keyword not in ("COPY", "ADD") or len(ins.value) < 2 or \
                any(f.lower().startswith("--from") for f in ins.flags):
            continue
        *sources, dest = ins.value
        if posixpath.normpath(posixpath.join(here, dest)) != workdir:
            continue
        names = {posixpath.normpath(s) for s in sources}
        if "." in names:
            return True
        wanted = {w for w in wanted if not any(fnmatch.fnmatchcase(w, n) for n in names)}
        if not wanted:
            return True
    return False


# --- the plan -------------------------------------------------------------------------


def _start_script(argv: list[str], pm: str, pkg: dict[str, Any]) -> str:
    """The JS file the command runs: `node <file>`, or `<pm>|npm [run] start` whose
    script is `node <file>`."""
    if argv and posixpath.basename(argv[0]) == "node":
        files = [a for a in argv[1:] if not a.startswith("-")]
        if files:
            return files[0]
    if argv[:1] in ([pm], ["npm"]) and (argv[1:2] == ["start"] or argv[1:3] == ["run", "start"]):
        scripts = pkg.get("scripts") or {}
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if isinstance(start, str):
            words = start.split()
            if words[:1] == ["node"] and all(PLAIN_WORD.fullmatch(w) for w in words):
                return _start_script(words, pm, {})
        raise Blocked(f"{argv[0]} start does not run `node <file>`")
    raise Blocked(f"CMD does not run `node <file>` or `{pm} start`")


def _plan(ctx: Context, final: Stage, pm: str) -> Plan:
    tree, style = ctx.tree, ctx.style
    walk = walk_stage(ctx, final, lambda run: any(_is_build(w, pm) for w in _words(run)),
                      "/")
    setup = read_runs(walk.runs_before, walk.build, pm)
    if pm == "pnpm" and not setup:
        raise Blocked("pnpm is not installed by the stage (npm install -g pnpm, corepack), "
                      "so the runtime would not have it")
    if walk.workdir in (None, "/"):
        raise Blocked("no WORKDIR: the app's folder is the filesystem root")
    workdir = walk.workdir
    assert workdir is not None
    if not PLAIN_WORD.fullmatch(workdir):
        raise Blocked("the WORKDIR is not a plain path")
    if not _copies_manifests(final, workdir, pm):
        raise Blocked(f"the builder's package.json and {LOCKFILES[pm]} are not copied from "
                      "the build context's root into WORKDIR")
    pkg: dict[str, Any] = {}
    manifests = ["package.json", LOCKFILES[pm]]
    if ctx.build is not None:
        pkg = _package_json(ctx)
        scripts = pkg.get("scripts") or {}
        if not isinstance(scripts, dict) or "build" not in scripts:
            raise Blocked("package.json has no build script")
        manifests = check_manifests(ctx, pkg, pm)
        for d in sorted(ASSET_DIRS):
            if d in ctx.build.dirs:
                raise Blocked(f"the context has {d}/, files the app may read at run time")
    head, argv = image_command(walk.keep)
    script = _start_script(argv, pm, pkg)
    outdir = output_folder(script, pkg)
    check_runtime_settings(walk.keep)
    # The stage sets NODE_ENV itself: the runtime repeats that.
    node_env = not any(ins.keyword == "ENV" and "NODE_ENV" in ins.value[::2]
                       for ins in walk.keep)
    ref = parse_image_ref(final.base)
    assert ref is not None
    image = slim_variant(ref) or final.base
    env_lines, keep_lines = settings_lines(tree, walk.keep)
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan(pm, builder, from_edit)
    ws = workdir.rstrip("/") + "/"
    install = runtime_install([*walk.runs_before, walk.build], pm)
    plan.moved = [f"{ws}node_modules from `{install.split(' && ')[0]}` in the runtime, from "
                  f"{' and '.join(manifests)} (production dependencies only, in their own "
                  "cached layer; the lockfile pins the builder's versions)"]
    if setup:
        plan.moved.append(f"{pm} itself, installed as the builder did (`{' && '.join(setup)}`)")
    else:
        plan.moved.append(f"{pm} from the image (the -slim variant ships the same yarn as "
                          "the full image)")
    if node_env:
        plan.moved.append("ENV NODE_ENV=production (a production install; libraries such as "
                          "express read it)")
    plan.moved += [f"{ws}{outdir} (the build output that {head.keyword} runs)",
                   f"base {image} (" + ("the -slim variant: no compilers or dev libraries"
                                         if image != final.base else "the same image") + ")"]
    kept = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
            if not line.lstrip().startswith("#")]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    plan.protected = [ws + outdir]
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    plan.runtime = render("node-pm", style, {
        "image": image, "builder": builder, "workdir": workdir, "workdir_slash": ws,
        "outputs": [outdir], "env": env_lines, "manifests": manifests,
        "setup": " && ".join(setup), "install": install, "node_env": node_env,
        "args": arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines})
    return plan
