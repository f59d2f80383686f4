"""The image-path model DO601 shares with the lockfile transform (DO602).

Walking a stage (and the stages it is built ``FROM``), the working directory is
tracked symbolically (``WORKDIR`` values joined as strings; an unknown base-image
directory is ``<image>``) with what each ``COPY``/``ADD`` and
``RUN --mount=type=bind`` puts where.
"""

from __future__ import annotations

import bisect
import posixpath

from dockopt.rewriter.context import (
    BadPattern,
    BuildContext,
    PatternMatcher,
    glob_matches,
    go_clean,
)
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context

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
    # The first stage of each name, once per pass (a scan of the earlier stages per
    # step was quadratic in the number of stages).
    first: dict[str, Stage] | None = ctx.memo.get("paths.first_named")
    if first is None:
        first = {}
        for s in ctx.tree.stages:
            if s.name:
                first.setdefault(s.name.lower(), s)
        ctx.memo["paths.first_named"] = first
    chain = [stage]
    seen = {stage.index}
    current = stage
    while True:
        parent = first.get(current.base.lower())
        if parent is not None and parent.index >= current.index:
            parent = None  # only an earlier stage can be a base
        if parent is None or parent.index in seen:
            break
        chain.insert(0, parent)
        seen.add(parent.index)
        current = parent
    return chain


def stage_of(ctx: Context, ins: Instruction) -> Stage | None:
    # Which stage holds each instruction, once per pass (a scan per question was
    # quadratic in the file).
    index: dict[int, Stage] | None = ctx.memo.get("paths.stage_by_start")
    if index is None:
        index = {}
        for stage in ctx.tree.stages:
            for i in stage.body:
                index.setdefault(i.start, stage)
        ctx.memo["paths.stage_by_start"] = index
    return index.get(ins.start)


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
    starts, before, end, placed = _walk_states(ctx, stage)
    # The first instruction of the stage at or after ``until``: the state before it.
    at = bisect.bisect_left(starts, until.start)
    if at < len(starts):
        cwd, count = before[at]
        return cwd, placed[:count]
    return end, list(placed)


def _walk_states(ctx: Context, stage: Stage) -> tuple[
        list[int], list[tuple[str, int]], str, list[Placed]]:
    """The stage chain walked once per pass: for each instruction of ``stage`` (by its
    start), the working directory and the number of copies before it; then the state
    at the end, and every copy. Walking anew for each RUN was quadratic in the RUNs
    of a stage (DO601/DO602 ask at every RUN that reads the context)."""
    key = f"paths.walk.{stage.index}"
    states: tuple[list[int], list[tuple[str, int]], str, list[Placed]] | None = \
        ctx.memo.get(key)
    if states is not None:
        return states
    cwd = UNKNOWN_DIR
    placed: list[Placed] = []
    starts: list[int] = []
    before: list[tuple[str, int]] = []
    for st in stage_chain(ctx, stage):
        if st is not stage and st.index == stage.index:
            break
        for ins in st.body:
            if st is stage:
                starts.append(ins.start)
                before.append((cwd, len(placed)))
            if ins.keyword == "WORKDIR" and ins.value:
                cwd = join_path(cwd, ins.value[0])
            elif _local_copy(ins) and len(ins.value) >= 2:
                dest_raw = ins.value[-1]
                srcs = [go_clean(s.lstrip("/") or ".") for s in ins.value[:-1]]
                dir_dest = dest_raw.endswith("/") or len(srcs) > 1 or dest_raw in (".", "..")
                placed.append(Placed(ins, srcs, join_path(cwd, dest_raw), dir_dest))
    states = (starts, before, cwd, placed)
    ctx.memo[key] = states
    return states


class ImageView:
    """What context files a RUN sees at image paths (COPY/ADD before it, bind mounts)."""

    def __init__(self, ctx: Context, build: BuildContext, stage: Stage, run: Instruction):
        self.ctx = ctx
        self.build = build
        starts, before, end, placed = _walk_states(ctx, stage)
        at = bisect.bisect_left(starts, run.start)
        # The copies before the RUN are the first ``_count`` of the stage's walk (as
        # ``walk`` gives them, without copying the list per RUN).
        self.cwd, self._count = before[at] if at < len(starts) else (end, len(placed))
        self._index = _provider_index(ctx, build, stage)
        self.matcher = self._index.matcher
        self._mounts = [Placed(run, [m[0]], join_path(self.cwd, m[1]), False)
                        for m in _bind_mounts(run)]

    def provider(self, image_path: str) -> tuple[str, Instruction] | None:
        """The context file that sits at ``image_path``, and the COPY that put it there
        (the last one, in instruction order, that provides it)."""
        index = self._index
        found: tuple[str, Instruction] | None = None
        for p in self._mounts:  # a bind mount comes after every copy
            for src in p.sources:
                got = index.map(src, p, image_path)
                if got is not None:
                    found = (got, p.ins)
        if found is not None:
            return found
        best: tuple[tuple[int, int], str] | None = None
        limit = (self._count, 0)
        for order, got in index.matches(image_path):
            i = bisect.bisect_left(order, limit)
            if i and (best is None or order[i - 1] > best[0]):
                best = (order[i - 1], got)
        if best is None:
            return None
        return best[1], index.placed[best[0][0]].ins

    def ignored(self, rel: str) -> bool:
        return self._index.ignored(rel)


