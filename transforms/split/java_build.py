"""What a Java build makes: the Maven, Gradle and ``jar`` command lines, and the
jars they write (read from pom.xml and the Gradle build scripts in the context)."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import field

from dockopt.rewriter.context import go_clean
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.split.common import (
    Blocked,
)

_MAVEN_VALUE_FLAGS = frozenset({
    "-f", "--file", "-s", "--settings", "-gs", "--global-settings", "-t", "--toolchains",
    "-gt", "--global-toolchains", "-l", "--log-file", "-T", "--threads", "-b", "--builder",
    "-P", "--activate-profiles", "-D", "--define", "-pl", "--projects", "-rf",
    "--resume-from", "-emp", "--encrypt-master-password", "-ep", "--encrypt-password",
})
_GRADLE_VALUE_FLAGS = frozenset({
    "-p", "--project-dir", "-b", "--build-file", "-c", "--settings-file", "-g",
    "--gradle-user-home", "-x", "--exclude-task", "-D", "--system-prop", "-P",
    "--project-prop", "-I", "--init-script", "--console", "--warning-mode",
    "--max-workers", "--priority", "--include-build", "-M", "--write-verification-metadata",
    "--dependency-verification", "-F",
})
_GRADLE_PRODUCERS = frozenset({"build", "assemble", "jar", "bootJar", "shadowJar"})
# Build-script settings that move or rename the jar (Groovy and Kotlin DSL, old and new).
_GRADLE_RENAMES = lazy(
    r"\b(archivesBaseName|archivesName|archive(?:FileName|BaseName|Version|Classifier|"
    r"Appendix|Name)|baseName|classifier|destinationDir(?:ectory)?|buildDir(?:ectory)?|"
    r"libsDir(?:Name|ectory)?|apply\s+from)\b")
# Maven plugins that change what `package` makes, or make more than the jar.
_MAVEN_BLOCKING_PLUGINS = {
    "maven-antrun-plugin": "may make any file",
    "appassembler-maven-plugin": "makes launcher scripts and a lib folder",
    "quarkus-maven-plugin": "makes target/quarkus-app with its lib folder",
    "native-maven-plugin": "makes a native executable",
    "maven-war-plugin": "makes a war",
    "jib-maven-plugin": "builds images itself",
}
# Plugins known to leave target/ with the main jar only (a glob in CMD may be trusted).
_MAVEN_PLAIN_PLUGINS = frozenset({
    "maven-compiler-plugin", "maven-surefire-plugin", "maven-failsafe-plugin",
    "maven-resources-plugin", "maven-jar-plugin", "spring-boot-maven-plugin",
    "maven-enforcer-plugin", "jacoco-maven-plugin", "maven-clean-plugin",
    "maven-install-plugin", "maven-deploy-plugin", "maven-site-plugin",
    "maven-checkstyle-plugin", "spotless-maven-plugin", "lombok-maven-plugin",
    "maven-dependency-plugin", "build-helper-maven-plugin", "git-commit-id-plugin",
    "git-commit-id-maven-plugin", "maven-release-plugin", "versions-maven-plugin",
})


# --- where files of the image come from ----------------------------------------------


@dataclass
class _Copy:
    sources: list[str]
    dest: str  # absolute
    into_dir: bool


def _copies(stage: Stage, stop: Instruction, base_wd: str) -> tuple[list[_Copy], str]:
    """The context COPY/ADDs before ``stop`` (dest made absolute) and the WORKDIR there."""
    wd = base_wd
    dirs = {wd}
    out: list[_Copy] = []
    for ins in stage.body:
        if ins.start >= stop.start:
            break
        if ins.keyword == "WORKDIR" and ins.value:
            wd = posixpath.normpath(posixpath.join(wd, ins.value[0]))
            dirs.add(wd)
        elif ins.keyword in ("COPY", "ADD") and len(ins.value) >= 2 and \
                not any(f.startswith("--from") for f in ins.flags):
            *sources, dest = ins.value
            full = posixpath.normpath(posixpath.join(wd, dest))
            into = dest.endswith("/") or dest in (".", "./") or len(sources) > 1 or \
                full in dirs or any(c in s for s in sources for c in "*?[")
            out.append(_Copy(list(sources), full, into))
            if into or any(s.rstrip("/") in (".", "") for s in sources):
                dirs.add(full)
    return out, wd


def _context_file(ctx: Context, copies: Sequence[_Copy], path: str) -> str | None:
    """The build-context file that ends up at ``path`` in the image, if any."""
    build = ctx.build
    if build is None:
        return None
    for c in reversed(copies):
        dest = c.dest.rstrip("/") or "/"
        for src in c.sources:
            s = go_clean(src.lstrip("/") or ".")
            if s == "." or s in build.dirs:
                prefix = dest if dest.endswith("/") else dest + "/"
                if path.startswith(prefix):
                    rel = path[len(prefix):]
                    cand = rel if s == "." else f"{s}/{rel}"
                    if build.is_file(cand):
                        return cand
                continue
            matches = build.glob(s) if any(ch in s for ch in "*?[") else \
                ([s] if build.is_file(s) else [])
            for m in matches:
                target = posixpath.join(dest, posixpath.basename(m)) if c.into_dir else dest
                if target == path:
                    return m
    return None


# --- the build commands ---------------------------------------------------------------


def _maven_args(words: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """(goals, -D properties, other flags with their values as 'flag=value')."""
    goals: list[str] = []
    props: dict[str, str] = {}
    flags: list[str] = []
    i = 1
    while i < len(words):
        w = words[i]
        if w.startswith("-D") and len(w) > 2:
            key, eq, value = w[2:].partition("=")
            props[key] = value if eq else "true"
        elif w in ("-D", "--define") and i + 1 < len(words):
            key, eq, value = words[i + 1].partition("=")
            props[key] = value if eq else "true"
            i += 1
        elif w.startswith("--") and "=" in w:
            flags.append(w)
        elif w in _MAVEN_VALUE_FLAGS:
            flags.append(f"{w}={words[i + 1] if i + 1 < len(words) else ''}")
            i += 1
        elif w.startswith("-P") and len(w) > 2:
            flags.append(f"-P={w[2:]}")
        elif w.startswith("-T") and len(w) > 2:
            pass
        elif w.startswith("-"):
            flags.append(w)
        elif w:
            goals.append(w)
        i += 1
    return goals, props, flags


def _gradle_args(words: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """(tasks, -P project properties, other flags with values as 'flag=value')."""
    tasks: list[str] = []
    props: dict[str, str] = {}
    flags: list[str] = []
    i = 1
    while i < len(words):
        w = words[i]
        if w.startswith("-P") and len(w) > 2:
            key, _, value = w[2:].partition("=")
            props[key] = value
        elif w in ("-P", "--project-prop") and i + 1 < len(words):
            key, _, value = words[i + 1].partition("=")
            props[key] = value
            i += 1
        elif w.startswith("--") and "=" in w:
            flags.append(w)
        elif w in _GRADLE_VALUE_FLAGS:
            flags.append(f"{w}={words[i + 1] if i + 1 < len(words) else ''}")
            i += 1
        elif w.startswith(("-D", "-x")) and len(w) > 2:
            pass  # -Dkey=value, -xtask
        elif w.startswith("-"):
            flags.append(w)
        elif w:
            tasks.append(w)
        i += 1
    return tasks, props, flags


@dataclass
class _JarArgs:
    create: bool = False
    file: str | None = None
    manifest: str | None = None
    main: str | None = None


_JAR_LONG_VALUE = frozenset({"--release", "--module-version", "--hash-modules",
                             "--module-path", "--date", "-p"})


def _jar_args(words: list[str]) -> _JarArgs:
    """Read `jar c...f NAME` (old clustered letters) and `jar --create --file NAME`."""
    out = _JarArgs()
    args = words[1:]
    pending: list[str] = []  # letters of a cluster still waiting for their value
    i = 0
    first = True
    while i < len(args):
        w = args[i]
        i += 1
        if pending:
            letter = pending.pop(0)
            if letter == "f":
                out.file = w
            elif letter == "m":
                out.manifest = w
            elif letter == "e":
                out.main = w
            continue
        if w.startswith("--"):
            name, eq, value = w.partition("=")
            if name in ("--file", "--manifest", "--main-class"):
                if not eq:
                    if i >= len(args):
                        raise Blocked(f"jar {name} has no value")
                    value = args[i]
                    i += 1
                if name == "--file":
                    out.file = value
                elif name == "--manifest":
                    out.manifest = value
                else:
                    out.main = value
            elif name == "--create":
                out.create = True
            elif name in _JAR_LONG_VALUE:
                i += 0 if eq else 1
            elif name not in ("--verbose", "--no-manifest", "--no-compress",
                              "--update", "--extract", "--list"):
                raise Blocked(f"jar option {name} is not understood")
            first = False
            continue
        if w == "-C":
            i += 2  # -C DIR FILE
            first = False
            continue
        letters = w[1:] if w.startswith("-") else (w if first else "")
        if letters and re.fullmatch(r"[ctxuvfmeM0inP]+", letters):
            if "c" in letters:
                out.create = True
            pending = [c for c in letters if c in "fme"]
            first = False
            continue
        first = False
        # a file operand: nothing to learn
    if pending:
        raise Blocked("the jar command lacks the value of one of its options")
    return out


@dataclass
class _Outputs:
    """What the build makes: jar paths (absolute) the CMD may run, and how they are named."""

    candidates: dict[str, str] = field(default_factory=dict)  # path -> how it is named
    glob_ok: bool = True  # a glob in a shell-form CMD may be resolved against them
    certain: bool = True  # False: taken from the CMD (no build context)

def _outputs_without_context(kind: str, build_wd: str, jar_path: str | None,
                             keyword: str) -> _Outputs:
    """No build context: trust a literal jar path in the build tool's output folder."""
    folder = posixpath.join(build_wd, "target" if kind == "maven" else "build/libs")
    if jar_path is None or posixpath.dirname(jar_path) != folder or \
            not jar_path.endswith(".jar"):
        raise Blocked(f"without the build context the {kind} build files cannot be read, "
                      f"and {keyword} does not name a jar in {folder}/")
    return _Outputs({jar_path: f"named by {keyword}; {kind} writes it to {folder}/"},
                    glob_ok=False, certain=False)


