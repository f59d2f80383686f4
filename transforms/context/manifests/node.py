"""npm, yarn and pnpm: package.json and its lockfile before the install."""

from __future__ import annotations

import json

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.transforms.context.manifests.base import Plan
from dockopt.transforms.context.manifests.installs import Install
from dockopt.transforms.context.manifests.paths import ctx_join

# npm runs these scripts during the install: they may need the source.
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")


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


