"""Dependency manifests before the install (DO601), and the image-path model it shares
with the lockfile transform (DO602, ``transforms/context/lockfiles.py``).

The model: walking a stage (and the stages it is built ``FROM``), we track the
working directory symbolically (``WORKDIR`` values joined as strings; an unknown
base-image directory is ``<image>``) and what each ``COPY``/``ADD`` and
``RUN --mount=type=bind`` puts where.  That answers "which context file is
``<cwd>/package-lock.json`` when this RUN runs?" and "which context folder does
``COPY . <dest>`` put at this install's working directory?".
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

from dockopt.rewriter.context import (
    BadPattern,
    BuildContext,
    PatternMatcher,
    glob_matches,
    go_clean,
)
from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.shellfix import RunShell

UNKNOWN_DIR = "<image>"

# --------------------------------------------------------------------------- paths


def join_path(base: str, path: str) -> str:
    """``path`` resolved against the (symbolic) directory ``base``."""
    if path.startswith("/"):
        return posixpath.normpath(path)
    joined = posixpath.normpath(base.rstrip("/") + "/" + path) if path else base
    return joined if joined.startswith(("/", UNKNOWN_DIR)) else base


def within(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` ("" when equal), or None when outside it."""
    if path == root:
        return ""
    prefix = root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else None


def ctx_join(a: str, b: str) -> str:
    joined = go_clean(f"{a}/{b}" if a else b or ".")
    return "" if joined == "." else joined


def stage_chain(ctx: Context, stage: Stage) -> list[Stage]:
    """``stage`` and the stages it is built FROM, oldest first."""
    chain = [stage]
    seen = {stage.index}
    current = stage
    while True:
        base = current.base.lower()
        parent = next((s for s in ctx.tree.stages[: current.index]
                       if s.name and s.name.lower() == base), None)
        if parent is None or parent.index in seen:
            break
        chain.insert(0, parent)
        seen.add(parent.index)
        current = parent
    return chain


def stage_of(ctx: Context, ins: Instruction) -> Stage | None:
    for stage in ctx.tree.stages:
        if any(i.start == ins.start for i in stage.body):
            return stage
    return None


@dataclass
class Placed:
    """One COPY/ADD (or bind mount) of context files, resolved."""

    ins: Instruction
    sources: list[str]  # cleaned context paths / globs
    dest: str  # absolute (symbolic) destination
    dir_dest: bool  # dest is certainly a folder


def _local_copy(ins: Instruction) -> bool:
    if ins.keyword not in ("COPY", "ADD") or ins.passthrough or ins.heredoc_docs:
        return False
    return not any(f.lower().startswith("--from") for f in ins.flags)


def walk(ctx: Context, stage: Stage, until: Instruction) -> tuple[str, list[Placed]]:
    """The working directory at ``until`` and the local copies made before it."""
    cwd = UNKNOWN_DIR
    placed: list[Placed] = []
    for st in stage_chain(ctx, stage):
        if st is not stage and st.index == stage.index:
            break
        for ins in st.body:
            if ins.start >= until.start and st is stage:
                return cwd, placed
            if ins.keyword == "WORKDIR" and ins.value:
                cwd = join_path(cwd, ins.value[0])
            elif _local_copy(ins) and len(ins.value) >= 2:
                dest_raw = ins.value[-1]
                srcs = [go_clean(s.lstrip("/") or ".") for s in ins.value[:-1]]
                dir_dest = dest_raw.endswith("/") or len(srcs) > 1 or dest_raw in (".", "..")
                placed.append(Placed(ins, srcs, join_path(cwd, dest_raw), dir_dest))
    return cwd, placed


class ImageView:
    """What context files a RUN sees at image paths (COPY/ADD before it, bind mounts)."""

    def __init__(self, ctx: Context, build: BuildContext, stage: Stage, run: Instruction):
        self.ctx = ctx
        self.build = build
        self.cwd, self.placed = walk(ctx, stage, run)
        self.matcher = ignore_matcher(ctx, build)
        for m in _bind_mounts(run):
            self.placed.append(Placed(run, [m[0]], join_path(self.cwd, m[1]), False))

    def provider(self, image_path: str) -> tuple[str, Instruction] | None:
        """The context file that sits at ``image_path``, and the COPY that put it there."""
        found: tuple[str, Instruction] | None = None
        for p in self.placed:
            for src in p.sources:
                got = self._map(src, p, image_path)
                if got is not None:
                    found = (got, p.ins)
        return found

    def _map(self, src: str, p: Placed, image_path: str) -> str | None:
        build = self.build
        if src == "." or src in build.dirs:
            # A folder copies its contents into dest.
            rel = within(image_path, p.dest)
            if rel is None or rel == "":
                return None
            cand = ctx_join("" if src == "." else src, rel)
            return cand if build.is_file(cand) and not self.ignored(cand) else None
        for f in build.files:
            if not glob_matches(src, f) or self.ignored(f):
                continue
            name = f.rsplit("/", 1)[-1]
            if src != f and not (any(c in src for c in "*?[")):
                continue  # a folder source was handled above
            targets = {posixpath.join(p.dest, name)}
            if not p.dir_dest:
                targets.add(p.dest)
            if image_path in targets:
                return f
        return None

    def ignored(self, rel: str) -> bool:
        return self.matcher is not None and self.matcher.excludes(rel)


def _bind_mounts(run: Instruction) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for flag in run.flags:
        if not flag.lower().startswith("--mount="):
            continue
        opts: dict[str, str] = {}
        for part in flag.split("=", 1)[1].split(","):
            key, _, value = part.partition("=")
            opts[key.strip().lower()] = value.strip()
        if opts.get("type", "bind") != "bind" or "from" in opts:
            continue
        target = opts.get("target", opts.get("dst", opts.get("destination", "")))
        if target:
            out.append((go_clean(opts.get("source", opts.get("src", ".")).lstrip("/") or "."),
                        target))
    return out


