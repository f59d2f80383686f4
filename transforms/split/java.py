"""DO101 for Java: a Maven, Gradle or javac + jar build in a JDK image; the jar alone on a JRE.

The jar keeps its path in the runtime stage (so CMD/ENTRYPOINT, and commands such as
``docker run image java -jar target/app.jar``, work unchanged) and the runtime is
Eclipse Temurin's JRE of the Java major version the builder used.

Image facts (from the images' Dockerfiles: adoptium/containers, carlossg/docker-maven,
keeganwitt/docker-gradle, docker-library/openjdk, corretto/corretto-docker):

* ``eclipse-temurin:<N>[-jdk][-<ubuntu codename>|-alpine]`` is Ubuntu (or Alpine) with
  the JDK in ``/opt/java/openjdk``; ``eclipse-temurin:<N>-jre[-...]`` is the same with a
  JRE, for N = 8, 11 and 17 onwards (16 and the other old feature releases had no
  JRE build). Both have ``ENTRYPOINT ["/__cacert_entrypoint.sh"]``, which runs the
  CMD; the Ubuntu ones ship curl and wget, the Alpine ones neither curl nor a
  non-BusyBox wget. No WORKDIR.
* ``maven:<v>-eclipse-temurin-<N>[-...]`` is built on ``eclipse-temurin:<N>-jdk``;
  ``maven:<v>-jdk-<N>`` and ``maven:<v>-openjdk-<N>`` on the deprecated openjdk
  images; ``maven:<v>-amazoncorretto-<N>`` on Corretto. Its ENTRYPOINT
  (``mvn-entrypoint.sh``) runs the CMD too. A tag without the JDK (``maven:3.9``)
  follows whichever JDK is current: unknown.
* ``gradle:<v>-jdk<N>[-...]`` is built on ``eclipse-temurin:<N>-jdk`` (``-corretto``,
  ``-graal`` and others name another JDK); ``WORKDIR /home/gradle``.
* ``openjdk:<N>...`` is deprecated: Docker Hub stopped updating it in 2022 and points
  to Eclipse Temurin, Corretto and others. ``amazoncorretto:<N>`` is Amazon Linux with
  Corretto. Both map to Temurin's JRE of the same major version (another vendor's
  build of the same OpenJDK release), which the explanation says.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

from dockopt.rewriter.context import go_clean
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import BUILD_PACKAGES, FULL_ONLY_TOOLS
from dockopt.transforms.images import ImageRef, parse_image_ref
from dockopt.transforms.shellfix import RunShell, shell_runs
from dockopt.transforms.split.common import (
    ASSET_DIRS,
    PLAIN_WORD,
    Blocked,
    Plan,
    arg_lines,
    block,
    builder_name,
    cmd_words,
    last,
    render,
    walk_stage,
)

# The images whose final stage may build Java (the split needs the JDK version).
# Each image's WORKDIR when the Dockerfile sets none.
_IMAGE_WORKDIR = {"gradle": "/home/gradle"}
JRE_IMAGE = "eclipse-temurin"
_UBUNTU_CODENAMES = frozenset({"focal", "jammy", "noble", "resolute", "bionic", "xenial"})
# Tag words that only say which Debian/Amazon Linux/RHEL variant the JDK image is:
# the runtime is Temurin's Ubuntu JRE either way.
_DROPPED_VARIANTS = frozenset({"jdk", "slim", "bullseye", "buster", "bookworm", "stretch",
                               "trixie", "oracle", "oraclelinux7", "oraclelinux8",
                               "oraclelinux9", "al2", "al2023", "al2-generic", "headless",
                               "ubi9", "ubi10", "minimal", "debian", "full"})
_VENDORS_MAPPED = {"eclipse-temurin": "Eclipse Temurin", "openjdk": "OpenJDK (deprecated image)",
                   "jdk": "OpenJDK (deprecated image)", "amazoncorretto": "Amazon Corretto",
                   "corretto": "Amazon Corretto"}
# Maven phases that run `package` (and so make the jar).
_MAVEN_PACKAGE = frozenset({"package", "verify", "install", "deploy", "integration-test",
                            "pre-integration-test", "post-integration-test"})
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
_GRADLE_RENAMES = re.compile(
    r"\b(archivesBaseName|archivesName|archive(?:FileName|BaseName|Version|Classifier|"
    r"Appendix|Name)|baseName|classifier|destinationDir(?:ectory)?|buildDir(?:ectory)?|"
    r"libsDir(?:Name|ectory)?|apply\s+from)\b")
# `java` options that take the next word as their value.
_JAVA_VALUE_OPTS = frozenset({
    "-p", "--module-path", "--upgrade-module-path", "--add-modules", "--add-opens",
    "--add-exports", "--add-reads", "--patch-module", "--limit-modules",
    "--enable-native-access", "--describe-module", "-d",
})
_JAVA_PROGRAMS = frozenset({"java", "/opt/java/openjdk/bin/java", "$JAVA_HOME/bin/java",
                            "${JAVA_HOME}/bin/java"})
_SHELL_VAR = re.compile(r"\$(\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)")
# A shell word without quotes, expansions or operators (globs allowed: `target/*.jar`).
_SHELL_WORD = re.compile(r"[A-Za-z0-9_./:=@,+%*?-]+")
# Files under these folders exist in any image: a JVM flag may name them.
_SYSTEM_PATHS = ("/dev/", "/tmp/", "/proc/", "file:/dev/", "file:///dev/")
# Packages a Java build stage may install that the app does not need at run time.
_JAVA_BUILD_ONLY_PACKAGES = BUILD_PACKAGES | frozenset({
    "maven", "gradle", "ant", "git", "curl", "wget", "unzip", "zip", "ca-certificates",
    "openssh-client", "gnupg", "binutils", "tar", "xz-utils", "findutils", "which",
    "default-jdk", "default-jdk-headless",
})
# Commands that only prepare the build (anything else before the build may make
# something the app needs at run time).
_PREP_COMMANDS = frozenset({
    "javac", "kotlinc", "mkdir", "find", "cp", "mv", "rm", "echo", "printf", "cat", "ls",
    "chmod", "chown", "sed", "true", "set", "export", "test", "[", "cd", "touch", "git",
    "mvn", "mvnw", "gradle", "gradlew", "xargs", "sort", "pwd", "java",
})
# After the build command, in the same RUN: only cleanups and output.
_AFTER_BUILD_OK = frozenset({"rm", "echo", "printf", "ls", "true", "find"})
# Top-level context files an app reads from its working directory at run time.
_RUNTIME_FILES = re.compile(r"(application|bootstrap)([-.][\w.-]*)?\.(properties|ya?ml)|"
                            r"logback(-\w+)?\.xml|log4j2?(-\w+)?\.(xml|properties)|\.env.*")
# Java/Kotlin code that reads files at run time.
_JAVA_FILE_ACCESS = re.compile(
    r"\bnew\s+(?:File|FileInputStream|FileReader|RandomAccessFile)\s*\(|"
    r"\bFiles\.(?:read\w*|newBufferedReader|newInputStream|lines|list|walk|"
    r"newDirectoryStream)\s*\(|\bPaths\.get\s*\(|\bPath\.of\s*\(|"
    r"\bFileSystemResource\s*\(|\"file:(?!/dev/)|(?<![\w.])File\(\"")
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


# --- detection ----------------------------------------------------------------------


def _words(cmd_w: list[str]) -> list[str]:
    """The command's words, with `sh ./mvnw` / `bash gradlew` read as the wrapper."""
    if len(cmd_w) > 1 and cmd_w[0] in ("sh", "bash") and \
            posixpath.basename(cmd_w[1]) in ("mvnw", "gradlew"):
        return [posixpath.basename(cmd_w[1]), *cmd_w[2:]]
    return cmd_w


