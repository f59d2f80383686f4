"""DO101 for Java (transforms/split/java.py): Maven, Gradle and javac + jar builds split
into a builder and an Eclipse Temurin JRE runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety
from dockopt.transforms.images import parse_image_ref
from dockopt.transforms.split.common import Blocked
from dockopt.transforms.split.java import jre_image
from dockopt.transforms.split.single_stage import apply_edits

JAVAC = """\
FROM eclipse-temurin:17-jdk
WORKDIR /app
COPY . .
RUN javac -d out $(find src -name '*.java') && jar cfe app.jar example.Main -C out .
EXPOSE 8080
CMD ["java", "-jar", "app.jar"]
"""
MAVEN = """\
FROM maven:3.9.6-eclipse-temurin-17
WORKDIR /usr/src/app
COPY pom.xml .
RUN mvn -B dependency:go-offline
COPY src ./src
RUN mvn -B package -DskipTests
EXPOSE 8080
CMD ["java", "-jar", "target/demo-0.0.1-SNAPSHOT.jar"]
"""
GRADLE = """\
FROM gradle:8.5-jdk17
WORKDIR /home/gradle/src
COPY . .
RUN gradle build --no-daemon -x test
CMD ["java", "-jar", "build/libs/demo-1.2.0.jar"]
"""
MAIN = ("package example;\n\npublic class Main {\n    public static void main(String[] a) {\n"
        "        System.out.println(\"hi\");\n    }\n}\n")


def pom(extra: str = "", build: str = "", head: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  {head}
  <groupId>com.example</groupId>
  <artifactId>demo</artifactId>
  <version>0.0.1-SNAPSHOT</version>
  {extra}
  <build>{build}</build>
</project>
"""



def _javac_ctx(tmp_path: Path, extra: dict[str, str] | None = None) -> BuildContext:
    return _context(tmp_path, {"src/example/Main.java": MAIN, **(extra or {})})


def _maven_ctx(tmp_path: Path, pom_text: str | None = None,
               extra: dict[str, str] | None = None) -> BuildContext:
    files = {"pom.xml": pom() if pom_text is None else pom_text,
             "src/main/java/example/Main.java": MAIN}
    return _context(tmp_path, {**files, **(extra or {})})


def _gradle_ctx(tmp_path: Path, script: str | None = None, settings: str | None = None,
                extra: dict[str, str] | None = None) -> BuildContext:
    files = {"build.gradle": script if script is not None else
             "plugins {\n    id 'java'\n    id 'application'\n}\n\nversion = '1.2.0'\n",
             "settings.gradle": settings if settings is not None else
             "rootProject.name = 'demo'\n",
             "src/main/java/example/Main.java": MAIN}
    return _context(tmp_path, {**files, **(extra or {})})





def _blocked(text: str, build: BuildContext | None) -> str:
    f = _only(text, build)
    assert f.fix is None, f.fix and f.fix.message
    assert "Suggestion only" in f.message and "java toolchain" in f.message
    return f.message


def _runtime(out: str) -> str:
    return out[out.rindex("FROM "):]


# --- the runtime image ------------------------------------------------------------