def ignore_matcher(ctx: Context, build: BuildContext) -> PatternMatcher | None:
    """The matcher of the ignore file in effect (as fixed so far); None: no patterns."""
    ign = build.ignore_file()
    text = ctx.read_context_file(ign.rel) if ign.rel is not None else ign.text
    try:
        patterns = build.ignore_patterns(text or "")
        return PatternMatcher(patterns) if patterns else None
    except BadPattern:
        return PatternMatcher(["**"])  # Docker refuses the file: trust nothing


# --------------------------------------------------------------------------- installs

NODE_TOOLS = ("npm", "yarn", "pnpm")
_PY = re.compile(r"python(\d+(\.\d+)?)?\Z")
_NPM_VALUE = frozenset({"--prefix", "-C", "--workspace", "-w", "--registry", "--cache", "--cwd",
                        "--userconfig", "--loglevel", "--omit", "--include", "--only"})
_PIP_VALUE = frozenset({"-r", "--requirement", "-c", "--constraint", "-i", "--index-url",
                        "--extra-index-url", "-f", "--find-links", "--target", "-t",
                        "--prefix", "--root", "--cache-dir", "--trusted-host",
                        "--platform", "--python-version", "--implementation", "--abi",
                        "--only-binary", "--no-binary", "--progress-bar", "--src",
                        "--upgrade-strategy", "--log", "--timeout", "--retries",
                        "--proxy", "--config-settings", "-C"})


@dataclass
class Install:
    """A dependency install inside a RUN."""

    tool: str  # npm yarn pnpm pip poetry pipenv uv go-mod maven gradle bundler composer cargo
    cmd: SimpleCommand
    step: int  # index in the RUN's top-level chain
    sub: Word | None
    args: list[str] = field(default_factory=list)  # static argument values after argv[0]
    cwd: str | None = None  # explicit working dir (--prefix, --working-dir), as written


def _values(cmd: SimpleCommand) -> list[str] | None:
    vals = [w.value for w in cmd.resolved_args]
    if any(v is None for v in vals):
        return None
    return [v for v in vals if v is not None]


def _opt(args: Sequence[str], *names: str) -> str | None:
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if n.startswith("--") and a.startswith(n + "="):
                return a[len(n) + 1:]
    return None


def classify(cmd: SimpleCommand, step: int) -> Install | None:
    """The install a simple command runs, or None."""
    name = cmd.resolved_name
    if name is None:
        return None
    args = _values(cmd)
    if args is None:
        return None
    sub = shellfix.subcommand(cmd, _NPM_VALUE)
    subv = sub.value if sub is not None else None
    if name == "npm" and subv in ("install", "i", "ci"):
        if "-g" in args or "--global" in args or any(a.startswith("--global=") for a in args):
            return None
        ops = shellfix.operands(cmd, sub, _NPM_VALUE) if sub else []
        if ops:
            return None
        return Install("npm", cmd, step, sub, args, _opt(args, "--prefix", "-C"))
    if name == "yarn" and (subv is None or subv == "install"):
        if subv is None and any(not a.startswith("-") for a in args):
            return None
        return Install("yarn", cmd, step, sub, args, _opt(args, "--cwd"))
    if name == "pnpm" and subv in ("install", "i"):
        if sub is not None and shellfix.operands(cmd, sub, _NPM_VALUE):
            return None
        if "-g" in args or "--global" in args:
            return None
        return Install("pnpm", cmd, step, sub, args, _opt(args, "--dir", "-C"))
    pip_args: list[str] | None = None
    if name in ("pip", "pip3") or re.fullmatch(r"pip3\.\d+", name):
        pip_args = args
    elif _PY.match(name) and args[:2] == ["-m", "pip"]:
        pip_args = args[2:]
    if pip_args is not None:
        if pip_args[:1] != ["install"]:
            return None
        local = any(a in (".", "-e", "--editable") or a.startswith(("./", "-e.", ".["))
                    for a in pip_args)
        if _opt(pip_args, "-r", "--requirement") is None and not local and \
                not any(a.startswith("-r") and len(a) > 2 for a in pip_args):
            return None
        return Install("pip", cmd, step, sub, pip_args)
    if name == "poetry" and subv == "install" and "--only-root" not in args:
        return Install("poetry", cmd, step, sub, args, _opt(args, "--directory", "-C"))
    if name == "pipenv" and subv in ("install", "sync"):
        if sub is not None and shellfix.operands(cmd, sub):
            return None
        return Install("pipenv", cmd, step, sub, args)
    if name == "uv" and subv == "sync":
        return Install("uv", cmd, step, sub, args, _opt(args, "--directory", "--project"))
    if name == "go" and args[:2] == ["mod", "download"]:
        return Install("go-mod", cmd, step, sub, args)
    if name in ("mvn", "mvnw") and any(a in ("package", "install", "verify", "compile",
                                             "dependency:go-offline", "dependency:resolve")
                                       for a in args):
        return Install("maven", cmd, step, sub, args)
    if name in ("gradle", "gradlew") and any(a in ("build", "assemble", "installDist",
                                                   "bootJar", "shadowJar") for a in args):
        return Install("gradle", cmd, step, sub, args)
    if name in ("bundle", "bundler") and subv == "install":
        return Install("bundler", cmd, step, sub, args, _opt(args, "--gemfile"))
    if name == "composer" and subv == "install":
        return Install("composer", cmd, step, sub, args, _opt(args, "--working-dir", "-d"))
    if name == "cargo" and subv in ("build", "install"):
        return Install("cargo", cmd, step, sub, args)
    return None


def installs(run: RunShell) -> Iterator[Install]:
    for i, step in enumerate(run.script.top_level):
        if step.command is None:
            continue
        got = classify(step.command, i)
        if got is not None:
            yield got


def cd_target(run: RunShell, step: int) -> str | None:
    """The directory a top-level ``cd X`` at ``step`` goes to, else None."""
    cmd = run.script.top_level[step].command
    if cmd is None or cmd.name != "cd" or len(cmd.words) != 2:
        return None
    return cmd.words[1].value


