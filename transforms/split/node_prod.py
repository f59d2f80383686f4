"""DO101 for node without a build step, with npm, yarn or pnpm: a production install on
the full image (the builder), and on ``node:X-slim`` the production ``node_modules``
copied from it plus the app's files copied again from the build context.

Offered only where the split gives more than DO605's plain switch to -slim: the
install brings devDependencies, native modules need the full image's compilers, or
the stage installs build tools for node-gyp (see :func:`node_prod_matches`).

The builder's install is made a production one where it is not: ``npm install
--omit=dev``, ``yarn install --production`` (Yarn classic), ``pnpm install --prod``.
Yarn 2+ ("berry") has no such flag: with ``nodeLinker: node-modules`` a ``RUN yarn
workspaces focus --all --production`` after the install relinks ``node_modules``
from yarn's cache without the devDependencies (the install itself, ``--immutable``
included, is left as written); Plug'n'Play keeps the dependencies in ``.yarn/cache``
and ``.pnp.cjs`` and is a suggestion. pnpm's ``node_modules`` holds its own store
(``node_modules/.pnpm``, relative symlinks), so it copies as a whole.

The runtime needs the package manager only when its CMD runs it (``yarn start``):
then the commands that installed it in the builder (``npm install -g yarn@1``,
``corepack prepare pnpm@8 --activate``) are repeated there; yarn 1 otherwise comes
with the image (the official -slim images ship it), pnpm never does, and corepack
alone would download the package manager when the container starts."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import (
    BUILD_PACKAGES,
    FULL_ONLY_TOOLS,
    native_dependencies,
)
from dockopt.transforms.images import ImageRef, facts_for, parse_image_ref
from dockopt.transforms.shellfix import RunShell, insert_at, shell_runs
from dockopt.transforms.split.common import (
    KEEP,
    PLAIN_WORD,
    Blocked,
    Plan,
    block,
    builder_name,
    check_copy,
    cmd_words,
    image_command,
    render,
    settings_lines,
    slim_variant,
)
from dockopt.transforms.split.native import context_path
from dockopt.transforms.split.node import has_npm_build
from dockopt.transforms.split.node_pm import (
    check_install,
    is_install,
    package_manager,
    setup_command,
)
from dockopt.transforms.split.packages import (
    AptPackages,
    apk_run,
    apt_run,
    read_installs,
    release_of,
    runtime_packages,
)
from dockopt.transforms.split.pm_config import Berry, pnpm_layout_problem, yarn_berry

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


def _is_pm_install(words: list[str], pm: str) -> bool:
    return _is_npm_install(words) if pm == "npm" else is_install(words, pm)


def _env_production(ins: Instruction) -> bool | None:
    """What an ENV instruction sets NODE_ENV to: True for production, None if unset."""
    v = ins.value
    for i in range(0, len(v) - 1, 2):
        if v[i] == "NODE_ENV":
            return v[i + 1] == "production"
    return None


# yarn classic's and pnpm's flags for a production install, and against one (pnpm's
# `-D` installs the devDependencies alone).
_PM_PROD_FLAGS = frozenset({"--production", "--production=true", "--prod", "-P"})
_PM_DEV_FLAGS = frozenset({"--production=false", "--prod=false", "--dev", "-D"})


def _omits_dev(cmd: SimpleCommand, env_production: bool, pm: str = "npm",
               berry: Berry | None = None) -> bool:
    """Whether this install leaves devDependencies out. Yarn classic, pnpm and npm
    read NODE_ENV=production; Yarn 2+ always installs them."""
    words = cmd_words(cmd)
    if berry is not None:
        return False
    prefix = {w.value for w in cmd.env if w.value}
    production = env_production or "NODE_ENV=production" in prefix
    if "NODE_ENV" in {p.split("=", 1)[0] for p in prefix} and "NODE_ENV=production" not in prefix:
        production = False
    if pm != "npm":
        if _PM_DEV_FLAGS & set(words[1:]):
            return False
        return production or bool(_PM_PROD_FLAGS & set(words[1:]))
    for i, w in enumerate(words[1:], 1):
        if w in ("--omit=dev", "--production", "--production=true", "--only=prod",
                 "--only=production") or (w == "--omit" and words[i + 1:i + 2] == ["dev"]):
            production = True
        if w in ("--include=dev", "--production=false", "--also=dev") or \
                (w == "--include" and words[i + 1:i + 2] == ["dev"]):
            return False
    return production


def _stage_installs(ctx: Context, stage: Stage,
                    pm: str = "npm") -> list[tuple[RunShell, SimpleCommand]]:
    """The stage's dependency installs with ``pm`` (`npm install -g yarn` installs the
    package manager, not the app's dependencies)."""
    return [(r, c) for r in shell_runs(ctx, stage) for c in r.script.commands
            if _is_pm_install(cmd_words(c), pm)
            and not any(setup_command(cmd_words(c), other) for other in ("yarn", "pnpm"))]


