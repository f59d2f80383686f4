"""Multi-module Java builds for DO101's Java split: Maven `<modules>` and Gradle
`include`d subprojects. Each module's jar is a candidate; the split copies the one
CMD/ENTRYPOINT runs (``split.java`` checks that), and when it runs none the
suggestion names them all.

Maven: each module's pom inherits from the aggregator pom named as its <parent>
(properties, version, groupId, build finalName and build plugins, which decide the
jar's name and whether a second jar is made); a module whose packaging is not jar
(another aggregator, a war) makes no candidate; nested aggregators are not read.
`-pl a,b` limits the candidates to those modules (`-am` also builds what they
depend on, whose jars are libraries, not the app).

Gradle: `settings.gradle(.kts)` `include` lines name the subprojects (`:a:b` is the
folder a/b); each subproject's jar is `<sub>/build/libs/<name>[-<version>].jar` with
its own build script's plugins and version, or the root gradle.properties' version
(project properties are inherited; a version set in the root build script applies to
the root project only). A root script that configures subprojects (`allprojects`,
`subprojects`), convention plugins (`buildSrc`, `includeBuild`) or a moved project
folder make the names uncertain, and block.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from dockopt.rewriter.lazy_re import lazy
from dockopt.transforms.base import Context
from dockopt.transforms.split.common import Blocked
from dockopt.transforms.split.java_build import (
    _Copy,
    _Outputs,
    _text,
    gradle_jars,
    gradle_version,
    pom_outputs,
    read_pom,
)

# Plugin settings in the aggregator's <pluginManagement> that rename the jars or add
# a second one where a module declares the plugin.
_MANAGED_RENAMES = frozenset({"classifier", "finalName", "outputFile", "outputDirectory",
                              "shadedArtifactAttached", "shadedClassifierName",
                              "appendAssemblyId"})


def maven_module_outputs(ctx: Context, copies: Sequence[_Copy], root: ET.Element,
                         project: str, cli_props: dict[str, str],
                         selected: list[str] | None) -> _Outputs:
    if (_text(root, "packaging") or "jar") != "pom":
        raise Blocked("pom.xml lists modules but its packaging is not pom")
    for prof in root.findall("profiles/profile"):
        if prof.find("build") is not None or prof.find("modules") is not None:
            raise Blocked("a profile in pom.xml changes the build or its modules")
    if _text(root.find("build"), "directory") is not None:
        raise Blocked("pom.xml moves the build directory")
    for plugin in root.findall("build/pluginManagement/plugins/plugin"):
        tags = {el.tag for el in plugin.iter() if isinstance(el.tag, str)}
        if tags & _MANAGED_RENAMES:
            raise Blocked(f"pom.xml's pluginManagement configures "
                          f"{_text(plugin, 'artifactId')} to rename or add a jar")
    modules = [(m.text or "").strip() for m in root.findall("modules/module")]
    if any(not m or "$" in m for m in modules):
        raise Blocked("a module of pom.xml is not a plain folder")
    names = ", ".join(modules)
    chosen = modules
    if selected is not None:
        chosen = []
        for sel in selected:
            # -pl takes a folder or [groupId]:artifactId.
            found = [m for m in modules if posixpath.normpath(m) == posixpath.normpath(sel)]
            if not found and ":" in sel:
                found = [m for m in modules if _module_artifact(ctx, copies, project, m)
                         == sel.rsplit(":", 1)[1]]
            if not found:
                raise Blocked(f"mvn -pl {sel} names none of the modules ({names})")
            chosen += found
    out = _Outputs()
    for module in chosen:
        folder = posixpath.normpath(posixpath.join(project, module))
        try:
            pom = read_pom(ctx, copies, posixpath.join(folder, "pom.xml"))
        except Blocked as exc:
            raise Blocked(f"pom.xml lists the modules {names}; {exc}") from exc
        if len(pom.findall("modules/module")):
            raise Blocked(f"the module {module} has modules of its own")
        aggregator = root if _is_child_of(pom, root) else None
        made = pom_outputs(ctx, copies, pom, folder, cli_props, aggregator)
        out.candidates.update(made.candidates)
        out.glob_ok = out.glob_ok and made.glob_ok
    if not out.candidates:
        raise Blocked(f"no module of pom.xml ({names}) makes a jar")
    return out


def _is_child_of(pom: ET.Element, root: ET.Element) -> bool:
    parent = pom.find("parent")
    return parent is not None and _text(parent, "artifactId") == _text(root, "artifactId")


def _module_artifact(ctx: Context, copies: Sequence[_Copy], project: str,
                     module: str) -> str | None:
    try:
        pom = read_pom(ctx, copies, posixpath.join(project, module, "pom.xml"))
    except Blocked:
        return None
    return _text(pom, "artifactId")


# --- Gradle ----------------------------------------------------------------------------

_INCLUDE = lazy(r"^\s*include\s*\(?\s*(.*?)\s*\)?\s*$", re.M)
_QUOTED = lazy(r"""["']([^"'$]+)["']""")


def gradle_subprojects(settings: str) -> list[str]:
    """The subproject paths `include` names (`:services:api` -> `services:api`);
    raises when settings.gradle moves projects or includes other builds."""
    if re.search(r"\bincludeBuild\b|\.projectDir\b|\bpluginManagement\b|rootProject\.children",
                 settings):
        raise Blocked("settings.gradle includes other builds, plugins or moves a project "
                      "folder")
    found: list[str] = []
    for m in _INCLUDE.finditer(settings):
        args = m.group(1)
        names = _QUOTED.findall(args)
        rest = _QUOTED.sub("", args).replace(",", "").strip()
        if not names or rest:
            raise Blocked("an include in settings.gradle is not a list of plain names")
        found += [n.strip(":") for n in names]
    return found


def gradle_module_outputs(read: Callable[[str], str | None], project: str,
                          subprojects: list[str], tasks: list[str], root_script: str | None,
                          root_name: str, root_how: str, cli_props: dict[str, str],
                          props_version: str | None) -> _Outputs:
    """Candidates of a multi-project build: the root project's own jars (when it has a
    build script) and those of each subproject the tasks reach. ``read`` reads a file
    of the project folder from the build context."""
    if any(read(f"buildSrc/build.gradle{ext}") is not None for ext in ("", ".kts")):
        raise Blocked("buildSrc convention plugins may configure the subprojects' jars")
    if root_script is not None and re.search(r"\b(allprojects|subprojects)\s*[({]",
                                             root_script):
        raise Blocked("the root build script configures the subprojects (allprojects/"
                      "subprojects): their jars are not certain")
    targeted: dict[str, list[str]] = {}
    plain: list[str] = []
    for t in tasks:
        path, _, task = t.lstrip(":").rpartition(":")
        if path:
            if path not in subprojects:
                raise Blocked(f"the build runs a task of the subproject {path}, which "
                              "settings.gradle does not include")
            targeted.setdefault(path, []).append(task)
        else:
            plain.append(task)
    out = _Outputs()
    # A task without a path runs in every project that has it, the root included.
    projects = ["", *subprojects] if plain else []
    for sub in dict.fromkeys([*projects, *targeted]):
        ptasks = plain + targeted.get(sub, [])
        folder = sub.replace(":", "/")
        if sub:
            script = read(posixpath.join(folder, "build.gradle"))
            if script is None:
                script = read(posixpath.join(folder, "build.gradle.kts"))
        else:
            script = root_script
        if script is None:
            continue  # no build script: no plugin, no jar
        if sub:
            name, how = sub.rsplit(":", 1)[-1], f"the subproject {sub}"
        else:
            name, how = root_name, root_how
        version = gradle_version(script, cli_props, props_version)
        made = gradle_jars(script, name, how, version,
                           posixpath.join(project, folder, "build/libs"), ptasks)
        out.candidates.update(made.candidates)
        out.glob_ok = out.glob_ok and made.glob_ok
    if not out.candidates:
        raise Blocked("no project of the multi-project build ("
                      + ", ".join(subprojects) + ") makes a jar")
    return out