def _jar_outputs(ctx: Context, copies: Sequence[_Copy], words: list[str],
                 build_wd: str) -> _Outputs:
    args = _jar_args(words)
    if args.file is None:
        raise Blocked("the jar command writes the jar to standard output")
    if not args.file or "$" in args.file:  # '': a word built from a variable
        raise Blocked("the jar's name comes from a variable")
    path = posixpath.normpath(posixpath.join(build_wd, args.file))
    if args.manifest is not None:
        mpath = posixpath.normpath(posixpath.join(build_wd, args.manifest))
        rel = _context_file(ctx, copies, mpath)
        text = ctx.read_context_file(rel) if rel is not None else None
        if text is None:
            raise Blocked(f"the manifest {args.manifest} cannot be read from the build "
                          "context, so its Class-Path cannot be checked")
        if re.search(r"^Class-Path:", text, re.M | re.I):
            raise Blocked(f"the manifest {args.manifest} has a Class-Path: the jars it "
                          "names would have to move too")
    how = f"made by the builder's `jar` command as {args.file}"
    return _Outputs({path: how})


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _text(el: ET.Element | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _interpolate(value: str, props: dict[str, str], what: str) -> str:
    for _ in range(10):
        new = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), value)
        if new == value:
            break
        value = new
    unresolved = re.search(r"\$\{[^}]*\}", value)
    if unresolved:
        raise Blocked(f"the {what} uses {unresolved.group(0)}, which is not certain")
    return value


