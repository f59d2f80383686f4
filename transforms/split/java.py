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

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
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
from dockopt.transforms.split.java_build import (
    _GRADLE_PRODUCERS,
    _copies,
    _gradle_args,
    _gradle_outputs,
    _jar_args,
    _jar_outputs,
    _maven_args,
    _maven_outputs,
    _outputs_without_context,
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
_JAVA_VALUE_OPTS = frozenset({
    "-p", "--module-path", "--upgrade-module-path", "--add-modules", "--add-opens",
    "--add-exports", "--add-reads", "--patch-module", "--limit-modules",
    "--enable-native-access", "--describe-module", "-d",
})
_JAVA_PROGRAMS = frozenset({"java", "/opt/java/openjdk/bin/java", "$JAVA_HOME/bin/java",
                            "${JAVA_HOME}/bin/java"})
_SHELL_VAR = lazy(r"\$(\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)")
# A shell word without quotes, expansions or operators (globs allowed: `target/*.jar`).
_SHELL_WORD = lazy(r"[A-Za-z0-9_./:=@,+%*?-]+")
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
_RUNTIME_FILES = lazy(r"(application|bootstrap)([-.][\w.-]*)?\.(properties|ya?ml)|"
                            r"logback(-\w+)?\.xml|log4j2?(-\w+)?\.(xml|properties)|\.env.*")
# Java/Kotlin code that reads files at run time.
_JAVA_FILE_ACCESS = lazy(
    r"\bnew\s+(?:File|FileInputStream|FileReader|RandomAccessFile)\s*\(|"
    r"\bFiles\.(?:read\w*|newBufferedReader|newInputStream|lines|list|walk|"
    r"newDirectoryStream)\s*\(|\bPaths\.get\s*\(|\bPath\.of\s*\(|"
    r"\bFileSystemResource\s*\(|\"file:(?!/dev/)|(?<![\w.])File\(\"")


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


# --- the plan -------------------------------------------------------------------------



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


_BUILD_ENV = lazy(r"(MAVEN_\w*|M2_HOME|M2|GRADLE_\w*)")
_JAVA_OPTION_ENV = frozenset({"JAVA_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"})
_BUILD_CACHES = lazy(r".*/(\.m2|\.gradle)(/.*)?")


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
