"""A plan: the manifests to copy before an install, shared by the ecosystems."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.rewriter.records import dataclass
from dockopt.transforms.context.manifests.paths import ctx_join

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