def _installs_dev(ctx: Context, stage: Stage,
                  installs: list[tuple[RunShell, SimpleCommand]], pm: str = "npm",
                  berry: Berry | None = None) -> bool:
    env_production = False
    for ins in stage.body:
        if ins.keyword == "ENV":
            env_production = bool(_env_production(ins)) if _env_production(ins) is not None \
                else env_production
        if ins.keyword == "RUN":
            for run, cmd in installs:
                if run.ins is ins and not _omits_dev(cmd, env_production, pm, berry):
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
    return _prod_matches(ctx, final, ref, "npm")


def yarn_prod_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """As :func:`node_prod_matches`, for a stage that installs with yarn alone."""
    return _prod_matches(ctx, final, ref, "yarn")


def pnpm_prod_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """As :func:`node_prod_matches`, for a stage that installs with pnpm alone."""
    return _prod_matches(ctx, final, ref, "pnpm")


def yarn_prod_plan(ctx: Context, final: Stage) -> Plan:
    return _prod_plan(ctx, final, "yarn")


def pnpm_prod_plan(ctx: Context, final: Stage) -> Plan:
    return _prod_plan(ctx, final, "pnpm")


def _berry(ctx: Context, pm: str) -> Berry | None:
    if pm != "yarn" or ctx.build is None:
        return None
    return yarn_berry(ctx, _package_json(ctx) or {})


def _prod_matches(ctx: Context, final: Stage, ref: ImageRef, pm: str) -> bool:
    if ref.repository != "node" or has_npm_build(ctx, final):
        return False
    if pm != "npm" and package_manager(ctx, final) != pm:
        return False
    installs = _stage_installs(ctx, final, pm)
    if not installs:
        return False
    dev = _installs_dev(ctx, final, installs, pm, _berry(ctx, pm))
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
    return _prod_plan(ctx, final, "npm")


