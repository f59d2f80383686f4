"""DO204: `apt-get update` leaves the package lists in the layer; the cleanup (or a
BuildKit cache mount), held back where a later RUN still reads the lists."""

from __future__ import annotations

from collections.abc import Iterator

from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.packages.apt import (
    APT,
    APT_LISTS,
    APT_NEEDS_LISTS,
    apt_calls,
    descendants,
    editable_runs,
    mount_covers,
    mount_flag_edit,
    mount_overlaps,
    removes_path,
    runs_as_root,
    stage_of,
    syntax_edit,
    wrapper_prefix,
)
from dockopt.transforms.packages.apt_lists import (
    later_runs_need_lists,
    lists_use,
    refresh_later_readers,
)
from dockopt.transforms.shellfix import RunShell

# --------------------------------------------------------------------------- lists

APT_MOUNTS = ["--mount=type=cache,target=/var/cache/apt,sharing=locked",
              "--mount=type=cache,target=/var/lib/apt,sharing=locked"]
DOCKER_CLEAN = "rm -f /etc/apt/apt.conf.d/docker-clean; "


def reported_stage(ctx: Context, ins: Instruction) -> bool:
    """hadolint DL3009 reports only the final stage and stages another FROM builds on."""
    stage = stage_of(ctx, ins)
    stages = ctx.tree.stages
    if stage is None or stage.index == len(stages) - 1:
        return True
    bases: set[str] | None = ctx.memo.get("apt.bases")
    if bases is None:  # once per pass: per RUN it made many-stage files quadratic
        bases = {s.base.lower() for s in stages}
        ctx.memo["apt.bases"] = bases
    return bool(stage.name) and (stage.name or "").lower() in bases


def _apt_cleanup(run: RunShell) -> bool:
    """The RUN already empties apt's lists or caches (a cleanup a mount must not meet)."""
    if removes_path(run, APT_LISTS) or removes_path(run, "/var/cache/apt"):
        return True
    return any(c.action in ("clean", "autoclean") for c in apt_calls(run))


def apt_mount_blocker(ctx: Context, run: RunShell, update: SimpleCommand) -> str | None:
    """Why the apt cache mounts cannot go on this RUN, or None."""
    ins = run.ins
    if mount_overlaps(ins, "/var/cache/apt") or mount_overlaps(ins, "/var/lib/apt"):
        return "a mount already sits on apt's directories"
    if _apt_cleanup(run):
        return "the RUN cleans apt's directories, which a cache mount would keep"
    if wrapper_prefix(update) != "" or not runs_as_root(ctx, ins):
        return "apt does not run as root directly"
    if later_runs_need_lists(ctx, run):
        return "a later RUN installs without `apt-get update` and needs the lists"
    return None


# Commands that cannot install packages: after the last `apt-get update`, a RUN
# running only these (and apt commands that read no lists) installs nothing.
_NO_INSTALL = frozenset({"echo", "printf", "true", ":", "rm", "mkdir", "ln", "touch",
                         "chmod", "chown", "cat", "tee", "sed", "ls", "set", "export",
                         "apt-key", "gpg", "cp", "mv", "sleep", "exit"})


def _only_refreshes(run: RunShell) -> bool:
    """The RUN's only apt work is refreshing the lists: nothing after its first
    `apt-get update` reads them, and everything after it is an apt command or one
    of `_NO_INSTALL` (an unknown script might install)."""
    seen = False
    for cmd in run.script.commands:
        use = lists_use(cmd)
        if use == "update":
            seen = True
            continue
        if not seen:
            continue
        if use == "read":
            return False
        if use is None and cmd.resolved_name not in (*APT, "apt-mark", "apt-cache", "aptitude") \
                and cmd.resolved_name not in _NO_INSTALL:
            return False
    return seen


