"""apt/apt-get transforms (DO202 update-separate, DO203 missing -y) and the helpers the
package transforms share; DO201 is in ``apt_recommends``, DO204 in ``apt_cleanup`` (the
lists model in ``apt_lists``).

Detection reads the parsed shell of each shell-form RUN (``shellfix.shell_runs``), so
``sudo``/``env`` wrappers, paths (``/usr/bin/apt-get``), ``VAR=x`` prefixes, flags in
any order and installs inside ``set -eux; ...`` chains are all seen.  Every edit is
a byte-range insertion at a logical offset mapped back to the file, so the user's
continuation layout survives.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator

from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.shellfix import RunShell

APT = ("apt-get", "apt")
# apt-get options that take a separate value (`-o X`, `-t bookworm`).
APT_VALUE = frozenset({"-o", "-c", "-t", "-a", "-P", "--option", "--config-file",
                       "--target-release", "--default-release", "--host-architecture",
                       "--build-profiles"})
# Subcommands that read the package lists left by `apt-get update`.
APT_NEEDS_LISTS = frozenset({"install", "upgrade", "dist-upgrade", "full-upgrade",
                             "build-dep", "source", "download", "reinstall", "satisfy"})
APT_LISTS = "/var/lib/apt/lists"
SYNTAX_LINE = "# syntax=docker/dockerfile:1"
_ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})


# --------------------------------------------------------------------------- shared


@dataclass(frozen=True, slots=True)
class Mount:
    """One ``RUN --mount=...`` flag."""

    type: str
    target: str


def run_mounts(ins: Instruction) -> list[Mount]:
    """The ``--mount`` flags of a RUN (BuildKit's CSV syntax; type defaults to bind)."""
    out: list[Mount] = []
    for flag in ins.flags:
        if not flag.startswith("--mount="):
            continue
        kind, target = "bind", ""
        for field in flag[len("--mount="):].split(","):
            key, _, value = field.partition("=")
            key = key.strip().lower()
            if key == "type":
                kind = value.strip().lower()
            elif key in ("target", "dst", "destination"):
                target = value.strip()
        out.append(Mount(kind, _norm(target)))
    return out


def _norm(path: str) -> str:
    path = re.sub(r"/+", "/", path)
    return path.rstrip("/") or "/"


def _within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both normalised, absolute)."""
    return path == root or root == "/" or path.startswith(root + "/")


def mount_covers(ins: Instruction, path: str) -> bool:
    """A mount of any type sits on ``path`` or on a directory above it."""
    return any(m.target and _within(path, m.target) for m in run_mounts(ins))


def mount_overlaps(ins: Instruction, path: str) -> bool:
    """A mount sits on, above or below ``path``."""
    return any(m.target and (_within(path, m.target) or _within(m.target, path))
               for m in run_mounts(ins))


def removes_path(run: RunShell, root: str) -> bool:
    """Some ``rm`` in the script deletes ``root``, its contents, or something below it.

    ``rm -rf /var/lib/apt/lists/*`` and ``rm -rf /var/lib/apt/lists`` both count for
    ``/var/lib/apt/lists``; so does ``rm -rf /var/lib/apt`` (a directory above it).
    """
    for cmd in run.script.find("rm"):
        for word in cmd.resolved_args:
            value = word.value
            if value is None or value.startswith("-") or not value.startswith("/"):
                continue
            path = _norm(value[:-2] if value.endswith("/*") else value)
            if _within(path, root) or _within(root, path):
                return True
    return False


def syntax_edit(ctx: Context) -> Edit | None:
    """Insert ``# syntax=docker/dockerfile:1`` as the first line when no directive names
    a frontend (BuildKit reads ``--mount`` only with the dockerfile:1 syntax or newer)."""
    if ctx.tree.directive("syntax") is not None:
        return None
    at = len(ctx.tree.bom)
    return Edit(at, at, SYNTAX_LINE + ctx.style.newline)


def mount_flag_edit(ins: Instruction, flags: list[str]) -> Edit | None:
    """Insert ``flags`` right after the RUN keyword, before any existing flags."""
    meaning = ins.meaning
    if meaning is None:
        return None
    pos = ins.logical.to_physical_end(meaning.keyword_span[1])
    return Edit(pos, pos, "".join(f" {f}" for f in flags))


# Facts about a whole stage (which stage holds an instruction, the stages built on
# it, the USERs, the RUNs that read the apt lists) are computed once per pass and kept
# in ctx.memo: asking them per RUN made a file with many RUNs quadratic (issue 15).


def stage_of(ctx: Context, ins: Instruction) -> Stage | None:
    index: dict[int, Stage] | None = ctx.memo.get("apt.stage_by_start")
    if index is None:
        index = {i.start: stage for stage in ctx.tree.stages for i in stage.instructions}
        ctx.memo["apt.stage_by_start"] = index
    return index.get(ins.start)


def descendants(ctx: Context, stage: Stage) -> list[Stage]:
    """``stage`` and every stage built ``FROM`` it (transitively), in file order."""
    memo: dict[int, list[Stage]] = ctx.memo.setdefault("apt.descendants", {})
    if stage.index in memo:
        return memo[stage.index]
    # A stage's children are the later stages FROM its name (built once per pass):
    # walking them costs what the answer holds, not a scan of every later stage.
    children: dict[int, list[Stage]] | None = ctx.memo.get("apt.children")
    if children is None:
        children = {}
        named: dict[str, list[Stage]] = {}
        for other in ctx.tree.stages:
            for parent in named.get(other.base.lower(), ()):
                children.setdefault(parent.index, []).append(other)
            if other.name:
                named.setdefault(other.name.lower(), []).append(other)
        ctx.memo["apt.children"] = children
    found = {stage.index: stage}
    todo = [stage]
    while todo:
        for child in children.get(todo.pop().index, ()):
            if child.index not in found:
                found[child.index] = child
                todo.append(child)
    out = [found[i] for i in sorted(found)]
    memo[stage.index] = out
    return out


def below(ctx: Context, key: str, has: Callable[[Stage], bool]) -> dict[int, bool]:
    """For every stage, whether a stage built ``FROM`` it (transitively) satisfies
    ``has``: one walk over the stages from the last, kept per pass under ``key``.
    Asking :func:`descendants` per stage instead is quadratic in a chain of stages."""
    memo: dict[int, bool] | None = ctx.memo.get(key)
    if memo is not None:
        return memo
    memo = {}
    # by_base[name]: whether a later stage FROM ``name``, or one built on it, has it.
    by_base: dict[str, bool] = {}
    for st in reversed(ctx.tree.stages):
        memo[st.index] = by_base.get(st.name.lower(), False) if st.name else False
        base = st.base.lower()
        by_base[base] = by_base.get(base, False) or memo[st.index] or has(st)
    ctx.memo[key] = memo
    return memo


def runs_as_root(ctx: Context, ins: Instruction) -> bool:
    """No ``USER`` switching to someone other than root before ``ins`` in its stage.

    (A stage built FROM another may inherit a USER; we only see literal values.)
    """
    stage = stage_of(ctx, ins)
    if stage is None:
        return False
    memo: dict[int, tuple[list[int], list[str]]] = ctx.memo.setdefault("apt.users", {})
    if stage.index not in memo:
        starts: list[int] = []
        users: list[str] = []
        for other in stage.body:
            if other.keyword == "USER" and other.value:
                starts.append(other.start)
                users.append(other.value[0].strip())
        memo[stage.index] = (starts, users)
    starts, users = memo[stage.index]
    i = bisect.bisect_left(starts, ins.start)  # USERs strictly before ins
    user = users[i - 1] if i > 0 else "root"
    return user in _ROOT_USERS


def wrapper_prefix(cmd: SimpleCommand) -> str | None:
    """What to put before an added cleanup so it runs with the same privileges.

    ``""`` for a plain command, ``"sudo "`` when it ran through plain ``sudo``, None
    for anything else (``sudo -u x``, ``doas``): we would guess, so we do not fix.
    """
    idx = cmd.resolved_index
    if idx is None:
        return None
    wrappers = [w.value for w in cmd.words[:idx]]
    if not wrappers:
        return ""
    if all(w is not None and (w == "env" or w.rsplit("/", 1)[-1] == "env" or "=" in w)
           for w in wrappers):
        return ""
    if wrappers and wrappers[0] is not None and wrappers[0].rsplit("/", 1)[-1] == "sudo" \
            and all(w is not None and (not w.startswith("-") or w == "-E") for w in wrappers[1:]):
        return "sudo "
    return None


def editable_runs(ctx: Context, stage: Stage | None = None) -> Iterator[RunShell]:
    """shell_runs, minus Windows files and RUNs under a non-POSIX SHELL.

    Computed once per pass (a dozen transforms ask, each for every RUN)."""
    runs = ctx.memo.get("editable_runs")
    if runs is None:
        runs = [] if shellfix.windows_file(ctx) else [
            run for run in shellfix.shell_runs(ctx) if shellfix.posix_shell(ctx, run.ins)]
        ctx.memo["editable_runs"] = runs
    yield from shellfix.in_stage(runs, stage)


def word_span(word: Word, run: RunShell) -> tuple[int, int]:
    """Absolute file span of a word, for a finding's location."""
    return run.src.to_physical(word.start), run.src.to_physical_end(word.end)


# --------------------------------------------------------------------------- apt


@dataclass(frozen=True, slots=True)
class AptCall:
    cmd: SimpleCommand
    sub: Word  # the subcommand word: install, update, ...

    @property
    def action(self) -> str:
        return self.sub.value or ""


def apt_calls(run: RunShell) -> list[AptCall]:
    out: list[AptCall] = []
    for cmd in run.script.commands:
        if cmd.resolved_name in APT:
            sub = shellfix.subcommand(cmd, APT_VALUE)
            if sub is not None and sub.value is not None:
                out.append(AptCall(cmd, sub))
    return out


def apt_options(cmd: SimpleCommand) -> list[str]:
    """Values given with ``-o``/``--option`` (``-o X``, ``-oX``, ``--option=X``)."""
    out: list[str] = []
    words = [w.value for w in cmd.resolved_args]
    for i, value in enumerate(words):
        if value is None:
            continue
        if value in ("-o", "--option") and i + 1 < len(words):
            nxt = words[i + 1]
            if nxt is not None:
                out.append(nxt)
        elif value.startswith("--option="):
            out.append(value[len("--option="):])
        elif value.startswith("-o") and len(value) > 2 and not value.startswith("--"):
            out.append(value[2:])
    return out


def option_is(cmd: SimpleCommand, key: str, values: tuple[str, ...]) -> bool:
    for opt in apt_options(cmd):
        k, _, v = opt.partition("=")
        if k.strip().lower() == key.lower() and v.strip().strip("\"'").lower() in values:
            return True
    return False


def insert_after(run: RunShell, word: Word, text: str) -> Edit:
    return shellfix.insert_at(run, word.end, text)


def _assumes_yes(run: RunShell, cmd: SimpleCommand) -> bool:
    if shellfix.has_flag(cmd, "-y", "--yes", "--assume-yes", short="y", takes_value=APT_VALUE):
        return True
    quiet = 0
    for word in cmd.resolved_args:
        value = word.value or ""
        if re.fullmatch(r"-[A-Za-z]+", value):
            quiet += value.count("q")
        elif value in ("--quiet", "--silent"):
            quiet += 1
        elif re.fullmatch(r"(-q|--quiet)=\d+", value):
            quiet += int(value.split("=", 1)[1])
    if quiet >= 2:  # -qq implies -y (apt-get(8))
        return True
    if option_is(cmd, "APT::Get::Assume-Yes", ("true", "1", "yes", "on")):
        return True
    # `yes | apt-get install x`
    steps = run.script.top_level
    for i, step in enumerate(steps):
        if step.command is cmd and i > 0 and step.operator_before in ("|", "|&"):
            prev = steps[i - 1].command
            if prev is not None and prev.resolved_name == "yes":
                return True
    return False


class AptMissingYes(Transform):
    """`apt-get install` that would stop at the "Do you want to continue?" prompt.

    ## What it does
    Adds `-y` after `install` when the command passes none of `-y`, `--yes`,
    `--assume-yes`, a combined short option holding `y` (`-qy`), `-qq` (which implies
    `-y`) or `-o APT::Get::Assume-Yes=true`, and is not fed by `yes |`.

    ## Why
    A build has no terminal: when apt needs to confirm (any extra dependency), it reads
    end-of-file and aborts, and the build fails.

    ## Example
    ```dockerfile
    RUN apt-get update && apt-get install curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```

    ## Fix safety
    Safe: where apt would have asked, the build failed; where it would not have asked,
    `-y` changes nothing. (hadolint also accepts a single `-q`; we add `-y` there,
    because `-q` alone does not answer the prompt.)

    ## References
    - hadolint DL3014
    - apt-get(8), options `-y` and `-q`
    """

    code = "DO203"
    name = "apt-missing-yes"
    fix_title = "Add -y"
    upstream = ("hadolint:DL3014",)
    level = "warning"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            for call in apt_calls(run):
                if call.action != "install" or _assumes_yes(run, call.cmd):
                    continue
                fix = Fix((insert_after(run, call.sub, " -y"),), Safety.SAFE,
                          "Added -y so apt does not wait for an answer no one can give")
                yield self.finding(ctx, run.ins, f"`{call.cmd.resolved_name} install` "
                                   "without `-y` aborts when it needs confirmation",
                                   fix=fix, span=word_span(call.sub, run))


_UPDATE_FLAGS = frozenset({"-q", "-qq", "-y", "-qy", "-yq", "-qqy", "-yqq", "--quiet",
                           "--yes", "--assume-yes"})


def _update_only(run: RunShell) -> SimpleCommand | None:
    """The RUN's only command, when it is `apt-get update` with harmless flags."""
    script = run.script
    if len(script.top_level) != 1 or script.trailing_comment_start is not None \
            or script.trailing_operator is not None:
        return None
    cmd = script.top_level[0].command
    if cmd is None or cmd.resolved_name not in APT or cmd.redirects:
        return None
    args = [w.value for w in cmd.resolved_args]
    if "update" not in args or any(a != "update" and a not in _UPDATE_FLAGS for a in args):
        return None
    return cmd


class AptUpdateSeparate(Transform):
    """`apt-get update` in its own RUN, before the RUN that installs.

    ## What it does
    When a RUN does nothing but `apt-get update` and the next instruction (only
    comments or blank lines between) is a RUN with the same flags that runs
    `apt-get install`, the update RUN is removed and its command is put in front of
    the install: `apt-get update && apt-get install ...`, in the file's `&& \\` layout.
    Comments above the update RUN stay where they are.

    ## Why
    Docker caches each layer. When the package list changes later, the cached
    `RUN apt-get update` layer is reused and the install asks for versions that the
    mirrors no longer have ("404 Not Found"), or installs stale packages.

    ## Example
    ```dockerfile
    RUN apt-get update
    RUN apt-get install -y curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```

    ## Fix safety
    Safe when the install RUN's top level is a plain `&&`/`|` chain: then prefixing
    `apt-get update && ` runs exactly what ran before, in one layer. Otherwise (a
    `set -e; ...` script, `;` or `||` lists) the finding is reported without a fix.

    ## References
    - hadolint DL3009 (related), Docker best practices "apt-get"
    - https://docs.docker.com/build/building/best-practices/#apt-get
    """

    code = "DO202"
    name = "apt-update-separate"
    fix_title = "Merge apt-get update into the install RUN"
    upstream = ()
    level = "warning"
    default_safety = Safety.SAFE
    semantic_scope = "merge"

    def check(self, ctx: Context) -> Iterator[Finding]:
        runs = {r.ins.start: r for r in editable_runs(ctx)}
        items = ctx.tree.items
        for i, item in enumerate(items):
            if not isinstance(item, Instruction) or item.start not in runs:
                continue
            first = runs[item.start]
            update = _update_only(first)
            if update is None:
                continue
            nxt = next((it for it in items[i + 1:] if isinstance(it, Instruction)), None)
            if nxt is None or nxt.start not in runs:
                continue
            second = runs[nxt.start]
            if nxt.flags != item.flags:
                continue
            actions = [c.action for c in apt_calls(second)]
            if "install" not in actions or ("update" in actions
                                            and actions.index("update") < actions.index("install")):
                continue
            fix = None
            if shellfix.simple_chain(second.script):
                fix = self._merge(ctx, first, second)
            yield self.finding(ctx, item, "`apt-get update` in its own RUN: a cached layer "
                               "keeps a stale package index for the install in line "
                               f"{nxt.start_line}", fix=fix)

    def _merge(self, ctx: Context, first: RunShell, second: RunShell) -> Fix | None:
        command = first.src.text[first.script.top_level[0].start:
                                 first.script.top_level[0].end].strip()
        if not command or "\n" in command:
            return None
        nl = ctx.style.newline
        if shellfix.multiline(second.ins):
            indent, position = shellfix.line_layout(ctx, second.ins)
            esc = ctx.tree.escape
            if position == "leading":
                prefix = f"{command} {esc}{nl}{indent}&& "
            else:
                prefix = f"{command} && {esc}{nl}{indent}"
        else:
            prefix = f"{command} && "
        start = second.src.to_physical(0)
        return Fix((Edit(first.ins.start, first.ins.end, ""), Edit(start, start, prefix)),
                   Safety.SAFE, "Moved `apt-get update` into the RUN that installs, so the "
                   "package index is never older than the install")


