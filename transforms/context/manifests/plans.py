"""The plan for an install, by its tool."""

from __future__ import annotations

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.transforms.context.manifests.base import Plan, _plan_simple
from dockopt.transforms.context.manifests.composer import _plan_composer
from dockopt.transforms.context.manifests.go import _plan_go
from dockopt.transforms.context.manifests.installs import NODE_TOOLS, Install
from dockopt.transforms.context.manifests.maven import _plan_maven
from dockopt.transforms.context.manifests.node import _plan_node
from dockopt.transforms.context.manifests.python import _plan_pip, _plan_poetry, _plan_uv
from dockopt.transforms.shellfix import RunShell

# --------------------------------------------------------------------------- plans


def plan_for(inst: Install, run: RunShell, build: BuildContext, ctxdir: str, cwd: str,
             dest: str, src: str) -> Plan | str:
    """The files to copy first (and any split) for this install, or why not."""
    tool = inst.tool
    if tool in NODE_TOOLS:
        return _plan_node(inst, build, ctxdir)
    if tool == "pip":
        return _plan_pip(inst, run, build, "" if src == "." else src, cwd, dest)
    if tool == "poetry":
        return _plan_poetry(inst, build, ctxdir)
    if tool == "pipenv":
        return _plan_simple(build, ctxdir, ("Pipfile", "Pipfile.lock", ".python-version"),
                            bad=(r"path\s*=", "Pipfile names a local path dependency"))
    if tool == "uv":
        return _plan_uv(inst, build, ctxdir)
    if tool == "go-mod":
        return _plan_go(build, ctxdir)
    if tool == "maven":
        return _plan_maven(inst, run, build, ctxdir)
    if tool == "bundler":
        plan = _plan_simple(build, ctxdir, ("Gemfile", "Gemfile.lock", ".ruby-version",
                                            ".bundle/config"),
                            bad=(r"^\s*(gemspec\b|.*\bpath:)",
                                 "the Gemfile needs the source (gemspec or path:)"))
        return plan
    if tool == "composer":
        return _plan_composer(inst, build, ctxdir)
    return f"{tool} is not supported"


