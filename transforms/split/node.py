"""DO101 for node: with a build step (npm ci + build + prune, the output on node:X-slim),
and without one (a production install on the full image; node_modules and the app's
files, copied again from the build context, on node:X-slim)."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import (
    BUILD_PACKAGES,
    FULL_ONLY_TOOLS,
    NATIVE_NPM,
    native_dependencies,
)
from dockopt.transforms.images import ImageRef, facts_for, parse_image_ref
from dockopt.transforms.shellfix import RunShell, insert_at, shell_runs
from dockopt.transforms.split.common import (
    ASSET_DIRS,
    KEEP,
    PLAIN_WORD,
    Blocked,
    Plan,
    arg_lines,
    block,
    builder_name,
    check_copy,
    cmd_words,
    image_command,
    render,
    settings_lines,
    slim_variant,
    walk_stage,
)
from dockopt.transforms.split.native import context_path
from dockopt.transforms.split.packages import (
    AptPackages,
    apk_run,
    apt_run,
    read_installs,
    release_of,
    runtime_packages,
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


# --- node without a build step: a production install on the full image, the app on -slim


# npm modules that link system libraries the full image has and -slim lacks: their
# compiled addons would not load in the runtime.
_SYSTEM_LIB_NPM: dict[str, str] = {
    "canvas": "cairo, pango, libjpeg and giflib", "kerberos": "the Kerberos/GSSAPI "
    "libraries", "oracledb": "the Oracle Instant Client", "odbc": "unixODBC",
    "usb": "libudev", "node-libcurl": "libcurl", "libpq": "libpq", "pg-native": "libpq",
}
# Root package.json scripts npm runs on `npm install`/`npm ci`: they may write files
# outside node_modules, which the runtime would not get.
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepare", "prepublish")
# node options that take the next argument as their value.
_NODE_VALUE_FLAGS = frozenset({"-r", "--require", "--import", "--loader",
                               "--experimental-loader", "--title", "--env-file",
                               "--max-old-space-size", "--stack-size"})
_NODE_CODE_FLAGS = frozenset({"-e", "--eval", "-p", "--print", "-i", "--interactive"})
_APT_TOOLS_FOR_NPM = frozenset({"python3", "python", "python-is-python3", "py3-pip",
                                "python3-pip"})


def _npm_sub(words: list[str]) -> str | None:
    return next((w for w in words[1:] if w and not w.startswith("-")), None)


def _is_npm_install(words: list[str]) -> bool:
    return words[:1] == ["npm"] and _npm_sub(words) in ("ci", "install", "i")


def _env_production(ins: Instruction) -> bool | None:
    """What an ENV instruction sets NODE_ENV to: True for production, None if unset."""
    v = ins.value
    for i in range(0, len(v) - 1, 2):
        if v[i] == "NODE_ENV":
            return v[i + 1] == "production"
    return None


def _omits_dev(cmd: SimpleCommand, env_production: bool) -> bool:
    """Whether this `npm ci`/`npm install` leaves devDependencies out."""
    words = cmd_words(cmd)
    prefix = {w.value for w in cmd.env if w.value}
    production = env_production or "NODE_ENV=production" in prefix
    if "NODE_ENV" in {p.split("=", 1)[0] for p in prefix} and "NODE_ENV=production" not in prefix:
        production = False
    for i, w in enumerate(words[1:], 1):
        if w in ("--omit=dev", "--production", "--production=true", "--only=prod",
                 "--only=production") or (w == "--omit" and words[i + 1:i + 2] == ["dev"]):
            production = True
        if w in ("--include=dev", "--production=false", "--also=dev") or \
                (w == "--include" and words[i + 1:i + 2] == ["dev"]):
            return False
    return production


def _stage_installs(ctx: Context, stage: Stage) -> list[tuple[RunShell, SimpleCommand]]:
    return [(r, c) for r in shell_runs(ctx, stage) for c in r.script.commands
            if _is_npm_install(cmd_words(c))]


def _installs_dev(ctx: Context, stage: Stage,
                  installs: list[tuple[RunShell, SimpleCommand]]) -> bool:
    env_production = False
    for ins in stage.body:
        if ins.keyword == "ENV":
            env_production = bool(_env_production(ins)) if _env_production(ins) is not None \
                else env_production
        if ins.keyword == "RUN":
            for run, cmd in installs:
                if run.ins is ins and not _omits_dev(cmd, env_production):
                    return True
    return False


def _build_tools(ctx: Context, stage: Stage) -> list[str]:
    """Build tools the stage installs with apt/apk (for node-gyp)."""
    found: list[str] = []
    for run in shell_runs(ctx, stage):
        for cmd in run.script.commands:
            words = cmd_words(cmd)
            if words[:1] in (["apt-get"], ["apt"], ["apk"]) and ("install" in words
                                                                 or "add" in words):
                found += [w for w in words[2:] if w in BUILD_PACKAGES or w == "build-base"
                          or w in _APT_TOOLS_FOR_NPM]
    return found


def _package_json(ctx: Context) -> dict[str, Any] | None:
    text = ctx.read_context_file("package.json")
    if text is None:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def node_prod_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """node without a build step, where a builder/runtime split pays more than DO605's
    plain switch to -slim: the install needs the full image (native modules, build
    tools installed) or installs devDependencies the runtime can drop. Without the
    build context this cannot be told apart, and DO605 keeps the full image: the split
    is offered (display-only) for a full node image or an install with devDependencies."""
    if ref.repository != "node" or has_npm_build(ctx, final):
        return False
    installs = _stage_installs(ctx, final)
    if not installs:
        return False
    dev = _installs_dev(ctx, final, installs)
    if _build_tools(ctx, final):
        return True
    facts = facts_for(ref)
    full = facts is not None and facts.slim_tag is not None
    if ctx.build is None:
        return full or dev
    pkg = _package_json(ctx)
    if pkg is None:
        return False
    if dev and pkg.get("devDependencies"):
        return True
    return full and bool(native_dependencies(ctx))


def node_prod_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    ref = parse_image_ref(final.base)
    assert ref is not None
    facts = facts_for(ref)
    runs = {r.ins.start: r for r in shell_runs(ctx, final)}
    workdir: str | None = None
    copies: list[tuple[Instruction, str]] = []
    keep: list[Instruction] = []
    args: list[Instruction] = []
    install: RunShell | None = None
    install_cmd: SimpleCommand | None = None
    install_dir = "/"
    made: list[str] = []
    omit = False
    env_production = False
    packages = AptPackages()
    for ins in final.body:
        kw = ins.keyword
        here = workdir or "/"
        if kw in ("ONBUILD", "SHELL"):
            raise Blocked(f"the stage has {kw}, which a generated runtime cannot reproduce")
        if kw == "ARG":
            args.append(ins)
        if kw in KEEP:
            keep.append(ins)
        if kw == "ENV" and install is None and _env_production(ins) is not None:
            env_production = bool(_env_production(ins))
        if kw == "WORKDIR" and ins.value:
            if "$" in ins.value[0]:
                raise Blocked("WORKDIR comes from a variable")
            workdir = posixpath.normpath(posixpath.join(here, ins.value[0]))
        if kw in ("COPY", "ADD"):
            if len(ins.value) < 2 or "$" in "".join(ins.value):
                raise Blocked(f"line {ins.start_line}: {kw} paths come from variables")
            copies.append((ins, here))
        if kw != "RUN":
            continue
        run = runs.get(ins.start)
        if run is None:
            raise Blocked(f"line {ins.start_line}: a RUN that cannot be read (exec form, "
                          "heredoc or a shell parse error)")
        for cmd in run.script.commands:
            words = cmd_words(cmd)
            if not words:
                continue
            if install is not None and words[:2] != ["npm", "cache"] and words[0] != "rm":
                raise Blocked(f"line {ins.start_line}: a RUN after the install may make "
                              "something the app needs at run time")
            if read_installs(cmd, ins.start_line, packages):
                continue
            if words[0] in ("yarn", "pnpm", "corepack"):
                raise Blocked("yarn/pnpm: pruning to production dependencies differs")
            if _is_npm_install(words):
                if install is not None:
                    raise Blocked("more than one npm install")
                if _named_packages(words) or "-g" in words or "--global" in words:
                    raise Blocked(f"line {ins.start_line}: npm install names packages "
                                  "outside package.json")
                install, install_cmd, install_dir = run, cmd, here
                omit = _omits_dev(cmd, env_production)
            elif words[0] == "mkdir":
                made += [posixpath.normpath(posixpath.join(here, w)) for w in words[1:]
                         if not w.startswith("-")]
            elif not _harmless(words):
                raise Blocked(f"line {ins.start_line}: `{' '.join(words[:3])}` may make or "
                              "install something the runtime needs")
    if install is None or install_cmd is None:
        raise Blocked("no npm ci/npm install")
    if workdir in (None, "/") or not copies:
        raise Blocked("no WORKDIR: the app's folder is the filesystem root")
    assert workdir is not None
    if not PLAIN_WORD.fullmatch(workdir):
        raise Blocked("the WORKDIR is not a plain path")
    if install_dir != workdir:
        raise Blocked(f"npm installs in {install_dir}, not in the final WORKDIR {workdir}")
    for ins, here in copies:
        # The runtime sets the final WORKDIR first: a relative destination must have been
        # resolved against it in the builder too.
        if not ins.value[-1].startswith("/") and here != workdir:
            raise Blocked(f"line {ins.start_line}: {ins.keyword} to a relative path while "
                          f"the WORKDIR was {here}, not {workdir}")
        check_copy(ins, workdir, False)
    for folder in made:
        # Making the app's folder (or a parent) is harmless: WORKDIR makes it too.
        if not (workdir + "/").startswith(folder.rstrip("/") + "/"):
            raise Blocked(f"mkdir {folder}: a folder the app may need at run time")
    pkg = _prod_context_checks(ctx)
    _, argv = image_command(keep)
    script = _prod_script(argv, pkg)
    _check_script(ctx, copies, workdir, script)
    image = slim_variant(ref) or final.base
    runtime_pkgs: list[str] = []
    why: list[str] = []
    family = facts.family if facts is not None else "unknown"
    if packages.installed:
        kept = AptPackages([p for p in packages.installed
                            if p.split("=")[0] not in _APT_TOOLS_FOR_NPM], packages.manager)
        if (packages.manager, family) not in (("apt", "debian"), ("apk", "alpine")):
            raise Blocked(f"{packages.manager} packages on a {family} image")
        runtime_pkgs, why = runtime_packages(kept, "debian", release_of(ref, "debian",
                                                                        numbers=False))
    for ins in keep:
        user = ins.value[0].split(":")[0] if ins.keyword == "USER" and ins.value else "0"
        if not (user.isdigit() or user in ("root", "node")):
            raise Blocked(f"USER {user} may be a user created in the builder; the runtime "
                          "image has only root and node")
        if ins.keyword == "HEALTHCHECK" and image != final.base:
            used = set(re.findall(r"[\w.-]+", ins.args.text))
            missing = sorted(w for w in used if w in FULL_ONLY_TOOLS
                             and FULL_ONLY_TOOLS[w] not in runtime_pkgs)
            if missing:
                raise Blocked(f"HEALTHCHECK uses {missing[0]}, which node:-slim lacks")
    for ins, _ in copies:
        chown = [f for f in ins.flags if f.startswith("--chown=")]
        owner = chown[0].split("=", 1)[1].split(":")[0] if chown else "root"
        if not (owner.isdigit() or owner in ("root", "node")):
            raise Blocked(f"line {ins.start_line}: --chown={owner}: the runtime image has "
                          "only root and node")
    env_lines, keep_lines = settings_lines(tree, keep)
    copy_lines = [block(tree, ins) for ins in _needed_copies(ctx, copies, workdir)]
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("node-prod", builder, from_edit)
    plan.protected = [workdir.rstrip("/") + "/node_modules"]
    ws = workdir.rstrip("/") + "/"
    devdeps = pkg is None or bool(pkg.get("devDependencies"))
    if omit or not devdeps:
        how = ("installed without devDependencies" if omit else
               "package.json has no devDependencies")
    else:
        # Nothing in the builder runs after the install, so it needs no devDependencies:
        # install without them (rather than prune afterwards), which keeps the install
        # one cacheable step that DO601 can put right after the manifests.
        major = re.match(r"(\d+)", ref.tag or "")
        flag = "--omit=dev" if major is None or int(major.group(1)) >= 16 else "--production"
        if any(w in ("--include=dev", "--production=false", "--also=dev", "--include")
               for w in cmd_words(install_cmd)):
            raise Blocked(f"line {install.ins.start_line}: the install asks for "
                          "devDependencies")
        sub = next(w for w in install_cmd.resolved_args
                   if w.value and not w.value.startswith("-"))
        edit = insert_at(install, sub.end, f" {flag}")
        plan.inserts[edit.start] = edit.content
        how = f"installed with `{flag}` in the builder: production dependencies only"
    native = [] if ctx.build is None else native_dependencies(ctx)
    plan.moved = [f"{ws}node_modules ({how}"
                  + (f"; native modules such as {native[0]} compiled on the full image"
                     if native else "") + ")"]
    plan.moved.append("the app's files, copied again from the build context with the "
                      f"builder's own COPY instruction{'s' if len(copy_lines) > 1 else ''} "
                      f"(the CMD runs {script})")
    if runtime_pkgs:
        plan.moved.append(f"{packages.manager} packages " + ", ".join(why))
    plan.moved.append(f"base {image} (" + ("the -slim variant: no compilers or dev "
                                           "libraries" if image != final.base
                                           else "the same image") + ")")
    settings = [line.split(None, 1)[0].upper() for line in keep_lines + env_lines
                if not line.lstrip().startswith("#")]
    if settings:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(settings)))
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    lines = keep_lines + env_lines + copy_lines
    plan.runtime = render("node-prod", style, {
        "image": image, "builder": builder, "workdir": workdir, "workdir_slash": ws,
        "env": env_lines,
        "apt": (apk_run if family == "alpine" else apt_run)(style, runtime_pkgs)
        if runtime_pkgs else "",
        "copies": copy_lines, "keep": keep_lines,
        "args": [block(tree, a) for a in args] if any("$" in x for x in lines) else []})
    return plan


_NPM_VALUE_FLAGS = frozenset({"--omit", "--include", "--only", "--loglevel", "--registry",
                              "--cache", "--userconfig", "--prefix", "--install-strategy"})


def _named_packages(words: list[str]) -> list[str]:
    """The packages an `npm install` command names (none: it installs package.json)."""
    args = words[1:]
    sub = _npm_sub(words)
    out: list[str] = []
    skip = False
    for w in args:
        if skip:
            skip = False
        elif w.startswith("-"):
            skip = w in _NPM_VALUE_FLAGS
        elif w != sub or out:
            out.append(w)
        else:
            sub = None  # the subcommand itself
    return out


def _harmless(words: list[str]) -> bool:
    """Commands before the install that leave nothing the runtime needs: npm settings,
    version prints and removals."""
    sub = _npm_sub(words)
    if words[0] == "npm":
        return sub in ("config", "set", "cache") or words[1:2] in (["-v"], ["--version"])
    if words[0] == "node":
        return words[1:] in (["-v"], ["--version"])
    return words[0] in ("rm", "echo", "true", "set")


def _prod_context_checks(ctx: Context) -> dict[str, Any] | None:
    """package.json (None without a build context); raises when the install may make
    files outside node_modules, or the compiled modules need system libraries."""
    if ctx.build is None:
        return None
    if ctx.read_context_file("package.json") is None:
        raise Blocked("no package.json at the root of the build context")
    pkg = _package_json(ctx)
    if pkg is None:
        raise Blocked("package.json does not parse")
    scripts = pkg.get("scripts") or {}
    if isinstance(scripts, dict):
        ran = [s for s in _INSTALL_SCRIPTS if s in scripts]
        if ran:
            raise Blocked(f"package.json has a {ran[0]} script, which npm runs on install "
                          "and may write files outside node_modules")
    if pkg.get("workspaces"):
        raise Blocked("npm workspaces: node_modules links to folders of the sources")
    if "binding.gyp" in ctx.build.files or pkg.get("gypfile"):
        raise Blocked("binding.gyp: the app's own native addon is built outside "
                      "node_modules")
    for name in native_dependencies(ctx):
        if name in _SYSTEM_LIB_NPM:
            raise Blocked(f"{name} links {_SYSTEM_LIB_NPM[name]}, which node:-slim lacks")
    modules = [f for f in ctx.build.files if f.startswith("node_modules/")]
    if modules:
        overlay = ctx.overlay.get(".dockerignore")
        gone = ctx.build.excluded(ctx.build.ignore_patterns(overlay))
        if any(f not in gone for f in modules):
            raise Blocked("the build context has node_modules/ (not in .dockerignore): "
                          "copying the sources again would overwrite the installed modules")
    return pkg


# Init programs an ENTRYPOINT puts in front of the command (`tini -- node app.js`), and
# the node image's own entrypoint script (in -slim too).
_INITS = frozenset({"tini", "tini-static", "dumb-init", "docker-entrypoint.sh"})


def _prod_script(argv: list[str], pkg: dict[str, Any] | None) -> str:
    """The JS file `node <file>` or `npm start` runs."""
    if argv and posixpath.basename(argv[0]) in _INITS:
        rest = argv[1:]
        if "--" in rest:
            rest = rest[rest.index("--") + 1:]
        else:
            rest = [a for a in rest if not a.startswith("-")] if rest[:1] and \
                rest[0].startswith("-") else rest
        return _prod_script(rest, pkg)
    if argv and posixpath.basename(argv[0]) in ("node", "nodejs"):
        rest = argv[1:]
        i = 0
        while i < len(rest):
            a = rest[i]
            flag = a.split("=", 1)[0]
            if flag in _NODE_CODE_FLAGS:
                raise Blocked(f"node {a} runs inline code")
            if flag in ("-r", "--require", "--import", "--loader", "--experimental-loader"):
                value = a.split("=", 1)[1] if "=" in a else (rest[i + 1] if i + 1 < len(rest)
                                                             else "")
                _check_preload(value, pkg)
            if a.startswith("-"):
                i += 2 if flag in _NODE_VALUE_FLAGS and "=" not in a else 1
                continue
            return a
        raise Blocked("node runs no script file")
    if argv[:2] == ["npm", "start"] or argv[:3] == ["npm", "run", "start"]:
        if pkg is None:
            raise Blocked("npm start: package.json cannot be read without the build context")
        scripts = pkg.get("scripts") or {}
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if start is None:
            return "server.js"  # npm's default start script: node server.js
        if isinstance(start, str):
            words = start.split()
            if words[:1] == ["node"] and all(PLAIN_WORD.fullmatch(w) for w in words):
                return _prod_script(words, pkg)
        raise Blocked("npm start does not run `node <file>`")
    raise Blocked("CMD does not run `node <file>` or `npm start`")


def _check_preload(module: str, pkg: dict[str, Any] | None) -> None:
    if module.startswith((".", "/")):
        return  # a file of the app: copied with the sources
    if pkg is None:
        return
    deps = pkg.get("dependencies") or {}
    name = "/".join(module.split("/")[:2]) if module.startswith("@") else module.split("/")[0]
    if not isinstance(deps, dict) or name not in deps:
        raise Blocked(f"node preloads {module}, which is not a production dependency")


def _check_script(ctx: Context, copies: list[tuple[Instruction, str]], workdir: str,
                  script: str) -> None:
    """The script CMD runs comes from the build context through the stage's COPYs."""
    path = posixpath.normpath(posixpath.join(workdir, script))
    if path == workdir or path.startswith(workdir.rstrip("/") + "/node_modules/"):
        raise Blocked(f"CMD runs {script}, which is not an app file")
    for candidate in (path, path + ".js", path + "/index.js"):
        rel = context_path(copies, candidate, ctx)
        if rel is None:
            continue
        if ctx.build is None or ctx.build.is_file(rel):
            return
    raise Blocked(f"CMD runs {script}, which no COPY brings from the build context")