def _maven_outputs(ctx: Context, copies: Sequence[_Copy], words: list[str],
                   build_wd: str) -> _Outputs:
    _goals, cli_props, flags = _maven_args(words)
    pom_path = posixpath.join(build_wd, "pom.xml")
    selected: list[str] | None = None
    for f in flags:
        name, _, value = f.partition("=")
        if name in ("-pl", "--projects"):
            if not value or "$" in value:
                raise Blocked("the modules mvn -pl names are not certain")
            selected = [m.strip() for m in value.split(",") if m.strip()]
        if name in ("-rf", "--resume-from"):
            raise Blocked(f"mvn {name} builds some modules of a multi-module project")
        if name in ("-f", "--file"):
            if "$" in value or not value:
                raise Blocked("the pom that mvn -f names is not certain")
            full = posixpath.normpath(posixpath.join(build_wd, value))
            pom_path = full if full.endswith(".xml") else posixpath.join(full, "pom.xml")
    project = posixpath.dirname(pom_path)
    root = read_pom(ctx, copies, pom_path)
    modules = root.find("modules")
    if modules is not None and len(modules):
        from dockopt.transforms.split.java_modules import maven_module_outputs

        return maven_module_outputs(ctx, copies, root, project, cli_props, selected)
    if selected is not None or any(f.partition("=")[0] in ("-am", "--also-make", "-amd",
                                                           "--also-make-dependents")
                                   for f in flags):
        raise Blocked("mvn -pl/-am select modules of a multi-module project, but pom.xml "
                      "lists none")
    return pom_outputs(ctx, copies, root, project, cli_props, None)