@pytest.mark.parametrize(("image", "jre"), [
    ("maven:3.9.6-eclipse-temurin-17", "eclipse-temurin:17-jre"),
    ("maven:3-eclipse-temurin-21-alpine", "eclipse-temurin:21-jre-alpine"),
    ("maven:3.9-eclipse-temurin-17-focal", "eclipse-temurin:17-jre-focal"),
    ("maven:3.8-jdk-11", "eclipse-temurin:11-jre"),
    ("maven:3-jdk-8-slim", "eclipse-temurin:8-jre"),
    ("maven:3.8.5-openjdk-17-slim", "eclipse-temurin:17-jre"),
    ("maven:3.9-amazoncorretto-21-al2023", "eclipse-temurin:21-jre"),
    ("gradle:8.5-jdk17", "eclipse-temurin:17-jre"),
    ("gradle:jdk21", "eclipse-temurin:21-jre"),
    ("gradle:8-jdk17-alpine", "eclipse-temurin:17-jre-alpine"),
    ("gradle:8.5.0-jdk21-jammy", "eclipse-temurin:21-jre-jammy"),
    ("gradle:8-jdk17-corretto", "eclipse-temurin:17-jre"),
    ("eclipse-temurin:17", "eclipse-temurin:17-jre"),
    ("eclipse-temurin:17-jdk", "eclipse-temurin:17-jre"),
    ("eclipse-temurin:21-jdk-noble", "eclipse-temurin:21-jre-noble"),
    ("eclipse-temurin:17.0.9_9-jdk-jammy", "eclipse-temurin:17-jre-jammy"),
    ("eclipse-temurin:8u392-b08-jdk", "eclipse-temurin:8-jre"),
    ("eclipse-temurin:21-jdk-alpine", "eclipse-temurin:21-jre-alpine"),
    ("openjdk:17-jdk-slim", "eclipse-temurin:17-jre"),
    ("openjdk:11-jdk-slim-bullseye", "eclipse-temurin:11-jre"),
    ("openjdk:8-jdk-alpine", "eclipse-temurin:8-jre-alpine"),
    ("amazoncorretto:17", "eclipse-temurin:17-jre"),
    ("amazoncorretto:21-alpine3.19", "eclipse-temurin:21-jre-alpine"),
])
def test_jre_image_mapping(image: str, jre: str) -> None:
    ref = parse_image_ref(image)
    assert ref is not None
    assert jre_image(ref).image == jre


def test_jre_image_notes_name_the_vendor_change() -> None:
    for image, word in (("openjdk:17-jdk", "deprecated"), ("maven:3-jdk-8", "deprecated"),
                        ("amazoncorretto:17", "Corretto"), ("gradle:8-jdk17-corretto",
                                                            "Corretto")):
        ref = parse_image_ref(image)
        assert ref is not None
        assert any(word in n for n in jre_image(ref).notes), image
    ref = parse_image_ref("eclipse-temurin:17-jdk")
    assert ref is not None and jre_image(ref).notes == []


@pytest.mark.parametrize(("image", "reason"), [
    ("maven:3.9", "does not say which JDK"),
    ("maven:latest", "does not say which JDK"),
    ("maven", "does not say which JDK"),
    ("gradle:8", "does not say which JDK"),
    ("gradle:8-jdk-lts-and-current", "does not say which JDK"),
    ("gradle:8-jdk21-graal", "GraalVM"),
    ("openjdk:latest", "does not say which JDK"),
    ("openjdk:16-jdk", "no JRE image for Java 16"),
    ("openjdk:17-ea-jdk", "variant `ea`"),
    ("eclipse-temurin:17-jre", "already a JRE"),
    ("maven:3-sapmachine-17", "sapmachine"),
    ("maven:3-ibmjava-8", "ibmjava"),
])
def test_jre_image_unknown_jdk_is_blocked(image: str, reason: str) -> None:
    ref = parse_image_ref(image)
    assert ref is not None
    with pytest.raises(Blocked, match=reason):
        jre_image(ref)


# --- javac + jar ------------------------------------------------------------------


