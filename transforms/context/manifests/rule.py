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
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import ClassVar

from dockopt.rewriter.context import (
    BuildContext,
    go_clean,
)
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.context.manifests.base import ORIGINAL, Plan
from dockopt.transforms.context.manifests.installs import (
    Install,
    _opt,
    _values,
    cd_target,
    install_cwd,
    installs,
)
from dockopt.transforms.context.manifests.paths import (
    _local_copy,
    ctx_join,
    ignore_matcher,
    join_path,
    walk,
    within,
)
from dockopt.transforms.context.manifests.plans import plan_for
from dockopt.transforms.shellfix import RunShell

# --------------------------------------------------------------------------- DO601

_FIX_TOOLS = ("npm", "yarn", "pnpm", "pip", "poetry", "pipenv", "uv", "go-mod", "maven",
              "bundler", "composer")
_PKG_TOOLS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper",
                        "corepack", "true", "update-ca-certificates", "ln"})
_KEEP_COPY_FLAGS = ("--chown", "--chmod", "--link")


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
    Gradle and `cargo build` (they need the source or dummy-source tricks; nothing
    is reported when a cargo build already runs before the full copy, as the
    dependency step of DO101's Rust split does).

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
    reads_context = True
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
        if r.open_escape is not None:
            return None  # its continuation is open at the end of the file: it would
            # swallow the lines written after it
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
    if inst.tool == "cargo":
        # A cargo build before the full copy builds the dependencies against dummy
        # sources (the usual trick, or DO101's Rust split): already prepared.
        return any(other.tool == "cargo" for run in shellfix.shell_runs(ctx, stage)
                   if run.ins.start < a.start for other in installs(run))
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


_PATH_TOKEN = lazy(r"[^\s:=,;\"']+")


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