def read_pom(ctx: Context, copies: Sequence[_Copy], pom_path: str) -> ET.Element:
    """The pom.xml the image has at ``pom_path``, parsed, namespaces stripped."""
    rel = _context_file(ctx, copies, pom_path)
    text = ctx.read_context_file(rel) if rel is not None else None
    if text is None:
        raise Blocked(f"{pom_path} does not come from the build context, so the jar's name "
                      "is not certain")
    if re.search(r"<!(DOCTYPE|ENTITY)", text):
        raise Blocked("pom.xml declares a DOCTYPE/entities")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Blocked("pom.xml does not parse") from exc
    _strip_ns(root)
    return root


def pom_outputs(ctx: Context, copies: Sequence[_Copy], root: ET.Element, project: str,
                cli_props: dict[str, str], aggregator: ET.Element | None) -> _Outputs:
    """The jars one pom's `package` makes in ``project``/target. ``aggregator``: the
    multi-module root pom this module's <parent> is (its properties, version,
    finalName and build plugins are inherited); a module whose packaging is not jar
    makes no candidate."""
    for prof in root.findall("profiles/profile"):
        if prof.find("build") is not None:
            raise Blocked("a profile in pom.xml changes the build")
    packaging = _text(root, "packaging") or "jar"
    if packaging != "jar":
        if aggregator is not None:
            return _Outputs()
        raise Blocked(f"the packaging is {packaging}, not a runnable jar")
    build = root.find("build")
    if _text(build, "directory") is not None:
        raise Blocked("pom.xml moves the build directory")
    parent = root.find("parent")
    glob_ok = True
    if parent is not None and aggregator is None:
        relative = parent.find("relativePath")
        rel_value = "../pom.xml" if relative is None else (relative.text or "").strip()
        if rel_value:
            ppath = posixpath.normpath(posixpath.join(project, rel_value))
            if not ppath.endswith(".xml"):
                ppath = posixpath.join(ppath, "pom.xml")
            if _context_file(ctx, copies, ppath) is not None:
                raise Blocked("the parent pom comes from the build context (a multi-module "
                              "project)")
    if parent is not None and (_text(parent, "artifactId"), _text(parent, "groupId")) != (
            "spring-boot-starter-parent", "org.springframework.boot") and aggregator is None:
        glob_ok = False  # an unknown parent may add plugins that make more jars
    if aggregator is not None:
        glob_ok = aggregator.find("parent") is None or (
            _text(aggregator, "parent/artifactId"), _text(aggregator, "parent/groupId")) == (
            "spring-boot-starter-parent", "org.springframework.boot")
    artifact = _text(root, "artifactId")
    version = _text(root, "version") or _text(parent, "version")
    if not artifact or not version:
        raise Blocked("pom.xml lacks the artifactId or version")
    props: dict[str, str] = {}
    sources = [aggregator, root] if aggregator is not None else [root]
    for pom in sources:
        for p in pom.findall("properties/*"):
            if isinstance(p.tag, str):
                props[p.tag] = (p.text or "").strip()
    for key in ("artifactId", "project.artifactId", "pom.artifactId"):
        props[key] = artifact
    for key in ("project.groupId", "groupId", "pom.groupId"):
        group = _text(root, "groupId") or _text(parent, "groupId")
        if group:
            props[key] = group
    parent_version = _text(parent, "version")
    if parent_version:
        props["project.parent.version"] = props["parent.version"] = parent_version
    props.update(cli_props)
    version = _interpolate(version, props, "version")
    for key in ("version", "project.version", "pom.version"):
        props[key] = version
    named_final = _text(build, "finalName") or (
        _text(aggregator.find("build"), "finalName") if aggregator is not None else None)
    final_name = named_final or "${project.artifactId}-${project.version}"
    final_name = _interpolate(final_name, props, "finalName")
    target = posixpath.join(project, "target")
    main = posixpath.join(target, f"{final_name}.jar")
    where = "pom.xml" if aggregator is None else posixpath.join(project, "pom.xml")
    named = (f"named by {where}: artifactId {artifact}, version {version}"
             + (f", finalName {final_name}" if named_final else "") + ", packaging jar")
    out = _Outputs({main: named}, glob_ok=glob_ok)
    plugins = root.findall("build/plugins/plugin")
    if aggregator is not None:
        plugins = aggregator.findall("build/plugins/plugin") + plugins
    for plugin in plugins:
        pid = _text(plugin, "artifactId") or ""
        conf = {el.tag: (el.text or "").strip() for el in plugin.iter() if isinstance(el.tag, str)}
        if pid in _MAVEN_BLOCKING_PLUGINS:
            raise Blocked(f"{pid} {_MAVEN_BLOCKING_PLUGINS[pid]}")
        if pid == "maven-shade-plugin":
            if conf.get("shadedArtifactAttached") == "true" or "outputFile" in conf or \
                    "finalName" in conf or "shadedClassifierName" in conf:
                raise Blocked("the shade plugin makes a second jar next to the main one: "
                              "which one runs is not certain")
            out.candidates[posixpath.join(target, f"original-{final_name}.jar")] = \
                "the jar before shading"
            out.candidates[main] = named + "; shaded with its dependencies"
        elif pid == "maven-assembly-plugin":
            refs = [el.text.strip() for el in plugin.iter("descriptorRef") if el.text]
            if refs != ["jar-with-dependencies"] or conf.get("appendAssemblyId") == "false" \
                    or "descriptor" in conf or "finalName" in conf:
                raise Blocked("the assembly plugin makes other archives: which one runs is "
                              "not certain")
            out.candidates[posixpath.join(target, f"{final_name}-jar-with-dependencies.jar")] \
                = named + "; the assembly plugin's jar-with-dependencies"
        elif pid == "spring-boot-maven-plugin":
            if "classifier" in conf:
                raise Blocked("spring-boot-maven-plugin writes the boot jar with a classifier")
        elif pid == "maven-jar-plugin":
            if any(k in conf for k in ("classifier", "finalName", "outputDirectory")):
                raise Blocked("maven-jar-plugin renames or moves the jar")
            if conf.get("addClasspath") == "true":
                raise Blocked("the jar's manifest has a Class-Path: the dependency jars it "
                              "names would have to move too")
        elif pid == "maven-dependency-plugin":
            goals_used = {el.text.strip() for el in plugin.iter("goal") if el.text}
            if goals_used & {"copy-dependencies", "copy", "unpack", "unpack-dependencies"}:
                raise Blocked("maven-dependency-plugin copies dependencies next to the jar")
        elif pid not in _MAVEN_PLAIN_PLUGINS:
            out.glob_ok = False
    return out