def _build_kind(words: list[str]) -> str | None:
    """"maven", "gradle" or "jar" when the command makes the jar, else None."""
    if not words:
        return None
    name = words[0]
    if name in ("mvn", "mvnw"):
        goals = _maven_args(words)[0]
        return "maven" if any(g in _MAVEN_PACKAGE for g in goals) else None
    if name in ("gradle", "gradlew"):
        tasks = _gradle_args(words)[0]
        # `:app:bootJar` counts too (the plan then says a subproject is built).
        return "gradle" if any(t.rsplit(":", 1)[-1] in _GRADLE_PRODUCERS for t in tasks) \
            else None
    if name == "jar":
        try:
            return "jar" if _jar_args(words).create else None
        except Blocked:
            return None
    return None


def _java_builds(run: RunShell) -> list[tuple[int, str, list[str]]]:
    out = []
    for i, cmd in enumerate(run.script.commands):
        words = _words(cmd_words(cmd))
        kind = _build_kind(words)
        if kind is not None:
            out.append((i, kind, words))
    return out


def java_matches(ctx: Context, final: Stage, ref: ImageRef, what: list[str]) -> bool:
    """A maven/gradle/jar build (the base image is one of the family's JDK and
    build-tool images: stage_split.FAMILIES checks that first)."""
    return has_java_build(ctx, final)