def test_javac_jar_split(tmp_path: Path) -> None:
    f = _only(JAVAC, _javac_ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "the jar /app/app.jar" in f.fix.message
    assert "eclipse-temurin:17-jre" in f.fix.message
    out = apply_edits(JAVAC, f.fix.edits)
    assert out.startswith("FROM eclipse-temurin:17-jdk AS build\n")
    assert _runtime(out) == ("FROM eclipse-temurin:17-jre\nWORKDIR /app\n"
                             "COPY --from=build /app/app.jar /app/app.jar\nEXPOSE 8080\n"
                             'CMD ["java", "-jar", "app.jar"]\n')
    assert _findings(out, _javac_ctx(tmp_path / "again")) == []


@pytest.mark.parametrize("jar", [
    "jar cvfe app.jar example.Main -C out .",
    "jar -cfe app.jar example.Main -C out .",
    "jar --create --file=app.jar --main-class=example.Main -C out .",
    "jar --create --file app.jar --main-class example.Main -C out .",
    "jar -c -f app.jar -e example.Main -C out .",
    "jar cef example.Main app.jar -C out .",
])
def test_jar_command_forms(tmp_path: Path, jar: str) -> None:
    text = JAVAC.replace("jar cfe app.jar example.Main -C out .", jar)
    out = _split(text, _javac_ctx(tmp_path))
    assert "COPY --from=build /app/app.jar /app/app.jar" in out


def test_jar_in_separate_run_and_other_folder(tmp_path: Path) -> None:
    text = JAVAC.replace(
        "RUN javac -d out $(find src -name '*.java') && jar cfe app.jar example.Main -C out .",
        "RUN mkdir -p out dist && javac -d out src/example/Main.java\n"
        "RUN jar cfe dist/server.jar example.Main -C out .").replace(
        '"app.jar"', '"/app/dist/server.jar"')
    out = _split(text, _javac_ctx(tmp_path))
    assert "COPY --from=build /app/dist/server.jar /app/dist/server.jar" in out


def test_jar_manifest_is_read(tmp_path: Path) -> None:
    text = JAVAC.replace("jar cfe app.jar example.Main", "jar cfm app.jar manifest.txt")
    ok = _javac_ctx(tmp_path / "a", {"manifest.txt": "Main-Class: example.Main\n"})
    assert "COPY --from=build" in _split(text, ok)
    bad = _javac_ctx(tmp_path / "b", {"manifest.txt": "Main-Class: example.Main\n"
                                      "Class-Path: lib/dep.jar\n"})
    assert "Class-Path" in _blocked(text, bad)


def test_classpath_with_main_class(tmp_path: Path) -> None:
    text = JAVAC.replace('["java", "-jar", "app.jar"]',
                         '["java", "-Xmx256m", "-cp", "app.jar", "example.Main", "--port", "8080"]')
    out = _split(text, _javac_ctx(tmp_path))
    assert out.endswith('CMD ["java", "-Xmx256m", "-cp", "app.jar", "example.Main", '
                        '"--port", "8080"]\n')


def test_javac_without_context_is_display_only() -> None:
    f = _only(JAVAC)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    result = fix(JAVAC, path="Dockerfile",
                 settings=settings_from_dict({"select": ["DO101"], "unsafe-fixes": True}, "t"))
    assert result.text == JAVAC


# --- Maven ------------------------------------------------------------------------


def test_maven_split(tmp_path: Path) -> None:
    f = _only(MAVEN, _maven_ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "artifactId demo, version 0.0.1-SNAPSHOT" in f.fix.message
    out = apply_edits(MAVEN, f.fix.edits)
    assert _runtime(out) == (
        "FROM eclipse-temurin:17-jre\nWORKDIR /usr/src/app\n"
        "COPY --from=build /usr/src/app/target/demo-0.0.1-SNAPSHOT.jar "
        "/usr/src/app/target/demo-0.0.1-SNAPSHOT.jar\nEXPOSE 8080\n"
        'CMD ["java", "-jar", "target/demo-0.0.1-SNAPSHOT.jar"]\n')


def test_maven_final_name_properties_and_parent_version(tmp_path: Path) -> None:
    text = pom(head="<parent><groupId>org.springframework.boot</groupId>"
               "<artifactId>spring-boot-starter-parent</artifactId><version>3.2.5</version>"
               "<relativePath/></parent>",
               extra="<properties><app.suffix>svc</app.suffix></properties>",
               build="<finalName>${project.artifactId}-${app.suffix}</finalName>"
               "<plugins><plugin><groupId>org.springframework.boot</groupId>"
               "<artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins>")
    text = text.replace("<version>0.0.1-SNAPSHOT</version>", "")
    docker = MAVEN.replace("target/demo-0.0.1-SNAPSHOT.jar", "target/demo-svc.jar")
    f = _only(docker, _maven_ctx(tmp_path, text))
    assert f.fix is not None
    assert "version 3.2.5, finalName demo-svc" in f.fix.message


def test_maven_revision_from_command_line(tmp_path: Path) -> None:
    text = pom().replace("0.0.1-SNAPSHOT", "${revision}")
    docker = MAVEN.replace("-DskipTests", "-DskipTests -Drevision=2.0.0").replace(
        "demo-0.0.1-SNAPSHOT", "demo-2.0.0")
    assert "target/demo-2.0.0.jar" in _split(docker, _maven_ctx(tmp_path, text))
    assert "${revision}" in _blocked(MAVEN, _maven_ctx(tmp_path / "b", text))


def test_maven_file_flag_and_copy_into_folder(tmp_path: Path) -> None:
    docker = ("FROM maven:3.8-jdk-11\nCOPY . /usr/src/app\n"
              "RUN mvn -f /usr/src/app/pom.xml clean package\n"
              'ENTRYPOINT ["java", "-jar", "/usr/src/app/target/demo-0.0.1-SNAPSHOT.jar"]\n'
              'CMD ["--spring.profiles.active=prod"]\n')
    f = _only(docker, _maven_ctx(tmp_path))
    assert f.fix is not None and "deprecated" in f.fix.message
    out = apply_edits(docker, f.fix.edits)
    assert _runtime(out).endswith(
        "COPY --from=build /usr/src/app/target/demo-0.0.1-SNAPSHOT.jar "
        "/usr/src/app/target/demo-0.0.1-SNAPSHOT.jar\n"
        'ENTRYPOINT ["java", "-jar", "/usr/src/app/target/demo-0.0.1-SNAPSHOT.jar"]\n'
        'CMD ["--spring.profiles.active=prod"]\n')
    assert "\nWORKDIR" not in _runtime(out)


def test_maven_glob_in_shell_form(tmp_path: Path) -> None:
    docker = MAVEN.replace('CMD ["java", "-jar", "target/demo-0.0.1-SNAPSHOT.jar"]',
                           "CMD java $JAVA_OPTS -jar target/*.jar")
    out = _split(docker, _maven_ctx(tmp_path))
    assert "COPY --from=build /usr/src/app/target/demo-0.0.1-SNAPSHOT.jar " in out
    assert out.endswith("CMD java $JAVA_OPTS -jar target/*.jar\n")
    # The default shade plugin leaves original-*.jar next to it: the glob is ambiguous.
    shade = pom(build="<plugins><plugin><artifactId>maven-shade-plugin</artifactId>"
                "</plugin></plugins>")
    assert "glob" in _blocked(docker, _maven_ctx(tmp_path / "b", shade))
    # An exec-form CMD does not expand globs.
    exec_form = MAVEN.replace("demo-0.0.1-SNAPSHOT.jar", "*.jar")
    assert "runs /usr/src/app/target/*.jar" in _blocked(exec_form, _maven_ctx(tmp_path / "c"))


def test_maven_shade_default_and_assembly(tmp_path: Path) -> None:
    shade = pom(build="<plugins><plugin><artifactId>maven-shade-plugin</artifactId>"
                "</plugin></plugins>")
    f = _only(MAVEN, _maven_ctx(tmp_path / "a", shade))
    assert f.fix is not None and "shaded" in f.fix.message
    assembly = pom(build="<plugins><plugin><artifactId>maven-assembly-plugin</artifactId>"
                   "<configuration><descriptorRefs><descriptorRef>jar-with-dependencies"
                   "</descriptorRef></descriptorRefs></configuration></plugin></plugins>")
    docker = MAVEN.replace("SNAPSHOT.jar", "SNAPSHOT-jar-with-dependencies.jar")
    assert "SNAPSHOT-jar-with-dependencies.jar" in _split(
        docker, _maven_ctx(tmp_path / "b", assembly))


@pytest.mark.parametrize(("pom_text", "reason"), [
    (pom(build="<plugins><plugin><artifactId>maven-shade-plugin</artifactId><configuration>"
         "<shadedArtifactAttached>true</shadedArtifactAttached></configuration></plugin>"
         "</plugins>"), "second jar"),
    (pom(extra="<modules><module>api</module><module>app</module></modules>"), "modules"),
    (pom(extra="<packaging>war</packaging>"), "packaging is war"),
    (pom(extra="<profiles><profile><id>x</id><build><finalName>y</finalName></build>"
         "</profile></profiles>"), "profile"),
    (pom(build="<directory>out</directory>"), "build directory"),
    (pom(build="<plugins><plugin><artifactId>maven-dependency-plugin</artifactId>"
         "<executions><execution><goals><goal>copy-dependencies</goal></goals></execution>"
         "</executions></plugin></plugins>"), "copies dependencies"),
    (pom(build="<plugins><plugin><artifactId>maven-jar-plugin</artifactId><configuration>"
         "<archive><manifest><addClasspath>true</addClasspath></manifest></archive>"
         "</configuration></plugin></plugins>"), "Class-Path"),
    (pom(build="<plugins><plugin><artifactId>maven-antrun-plugin</artifactId></plugin>"
         "</plugins>"), "maven-antrun-plugin"),
    (pom(build="<finalName>${buildName}</finalName>"), "${buildName}"),
    ("<project><artifactId>demo", "does not parse"),
    ('<!DOCTYPE x [<!ENTITY a "b">]><project/>', "DOCTYPE"),
])
def test_maven_blockers(tmp_path: Path, pom_text: str, reason: str) -> None:
    assert reason in _blocked(MAVEN, _maven_ctx(tmp_path, pom_text))


def test_maven_parent_in_context_is_multi_module(tmp_path: Path) -> None:
    docker = ("FROM maven:3.9.6-eclipse-temurin-17\nWORKDIR /usr/src\nCOPY . .\n"
              "WORKDIR /usr/src/app\nRUN mvn -B package\n"
              'CMD ["java", "-jar", "target/demo-0.0.1-SNAPSHOT.jar"]\n')
    child = pom(head="<parent><groupId>com.example</groupId><artifactId>root</artifactId>"
                "<version>1</version></parent>")
    ctx = _context(tmp_path, {"app/pom.xml": child, "pom.xml": pom()})
    assert "parent pom" in _blocked(docker, ctx)
    # The same module alone (its parent is not in the context): split.
    alone = _context(tmp_path / "b", {"app/pom.xml": child})
    assert "COPY --from=build /usr/src/app/target/demo-0.0.1-SNAPSHOT.jar" in _split(docker,
                                                                                      alone)


def test_maven_projects_flag(tmp_path: Path) -> None:
    docker = MAVEN.replace("package -DskipTests", "-pl app -am package")
    assert "multi-module" in _blocked(docker, _maven_ctx(tmp_path))


def test_maven_without_context(tmp_path: Path) -> None:
    f = _only(MAVEN)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert "taken from CMD" in f.fix.message
    other = MAVEN.replace("target/demo-0.0.1-SNAPSHOT.jar", "/app.jar")
    assert "does not name a jar in /usr/src/app/target/" in _blocked(other, None)


def test_maven_tag_without_jdk_keeps_generic_hint() -> None:
    text = "FROM maven:3.9\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"t.jar\"]\n"
    msg = _blocked(text, None)
    assert "mvn package" in msg and "does not say which JDK" in msg


# --- Gradle -----------------------------------------------------------------------


def test_gradle_split(tmp_path: Path) -> None:
    f = _only(GRADLE, _gradle_ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "rootProject.name demo, version 1.2.0" in f.fix.message
    out = apply_edits(GRADLE, f.fix.edits)
    assert _runtime(out) == (
        "FROM eclipse-temurin:17-jre\nWORKDIR /home/gradle/src\n"
        "COPY --from=build /home/gradle/src/build/libs/demo-1.2.0.jar "
        "/home/gradle/src/build/libs/demo-1.2.0.jar\n"
        'CMD ["java", "-jar", "build/libs/demo-1.2.0.jar"]\n')


def test_gradle_spring_boot_kotlin_dsl(tmp_path: Path) -> None:
    script = ('plugins {\n    java\n    id("org.springframework.boot") version "3.2.5"\n}\n\n'
              'version = "1.2.0"\n')
    ctx = _gradle_ctx(tmp_path, script, 'rootProject.name = "demo"\n')
    (Path(ctx.root) / "build.gradle").rename(Path(ctx.root) / "build.gradle.kts")
    (Path(ctx.root) / "settings.gradle").rename(Path(ctx.root) / "settings.gradle.kts")
    ctx = BuildContext(ctx.root)
    f = _only(GRADLE, ctx)
    assert f.fix is not None and "bootJar" in f.fix.message
    # `build/libs/*.jar` would also match the -plain jar.
    glob = GRADLE.replace('CMD ["java", "-jar", "build/libs/demo-1.2.0.jar"]',
                          "CMD java -jar build/libs/*.jar")
    assert "glob" in _blocked(glob, ctx)


def test_gradle_default_name_and_properties_version(tmp_path: Path) -> None:
    ctx = _gradle_ctx(tmp_path, "plugins { id 'java' }\n", "",
                      {"gradle.properties": "version=3.1\n"})
    text = GRADLE.replace("demo-1.2.0.jar", "src-3.1.jar").replace("build --no-daemon",
                                                                   "jar")
    assert "build/libs/src-3.1.jar" in _split(text, ctx)
    text = GRADLE.replace("demo-1.2.0.jar", "demo-9.jar").replace("build --no-daemon",
                                                                  "build -Pversion=9")
    assert "build/libs/demo-9.jar" in _split(text, _gradle_ctx(tmp_path / "b"))


@pytest.mark.parametrize(("script", "settings", "reason"), [
    (None, "rootProject.name = 'demo'\ninclude 'app'\nincludeBuild '../lib'\n",
     "includes other builds"),
    ("plugins { id 'java' }\nversion = '1.2.0'\njar { archiveFileName = 'x.jar' }\n", None,
     "archiveFileName"),
    ("plugins { id 'java' }\nversion = gitVersion()\n", None, "computes the version"),
    ("plugins { id 'war' }\nversion = '1.2.0'\n", None, "war"),
    ("plugins { id 'java' }\nversion = '1.2.0'\napply from: 'other.gradle'\n", None,
     "apply from"),
])
def test_gradle_blockers(tmp_path: Path, script: str | None, settings: str | None,
                         reason: str) -> None:
    assert reason in _blocked(GRADLE, _gradle_ctx(tmp_path, script, settings))


def test_gradle_wrapper_and_subproject_task(tmp_path: Path) -> None:
    text = GRADLE.replace("RUN gradle build", "RUN chmod +x gradlew && ./gradlew build")
    assert "COPY --from=build" in _split(text, _gradle_ctx(tmp_path))
    text = GRADLE.replace("gradle build", "gradle :app:bootJar")
    assert "subproject" in _blocked(text, _gradle_ctx(tmp_path / "b"))


# --- what the runtime keeps and what blocks -----------------------------------------


def test_kept_settings_comments_and_args(tmp_path: Path) -> None:
    text = ("ARG APP_VERSION=1\nFROM eclipse-temurin:17-jdk\nARG APP_VERSION\n"
            "LABEL org.opencontainers.image.version=$APP_VERSION\nENV MAVEN_OPTS=-Xmx1g\n"
            "ENV JAVA_OPTS=-Xmx512m\nWORKDIR /app\nCOPY . .\n"
            "RUN javac -d out src/example/Main.java && jar cfe app.jar example.Main -C out .\n"
            "VOLUME /root/.m2\nVOLUME /data\nUSER 1000\n"
            "HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\nSTOPSIGNAL SIGTERM\n"
            "# the server\nCMD java $JAVA_OPTS -jar app.jar\n")
    out = _split(text, _javac_ctx(tmp_path))
    runtime = _runtime(out)
    assert runtime == (
        "FROM eclipse-temurin:17-jre\nARG APP_VERSION\nWORKDIR /app\nENV JAVA_OPTS=-Xmx512m\n"
        "COPY --from=build /app/app.jar /app/app.jar\n"
        "LABEL org.opencontainers.image.version=$APP_VERSION\nVOLUME /data\nUSER 1000\n"
        "HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\nSTOPSIGNAL SIGTERM\n"
        "# the server\nCMD java $JAVA_OPTS -jar app.jar\n")


@pytest.mark.parametrize(("change", "reason"), [
    (('CMD ["java", "-jar", "app.jar"]', 'CMD ["java", "-jar", "app.jar"]\nRUN echo done'),
     "after the build"),
    ((" -C out .", " -C out . && cp app.jar /srv/"), "runs after the build"),
    (('CMD ["java", "-jar", "app.jar"]', 'CMD ["./run.sh"]'), "does not run java"),
    (('CMD ["java", "-jar", "app.jar"]', 'CMD ["java", "-jar", "other.jar"]'),
     "but the build makes /app/app.jar"),
    (('CMD ["java", "-jar", "app.jar"]', 'CMD ["java", "example.Main"]'), "not one jar"),
    (('CMD ["java", "-jar", "app.jar"]', ""), "no CMD or ENTRYPOINT"),
    (('"-jar"', '"-javaagent:/opt/agent.jar", "-jar"'), "-javaagent"),
    (('"-jar"', '"-Dlogback.configurationFile=/etc/app/logback.xml", "-jar"'),
     "names a path"),
    (('CMD ["java"', 'USER appuser\nCMD ["java"'), "USER appuser"),
    (("EXPOSE 8080", "ENV JAVA_HOME=/usr/lib/jvm/x"), "JAVA_HOME"),
    (("EXPOSE 8080", "ENV MAVEN_OPTS=-Xmx1g APP_MODE=prod"), "mixes"),
    (("EXPOSE 8080", "HEALTHCHECK CMD jcmd 1 VM.uptime"), "jcmd"),
    (("COPY . .", "COPY . .\nRUN apt-get update && apt-get install -y fontconfig"),
     "fontconfig"),
    (("COPY . .", "COPY . .\nRUN curl -o /opt/x.jar https://example.com/x.jar"), "curl"),
    (("RUN javac", "RUN cd src && javac"), "changes directory"),
    (("RUN javac", "RUN --mount=type=cache,target=/app javac"), "RUN --mount"),
    (("jar cfe app.jar", "jar cfe $NAME"), "variable"),
    (('CMD ["java", "-jar", "app.jar"]', "CMD java -jar app.jar | tee log"),
     "not plain words"),
])
def test_javac_blockers(tmp_path: Path, change: tuple[str, str], reason: str) -> None:
    assert reason in _blocked(JAVAC.replace(*change), _javac_ctx(tmp_path))


def test_alpine_runtime_has_no_curl(tmp_path: Path) -> None:
    text = JAVAC.replace("eclipse-temurin:17-jdk", "eclipse-temurin:17-jdk-alpine").replace(
        "EXPOSE 8080", "HEALTHCHECK CMD curl -f http://localhost:8080/")
    assert "curl, which eclipse-temurin:17-jre-alpine lacks" in _blocked(
        text, _javac_ctx(tmp_path))
    assert "HEALTHCHECK CMD curl" in _split(JAVAC.replace("EXPOSE 8080", "HEALTHCHECK CMD "
                                                          "curl -f http://localhost:8080/"),
                                            _javac_ctx(tmp_path / "b"))


@pytest.mark.parametrize(("files", "reason"), [
    ({"application.yml": "server: {port: 8080}\n"}, "application.yml"),
    ({"config/app.conf": "x"}, "config/"),
    ({"src/example/Conf.java": "class Conf { String s = Files.readString(Path.of(\"a\")); }"},
     "reads files"),
    ({"src/example/Conf.java": 'class Conf { java.io.File f = new File("data.csv"); }'},
     "reads files"),
])
def test_context_blockers(tmp_path: Path, files: dict[str, str], reason: str) -> None:
    assert reason in _blocked(JAVAC, _javac_ctx(tmp_path, files))


def test_test_sources_may_read_files(tmp_path: Path) -> None:
    files = {"src/test/java/example/MainTest.java": 'class T { File f = new File("x"); }'}
    assert "COPY --from=build" in _split(JAVAC, _javac_ctx(tmp_path, files))


def test_no_java_build_no_finding(tmp_path: Path) -> None:
    for text in (
        "FROM eclipse-temurin:17-jdk\nCOPY app.jar /app.jar\nCMD [\"java\", \"-jar\", "
        "\"/app.jar\"]\n",
        "FROM maven:3.9-eclipse-temurin-17\nCOPY . .\nRUN mvn -B dependency:go-offline\n",
        "FROM eclipse-temurin:17-jdk\nCOPY x.jar .\nRUN jar xf x.jar\n",
    ):
        assert _findings(text, _javac_ctx(tmp_path)) == [], text


def test_style_lowercase_and_crlf(tmp_path: Path) -> None:
    text = JAVAC.replace("FROM", "from").replace("WORKDIR", "workdir").replace(
        "COPY", "copy").replace("RUN", "run").replace("EXPOSE", "expose").replace(
        "CMD", "cmd").replace("\n", "\r\n")
    out = _split(text, _javac_ctx(tmp_path))
    assert "from eclipse-temurin:17-jdk as build\r\n" in out
    assert "\r\n\r\nfrom eclipse-temurin:17-jre\r\nworkdir /app\r\n" \
           "copy --from=build /app/app.jar /app/app.jar\r\n" in out
    assert out.count("\n") == out.count("\r\n")


def test_full_pipeline_user_on_runtime_only(tmp_path: Path) -> None:
    result = fix(JAVAC, path="Dockerfile", context=_javac_ctx(tmp_path),
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    tree = parse(result.text)
    assert len(tree.stages) == 2
    builder, runtime = tree.stages
    assert not any(i.keyword == "USER" for i in builder.body)
    # DO604 on the Ubuntu-based Temurin JRE: useradd (no `node`-style user exists).
    assert "useradd" in runtime.body[0].original and runtime.body[0].keyword == "RUN"
    assert [i.keyword for i in runtime.body].count("USER") == 1
    copy = next(i for i in runtime.body if i.keyword == "COPY")
    assert "--chown=app:app" in copy.flags and "--from=build" in copy.flags
    again = fix(result.text, path="Dockerfile", context=_javac_ctx(tmp_path),
                settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert again.text == result.text


def test_gradle_image_default_workdir_is_kept(tmp_path: Path) -> None:
    # The gradle image's WORKDIR is /home/gradle; the JRE image has none, so the runtime
    # names it for the relative jar path in CMD.
    text = GRADLE.replace("WORKDIR /home/gradle/src\n", "")
    out = _split(text, _gradle_ctx(tmp_path))
    assert _runtime(out).startswith(
        "FROM eclipse-temurin:17-jre\nWORKDIR /home/gradle\n"
        "COPY --from=build /home/gradle/build/libs/demo-1.2.0.jar "
        "/home/gradle/build/libs/demo-1.2.0.jar\n")