def _gradle_outputs(ctx: Context, copies: Sequence[_Copy], words: list[str],
                    build_wd: str) -> _Outputs:
    tasks, cli_props, flags = _gradle_args(words)
    project = build_wd
    for f in flags:
        name, _, value = f.partition("=")
        if name in ("-b", "--build-file", "-c", "--settings-file", "-I", "--init-script",
                    "--include-build"):
            raise Blocked(f"gradle {name} changes which build runs")
        if name in ("-p", "--project-dir"):
            project = posixpath.normpath(posixpath.join(build_wd, value))

    def read(name: str) -> str | None:
        rel = _context_file(ctx, copies, posixpath.join(project, name))
        return ctx.read_context_file(rel) if rel is not None else None

    settings = read("settings.gradle") or read("settings.gradle.kts")
    script = read("build.gradle")
    if script is None:
        script = read("build.gradle.kts")
    multi = settings is not None and re.search(r"^\s*(include|includeBuild)\b", settings,
                                               re.M) is not None
    if not multi and any(":" in t.lstrip(":") for t in tasks):
        raise Blocked("the build runs a subproject's task")
    if script is None and not multi:
        raise Blocked("build.gradle does not come from the build context, so the jar's name "
                      "is not certain")
    name_m = re.search(r"^\s*rootProject\.name\s*=\s*[\"']([^\"'$]+)[\"']\s*$", settings or "",
                       re.M)
    if name_m:
        name, how = name_m.group(1), f"rootProject.name {name_m.group(1)}"
    else:
        if settings is not None and "rootProject.name" in settings:
            raise Blocked("rootProject.name is not a plain string")
        name = posixpath.basename(project)
        if not name:
            raise Blocked("the Gradle project is the filesystem root")
        how = f"the project folder's name {name}"
    props_text = read("gradle.properties") or ""
    pm = re.search(r"^\s*version\s*[=:]\s*(\S+)\s*$", props_text, re.M)
    props_version = cli_props.get("version") or (pm.group(1) if pm else None)
    if multi:
        from dockopt.transforms.split.java_modules import (
            gradle_module_outputs,
            gradle_subprojects,
        )

        assert settings is not None
        return gradle_module_outputs(read, project, gradle_subprojects(settings), tasks,
                                     script, name, how, cli_props, props_version)
    assert script is not None
    m = _GRADLE_RENAMES.search(script)
    if m:
        raise Blocked(f"the build script sets {m.group(1)}, so the jar's name is not certain")
    version = gradle_version(script, cli_props, props_version)
    return gradle_jars(script, name, how, version, posixpath.join(project, "build/libs"),
                       tasks)