def install_cwd(run: RunShell, inst: Install, cwd: str) -> str | None:
    """The image directory the install runs in (after ``cd`` steps before it)."""
    # A heredoc body's lines are separate commands (no implicit `set -e`): a failed
    # `cd` there would not stop the install, so its folder is not certain.
    separators = (None, "&&", "\n") if run.heredoc else (None, "&&")
    for i in range(inst.step):
        step = run.script.top_level[i]
        if step.operator_before not in separators:
            return None
        target = cd_target(run, i)
        if target is not None:
            if run.heredoc or target.startswith("-") or "$" in target:
                return None
            cwd = join_path(cwd, target)
        elif step.command is not None and step.command.name in shellfix.STATEFUL:
            return None
    if inst.cwd is not None:
        if "$" in inst.cwd:
            return None
        cwd = join_path(cwd, inst.cwd)
    return cwd


# --------------------------------------------------------------------------- DO601

_FIX_TOOLS = ("npm", "yarn", "pnpm", "pip", "poetry", "pipenv", "uv", "go-mod", "maven",
              "bundler", "composer")
_PKG_TOOLS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper",
                        "corepack", "true", "update-ca-certificates", "ln"})
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")
_KEEP_COPY_FLAGS = ("--chown", "--chmod", "--link")


ORIGINAL = "<the original command>"


@dataclass
class Plan:
    files: list[str]  # context paths, in order
    before_flags: str = ""  # appended to the moved install (" --no-root")
    finish: str | None = None  # command run after the full copy
    prep: str | None = None  # a new command inserted instead of moving the install
    # Words that identify an existing prep step (any flags): default, the prep's own.
    prep_marks: tuple[str, ...] = ()
    note: str = ""


