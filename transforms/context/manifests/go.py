"""Go modules: go.mod and go.sum before ``go mod download``."""

from __future__ import annotations

import re

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.transforms.context.manifests.base import Plan, _present
from dockopt.transforms.context.manifests.paths import ctx_join


def _plan_go(build: BuildContext, ctxdir: str) -> Plan | str:
    gomod = ctx_join(ctxdir, "go.mod")
    if not build.is_file(gomod):
        return f"{gomod} is not in the build context"
    if build.is_file(ctx_join(ctxdir, "go.work")):
        return "go.work needs every module folder"
    if re.search(r"=>\s*\.{1,2}/", build.read_text(gomod) or ""):
        return "go.mod replaces a module with a local folder"
    return Plan([gomod, *_present(build, ctxdir, ("go.sum",))])