class AptListsNotCleaned(Transform):
    """`apt-get update` leaves the package lists in the layer.

    ## What it does
    A RUN that runs `apt-get update` and does not remove `/var/lib/apt/lists`
    afterwards gets `&& rm -rf /var/lib/apt/lists/*` appended, in the file's `&& \\`
    layout. As in hadolint, only the final stage and stages that another `FROM`
    builds on are reported; nothing is reported when a cache mount covers the lists.

    With `cache = "mount"` the RUN instead gets BuildKit cache mounts,
    `--mount=type=cache,target=/var/cache/apt,sharing=locked
    --mount=type=cache,target=/var/lib/apt,sharing=locked`, right after `RUN`; its
    command is prefixed with `rm -f /etc/apt/apt.conf.d/docker-clean; `, and
    `# syntax=docker/dockerfile:1` becomes the first line when no syntax directive
    exists. The hook is removed with `;`, not `&&`: `rm -f` of a missing file
    succeeds, and `;` runs the original script exactly as before whatever its
    operators (`set -e; ...`, `a || b`), so the prefix is correct whether or not
    the hook exists and whichever RUN comes first. Mounts are added only when every
    later apt RUN of the stage can get them too, so no RUN without the cache leaves
    `.deb` files behind once the hook is gone.

    ## Why
    The lists weigh tens of megabytes and are stale the moment the layer is built.

    ## Example
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
    ```

    When the RUN ends in `exit` or `exec PROGRAM`, the cleanup goes right before it
    (after it, it would never run): `...; exit 0` becomes
    `...; rm -rf /var/lib/apt/lists/*; exit 0`.

    A RUN whose only apt work is `apt-get update` (nothing after it installs or
    reads the lists, e.g. a lone `RUN apt-get update`) is reported without a fix:
    removing the lists it just downloaded would leave a layer that does nothing.

    ## Fix safety
    The cleanup is safe when no later RUN of the stage (or of a stage built on it)
    reads the lists without its own `apt-get update`. Reading them is not only
    installing: `apt-get remove`/`purge` or `autoremove` of named packages fails
    without the lists when a package is not installed ("Unable to locate package"),
    `apt-cache show`/`depends` fail and `apt-cache policy`/`madison`/`search` print
    nothing, `apt-mark hold` of a package fails. When such a RUN exists, the fix
    also puts `apt-get update && ` before its first such command; that fix is unsafe,
    since the later RUN then reads fresh lists and may get newer versions. Under
    `set -e` (a `set -e`/`-o errexit` earlier in the script or `-e` in SHELL) the
    update is joined with `;` instead when the command starts its own list
    (`set -e; apt-get update; apt-get purge ...`): a command left of `&&` does not
    stop a `set -e` script when it fails. Either way the RUN must end in
    no comment or `;`/`&`, and apt must run as root (or through plain `sudo`, which
    the cleanup then uses too). Mounts are unsafe: they need BuildKit. No cleanup is
    added on a mounted path, and no mount next to a cleanup.

    ## References
    - hadolint DL3009
    - https://docs.docker.com/build/cache/optimize/#use-cache-mounts
    """

    code = "DO204"
    name = "apt-lists-not-cleaned"
    fix_title = "Remove the apt lists in the same RUN"
    upstream = ("hadolint:DL3009",)
    level = "info"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            ins = run.ins
            updates = [c for c in apt_calls(run) if c.action == "update"]
            if not updates or removes_path(run, APT_LISTS):
                continue
            if mount_covers(ins, APT_LISTS) or not reported_stage(ctx, ins):
                continue
            update = updates[0].cmd
            message = "`apt-get update` leaves /var/lib/apt/lists in the layer"
            if _only_refreshes(run):
                yield self.finding(ctx, ins, message + ": this RUN installs nothing, so "
                                   "removing the lists here would leave a layer that does "
                                   "nothing (and break later RUNs that read them); move "
                                   "the update into the RUN that installs (DO202)")
                continue
            if ctx.settings.cache == "mount":
                fix = self._mount_fix(ctx, run, update)
                if fix is not None:
                    yield self.finding(ctx, ins, message, fix=fix)
                    continue
            yield self.finding(ctx, ins, message, fix=self._clean_fix(ctx, run, update))

    def _clean_fix(self, ctx: Context, run: RunShell, update: SimpleCommand) -> Fix | None:
        prefix = wrapper_prefix(update)
        if prefix is None or (prefix == "" and not runs_as_root(ctx, run.ins)):
            return None
        if mount_overlaps(run.ins, APT_LISTS):
            return None
        edit = shellfix.append_commands(ctx, run, [f"{prefix}rm -rf /var/lib/apt/lists/*"])
        if edit is None:
            return None
        if not later_runs_need_lists(ctx, run):
            return Fix((edit,), Safety.SAFE, "Removed the apt lists at the end of the RUN "
                       "that downloads them, so they never reach a layer")
        refresh = refresh_later_readers(ctx, run)
        if refresh is None:
            return None
        return Fix((edit, *refresh), Safety.UNSAFE,
                   "Removed the apt lists at the end of the RUN that downloads them, and "
                   f"added `apt-get update` before {len(refresh)} later install(s) that "
                   "relied on those lists. Unsafe: the later installs now read fresh lists, "
                   "so they may get newer package versions")

    def _mount_fix(self, ctx: Context, run: RunShell, update: SimpleCommand) -> Fix | None:
        if apt_mount_blocker(ctx, run, update) is not None:
            return None
        stage = stage_of(ctx, run.ins)
        if stage is None:
            return None
        # The hook goes for good: every later apt RUN must be able to get the mounts.
        for st in descendants(ctx, stage):
            for later in editable_runs(ctx, st):
                if later.ins.start <= run.ins.start:
                    continue
                calls = apt_calls(later)
                if not any(c.action in APT_NEEDS_LISTS for c in calls):
                    continue
                if mount_covers(later.ins, "/var/cache/apt"):
                    continue
                ups = [c.cmd for c in calls if c.action == "update"]
                if not ups or apt_mount_blocker(ctx, later, ups[0]) is not None:
                    return None
        flags = mount_flag_edit(run.ins, APT_MOUNTS)
        if flags is None:
            return None
        edits = [flags, Edit(run.src.to_physical(0), run.src.to_physical(0), DOCKER_CLEAN)]
        directive = syntax_edit(ctx)
        if directive is not None:
            edits.insert(0, directive)
        return Fix(tuple(edits), Safety.UNSAFE, "Cached apt's downloads and lists in "
                   "BuildKit cache mounts instead of the layer (needs BuildKit)")