class ManifestsAfterSource(Transform):
    """A dependency install runs after `COPY . <dest>`, so any source change reinstalls.

    ## What it does
    Finds, in one stage, a `COPY . <dest>` (or `ADD`, `COPY ./ ./`, a single folder
    source) followed by a dependency install: `npm install/ci`, `yarn`,
    `pnpm install`, `pip install -r`, `poetry install`, `pipenv install`, `uv sync`,
    `go mod download`, `mvn package`, `bundle install`, `composer install`. It copies
    the files the install reads first (`COPY package.json package-lock.json .npmrc ./`,
    workspace `package.json` files with their folders, pip `-r`/`-c` includes, ...),
    runs the install, and only then copies the rest:

    - only manifests that exist in the context and are not dockerignored (the exact
      matcher, against the ignore file in effect); a missing lockfile is just absent;
    - the new COPY keeps the original's `--chown`/`--chmod`/`--link` and its
      destination (with a trailing `/`);
    - the full COPY moves below the install; WORKDIR, USER, ARG/ENV and package
      manager RUNs in between stay where they are, which is only allowed when none of
      them reads the copied source (ENV values naming copied files, other RUNs or
      COPYs in between, a WORKDIR with a relative destination: finding only);
    - a RUN that goes on after the install (`npm ci && npm run build`) is split: the
      install moves up, the rest stays after the full copy (leading `cd` steps are
      kept in both);
    - ecosystems whose install needs the project itself use their documented split:
      poetry `--no-root` then `poetry install --only-root`; composer
      `--no-scripts --no-autoloader` then `composer dump-autoload --optimize`; uv
      `--no-install-project` then the original `uv sync`; Maven gets a
      `mvn dependency:go-offline` step with `pom.xml` before the full copy;
      `pip install .` (or `.[extras]`) gets a step that installs, by name, the
      dependencies `pyproject.toml` declares statically (`[project] dependencies`
      and the extras named), with `pyproject.toml` copied first so a change to it
      re-runs the step; `pip install .` stays after the full copy and still installs
      whatever the project needs;
    - the install may also sit in a `RUN <<EOF` shell script: that RUN is moved whole
      (never edited), so only when the install is its last command.

    Finding only (no fix): `-e .`, `pip install .` without a static dependency list,
    requirements naming local paths,
    npm lifecycle scripts (`postinstall`, `prepare`, ...) without `--ignore-scripts`,
    `file:` dependencies, composer install scripts or path repositories, a Gemfile with
    `gemspec`/`path:`, go.mod `replace` with local paths or go.work, multi-module Maven,
    Gradle and `cargo build` (they need the source or dummy-source tricks).

    ## Why
    Docker reuses a cached layer only when everything before it is unchanged. After
    `COPY . .`, editing any source file invalidates the install layer, and the next
    build downloads every dependency again. With the manifests first, the install
    layer is reused until the dependencies themselves change.

    ## Example
    ```dockerfile
    WORKDIR /app
    COPY . .
    RUN npm ci
    ```
    becomes
    ```dockerfile
    WORKDIR /app
    COPY package.json package-lock.json ./
    RUN npm ci
    COPY . .
    ```

    ## Fix safety
    Unsafe: the install now runs before the source is there. A build script, a local
    dependency or a tool configuration file that no manifest list knows of may be
    missing when it runs. Known cases are left as findings.

    ## References
    - Docker documentation: "Optimize cache usage in builds"
    - Poetry FAQ (Docker), Composer `--no-autoloader`, uv "Intermediate layers"
    """

    code = "DO601"
    name = "manifests-after-source"
    fix_title = "Copy dependency manifests and install before copying the source"
    default_safety = Safety.UNSAFE
    semantic_scope: ClassVar[str] = "none"

    def check(self, ctx: Context) -> Iterator[Finding]:
        build = ctx.build
        if not isinstance(build, BuildContext) or ctx.tree.has_errors:
            return
        if shellfix.windows_file(ctx):
            return
        for stage in ctx.tree.stages:
            body = stage.body
            for ai, a in enumerate(body):
                src = _whole_copy_source(a, build)
                if src is None:
                    continue
                found = self._after(ctx, build, stage, body, ai, a, src)
                if found is not None:
                    yield found
                    return  # one move per pass: the edits change the layout

    def _after(self, ctx: Context, build: BuildContext, stage: Stage,
               body: Sequence[Instruction], ai: int, a: Instruction,
               src: str) -> Finding | None:
        runs = {r.ins.start: r for r in shellfix.script_runs(ctx, stage)}
        between: list[Instruction] = []
        for r_ins in body[ai + 1:]:
            if _local_copy(r_ins) and _whole_copy_source(r_ins, build) is not None:
                return None  # another full copy: judged on its own
            run = runs.get(r_ins.start)
            found = list(installs(run)) if run is not None else []
            if run is not None and found and shellfix.posix_shell(ctx, r_ins):
                inst = found[0]
                return self._judge(ctx, build, stage, a, src, between, run, inst)
            between.append(r_ins)
        return None

    def _judge(self, ctx: Context, build: BuildContext, stage: Stage, a: Instruction,
               src: str, between: list[Instruction], run: RunShell,
               inst: Install) -> Finding | None:
        cwd_a, _ = walk(ctx, stage, a)
        dest = join_path(cwd_a, a.value[-1])
        cwd_r, _ = walk(ctx, stage, run.ins)
        cwd = install_cwd(run, inst, cwd_r)
        span = (run.src.to_physical(inst.cmd.start), run.src.to_physical_end(inst.cmd.end))
        what = run.word_text(_as_word(inst.cmd, run))
        if cwd is None:
            return None
        sub = within(cwd, dest)
        if sub is None:
            return None  # the install does not run inside the copied folder
        ctxdir = ctx_join("" if src == "." else src, sub)
        if _already_prepared(ctx, stage, a, inst):
            return None
        head = f"`{what}` runs after `{_shown(a)}` (line {a.start_line})"

        def finding(reason: str, fix: Fix | None = None) -> Finding:
            msg = f"{head}: every source change reinstalls the dependencies"
            msg += f"; {reason}" if reason else ""
            return self.finding(ctx, run.ins, msg, fix=fix, span=span)

        if inst.tool not in _FIX_TOOLS:
            return finding(f"no fix: {inst.tool} needs the source to build "
                           "(split it by hand, e.g. fetch dependencies first)")
        matcher = ignore_matcher(ctx, build)
        plan_or_reason = plan_for(inst, run, build, ctxdir, cwd, dest, src)
        if isinstance(plan_or_reason, str):
            return finding("no fix: " + plan_or_reason)
        plan = plan_or_reason
        if plan.prep is not None and _prep_exists(ctx, stage, a, plan.prep_marks or
                                                  tuple(plan.prep.split())):
            return None  # the fetch step is already there (our earlier rewrite)
        files = [f for f in plan.files if not (matcher and matcher.excludes(f))]
        if len(files) < len(plan.files):
            dropped = [f for f in plan.files if f not in files]
            if dropped and dropped[0] == plan.files[0]:
                return finding(f"no fix: {dropped[0]} is dockerignored")
        reason = _between_blocks(ctx, build, a, between, dest, files)
        if reason is None:
            reason = _env_blocks(ctx, build, stage, run.ins, dest, files)
        if reason is not None:
            return finding("no fix: " + reason)
        fix = self._fix(ctx, a, src, run, inst, plan, files)
        if fix is None:
            return finding("no fix: the RUN cannot be split safely here")
        return finding("", _claim_stage(ctx, stage, fix))

    # ---- the edit

    def _fix(self, ctx: Context, a: Instruction, src: str, run: RunShell, inst: Install,
             plan: Plan, files: list[str]) -> Fix | None:
        tree = ctx.tree
        text = tree.text
        style = ctx.style
        nl = style.newline
        comments = tree.owned_comments(a)
        a_start = comments[0].start if comments else a.start
        a_block = text[a_start:a.end]
        if not a_block.endswith("\n"):
            a_block += nl
        copy_lines = _manifest_copies(ctx, a, src, files)
        r = run.ins
        steps = run.script.top_level
        if run.heredoc:
            # A heredoc RUN is never edited: it may only move whole, below the manifests.
            # Its body's lines run one by one (no implicit `set -e`), so nothing is
            # split off it either.
            if plan.before_flags or plan.finish is not None or plan.prep is not None or \
                    inst.step + 1 < len(steps):
                return None
        elif len(steps) > 1 and any(s.operator_before not in (None, "&&") or
                                  s.kind != "command" for s in steps):
            return None
        prefix = steps[: inst.step]
        suffix = steps[inst.step + 1:]
        cds = [i for i in range(inst.step) if cd_target(run, i) is not None]
        if suffix and len(cds) != len(prefix):
            return None  # only `cd` may come before an install that is split off
        if not suffix:
            for i in range(inst.step):
                if i not in cds and not _independent(run, i):
                    return None
        flag_insert = None
        if plan.before_flags:
            flag_insert = run.src.to_physical_end(inst.cmd.end)
        head = text[r.start:run.src.to_physical(0)]  # "RUN --flags "
        run_kw = style.keyword("RUN")
        cd_prefix = "".join(run.word_text(_step_word(steps[i], run)) + " && " for i in cds)
        env = "".join(w.text + " " for w in inst.cmd.env)
        edits: list[Edit] = []
        if plan.prep is not None:
            # Keep the RUN where it is; add a dependency-fetch step before the copy.
            prep = f"{run_kw} {cd_prefix}{env}{plan.prep}{nl}"
            edits.append(Edit(a_start, a_start, copy_lines + prep))
            msg = (f"copy {', '.join(files)} and run `{plan.prep}` before "
                   f"`{_shown(a)}`")
            return Fix(tuple(edits), Safety.UNSAFE, msg + plan.note)
        first_end = run.src.to_physical_end(inst.cmd.end)
        part1 = _slice(text, r.start, first_end, flag_insert, plan.before_flags)
        finish = ""
        if plan.finish == ORIGINAL:
            first = inst.cmd.words[inst.cmd.resolved_index or 0].start
            plan.finish = run.src.text[first:inst.cmd.end]
        if plan.finish is not None:
            finish = f"{head}{cd_prefix}{env}{plan.finish}{nl}"  # keeps RUN's mounts
        if suffix:
            rest = text[run.src.to_physical(suffix[0].start):r.end]
            new_r = part1 + nl + a_block + finish + head + cd_prefix + rest
        else:
            tail = text[first_end:r.end]
            new_r = part1 + tail
            if not new_r.endswith("\n"):
                new_r += nl
            new_r += a_block + finish
            if r.end == len(text) and not text.endswith("\n"):
                new_r = new_r.rstrip("\r\n")
        edits.append(Edit(a_start, a.end, copy_lines.rstrip("\r\n") +
                          (nl if a.text.endswith("\n") else "")))
        edits.append(Edit(r.start, r.end, new_r))
        what = run.word_text(_as_word(inst.cmd, run)) + plan.before_flags
        msg = (f"copy {', '.join(files)} first, run `{what}`, then "
               f"`{_shown(a)}`")
        if plan.finish:
            msg += f" and `{plan.finish}`"
        if suffix:
            msg += "; the rest of the RUN stays after the full copy"
        return Fix(tuple(edits), Safety.UNSAFE, msg + plan.note)