def gradle_version(script: str, cli_props: dict[str, str],
                    props_version: str | None) -> str | None:
    """The project's version: `-Pversion`, the build script's `version = '...'`, else
    gradle.properties' (``props_version``); raises when the script computes it."""
    version: str | None = cli_props.get("version")
    if version is None:
        vm = re.search(r"^\s*version\s*=?\s*[\"']([^\"'$]+)[\"']\s*$", script, re.M)
        if vm:
            version = vm.group(1)
        elif re.search(r"^\s*(project\.)?version\s*(=|\s[\w(])", script, re.M):
            raise Blocked("the build script computes the version")
        else:
            version = props_version
    return version


def gradle_jars(script: str, name: str, how: str, version: str | None, libs: str,
                tasks: list[str]) -> _Outputs:
    """The jars one Gradle project's ``tasks`` make in ``libs``, named ``name`` and
    ``version`` (``how`` says where they come from)."""
    m = _GRADLE_RENAMES.search(script)
    if m:
        raise Blocked(f"the build script sets {m.group(1)}, so the jar's name is not certain")
    base = f"{name}-{version}" if version else name
    how += f", version {version}" if version else ", no version"
    boot = re.search(r"(\bid\s*\(?\s*|apply\s+plugin:\s*)[\"'](org\.springframework\.boot|"
                     r"spring-boot)[\"']", script) is not None
    shadow = re.search(r"com\.github\.johnrengelman\.shadow|com\.gradleup\.shadow|"
                       r"io\.github\.goooler\.shadow", script) is not None
    if re.search(r"\bid\s*\(?\s*[\"']war[\"']|apply\s+plugin:\s*[\"']war[\"']|\bwar\s*\{",
                 script):
        raise Blocked("the war plugin makes a war")
    producers = {t.lstrip(":") for t in tasks} & _GRADLE_PRODUCERS
    everything = bool(producers & {"build", "assemble"})
    out = _Outputs(glob_ok=True)
    if everything or "jar" in producers:
        plain = f"{base}-plain.jar" if boot else f"{base}.jar"
        out.candidates[posixpath.join(libs, plain)] = (
            f"named by the Gradle build: {how}" + ("; the plain jar, without dependencies"
                                                   if boot else ""))
    if boot and (everything or "bootJar" in producers):
        out.candidates[posixpath.join(libs, f"{base}.jar")] = (
            f"named by the Gradle build: {how}; Spring Boot's bootJar")
    if shadow and (everything or "shadowJar" in producers):
        out.candidates[posixpath.join(libs, f"{base}-all.jar")] = (
            f"named by the Gradle build: {how}; the shadow plugin's jar")
    for extra in ("sources", "javadoc"):
        if f"with{extra.capitalize()}Jar" in script and everything:
            out.candidates[posixpath.join(libs, f"{base}-{extra}.jar")] = f"the {extra} jar"
    return out