def has_java_build(ctx: Context, stage: Stage) -> bool:
    return any(_java_builds(run) for run in shell_runs(ctx, stage))


# --- the runtime image --------------------------------------------------------------


@dataclass
class _Runtime:
    image: str
    version: int
    notes: list[str]
    alpine: bool


def jre_image(ref: ImageRef) -> _Runtime:
    """Temurin's JRE for the JDK image ``ref`` names; raises when the JDK is unknown."""
    repo, tag = ref.repository, (ref.tag or "")
    words = [w for w in tag.lower().split("-") if w]
    vendor = ""
    version: int | None = None
    rest: list[str] = []
    if repo == "maven":
        m = re.search(r"(?:^|-)(eclipse-temurin|openjdk|jdk|amazoncorretto|corretto)-(\d+)"
                      r"(?=-|$)(.*)", tag.lower())
        if m is None:
            other = re.search(r"(?:^|-)(sapmachine|ibmjava|ibm-semeru|semeru|graalvm[\w-]*|"
                              r"liberica|zulu|microsoft)", tag.lower())
            if other:
                raise Blocked(f"{ref.text} uses the {other.group(1)} JDK, which has no "
                              "mapped JRE image")
            raise Blocked(f"the tag of {ref.text} does not say which JDK version it has")
        vendor, version = m.group(1), int(m.group(2))
        rest = [w for w in m.group(3).split("-") if w]
    elif repo == "gradle":
        m = re.search(r"(?:^|-)jdk(\d+)(?=-|$)(.*)", tag.lower())
        if m is None:
            raise Blocked(f"the tag of {ref.text} does not say which JDK version it has")
        vendor, version = "eclipse-temurin", int(m.group(1))
        rest = [w for w in m.group(2).split("-") if w]
        if "corretto" in rest:
            vendor = "corretto"
            rest.remove("corretto")
        if any(w.startswith(("graal", "semeru", "ibm")) for w in rest):
            raise Blocked(f"{ref.text} uses a JDK (GraalVM/OpenJ9) whose JVM differs from "
                          "Temurin's HotSpot")
    else:
        m = re.match(r"(\d+)", words[0] if words else "")
        if m is None:
            raise Blocked(f"the tag of {ref.text} does not say which JDK version it has")
        vendor, version, rest = repo, int(m.group(1)), words[1:]
    assert version is not None
    if "jre" in rest:
        raise Blocked(f"{ref.text} is already a JRE")
    if not (version in (8, 11) or version >= 17):
        raise Blocked(f"Eclipse Temurin publishes no JRE image for Java {version}")
    alpine = any(w.startswith("alpine") for w in rest)
    temurin_based = vendor == "eclipse-temurin"
    codename = next((w for w in rest if w in _UBUNTU_CODENAMES), None)
    for w in rest:
        if w.startswith("alpine") or w in _UBUNTU_CODENAMES or w in _DROPPED_VARIANTS or \
                re.fullmatch(r"[\d._u+b]+", w) or w.startswith(("oraclelinux", "al20", "ubi")):
            continue
        if w in ("windowsservercore", "nanoserver") or w.startswith("ltsc"):
            raise Blocked(f"{ref.text} is a Windows image")
        raise Blocked(f"the tag variant `{w}` of {ref.text} is not mapped to a JRE image")
    suffix = "-alpine" if alpine else (f"-{codename}" if codename and temurin_based else "")
    image = f"{JRE_IMAGE}:{version}-jre{suffix}"
    notes: list[str] = []
    if vendor in ("openjdk", "jdk"):
        notes.append(f"The openjdk images are deprecated (no updates since 2022; Docker Hub "
                     f"points to Eclipse Temurin and others), so the runtime is Eclipse "
                     f"Temurin's JRE {version}.")
    elif vendor in ("amazoncorretto", "corretto"):
        notes.append(f"The runtime is Eclipse Temurin's JRE {version}, another vendor's build "
                     f"of the OpenJDK {version} that Amazon Corretto builds.")
    if codename and not temurin_based:
        notes.append(f"Temurin's JRE is Ubuntu based; the builder was {codename}.")
    return _Runtime(image, version, notes, alpine)


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