def _prod_plan(ctx: Context, final: Stage, pm: str) -> Plan:
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
    setup: list[str] = []  # the commands that installed yarn/pnpm
    berry = _berry(ctx, pm)
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
            if install is not None and words[:2] not in (["npm", "cache"], [pm, "cache"],
                                                         ["pnpm", "store"]) \
                    and words[0] != "rm":
                raise Blocked(f"line {ins.start_line}: a RUN after the install may make "
                              "something the app needs at run time")
            if install is not None and berry is not None:
                raise Blocked(f"line {ins.start_line}: `{' '.join(words[:3])}` after a Yarn 2+ "
                              "install, whose production relink (yarn workspaces focus) reads "
                              "yarn's cache")
            if read_installs(cmd, ins.start_line, packages):
                continue
            if pm != "npm" and setup_command(words, pm):
                if not all(PLAIN_WORD.fullmatch(w) for w in words):
                    raise Blocked(f"line {ins.start_line}: `{' '.join(words[:3])}` is not "
                                  "plain words")
                setup.append(" ".join(words))
                continue
            if words[0] in ("yarn", "pnpm", "corepack") and not _is_pm_install(words, pm):
                if pm == "npm":
                    raise Blocked("yarn/pnpm: pruning to production dependencies differs")
                if words[1:] not in (["-v"], ["--version"]):
                    raise Blocked(f"line {ins.start_line}: `{' '.join(words[:3])}` may make "
                                  "or install something the runtime needs")
                continue
            if _is_pm_install(words, pm):
                if install is not None:
                    raise Blocked(f"more than one {pm} install")
                if pm == "npm" and (_named_packages(words) or "-g" in words
                                    or "--global" in words):
                    raise Blocked(f"line {ins.start_line}: npm install names packages "
                                  "outside package.json")
                if pm != "npm":
                    _check_pm_install(words, pm, ins.start_line, berry)
                install, install_cmd, install_dir = run, cmd, here
                omit = _omits_dev(cmd, env_production, pm, berry)
            elif pm != "npm" and _is_npm_install(words):
                raise Blocked(f"line {ins.start_line}: npm and {pm} both install")
            elif words[0] == "mkdir":
                made += [posixpath.normpath(posixpath.join(here, w)) for w in words[1:]
                         if not w.startswith("-")]
            elif not _harmless(words):
                raise Blocked(f"line {ins.start_line}: `{' '.join(words[:3])}` may make or "
                              "install something the runtime needs")
    if install is None or install_cmd is None:
        raise Blocked("no npm ci/npm install" if pm == "npm" else f"no {pm} install")
    if workdir in (None, "/") or not copies:
        raise Blocked("no WORKDIR: the app's folder is the filesystem root")
    assert workdir is not None
    if not PLAIN_WORD.fullmatch(workdir):
        raise Blocked("the WORKDIR is not a plain path")
    if install_dir != workdir:
        raise Blocked(f"{pm} installs in {install_dir}, not in the final WORKDIR {workdir}")
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
    pkg = _prod_context_checks(ctx, pm, berry)
    _, argv = image_command(keep)
    script = _prod_script(argv, pkg, pm)
    runtime_setup = _runtime_setup(argv, pm, setup, berry)
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
        if any(w in _DEV_ASKING[pm] for w in cmd_words(install_cmd)):
            raise Blocked(f"line {install.ins.start_line}: the install asks for "
                          "devDependencies")
        if berry is not None:
            # Yarn 2+ has no production flag: relink node_modules from the cache the
            # install just filled, without the devDependencies.
            line = style.instruction("RUN", _FOCUS)
            at = install.ins.end
            plan.inserts[at] = line if install.ins.text.endswith("\n") else \
                style.newline + line.rstrip("\r\n")
            how = (f"relinked without devDependencies by `{_FOCUS}` in the builder, "
                   "after the install")
        else:
            major = re.match(r"(\d+)", ref.tag or "")
            flag = {"yarn": "--production", "pnpm": "--prod"}.get(pm) or (
                "--omit=dev" if major is None or int(major.group(1)) >= 16
                else "--production")
            sub = next((w for w in install_cmd.resolved_args
                        if w.value and not w.value.startswith("-")), None)
            if sub is None:  # a bare `yarn`: the flag goes after the command's name
                assert install_cmd.resolved_index is not None
                sub = install_cmd.words[install_cmd.resolved_index]
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
    if runtime_setup:
        plan.moved.append(f"{pm} itself, installed as the builder did (`{runtime_setup}`), "
                          "as the CMD runs it")
    elif pm != "npm" and _runs_pm(argv, pm):
        plan.moved.append(f"{pm} from the image (the -slim variant ships the same yarn 1.x "
                          "as the full image)")
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
        "copies": copy_lines, "keep": keep_lines, "setup": runtime_setup,
        "args": [block(tree, a) for a in args] if any("$" in x for x in lines) else []})
    return plan


_FOCUS = "yarn workspaces focus --all --production"
# Install flags that ask for the devDependencies, per package manager.
_DEV_ASKING = {"npm": frozenset({"--include=dev", "--production=false", "--also=dev",
                                 "--include"}),
               "yarn": _PM_DEV_FLAGS, "pnpm": _PM_DEV_FLAGS}
# Yarn 2+ install flags that change nothing the runtime depends on.
_BERRY_FLAGS = frozenset({"--immutable", "--immutable-cache", "--check-cache",
                          "--inline-builds", "--refresh-lockfile"})


def _check_pm_install(words: list[str], pm: str, line: int, berry: Berry | None) -> None:
    """A yarn/pnpm install the split can follow: package.json's dependencies, with flags
    that change nothing the runtime gets."""
    if berry is None:
        check_install(words, pm, line)
        return
    for w in words[1:]:
        if w == "install" or w in _BERRY_FLAGS:
            continue
        raise Blocked(f"line {line}: `yarn install {w}` is not followed (Yarn 2+)")


def _runs_pm(argv: list[str], pm: str) -> bool:
    return any(posixpath.basename(a) == pm for a in argv[:3])


