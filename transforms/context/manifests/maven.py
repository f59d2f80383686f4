"""Maven: pom.xml before the dependency download."""

from __future__ import annotations

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.transforms.context.manifests.base import Plan, _present
from dockopt.transforms.context.manifests.installs import Install, _opt
from dockopt.transforms.context.manifests.paths import ctx_join
from dockopt.transforms.shellfix import RunShell


def _plan_maven(inst: Install, run: RunShell, build: BuildContext,
                ctxdir: str) -> Plan | str:
    pom = ctx_join(ctxdir, "pom.xml")
    if not build.is_file(pom):
        return f"{pom} is not in the build context"
    if "<modules>" in (build.read_text(pom) or ""):
        return "a multi-module pom needs every module's pom.xml"
    if _opt(inst.args, "-s", "--settings", "-f", "--file") is not None:
        return "the build names its own settings or pom file"
    files = [pom]
    exe = inst.cmd.words[inst.cmd.resolved_index or 0].value or "mvn"
    if exe.endswith("mvnw"):
        files += _present(build, ctxdir, ("mvnw",))
        files += sorted(f for f in build.files if f.startswith(ctx_join(ctxdir, ".mvn") + "/"))
    if any(a in ("dependency:go-offline", "dependency:resolve") for a in inst.args) and \
            not any(a in ("package", "install", "verify", "compile") for a in inst.args):
        return Plan(files)
    keep = [a for a in inst.args if a in ("-B", "--batch-mode", "-q", "--quiet", "-ntp",
                                          "--no-transfer-progress", "-U")]
    prep = " ".join([exe, *keep, "dependency:go-offline"])
    return Plan(files, prep=prep,
                note="; the build itself stays after the full copy")