# --- the plan -------------------------------------------------------------------------


@dataclass
class _Outputs:
    """What the build makes: jar paths (absolute) the CMD may run, and how they are named."""

    candidates: dict[str, str] = field(default_factory=dict)  # path -> how it is named
    glob_ok: bool = True  # a glob in a shell-form CMD may be resolved against them
    certain: bool = True  # False: taken from the CMD (no build context)


def java_plan(ctx: Context, final: Stage) -> Plan:
    tree, style = ctx.tree, ctx.style
    ref = parse_image_ref(final.base)
    assert ref is not None
    runtime = jre_image(ref)
    base_wd = _IMAGE_WORKDIR.get(ref.repository, "/")
    walk = walk_stage(ctx, final, lambda r: bool(_java_builds(r)), base_wd)
    builds = _java_builds(walk.build)
    if len(builds) != 1:
        raise Blocked("the RUN has more than one build command")
    index, kind, words = builds[0]
    copies, build_wd = _copies(final, walk.build.ins, base_wd)
    for run in walk.runs_before:
        _check_prep(run, None, build_wd)
    _check_prep(walk.build, index, build_wd)
    final_wd = walk.workdir or base_wd
    jar_word, head, shell = _command_jar(walk.keep)
    if any(c in jar_word for c in "*?[") and shell:
        jar_glob = posixpath.normpath(posixpath.join(final_wd, jar_word))
        jar_path = None
    else:
        jar_glob = None
        jar_path = posixpath.normpath(posixpath.join(final_wd, jar_word))
    if kind == "jar":
        outputs = _jar_outputs(ctx, copies, words, build_wd)
    elif ctx.build is None:
        outputs = _outputs_without_context(kind, build_wd, jar_path, head.keyword)
    elif kind == "maven":
        outputs = _maven_outputs(ctx, copies, words, build_wd)
    else:
        outputs = _gradle_outputs(ctx, copies, words, build_wd)
    if jar_glob is not None:
        found = [p for p in outputs.candidates if fnmatch.fnmatchcase(p, jar_glob)]
        if not outputs.glob_ok or len(found) != 1:
            raise Blocked(f"{head.keyword} runs {jar_word}, a glob whose match is not certain")
        jar_path = found[0]
    assert jar_path is not None
    if jar_path not in outputs.candidates:
        made = ", ".join(sorted(outputs.candidates)) or "no jar"
        raise Blocked(f"{head.keyword} runs {jar_path}, but the build makes {made}")
    if not PLAIN_WORD.fullmatch(jar_path):
        raise Blocked(f"the jar path {jar_path} is not a plain path")
    for mount in _cache_mounts(walk.build.ins, build_wd):
        if (jar_path + "/").startswith(mount.rstrip("/") + "/"):
            raise Blocked(f"the jar is built inside the RUN --mount at {mount}, which is not "
                          "part of the builder image")
    _check_java_context(ctx)
    keep_lines, env_lines, dropped = _runtime_settings(ctx, walk.keep, runtime)
    builder, from_edit = builder_name(tree.stages, final, style)
    plan = Plan("java", builder, from_edit)
    plan.protected = [jar_path]
    how = outputs.candidates[jar_path]
    plan.moved = [f"the jar {jar_path} ({how}) at the same path, so {head.keyword} runs it "
                  "as written"]
    # The keyword of each kept block (its first line that is not a comment).
    kept = [next(ln for ln in line.split("\n") if not ln.lstrip().startswith("#"))
            .split(None, 1)[0].upper() for line in env_lines + keep_lines]
    if kept:
        plan.moved.append("the image settings " + ", ".join(dict.fromkeys(kept)))
    plan.moved.append(f"base {runtime.image} (a JRE of the same Java {runtime.version} the "
                      "builder compiled with: no compiler, no build tool, no sources or "
                      "dependency cache)")
    if dropped:
        plan.notes.append(f"Left in the builder: {', '.join(dropped)} (Maven/Gradle "
                          "settings and caches; the runtime runs no build tool).")
    plan.notes.extend(runtime.notes)
    if not outputs.certain:
        plan.notes.append("Without the build context the jar's name is taken from "
                          f"{head.keyword}, not checked against the build files.")
    plan.notes.append("A non-root USER is left to DO604 (root-user).")
    workdir = walk.workdir if walk.workdir is not None else (
        base_wd if base_wd != "/" else None)
    plan.runtime = render("java", style, {
        "image": runtime.image, "builder": builder, "workdir": workdir, "env": env_lines,
        "args": arg_lines(tree, walk, keep_lines + env_lines), "keep": keep_lines,
        "jar_src": jar_path, "jar_dest": jar_path})
    return plan