def _needed_copies(ctx: Context, copies: list[tuple[Instruction, str]],
                   workdir: str) -> list[Instruction]:
    """The builder's COPY/ADD instructions for the runtime, without the ones a later
    `COPY . .` into the WORKDIR copies over again (`COPY package*.json ./`)."""
    out: list[Instruction] = []
    for i, (ins, here) in enumerate(copies):
        covered = False
        for later, there in copies[i + 1:]:
            # The later COPY writes the same paths again (contents, owner and mode);
            # flags that narrow what it copies would leave some out.
            if later.keyword != "COPY" or ins.keyword != "COPY" or len(later.value) != 2 \
                    or any(not f.startswith(("--chown", "--chmod", "--link"))
                           for f in later.flags):
                continue
            src, dest = later.value
            if posixpath.normpath(src).lstrip("/") not in (".", "") or \
                    posixpath.normpath(posixpath.join(there, dest)) != workdir:
                continue
            *sources, dest = ins.value
            dest_abs = posixpath.normpath(posixpath.join(here, dest))
            many = len(sources) > 1 or dest.endswith("/") or dest in (".", "./")
            covered = many and all(
                posixpath.join(dest_abs, posixpath.basename(s)) ==
                posixpath.normpath(posixpath.join(workdir, s)) for s in sources)
            if covered:
                break
        if not covered:
            out.append(ins)
    return out


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