def _slice(text: str, start: int, end: int, at: int | None, insert: str) -> str:
    if at is None or not insert:
        return text[start:end]
    return text[start:at] + insert + text[at:end]


def _as_word(cmd: SimpleCommand, run: RunShell) -> Word:
    """A pseudo-word spanning the whole command (for its text)."""
    return Word(run.src.text[cmd.start:cmd.end], None, cmd.start, cmd.end)


def _step_word(step: object, run: RunShell) -> Word:
    s = step.start  # type: ignore[attr-defined]
    e = step.end  # type: ignore[attr-defined]
    return Word(run.src.text[s:e], None, s, e)


def _whole_copy_source(ins: Instruction, build: BuildContext) -> str | None:
    """The folder a COPY/ADD copies whole (`.` for the context), else None."""
    if not _local_copy(ins) or len(ins.value) != 2:
        return None
    if any(not f.lower().startswith(_KEEP_COPY_FLAGS) for f in ins.flags):
        return None
    raw = ins.value[0]
    if "$" in raw or any(c in raw for c in "*?[") or "://" in raw:
        return None
    src = go_clean(raw.lstrip("/") or ".")
    if src.startswith(".."):
        return None
    if src == "." or src in build.dirs:
        return src
    return None


def _manifest_copies(ctx: Context, a: Instruction, src: str, files: list[str]) -> str:
    """COPY lines for ``files`` (context paths), one per folder, keeping folders."""
    style = ctx.style
    dest = a.value[-1]
    flags = [f for f in a.flags if f.lower().startswith(("--chown", "--chmod", "--link"))]
    flag_text = "".join(f + " " for f in flags)
    base = "" if src == "." else src
    groups: dict[str, list[str]] = {}
    for f in files:
        rel = f[len(base) + 1:] if base else f
        d = rel.rsplit("/", 1)[0] if "/" in rel else ""
        groups.setdefault(d, []).append(f)
    lines: list[str] = []
    for d, group in groups.items():
        if d:
            target = posixpath.join(dest if dest not in (".", "./") else ".", d) + "/"
            if dest in (".", "./"):
                target = "./" + d + "/"
        elif dest in (".",) and len(group) == 1:
            target = "."
        else:
            target = dest if dest.endswith("/") else dest + "/"
        args = " ".join(_quote(x) for x in (*group, target))
        lines.append(style.instruction("COPY", flag_text + args))
    return "".join(lines)


def _quote(path: str) -> str:
    if re.search(r"[\s\"'$\\]", path):
        return json.dumps(path)
    return path


def _already_prepared(ctx: Context, stage: Stage, a: Instruction, inst: Install) -> bool:
    """A fetch step of this ecosystem already runs before the full copy (our own
    earlier rewrite, or the user's): do not add another."""
    marks = {"maven": ("dependency:go-offline", "dependency:resolve"),
             "uv": ("--no-install-project",)}.get(inst.tool)
    if not marks:
        return False
    for run in shellfix.shell_runs(ctx, stage):
        if run.ins.start >= a.start:
            break
        for other in installs(run):
            if other.tool == inst.tool and any(m in other.args for m in marks):
                return True
    return False


def _prep_exists(ctx: Context, stage: Stage, a: Instruction, marks: tuple[str, ...]) -> bool:
    """A RUN before the full copy ``a`` already runs the fetch step: one of its
    commands has every word of ``marks`` (flags added later do not matter)."""
    for run in shellfix.shell_runs(ctx, stage):
        if run.ins.start >= a.start:
            break
        for cmd in run.script.commands:
            words = {w.value for w in cmd.words}
            if all(m in words for m in marks):
                return True
    return False


def _independent(run: RunShell, i: int) -> bool:
    """A top-level step that cannot read the application source."""
    cmd = run.script.top_level[i].command
    if cmd is None:
        return False
    name = cmd.resolved_name
    if name in _PKG_TOOLS or name == "set":
        return True
    args = _values(cmd) or []
    if name in ("pip", "pip3") and args[:1] == ["install"]:
        ops = [x for x in args[1:] if not x.startswith("-")]
        return not any(x.startswith((".", "/")) or "/" in x for x in ops) and \
            _opt(args, "-r", "--requirement", "-c", "--constraint", "-e") is None
    if name in ("npm", "yarn", "pnpm") and ("-g" in args or "--global" in args or
                                            args[:1] == ["config"]):
        return True
    if name in ("bundle", "poetry", "composer", "pip", "pip3") and args[:1] == ["config"]:
        return True
    return name == "gem" and args[:1] == ["install"]


_INSTRUCTION_OK = frozenset({"LABEL", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "CMD",
                             "ENTRYPOINT", "SHELL", "USER", "MAINTAINER"})