def _cache_mounts(ins: Instruction, build_wd: str) -> list[str]:
    """The targets of the RUN's --mount flags (absolute)."""
    out = []
    for flag in ins.flags:
        if not flag.startswith("--mount"):
            continue
        for part in flag.partition("=")[2].split(","):
            key, _, value = part.partition("=")
            if key in ("target", "dst", "destination") and value:
                out.append(posixpath.normpath(posixpath.join(build_wd, value)))
    return out


def _check_prep(run: RunShell, build_index: int | None, build_wd: str) -> None:
    """Raise when a RUN (before the build, or the build's own RUN) may make something
    the app needs at run time, or changes directory before the build."""
    line = run.ins.start_line
    for i, cmd in enumerate(run.script.commands):
        words = _words(cmd_words(cmd))
        if not words:
            if cmd.words:
                raise Blocked(f"line {line}: a command name comes from a variable")
            continue
        name = words[0]
        if build_index is not None and i == build_index:
            continue
        if build_index is not None and i > build_index:
            if name not in _AFTER_BUILD_OK:
                raise Blocked(f"line {line}: `{name}` runs after the build and may make "
                              "something the app needs at run time")
            continue
        if build_index is not None and name == "cd":
            raise Blocked(f"line {line}: the RUN changes directory, so the jar's path is "
                          "not certain")
        if name in ("apt-get", "apt", "apk", "yum", "dnf", "microdnf"):
            if any(w in ("install", "add") for w in words[1:3]):
                pkgs = [w for w in words[2:] if not w.startswith("-") and w not in
                        ("install", "add")]
                extra = [p for p in pkgs if p.split("=")[0] not in _JAVA_BUILD_ONLY_PACKAGES
                         and not p.endswith("-dev") and not re.match(r"openjdk-\d+-jdk", p)]
                if extra:
                    raise Blocked(f"line {line}: it installs {', '.join(extra[:3])}, which "
                                  "the app may need at run time")
            continue
        if name not in _PREP_COMMANDS:
            raise Blocked(f"line {line}: `{name}` may make or install something the app "
                          "needs at run time")
        if name in ("cp", "mv"):
            args = [w for w in words[1:] if not w.startswith("-")]
            dest = args[-1] if args else ""
            full = posixpath.normpath(posixpath.join(build_wd, dest))
            if dest.startswith("/") and not (full + "/").startswith(build_wd.rstrip("/") + "/"):
                raise Blocked(f"line {line}: {name} puts files in {dest}, outside the build "
                              "folder: the app may need them at run time")


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
    for f in flags:
        name, _, value = f.partition("=")
        if name in ("-pl", "--projects", "-rf", "--resume-from", "-am", "--also-make",
                    "-amd", "--also-make-dependents"):
            raise Blocked(f"mvn {name} builds some modules of a multi-module project")
        if name in ("-f", "--file"):
            if "$" in value or not value:
                raise Blocked("the pom that mvn -f names is not certain")
            full = posixpath.normpath(posixpath.join(build_wd, value))
            pom_path = full if full.endswith(".xml") else posixpath.join(full, "pom.xml")
    project = posixpath.dirname(pom_path)
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
    modules = root.find("modules")
    if modules is not None and len(modules):
        raise Blocked("pom.xml has modules: which module's jar runs is not certain")
    for prof in root.findall("profiles/profile"):
        if prof.find("build") is not None:
            raise Blocked("a profile in pom.xml changes the build")
    packaging = _text(root, "packaging") or "jar"
    if packaging != "jar":
        raise Blocked(f"the packaging is {packaging}, not a runnable jar")
    build = root.find("build")
    if _text(build, "directory") is not None:
        raise Blocked("pom.xml moves the build directory")
    parent = root.find("parent")
    glob_ok = True
    if parent is not None:
        relative = parent.find("relativePath")
        rel_value = "../pom.xml" if relative is None else (relative.text or "").strip()
        if rel_value:
            ppath = posixpath.normpath(posixpath.join(project, rel_value))
            if not ppath.endswith(".xml"):
                ppath = posixpath.join(ppath, "pom.xml")
            if _context_file(ctx, copies, ppath) is not None:
                raise Blocked("the parent pom comes from the build context (a multi-module "
                              "project)")
        if (_text(parent, "artifactId"), _text(parent, "groupId")) != (
                "spring-boot-starter-parent", "org.springframework.boot"):
            glob_ok = False  # an unknown parent may add plugins that make more jars
    artifact = _text(root, "artifactId")
    version = _text(root, "version") or _text(parent, "version")
    if not artifact or not version:
        raise Blocked("pom.xml lacks the artifactId or version")
    props: dict[str, str] = {}
    for p in root.findall("properties/*"):
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
    final_name = _text(build, "finalName") or "${project.artifactId}-${project.version}"
    final_name = _interpolate(final_name, props, "finalName")
    target = posixpath.join(project, "target")
    main = posixpath.join(target, f"{final_name}.jar")
    named = (f"named by pom.xml: artifactId {artifact}, version {version}"
             + (f", finalName {final_name}" if _text(build, "finalName") else "")
             + ", packaging jar")
    out = _Outputs({main: named}, glob_ok=glob_ok)
    for plugin in root.findall("build/plugins/plugin"):
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
    if any(":" in t.lstrip(":") for t in tasks):
        raise Blocked("the build runs a subproject's task")

    def read(name: str) -> str | None:
        rel = _context_file(ctx, copies, posixpath.join(project, name))
        return ctx.read_context_file(rel) if rel is not None else None

    settings = read("settings.gradle") or read("settings.gradle.kts")
    script = read("build.gradle")
    if script is None:
        script = read("build.gradle.kts")
    if script is None:
        raise Blocked("build.gradle does not come from the build context, so the jar's name "
                      "is not certain")
    if settings is not None and re.search(r"^\s*(include|includeBuild)\b", settings, re.M):
        raise Blocked("settings.gradle includes other projects: which jar runs is not certain")
    m = _GRADLE_RENAMES.search(script)
    if m:
        raise Blocked(f"the build script sets {m.group(1)}, so the jar's name is not certain")
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
    version: str | None = cli_props.get("version")
    if version is None:
        vm = re.search(r"^\s*version\s*=?\s*[\"']([^\"'$]+)[\"']\s*$", script, re.M)
        if vm:
            version = vm.group(1)
        elif re.search(r"^\s*(project\.)?version\s*(=|\s[\w(])", script, re.M):
            raise Blocked("the build script computes the version")
        else:
            props = read("gradle.properties") or ""
            pm = re.search(r"^\s*version\s*[=:]\s*(\S+)\s*$", props, re.M)
            version = pm.group(1) if pm else None
    base = f"{name}-{version}" if version else name
    how += f", version {version}" if version else ", no version"
    libs = posixpath.join(project, "build/libs")
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


