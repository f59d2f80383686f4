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

