"""What a yarn or pnpm project's own files say about where its dependencies go, for
the DO101 node families: whether a yarn project is Yarn 2+ ("berry"), with which
linker, version and commands, and whether pnpm keeps its packages inside
``node_modules``.

Read with regular expressions over the few keys that matter (``nodeLinker``,
``yarnPath``, ``plugins`` in ``.yarnrc.yml``; ``node-linker``, ``virtual-store-dir``,
``modules-dir`` in ``.npmrc``): a value written any other way (anchors, variables) is
taken as unknown, and the caller refuses."""

from __future__ import annotations

import re
from typing import Any

from dockopt.rewriter.records import dataclass
from dockopt.transforms.base import Context


@dataclass(frozen=True)
class Berry:
    """A Yarn 2+ project: how it showed (``evidence``), its linker (``pnp`` unless
    ``.yarnrc.yml`` says ``nodeLinker: node-modules``), its major version when known
    (``packageManager`` or the ``yarnPath`` release's file name), the release file
    (``yarnPath``) and whether ``yarn workspaces focus --all`` exists (built in from
    Yarn 4, the workspace-tools plugin in Yarn 3)."""

    evidence: str
    linker: str
    major: int | None
    yarn_path: str | None
    focus: bool


def _yarnrc_value(text: str, key: str) -> str | None:
    match = re.search(rf"^{key}:[ \t]*(.*?)[ \t]*$", text, re.M)
    if match is None:
        return None
    return match.group(1).strip("'\"")


def yarn_berry(ctx: Context, pkg: dict[str, Any]) -> Berry | None:
    """The project's Yarn 2+ facts, or None for Yarn classic (v1)."""
    manager = pkg.get("packageManager")
    yarnrc = ctx.read_context_file(".yarnrc.yml")
    lock = ctx.read_context_file("yarn.lock") or ""
    evidence = ""
    major: int | None = None
    if isinstance(manager, str) and manager.startswith("yarn@"):
        found = re.match(r"yarn@(\d+)\.", manager)
        if found and found.group(1) != "1":
            evidence = f"package.json names {manager.split('+')[0]}"
            major = int(found.group(1))
    if not evidence and yarnrc is not None:
        evidence = ".yarnrc.yml"
    if not evidence and re.search(r"^__metadata:", lock, re.M):
        evidence = "yarn.lock is a Yarn 2+ lockfile"
    if not evidence:
        return None
    text = yarnrc or ""
    linker = _yarnrc_value(text, "nodeLinker") or "pnp"
    yarn_path = _yarnrc_value(text, "yarnPath")
    if major is None and yarn_path:
        found = re.search(r"yarn-(\d+)\.[\w.-]*\.c?js$", yarn_path)
        major = int(found.group(1)) if found else None
    # `yarn workspaces focus --all` is built in from Yarn 4; Yarn 3 has it with the
    # workspace-tools plugin (Yarn 2's plugin has no --all).
    plugin = re.search(r"plugin-workspace-tools", text) is not None
    return Berry(evidence, linker, major, yarn_path,
                 focus=major is not None and (major >= 4 or (major == 3 and plugin)))


# .npmrc settings that move pnpm's packages out of node_modules or away from it.
_PNPM_LAYOUT = {
    "node-linker": "pnp keeps the dependencies outside node_modules",
    "virtual-store-dir": "the packages are stored outside node_modules/.pnpm",
    "modules-dir": "the dependencies are installed into another folder than node_modules",
}


def pnpm_layout_problem(ctx: Context) -> str | None:
    """Why copying ``node_modules`` would not carry a pnpm install, or None."""
    text = ctx.read_context_file(".npmrc") or ""
    for key, why in _PNPM_LAYOUT.items():
        match = re.search(rf"^[ \t]*{key}[ \t]*=[ \t]*(\S*)", text, re.M)
        if match is None:
            continue
        value = match.group(1)
        if key == "node-linker" and value in ("isolated", "hoisted"):
            continue
        if key == "virtual-store-dir" and value.rstrip("/") == "node_modules/.pnpm":
            continue
        if key == "modules-dir" and value.rstrip("/") == "node_modules":
            continue
        return f".npmrc sets {key}={value}: {why}"
    return None
