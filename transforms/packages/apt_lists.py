"""Which apt commands read the package lists, and whether a later RUN needs the lists
a RUN would remove (DO204's look-ahead, computed once per stage and pass)."""

from __future__ import annotations

import bisect

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit
from dockopt.transforms.packages.apt import (
    APT_NEEDS_LISTS,
    APT_VALUE,
    below,
    descendants,
    stage_of,
    wrapper_prefix,
)
from dockopt.transforms.shellfix import RunShell

# What reads the package lists, measured on Debian 12 (apt 2.6) by running each
# command with `-o Dir::State::Lists=<empty dir> -o Dir::Cache::pkgcache=` against
# a package that is not installed: `apt-get remove/purge x` and `apt-get autoremove x`
# exit 100 ("Unable to locate package") where with lists they exit 0 ("not
# installed"); `apt-cache show/depends` exit 100, `apt-cache policy/madison/search`
# exit 0 but print nothing (a script reading a version from them changes);
# `apt-mark hold x` exits 100. Without package names, `autoremove`, `check`, `clean`
# and `apt-mark auto/manual/show*` work on dpkg's status alone.
_APT_READS = APT_NEEDS_LISTS | frozenset({
    "remove", "purge", "markauto", "unmarkauto", "changelog", "show", "list", "search",
    "policy", "depends", "rdepends", "showsrc", "showpkg", "madison"})
_APT_READS_WITH_NAMES = frozenset({"autoremove", "autopurge"})
_APT_MARK_READS = frozenset({"hold", "unhold", "install", "deinstall", "purge"})
_APTITUDE_KEEPS = frozenset({"clean", "autoclean", "forget-new"})


def lists_use(cmd: SimpleCommand) -> str | None:
    """``"update"`` when the command refreshes apt's package lists, ``"read"`` when it
    needs them (it fails or prints something else without them), else None.

    apt-get/apt/aptitude subcommands, every apt-cache query, and apt-mark on named
    packages (``hold``, ...). A package-name-taking command without names reads
    nothing; a name we cannot resolve (``$PKGS``) counts as a name.
    """
    name = cmd.resolved_name
    if name not in ("apt-get", "apt", "aptitude", "apt-cache", "apt-mark"):
        return None
    sub = shellfix.subcommand(cmd, APT_VALUE)
    if sub is None:
        return None
    action = sub.value
    if action is None:
        return "read"  # `apt-get $ACTION ...`: we cannot tell, so assume the worst
    if action == "update" and name != "apt-mark":
        return "update"
    if name == "apt-cache":
        return "read"
    named = bool(shellfix.operands(cmd, sub, APT_VALUE))
    if name == "apt-mark":
        return "read" if action in _APT_MARK_READS and named else None
    if name == "aptitude":
        return None if action in _APTITUDE_KEEPS else "read"
    if action in ("remove", "purge", "markauto", "unmarkauto"):
        return "read" if named else None
    if action in _APT_READS or (action in _APT_READS_WITH_NAMES and named):
        return "read"
    return None


_APT_TEXT = lazy(r"\bapt(-get|-cache|-mark|itude)?\b")


def later_runs_need_lists(ctx: Context, run: RunShell) -> bool:
    """Whether a later RUN (this stage or one built FROM it) reads the apt lists
    without refreshing them first (see :func:`lists_use`: installs, but also
    `apt-get purge` of a package that may not be installed, `apt-cache policy`...):
    removing or caching away the lists here would make it fail ("Unable to locate
    package") or print nothing."""
    stage = stage_of(ctx, run.ins)
    if stage is None:
        return True
    starts, suffix = _list_readers(ctx, stage)
    i = bisect.bisect_right(starts, run.ins.start)
    if i < len(starts) and suffix[i]:
        return True
    return below(ctx, "apt.readers_below", lambda st: _list_readers(ctx, st)[1][:1] == [True]
                 )[stage.index]


def _reads_lists(ctx: Context, ins: Instruction) -> bool:
    """Whether this RUN reads the apt lists before it refreshes them."""
    if ins.heredoc_docs or ins.is_json:
        return _APT_TEXT.search(ins.text) is not None
    script = ctx.shell(ins)
    if script is None:
        return False
    for cmd in script.commands:
        use = lists_use(cmd)
        if use == "update":
            return False
        if use == "read":
            return True
    return False