# --- CMD / ENTRYPOINT and the kept settings --------------------------------------------


def _shell_words(text: str, ins: Instruction) -> list[str]:
    words = text.split()
    if words[:1] == ["exec"]:
        words = words[1:]
    for w in words:
        if not (_SHELL_WORD.fullmatch(w) or _SHELL_VAR.fullmatch(w) or
                re.fullmatch(r"(\$JAVA_HOME|\$\{JAVA_HOME\})/bin/java", w)):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} is not plain words")
    return words


def _argv(ins: Instruction) -> tuple[list[str], bool]:
    """CMD/ENTRYPOINT as words (exec form, `sh -c "..."`, or plain shell form), and
    whether a shell reads them (expanding variables and globs)."""
    if ins.is_json:
        value = list(ins.value)
        if len(value) == 3 and value[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and \
                value[1] == "-c":
            return _shell_words(value[2], ins), True
        return value, False
    return _shell_words(ins.args.text.strip(), ins), True


def _command_jar(keep: list[Instruction]) -> tuple[str, Instruction, bool]:
    """The jar the image's command runs (as written), the instruction naming it, and
    whether a shell reads it."""
    entry, cmd = last(keep, "ENTRYPOINT"), last(keep, "CMD")
    head = entry if entry is not None else cmd
    if head is None:
        raise Blocked("no CMD or ENTRYPOINT runs the jar")
    words, shell = _argv(head)
    if entry is not None and not shell and cmd is not None:
        if not cmd.is_json:
            raise Blocked("a shell-form CMD passed to an exec-form ENTRYPOINT")
        words = words + list(cmd.value)
    programs = _JAVA_PROGRAMS if shell else {"java", "/opt/java/openjdk/bin/java"}
    if not words or words[0] not in programs:
        raise Blocked(f"line {head.start_line}: {head.keyword} does not run java")
    i = 1
    classpath: str | None = None
    while i < len(words):
        w = words[i]
        if w == "-jar":
            if i + 1 >= len(words):
                raise Blocked(f"line {head.start_line}: -jar has no jar")
            return _jar_word(words[i + 1], head), head, shell
        if w in ("-cp", "-classpath", "--class-path"):
            classpath = words[i + 1] if i + 1 < len(words) else ""
            i += 2
            continue
        if w in _JAVA_VALUE_OPTS:
            _check_jvm_flag(words[i + 1] if i + 1 < len(words) else "", head)
            i += 2
            continue
        if shell and _SHELL_VAR.fullmatch(w):
            i += 1  # $JAVA_OPTS and the like: JVM options
            continue
        if w.startswith("-"):
            _check_jvm_flag(w, head)
            i += 1
            continue
        # The main class: run from a classpath of exactly one jar.
        if classpath is not None and ":" not in classpath and classpath.endswith(".jar"):
            return _jar_word(classpath, head), head, shell
        raise Blocked(f"line {head.start_line}: {head.keyword} runs a main class from a "
                      "classpath that is not one jar")
    raise Blocked(f"line {head.start_line}: {head.keyword} does not run a jar")


def _jar_word(word: str, ins: Instruction) -> str:
    if "$" in word:
        raise Blocked(f"line {ins.start_line}: the jar's path comes from a variable")
    return word


def _check_jvm_flag(flag: str, ins: Instruction) -> None:
    """Raise when a JVM flag names a file the runtime would not have."""
    low = flag.lower()
    if low.startswith(("-javaagent:", "-agentpath:", "-xbootclasspath", "-splash:", "@")):
        raise Blocked(f"line {ins.start_line}: the JVM flag {flag.split('=')[0]} loads a file "
                      "the runtime would not have")
    _, eq, value = flag.partition("=")
    if eq and "/" in value and not value.startswith(_SYSTEM_PATHS):
        raise Blocked(f"line {ins.start_line}: the JVM flag {flag} names a path the runtime "
                      "may not have")


_BUILD_ENV = re.compile(r"(MAVEN_\w*|M2_HOME|M2|GRADLE_\w*)")
_JAVA_OPTION_ENV = frozenset({"JAVA_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"})
_BUILD_CACHES = re.compile(r".*/(\.m2|\.gradle)(/.*)?")


def _runtime_settings(ctx: Context, keep: list[Instruction], runtime: _Runtime
                      ) -> tuple[list[str], list[str], list[str]]:
    """The kept instruction blocks (ENV apart) and what stays in the builder."""
    tree = ctx.tree
    keep_lines: list[str] = []
    env_lines: list[str] = []
    dropped: list[str] = []
    tools = {t for t in FULL_ONLY_TOOLS if t not in ("curl", "wget")}
    tools |= {"jps", "jcmd", "jstack", "jmap", "jinfo", "jstat", "javac", "jshell", "mvn",
              "gradle"}
    if runtime.alpine:
        tools.add("curl")
    for ins in keep:
        kw = ins.keyword
        if kw in ("CMD", "ENTRYPOINT") and ins is not last(keep, kw):
            continue
        if kw == "ENV":
            v = ins.value
            keys = [v[i] for i in range(0, len(v), 2)]
            build_keys = [k for k in keys if _BUILD_ENV.fullmatch(k)]
            if build_keys and len(build_keys) == len(keys):
                dropped.append(f"ENV {' '.join(keys)}")
                continue  # Maven/Gradle settings: the runtime has neither
            if build_keys:
                raise Blocked(f"line {ins.start_line}: ENV mixes build tool and app variables")
            moved = [k for k in keys if k in ("JAVA_HOME", "PATH", "LD_LIBRARY_PATH")]
            if moved:
                raise Blocked(f"line {ins.start_line}: ENV sets {moved[0]}, which differs in "
                              "the JRE image")
            for i in range(0, len(v) - 1, 2):
                if v[i] in _JAVA_OPTION_ENV:
                    for flag in v[i + 1].split():
                        _check_jvm_flag(flag, ins)
            env_lines.append(block(tree, ins))
            continue
        if kw == "USER":
            user = ins.value[0].split(":")[0] if ins.value else "0"
            if not (user.isdigit() or user == "root"):
                raise Blocked(f"USER {user} is a user created in this image; the JRE image "
                              "does not have it")
        if kw == "HEALTHCHECK":
            words = set(re.findall(r"[\w.-]+", ins.args.text))
            missing = sorted(words & tools)
            if missing:
                raise Blocked(f"HEALTHCHECK uses {missing[0]}, which {runtime.image} lacks")
        if kw == "VOLUME" and ins.value and all(_BUILD_CACHES.fullmatch(p.rstrip("/"))
                                                for p in ins.value):
            dropped.append(f"VOLUME {' '.join(ins.value)}")
            continue  # the Maven/Gradle cache: build only
        keep_lines.append(block(tree, ins))
    return keep_lines, env_lines, dropped


def _check_java_context(ctx: Context) -> None:
    """Raise when the context shows files the app reads at run time (they would stay in
    the builder)."""
    build = ctx.build
    if build is None:
        return
    for d in sorted(ASSET_DIRS):
        if d in build.dirs:
            raise Blocked(f"the context has {d}/, files the app may read at run time")
    for rel in sorted(build.files):
        if "/" not in rel and _RUNTIME_FILES.fullmatch(rel):
            raise Blocked(f"the context has {rel}, which the app may read from its working "
                          "directory at run time")
    sources = [f for f in sorted(build.files) if f.endswith((".java", ".kt"))
               and "/test/" not in f"/{f}" and not f.startswith("test")]
    for rel in sources[:500]:
        text = build.read_text(rel) or ""
        m = _JAVA_FILE_ACCESS.search(text)
        if m:
            raise Blocked(f"{rel} reads files at run time ({m.group(0).strip('( ')}), which "
                          "would have to move too")