def _between_blocks(ctx: Context, build: BuildContext, a: Instruction,
                    between: list[Instruction], dest: str, files: list[str]) -> str | None:
    """Why the full COPY cannot move below ``between`` (None: it can)."""
    a_vars = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", a.args.text + " ".join(a.flags)))
    runs = {r.ins.start: r for r in shellfix.shell_runs(ctx)}
    for ins in between:
        kw = ins.keyword
        if ins.passthrough:
            return f"line {ins.start_line} cannot be analysed"
        if kw in _INSTRUCTION_OK:
            continue
        if kw in ("ENV", "ARG"):
            names = {v.split("=", 1)[0] for v in ins.value} if kw == "ARG" else \
                set(ins.value[0::2])
            if names & a_vars:
                return f"{kw} on line {ins.start_line} changes the COPY's destination"
            continue
        if kw == "WORKDIR":
            if not a.value[-1].startswith("/") or a_vars:
                return (f"WORKDIR on line {ins.start_line} would change where the "
                        "relative COPY destination points")
            continue
        if kw == "RUN":
            run = runs.get(ins.start)
            if run is None or any(s.operator_before not in (None, "&&", ";", "\n")
                                  for s in run.script.top_level):
                return f"the RUN on line {ins.start_line} may use the copied source"
            if not all(_independent(run, i) for i in range(len(run.script.top_level))):
                return f"the RUN on line {ins.start_line} may use the copied source"
            continue
        return f"{kw} on line {ins.start_line} sits between the copy and the install"
    return None


_PATH_TOKEN = re.compile(r"[^\s:=,;\"']+")


def _env_blocks(ctx: Context, build: BuildContext, stage: Stage, run: Instruction,
                dest: str, files: list[str]) -> str | None:
    """An ENV/ARG before the install naming a copied file the manifests lack."""
    keep = set(files)
    for ins in stage.body:
        if ins.start >= run.start:
            break
        if ins.keyword not in ("ENV", "ARG"):
            continue
        text = " ".join(ins.value)
        for tok in _PATH_TOKEN.findall(text):
            rel: str | None
            if tok.startswith("/"):
                rel = within(posixpath.normpath(tok), dest)
                if rel is None or rel == "":
                    continue
            else:
                rel = go_clean(tok)
                if rel in (".", "..") or ("/" not in rel and "." not in rel):
                    continue
            if rel in keep:
                continue
            if rel in build.files or rel in build.dirs:
                return (f"{ins.keyword} on line {ins.start_line} names {tok}, "
                        "which only the full copy brings")
    return None


# --------------------------------------------------------------------------- plans


def plan_for(inst: Install, run: RunShell, build: BuildContext, ctxdir: str, cwd: str,
             dest: str, src: str) -> Plan | str:
    """The files to copy first (and any split) for this install, or why not."""
    tool = inst.tool
    if tool in NODE_TOOLS:
        return _plan_node(inst, build, ctxdir)
    if tool == "pip":
        return _plan_pip(inst, run, build, "" if src == "." else src, cwd, dest)
    if tool == "poetry":
        return _plan_poetry(inst, build, ctxdir)
    if tool == "pipenv":
        return _plan_simple(build, ctxdir, ("Pipfile", "Pipfile.lock", ".python-version"),
                            bad=(r"path\s*=", "Pipfile names a local path dependency"))
    if tool == "uv":
        return _plan_uv(inst, build, ctxdir)
    if tool == "go-mod":
        return _plan_go(build, ctxdir)
    if tool == "maven":
        return _plan_maven(inst, run, build, ctxdir)
    if tool == "bundler":
        plan = _plan_simple(build, ctxdir, ("Gemfile", "Gemfile.lock", ".ruby-version",
                                            ".bundle/config"),
                            bad=(r"^\s*(gemspec\b|.*\bpath:)",
                                 "the Gemfile needs the source (gemspec or path:)"))
        return plan
    if tool == "composer":
        return _plan_composer(inst, build, ctxdir)
    return f"{tool} is not supported"


def _present(build: BuildContext, ctxdir: str, names: Sequence[str]) -> list[str]:
    return [p for p in (ctx_join(ctxdir, n) for n in names) if build.is_file(p)]


def _plan_simple(build: BuildContext, ctxdir: str, names: Sequence[str],
                 bad: tuple[str, str] | None = None) -> Plan | str:
    files = _present(build, ctxdir, names)
    if not files or files[0] != ctx_join(ctxdir, names[0]):
        return f"{ctx_join(ctxdir, names[0])} is not in the build context"
    if bad is not None and re.search(bad[0], build.read_text(files[0]) or "", re.M):
        return bad[1]
    return Plan(files)


def _plan_node(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    eco = build.ecosystem_at(ctxdir, "node")
    if eco is None:
        return f"{ctx_join(ctxdir, 'package.json')} is not in the build context"
    files = list(eco.manifests)
    scripts_off = "--ignore-scripts" in inst.args
    for f in files:
        if not f.endswith("package.json"):
            continue
        try:
            pkg = json.loads(build.read_text(f) or "{}")
        except ValueError:
            return f"{f} is not valid JSON"
        if not isinstance(pkg, dict):
            return f"{f} is not a JSON object"
        scripts = pkg.get("scripts") or {}
        if not scripts_off and isinstance(scripts, dict):
            hooks = [h for h in _LIFECYCLE if h in scripts]
            if hooks:
                return f"{f} runs `{hooks[0]}` on install, which may need the source"
        for key in ("dependencies", "devDependencies", "optionalDependencies"):
            deps = pkg.get(key) or {}
            if isinstance(deps, dict) and any(
                    isinstance(v, str) and v.startswith(("file:", "link:", "portal:"))
                    for v in deps.values()):
                return f"{f} has a local `file:`/`link:` dependency"
        pnpm = pkg.get("pnpm")
        if isinstance(pnpm, dict) and pnpm.get("patchedDependencies"):
            return f"{f} patches dependencies from files in the source"
    return Plan(files)


_LOCAL_REQ = re.compile(r"^\s*(-e\b|--editable\b|\.|/|file:)|\s@\s*file:", re.M)


def _plan_pip(inst: Install, run: RunShell, build: BuildContext, srcbase: str, cwd: str,
              dest: str) -> Plan | str:
    args = inst.args
    ops = [a for i, a in enumerate(args[1:], 1)
           if not a.startswith("-") and args[i - 1] not in _PIP_VALUE]
    if len(ops) == 1 and _PROJECT.fullmatch(ops[0]) and \
            not any(a in ("-e", "--editable", "-r", "--requirement") or
                    a.startswith(("-r", "--requirement=")) for a in args):
        return _plan_pip_project(inst, run, build, srcbase, cwd, dest, ops[0])
    if any(o.startswith((".", "/")) or "/" in o or o.endswith((".whl", ".tar.gz"))
           for o in ops):
        return "`pip install` of a local path needs the source"
    if "-e" in args or "--editable" in args:
        return "an editable install needs the source"
    reqs: list[str] = []
    for i, a in enumerate(args):
        target = None
        if a in ("-r", "--requirement", "-c", "--constraint") and i + 1 < len(args):
            target = args[i + 1]
        elif a.startswith(("--requirement=", "--constraint=")):
            target = a.split("=", 1)[1]
        elif a.startswith(("-r", "-c")) and len(a) > 2 and a[1] in "rc" and a[:2] != "--":
            target = a[2:]
        if target is None:
            continue
        image = join_path(cwd, target)
        rel = within(image, dest)
        if rel is None:
            return f"{target} is not part of the copied folder"
        reqs.append(ctx_join(srcbase, rel))
    files: list[str] = []
    for r in reqs:
        closure = build.requirements_closure(r)
        if not closure:
            return f"{r} is not in the build context"
        for f in closure:
            if _LOCAL_REQ.search(build.read_text(f) or ""):
                return f"{f} installs a local path, which needs the source"
        files += [f for f in closure if f not in files]
    if not files:
        return "no requirements file"
    return Plan(files)


# `pip install .` or `pip install .[extra,...]` (the project in the current folder).
_PROJECT = re.compile(r"\.?/?\.(\[[A-Za-z0-9_,.-]+\])?|\./?(\[[A-Za-z0-9_,.-]+\])?")
# A requirement that is safe to pass as one shell word after quoting: a name, extras,
# version specifiers and markers, but no direct reference (`name @ url`).
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.\s-]*\])?"
                          r"[^@\n\\]*")