def _list_readers(ctx: Context, stage: Stage) -> tuple[list[int], list[bool]]:
    """The stage's RUNs (their starts, in order) and, for each, whether it or a later
    RUN of the stage reads the apt lists first: computed once per stage and pass."""
    memo: dict[int, tuple[list[int], list[bool]]] = ctx.memo.setdefault("apt.readers", {})
    if stage.index not in memo:
        runs = [ins for ins in stage.body if ins.keyword == "RUN"]
        suffix = [False] * len(runs)
        later = False
        for k in range(len(runs) - 1, -1, -1):
            later = later or _reads_lists(ctx, runs[k])
            suffix[k] = later
        memo[stage.index] = ([ins.start for ins in runs], suffix)
    return memo[stage.index]


def refresh_later_readers(ctx: Context, run: RunShell) -> list[Edit] | None:
    """Edits putting `apt-get update && ` before the first later command that reads
    the lists without refreshing them, in each later RUN (this stage and stages
    built on it).

    Under `set -e`, a command left of `&&` does not stop the script when it fails:
    there the update is joined with `;` when the reader starts its own list
    (`set -e; apt-get update; apt-get purge ...`), so a failed update still stops
    the build. None when one of them cannot take the prefix without changing what
    runs: it is not editable, or it is nested (in `if`, a subshell...), joined by
    `||`/`|` (`a || update && install` would group differently), joined by `&&`
    under `set -e` with more commands after its list, or run under a wrapper other
    than plain `sudo`.
    """
    stage = stage_of(ctx, run.ins)
    if stage is None:
        return None
    edits: list[Edit] = []
    for st in descendants(ctx, stage):
        starts, blocked, at, stage_edits = _refreshes(ctx, st)
        k = bisect.bisect_right(starts, run.ins.start) if st is stage else 0
        if k < len(starts) and blocked[k]:
            return None
        edits += stage_edits[at[k]:]
    return edits or None


def _refreshes(ctx: Context, stage: Stage
               ) -> tuple[list[int], list[bool], list[int], list[Edit]]:
    """What :func:`refresh_later_readers` needs from each RUN of ``stage``, once per
    stage and pass (a walk of every later RUN per RUN was quadratic): the RUNs'
    starts; for each, whether it or a later RUN of the stage cannot take the refresh
    (suffix flags, one more at the end); for each, how many of the stage's edits come
    before it; and the edits, in file order."""
    memo: dict[int, tuple[list[int], list[bool], list[int], list[Edit]]] = \
        ctx.memo.setdefault("apt.refreshes", {})
    if stage.index in memo:
        return memo[stage.index]
    editable = {r.ins.start: r for r in shellfix.shell_runs(ctx, stage)}
    starts: list[int] = []
    blocks: list[bool] = []
    at: list[int] = []
    edits: list[Edit] = []
    for ins in stage.body:
        if ins.keyword != "RUN":
            continue
        starts.append(ins.start)
        at.append(len(edits))
        blocks.append(False)
        later = editable.get(ins.start)
        if later is None:
            # Not editable (heredoc, JSON, shell errors): if it may run apt, we
            # cannot make it refresh the lists, so the lists must stay.
            blocks[-1] = _APT_TEXT.search(ins.text) is not None
            continue
        for cmd in later.script.commands:
            use = lists_use(cmd)
            if use == "update":
                break
            if use != "read":
                continue
            edit = _refresh_edit(ctx, later, cmd)
            if edit is None:
                blocks[-1] = True
            else:
                edits.append(edit)
            break
    at.append(len(edits))
    blocked = [*blocks, False]
    for k in range(len(blocks) - 1, -1, -1):
        blocked[k] = blocked[k] or blocked[k + 1]
    memo[stage.index] = (starts, blocked, at, edits)
    return memo[stage.index]


def _refresh_edit(ctx: Context, run: RunShell, cmd: SimpleCommand) -> Edit | None:
    prefix = wrapper_prefix(cmd)
    steps = run.script.top_level
    index = next((i for i, x in enumerate(steps) if x.command is cmd), None)
    if prefix is None or index is None:
        return None
    op = steps[index].operator_before
    if op not in (None, "&&", ";", "\n"):
        return None
    joiner = "&&"
    if shellfix.errexit_before(ctx, run, cmd.start):
        if op == "&&":
            if any(x.operator_before in (";", "\n", "&") for x in steps[index + 1:]):
                return None
        else:
            joiner = ";"
    text = f"{prefix}apt-get update && " if joiner == "&&" else f"{prefix}apt-get update; "
    return shellfix.insert_at(run, cmd.start, text, before_seam=False)


