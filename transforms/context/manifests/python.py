"""pip (requirements files, a local project), poetry and uv."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockopt.rewriter.context import (
    BuildContext,
)
from dockopt.rewriter.lazy_re import lazy
from dockopt.transforms.context.manifests.base import ORIGINAL, Plan, _present
from dockopt.transforms.context.manifests.installs import _PIP_VALUE, Install
from dockopt.transforms.context.manifests.paths import ctx_join, join_path, within
from dockopt.transforms.shellfix import RunShell

_LOCAL_REQ = lazy(r"^\s*(-e\b|--editable\b|\.|/|file:)|\s@\s*file:", re.M)


def _plan_pip(inst: Install, run: RunShell, build: BuildContext, srcbase: str, cwd: str,
              dest: str) -> Plan | str:
    args = inst.args
    ops = [a for i, a in enumerate(args[1:], 1)
           if not a.startswith("-") and args[i - 1] not in _PIP_VALUE]
    if len(ops) == 1 and _PROJECT.fullmatch(ops[0]) and \
            not any(a in ("-e", "--editable", "-r", "--requirement") or
                    a.startswith(("-r", "--requirement=")) for a in args):
        return _plan_pip_project(inst, run, build, srcbase, cwd, dest, ops[0])
    if any(o.startswith((".", "/")) or "/" in o or o.endswith((".whl", ".tar.gz"))
           for o in ops):
        return "`pip install` of a local path needs the source"
    if "-e" in args or "--editable" in args:
        return "an editable install needs the source"
    reqs: list[str] = []
    for i, a in enumerate(args):
        target = None
        if a in ("-r", "--requirement", "-c", "--constraint") and i + 1 < len(args):
            target = args[i + 1]
        elif a.startswith(("--requirement=", "--constraint=")):
            target = a.split("=", 1)[1]
        elif a.startswith(("-r", "-c")) and len(a) > 2 and a[1] in "rc" and a[:2] != "--":
            target = a[2:]
        if target is None:
            continue
        image = join_path(cwd, target)
        rel = within(image, dest)
        if rel is None:
            return f"{target} is not part of the copied folder"
        reqs.append(ctx_join(srcbase, rel))
    files: list[str] = []
    for r in reqs:
        closure = build.requirements_closure(r)
        if not closure:
            return f"{r} is not in the build context"
        for f in closure:
            if _LOCAL_REQ.search(build.read_text(f) or ""):
                return f"{f} installs a local path, which needs the source"
        files += [f for f in closure if f not in files]
    if not files:
        return "no requirements file"
    return Plan(files)


# `pip install .` or `pip install .[extra,...]` (the project in the current folder).
_PROJECT = lazy(r"\.?/?\.(\[[A-Za-z0-9_,.-]+\])?|\./?(\[[A-Za-z0-9_,.-]+\])?")
# A requirement that is safe to pass as one shell word after quoting: a name, extras,
# version specifiers and markers, but no direct reference (`name @ url`).
_REQUIREMENT = lazy(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.\s-]*\])?"
                          r"[^@\n\\]*")


def _plan_pip_project(inst: Install, run: RunShell, build: BuildContext, srcbase: str,
                      cwd: str, dest: str, operand: str) -> Plan | str:
    """`pip install .`: the project needs its source, but the dependencies that
    pyproject.toml declares statically do not. Install them first, from a step that
    names them, and leave `pip install .` after the full copy (it still installs
    whatever the project needs, so a stale list costs cache, not correctness)."""
    rel = within(cwd, dest)
    if rel is None:
        return "`pip install .` does not run inside the copied folder"
    pyproject = ctx_join(ctx_join(srcbase, rel), "pyproject.toml")
    if not build.is_file(pyproject):
        return "`pip install .` needs the source, and there is no pyproject.toml that " \
            "lists the dependencies"
    if "--no-deps" in inst.args:
        return "`pip install --no-deps .` installs no dependencies"
    project = _toml(build, pyproject).get("project")
    if not isinstance(project, dict):
        return f"{pyproject} has no [project] table (dependencies are not declared there)"
    dynamic = project.get("dynamic")
    if isinstance(dynamic, list) and ("dependencies" in dynamic or
                                      "optional-dependencies" in dynamic):
        return f"{pyproject} declares its dependencies as dynamic"
    deps = project.get("dependencies", [])
    extras = re.findall(r"[A-Za-z0-9_.-]+", operand.partition("[")[2])
    optional = project.get("optional-dependencies", {})
    if not isinstance(deps, list) or not isinstance(optional, dict):
        return f"{pyproject} has a malformed dependency list"
    wanted = list(deps)
    for extra in extras:
        more = optional.get(extra)
        if not isinstance(more, list):
            return f"the extra [{extra}] is not in {pyproject}"
        wanted += [d for d in more if d not in wanted]
    if not wanted:
        return "the project has no dependencies to install first"
    name = str(project.get("name", "")).lower().replace("_", "-")
    for dep in wanted:
        if not isinstance(dep, str) or not _REQUIREMENT.fullmatch(dep.strip()):
            return f"{pyproject} has a dependency that is not a plain requirement: {dep!r}"
        if name and re.match(re.escape(name) + r"\b", dep.strip().lower().replace("_", "-")):
            return "the project depends on its own extras"
    import shlex

    cmd = inst.cmd
    first = cmd.words[cmd.resolved_index or 0].start
    sub = inst.sub
    if sub is None:
        return "the pip command cannot be read"
    exe = run.src.text[first:sub.end]
    flags: list[str] = []
    skip = False
    for a in inst.args[1:]:
        if skip:
            skip = False
            flags.append(shlex.quote(a))
            continue
        if a == operand:
            continue
        if a.startswith("-"):
            flags.append(shlex.quote(a))
            skip = a in _PIP_VALUE and "=" not in a
    prep = " ".join([exe, *flags, *(shlex.quote(d.strip()) for d in wanted)])
    return Plan([pyproject], prep=prep, prep_marks=("install", *(d.strip() for d in wanted)),
                note=f"; the dependencies {pyproject} declares are installed first, by "
                     "name (keep them in sync: `pip install .` after the full copy still "
                     "installs what the project needs)")


def _toml(build: BuildContext, rel: str) -> dict[str, object]:
    import tomllib  # only for Python projects: kept off the start-up path

    try:
        return tomllib.loads(build.read_text(rel) or "")
    except (tomllib.TOMLDecodeError, ValueError):
        return {}


def _readme(data: dict[str, object]) -> str | None:
    tool = data.get("tool")
    for table in (data.get("project"), tool.get("poetry") if isinstance(tool, dict) else None):
        if isinstance(table, dict) and isinstance(table.get("readme"), str):
            return str(table["readme"])
    return None


def _pyproject_files(build: BuildContext, ctxdir: str, extras: Sequence[str], local: str,
                     local_reason: str) -> tuple[list[str], dict[str, object]] | str:
    """pyproject.toml, the ``extras`` present beside it and the readme it names (build
    backends read it), with the parsed pyproject; or why not (missing, or ``local``
    matches: a dependency that needs other folders of the source)."""
    pyproject = ctx_join(ctxdir, "pyproject.toml")
    if not build.is_file(pyproject):
        return f"{pyproject} is not in the build context"
    if re.search(local, build.read_text(pyproject) or ""):
        return local_reason
    data = _toml(build, pyproject)
    files = [pyproject, *_present(build, ctxdir, extras)]
    readme = _readme(data)
    if readme and build.is_file(ctx_join(ctxdir, readme)):
        files.append(ctx_join(ctxdir, readme))
    return files, data


def _plan_poetry(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    found = _pyproject_files(build, ctxdir, ("poetry.lock", "poetry.toml"), r"\bpath\s*=",
                             "pyproject.toml names a local path dependency")
    if isinstance(found, str):
        return found
    files, data = found
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    package_mode = not (isinstance(poetry, dict) and poetry.get("package-mode") is False)
    if "--no-root" in inst.args or "--only-root" in inst.args or not package_mode:
        return Plan(files)
    keep = [a for a in inst.args[1:] if a in ("--no-interaction", "-n", "--no-ansi",
                                               "-q", "--quiet", "-v", "-vv", "-vvv")]
    finish = " ".join(["poetry", "install", *keep, "--only-root"])
    return Plan(files, before_flags=" --no-root", finish=finish,
                note="; the project itself is installed after the full copy "
                     "(poetry's documented Docker pattern)")


def _plan_uv(inst: Install, build: BuildContext, ctxdir: str) -> Plan | str:
    found = _pyproject_files(build, ctxdir, ("uv.lock", ".python-version"),
                             r"\[tool\.uv\.workspace\]|\bpath\s*=",
                             "a uv workspace or path source needs the member folders")
    if isinstance(found, str):
        return found
    files, _ = found
    if "--no-install-project" in inst.args:
        return Plan(files)
    return Plan(files, before_flags=" --no-install-project", finish=ORIGINAL,
                note="; the project is installed after the full copy (uv's documented "
                     "intermediate-layer pattern)")