def _plan_pip_project(inst: Install, run: RunShell, build: BuildContext, srcbase: str,
                      cwd: str, dest: str, operand: str) -> Plan | str:
    """`pip install .`: the project needs its source, but the dependencies that
    pyproject.toml declares statically do not. Install them first, from a step that
    names them, and leave `pip install .` after the full copy (it still installs
    whatever the project needs, so a stale list costs cache, not correctness)."""
    rel = within(cwd, dest)
    if rel is None:
        return "`pip install .` does not run inside the copied folder"
    pyproject = ctx_join(ctx_join(srcbase, rel), "pyproject.toml")
    if not build.is_file(pyproject):
        return "`pip install .` needs the source, and there is no pyproject.toml that " \
            "lists the dependencies"
    if "--no-deps" in inst.args:
        return "`pip install --no-deps .` installs no dependencies"
    project = _toml(build, pyproject).get("project")
    if not isinstance(project, dict):
        return f"{pyproject} has no [project] table (dependencies are not declared there)"
    dynamic = project.get("dynamic")
    if isinstance(dynamic, list) and ("dependencies" in dynamic or
                                      "optional-dependencies" in dynamic):
        return f"{pyproject} declares its dependencies as dynamic"
    deps = project.get("dependencies", [])
    extras = re.findall(r"[A-Za-z0-9_.-]+", operand.partition("[")[2])
    optional = project.get("optional-dependencies", {})
    if not isinstance(deps, list) or not isinstance(optional, dict):
        return f"{pyproject} has a malformed dependency list"
    wanted = list(deps)
    for extra in extras:
        more = optional.get(extra)
        if not isinstance(more, list):
            return f"the extra [{extra}] is not in {pyproject}"
        wanted += [d for d in more if d not in wanted]
    if not wanted:
        return "the project has no dependencies to install first"
    name = str(project.get("name", "")).lower().replace("_", "-")
    for dep in wanted:
        if not isinstance(dep, str) or not _REQUIREMENT.fullmatch(dep.strip()):
            return f"{pyproject} has a dependency that is not a plain requirement: {dep!r}"
        if name and re.match(re.escape(name) + r"\b", dep.strip().lower().replace("_", "-")):
            return "the project depends on its own extras"
    import shlex

    cmd = inst.cmd
    first = cmd.words[cmd.resolved_index or 0].start
    sub = inst.sub
    if sub is None:
        return "the pip command cannot be read"
    exe = run.src.text[first:sub.end]
    flags: list[str] = []
    skip = False
    for a in inst.args[1:]:
        if skip:
            skip = False
            flags.append(shlex.quote(a))
            continue
        if a == operand:
            continue
        if a.startswith("-"):
            flags.append(shlex.quote(a))
            skip = a in _PIP_VALUE and "=" not in a
    prep = " ".join([exe, *flags, *(shlex.quote(d.strip()) for d in wanted)])
    return Plan([pyproject], prep=prep, prep_marks=("install", *(d.strip() for d in wanted)),
                note=f"; the dependencies {pyproject} declares are installed first, by "
                     "name (keep them in sync: `pip install .` after the full copy still "
                     "installs what the project needs)")


def _toml(build: BuildContext, rel: str) -> dict[str, object]:
    try:
        return tomllib.loads(build.read_text(rel) or "")
    except (tomllib.TOMLDecodeError, ValueError):
        return {}


def _readme(data: dict[str, object]) -> str | None:
    tool = data.get("tool")
    for table in (data.get("project"), tool.get("poetry") if isinstance(tool, dict) else None):
        if isinstance(table, dict) and isinstance(table.get("readme"), str):
            return str(table["readme"])
    return None


def _pyproject_files(build: BuildContext, ctxdir: str, extras: Sequence[str], local: str,
                     local_reason: str) -> tuple[list[str], dict[str, object]] | str:
    """pyproject.toml, the ``extras`` present beside it and the readme it names (build
    backends read it), with the parsed pyproject; or why not (missing, or ``local``
    matches: a dependency that needs other folders of the source)."""
    pyproject = ctx_join(ctxdir, "pyproject.toml")
    if not build.is_file(pyproject):
        return f"{pyproject} is not in the build context"
    if re.search(local, build.read_text(pyproject) or ""):
        return local_reason
    data = _toml(build, pyproject)
    files = [pyproject, *_present(build, ctxdir, extras)]
    readme = _readme(data)
    if readme and build.is_file(ctx_join(ctxdir, readme)):
        files.append(ctx_join(ctxdir, readme))
    return files, data