def _runtime_setup(argv: list[str], pm: str, setup: list[str], berry: Berry | None) -> str:
    """The commands the runtime repeats to have yarn/pnpm, when its CMD runs it."""
    if pm == "npm" or not _runs_pm(argv, pm):
        return ""
    if berry is not None and berry.yarn_path is None:
        raise Blocked("the CMD runs Yarn 2+, which .yarnrc.yml does not pin with yarnPath: "
                      "the runtime would need corepack to fetch it")
    if setup:
        if all(s.split()[:2] == ["corepack", "enable"] for s in setup):
            raise Blocked(f"the CMD runs {pm} through corepack, which would download it "
                          f"when the container starts (`corepack prepare {pm}@<v> "
                          "--activate` in the stage would fetch it at build time)")
        return " && ".join(setup)
    if pm == "pnpm":
        raise Blocked("the CMD runs pnpm, which the stage does not install (npm install -g "
                      "pnpm, corepack), so the runtime would not have it")
    return ""


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


def _prod_context_checks(ctx: Context, pm: str = "npm",
                         berry: Berry | None = None) -> dict[str, Any] | None:
    """package.json (None without a build context); raises when the install may make
    files outside node_modules, or the compiled modules need system libraries."""
    if ctx.build is None:
        return None
    if berry is not None:
        if berry.linker != "node-modules":
            raise Blocked(f"Yarn 2+ ({berry.evidence}) with Plug'n'Play: the dependencies "
                          "are zip archives in .yarn/cache loaded through .pnp.cjs, not a "
                          "node_modules folder to copy (`nodeLinker: node-modules` in "
                          ".yarnrc.yml would make one)")
        if not berry.focus:
            version = f"Yarn {berry.major}" if berry.major else "a Yarn 2+ version not known"
            raise Blocked(f"{version} ({berry.evidence}) without `yarn workspaces focus "
                          "--all` (built in from Yarn 4, the workspace-tools plugin in Yarn "
                          "3): no production install to make")
    if pm == "pnpm":
        if ctx.build.is_file("pnpm-workspace.yaml"):
            raise Blocked("pnpm-workspace.yaml: a workspace, whose packages link to folders "
                          "of the sources")
        layout = pnpm_layout_problem(ctx)
        if layout is not None:
            raise Blocked(layout)
    if ctx.read_context_file("package.json") is None:
        raise Blocked("no package.json at the root of the build context")
    pkg = _package_json(ctx)
    if pkg is None:
        raise Blocked("package.json does not parse")
    scripts = pkg.get("scripts") or {}
    if isinstance(scripts, dict):
        ran = [s for s in _INSTALL_SCRIPTS if s in scripts]
        if ran:
            raise Blocked(f"package.json has a {ran[0]} script, which {pm} runs on install "
                          "and may write files outside node_modules")
    if pkg.get("workspaces"):
        raise Blocked(f"{pm} workspaces: node_modules links to folders of the sources")
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


def _prod_script(argv: list[str], pkg: dict[str, Any] | None, pm: str = "npm") -> str:
    """The JS file `node <file>` or `npm start` (`yarn start`, `pnpm start` in their
    stages) runs."""
    if argv and posixpath.basename(argv[0]) in _INITS:
        rest = argv[1:]
        if "--" in rest:
            rest = rest[rest.index("--") + 1:]
        else:
            rest = [a for a in rest if not a.startswith("-")] if rest[:1] and \
                rest[0].startswith("-") else rest
        return _prod_script(rest, pkg, pm)
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
    runner = argv[0] if argv[:1] in (["npm"], [pm]) else None
    if runner is not None and (argv[1:2] == ["start"] or argv[1:3] == ["run", "start"]):
        if pkg is None:
            raise Blocked(f"{runner} start: package.json cannot be read without the build "
                          "context")
        scripts = pkg.get("scripts") or {}
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if start is None and runner != "yarn":
            return "server.js"  # npm's and pnpm's default start script: node server.js
        if isinstance(start, str):
            words = start.split()
            if words[:1] == ["node"] and all(PLAIN_WORD.fullmatch(w) for w in words):
                return _prod_script(words, pkg, pm)
        raise Blocked(f"{runner} start does not run `node <file>`")
    if pm == "npm":
        raise Blocked("CMD does not run `node <file>` or `npm start`")
    raise Blocked(f"CMD does not run `node <file>`, `{pm} start` or `npm start`")


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