# A group of (copy, source) pairs that answer every image path alike: same destination,
# same folder-ness, same source.
_Group = tuple[str, bool, str]


class _ProviderIndex:
    """The copies of a stage's walk indexed by the image paths they can provide, once
    per pass: ``ImageView.provider`` asked every earlier copy at each RUN, which was
    quadratic in a stage of many RUNs and COPYs.

    Each (copy, source) pair belongs to a group (destination, folder-ness, source)
    whose answer for an image path is the same whatever the copy; the group lists the
    (copy index, source index) of its members, in order. A path's answers are worked
    out once per group and path; a view then takes, over the groups that provide the
    path, the last member before its RUN, which is the pair the old scan kept last.
    """

    def __init__(self, build: BuildContext, matcher: PatternMatcher | None,
                 placed: list[Placed]):
        self.build = build
        self.matcher = matcher
        self.placed = placed
        self._dirs = dirs = build.dirs  # (a new frozenset at each access)
        self._orders: dict[_Group, list[tuple[int, int]]] = {}
        # Lookup keys: a folder source provides paths strictly below its destination
        # (keyed by the destination without trailing "/"); a literal file source
        # provides exactly ``dest/name`` or ``dest`` itself; a glob provides
        # ``dest/<any name>`` or ``dest`` (keyed by the destination).
        self._folders: dict[str, dict[_Group, None]] = {}
        self._literals: dict[str, dict[_Group, None]] = {}
        self._globs: dict[str, dict[_Group, None]] = {}
        for pi, p in enumerate(placed):
            for si, src in enumerate(p.sources):
                group = (p.dest, p.dir_dest, src)
                members = self._orders.get(group)
                if members is None:
                    members = self._orders[group] = []
                    if src == "." or src in dirs:
                        self._folders.setdefault(p.dest.rstrip("/"), {})[group] = None
                    elif any(c in src for c in "*?["):
                        self._globs.setdefault(p.dest, {})[group] = None
                    else:
                        for target in {posixpath.join(p.dest, src.rsplit("/", 1)[-1]),
                                       *(() if p.dir_dest else (p.dest,))}:
                            self._literals.setdefault(target, {})[group] = None
                members.append((pi, si))
        self._answers: dict[str, list[tuple[list[tuple[int, int]], str]]] = {}

    def matches(self, image_path: str) -> list[tuple[list[tuple[int, int]], str]]:
        """The groups that provide ``image_path`` (their members' orders) and the
        context file each gives."""
        got = self._answers.get(image_path)
        if got is not None:
            return got
        groups: dict[_Group, None] = dict(self._literals.get(image_path, {}))
        cut = image_path.rfind("/")
        for key in {image_path, image_path[:cut], image_path[:cut + 1]} if cut >= 0 \
                else {image_path, ""}:
            groups.update(self._globs.get(key, {}))
        for cut in (i for i, c in enumerate(image_path) if c == "/"):
            groups.update(self._folders.get(image_path[:cut], {}))
        got = []
        for group in groups:
            order = self._orders[group]
            first = self.placed[order[0][0]]
            answer = self.map(group[2], first, image_path)
            if answer is not None:
                got.append((order, answer))
        self._answers[image_path] = got
        return got

    def map(self, src: str, p: Placed, image_path: str) -> str | None:
        """The context file ``src`` of ``p`` puts at ``image_path``, or None."""
        build = self.build
        if src == "." or src in self._dirs:
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


def _provider_index(ctx: Context, build: BuildContext, stage: Stage) -> _ProviderIndex:
    key = f"paths.providers.{stage.index}"
    index: _ProviderIndex | None = ctx.memo.get(key)
    if index is None or index.build is not build:
        # The ignore file cannot change during a pass (fixes apply after it).
        index = _ProviderIndex(build, ignore_matcher(ctx, build), _walk_states(ctx, stage)[3])
        ctx.memo[key] = index
    return index


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