def _plan_poetry(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    found = _pyproject_files(build, ctxdir, ("poetry.lock", "poetry.toml"), r"\bpath\s*=",
                             "pyproject.toml names a local path dependency")
    if isinstance(found, str):
        return found
    files, data = found
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    package_mode = not (isinstance(poetry, dict) and poetry.get("package-mode") is False)
    if "--no-root" in inst.args or "--only-root" in inst.args or not package_mode:
        return Plan(files)
    keep = [a for a in inst.args[1:] if a in ("--no-interaction", "-n", "--no-ansi",
                                               "-q", "--quiet", "-v", "-vv", "-vvv")]
    finish = " ".join(["poetry", "install", *keep, "--only-root"])
    return Plan(files, before_flags=" --no-root", finish=finish,
                note="; the project itself is installed after the full copy "
                     "(poetry's documented Docker pattern)")


def _plan_uv(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    found = _pyproject_files(build, ctxdir, ("uv.lock", ".python-version"),
                             r"\[tool\.uv\.workspace\]|\bpath\s*=",
                             "a uv workspace or path source needs the member folders")
    if isinstance(found, str):
        return found
    files, _ = found
    if "--no-install-project" in inst.args:
        return Plan(files)
    return Plan(files, before_flags=" --no-install-project", finish=ORIGINAL,
                note="; the project is installed after the full copy (uv's documented "
                     "intermediate-layer pattern)")


def _plan_go(build: BuildContext, ctxdir: str) -> Plan | str:
    gomod = ctx_join(ctxdir, "go.mod")
    if not build.is_file(gomod):
        return f"{gomod} is not in the build context"
    if build.is_file(ctx_join(ctxdir, "go.work")):
        return "go.work needs every module folder"
    if re.search(r"=>\s*\.{1,2}/", build.read_text(gomod) or ""):
        return "go.mod replaces a module with a local folder"
    return Plan([gomod, *_present(build, ctxdir, ("go.sum",))])


def _plan_maven(inst: Install, run: RunShell, build: BuildContext,
                ctxdir: str) -> Plan | str:
    pom = ctx_join(ctxdir, "pom.xml")
    if not build.is_file(pom):
        return f"{pom} is not in the build context"
    if "<modules>" in (build.read_text(pom) or ""):
        return "a multi-module pom needs every module's pom.xml"
    if _opt(inst.args, "-s", "--settings", "-f", "--file") is not None:
        return "the build names its own settings or pom file"
    files = [pom]
    exe = inst.cmd.words[inst.cmd.resolved_index or 0].value or "mvn"
    if exe.endswith("mvnw"):
        files += _present(build, ctxdir, ("mvnw",))
        files += sorted(f for f in build.files if f.startswith(ctx_join(ctxdir, ".mvn") + "/"))
    if any(a in ("dependency:go-offline", "dependency:resolve") for a in inst.args) and \
            not any(a in ("package", "install", "verify", "compile") for a in inst.args):
        return Plan(files)
    keep = [a for a in inst.args if a in ("-B", "--batch-mode", "-q", "--quiet", "-ntp",
                                          "--no-transfer-progress", "-U")]
    prep = " ".join([exe, *keep, "dependency:go-offline"])
    return Plan(files, prep=prep,
                note="; the build itself stays after the full copy")


def _plan_composer(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    cj = ctx_join(ctxdir, "composer.json")
    if not build.is_file(cj):
        return f"{cj} is not in the build context"
    try:
        data = json.loads(build.read_text(cj) or "{}")
    except ValueError:
        return "composer.json is not valid JSON"
    if not isinstance(data, dict):
        return "composer.json is not a JSON object"
    scripts = data.get("scripts") or {}
    if isinstance(scripts, dict) and any(k in scripts for k in (
            "pre-install-cmd", "post-install-cmd", "pre-update-cmd", "post-update-cmd")):
        return "composer.json runs install scripts, which may need the source"
    repos = data.get("repositories") or []
    repo_list = repos.values() if isinstance(repos, dict) else repos
    if any(isinstance(r, dict) and r.get("type") == "path" for r in repo_list):
        return "composer.json has a path repository"
    files = [cj, *_present(build, ctxdir, ("composer.lock", "auth.json"))]
    flags = []
    if "--no-scripts" not in inst.args:
        flags.append("--no-scripts")
    if "--no-autoloader" not in inst.args:
        flags.append("--no-autoloader")
    if not flags:
        return Plan(files)
    dump = ["composer", "dump-autoload", "--optimize"]
    if "--no-dev" in inst.args:
        dump.append("--no-dev")
    if "--classmap-authoritative" in inst.args or "-a" in inst.args:
        dump.append("--classmap-authoritative")
    wd = _opt(inst.args, "--working-dir", "-d")
    if wd is not None:
        dump.append(f"--working-dir={wd}")
    return Plan(files, before_flags=" " + " ".join(flags), finish=" ".join(dump),
                note="; the autoloader is dumped after the full copy (composer's "
                     "documented Docker pattern)")


def _shown(ins: Instruction) -> str:
    """``COPY . .`` as written (keyword, flags and arguments on one line)."""
    return " ".join(ins.logical.text.split())


def _claim_stage(ctx: Context, stage: Stage, fix: Fix) -> Fix:
    """In a stage DO101 may split, reserve the whole stage for this pass.

    Why: DO101 splits a stage in one edit over all of it, before the other
    transforms touch it, and it splits best after this move (its builder then ends
    with the install, so the source copy after it is left out of the builder, see
    ``split.common.trim_tail``). This transform runs first; reserving the stage keeps
    the others out of it for this pass, so the next pass splits the reordered stage
    and only then do the rest see the stages."""
    from dockopt.transforms.split.single_stage import split_candidate

    if split_candidate(ctx) is not stage:
        return fix
    start = stage.from_instruction.start
    return replace(fix, reserves=(Edit(start, len(ctx.text), ""),))
