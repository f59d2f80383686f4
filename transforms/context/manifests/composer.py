"""PHP composer: composer.json and composer.lock before the install."""

from __future__ import annotations

import json

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.transforms.context.manifests.base import Plan, _present
from dockopt.transforms.context.manifests.installs import Install, _opt
from dockopt.transforms.context.manifests.paths import ctx_join


def _plan_composer(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    cj = ctx_join(ctxdir, "composer.json")
    if not build.is_file(cj):
        return f"{cj} is not in the build context"
    try:
        data = json.loads(build.read_text(cj) or "{}")
    except ValueError:
        return "composer.json is not valid JSON"
    if not isinstance(data, dict):
        return "composer.json is not a JSON object"
    scripts = data.get("scripts") or {}
    if isinstance(scripts, dict) and any(k in scripts for k in (
            "pre-install-cmd", "post-install-cmd", "pre-update-cmd", "post-update-cmd")):
        return "composer.json runs install scripts, which may need the source"
    repos = data.get("repositories") or []
    repo_list = repos.values() if isinstance(repos, dict) else repos
    if any(isinstance(r, dict) and r.get("type") == "path" for r in repo_list):
        return "composer.json has a path repository"
    files = [cj, *_present(build, ctxdir, ("composer.lock", "auth.json"))]
    flags = []
    if "--no-scripts" not in inst.args:
        flags.append("--no-scripts")
    if "--no-autoloader" not in inst.args:
        flags.append("--no-autoloader")
    if not flags:
        return Plan(files)
    dump = ["composer", "dump-autoload", "--optimize"]
    if "--no-dev" in inst.args:
        dump.append("--no-dev")
    if "--classmap-authoritative" in inst.args or "-a" in inst.args:
        dump.append("--classmap-authoritative")
    wd = _opt(inst.args, "--working-dir", "-d")
    if wd is not None:
        dump.append(f"--working-dir={wd}")
    return Plan(files, before_flags=" " + " ".join(flags), finish=" ".join(dump),
                note="; the autoloader is dumped after the full copy (composer's "
                     "documented Docker pattern)")


