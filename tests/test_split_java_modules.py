"""DO101 for multi-module Java builds (transforms/split/java_modules.py): Maven
`<modules>` and Gradle `include`d subprojects. The module whose jar CMD runs is
copied; otherwise the suggestion names the candidates."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import checked_output
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.context import BuildContext
from dockopt.transforms.split.common import Blocked
from dockopt.transforms.split.java_modules import gradle_subprojects

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "single-stage-build"

MAVEN = """\
FROM maven:3.9.6-eclipse-temurin-17
WORKDIR /build
COPY . .
RUN mvn -B package -DskipTests
CMD ["java", "-jar", "app/target/app-1.0.0.jar"]
"""
ROOT_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>root</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <modules>
    <module>api</module>
    <module>app</module>
  </modules>
  {extra}
</project>
"""


def _module(artifact: str, extra: str = "") -> str:
    return ('<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
            "  <modelVersion>4.0.0</modelVersion>\n"
            "  <parent><groupId>com.example</groupId><artifactId>root</artifactId>"
            "<version>1.0.0</version></parent>\n"
            f"  <artifactId>{artifact}</artifactId>\n  {extra}\n</project>\n")


def _maven(tmp_path: Path, root_extra: str = "", app_extra: str = "",
           files: dict[str, str] | None = None) -> BuildContext:
    base = {"pom.xml": ROOT_POM.format(extra=root_extra), "api/pom.xml": _module("api"),
            "app/pom.xml": _module("app", app_extra)}
    base.update(files or {})
    return _context(tmp_path, {k: v for k, v in base.items() if v})


def _blocked(text: str, build: BuildContext) -> str:
    f = _only(text, build)
    assert f.fix is None, f.fix
    assert "java toolchain" in f.message and "Suggestion only" in f.message
    return f.message


def test_maven_module_jar_named_by_cmd(tmp_path: Path) -> None:
    f = _only(MAVEN, _maven(tmp_path))
    assert f.fix is not None
    assert "named by /build/app/pom.xml: artifactId app, version 1.0.0" in f.fix.message
    out = checked_output(MAVEN, f, _maven(tmp_path))
    assert "COPY --from=build /build/app/target/app-1.0.0.jar /build/app/target/app-1.0.0.jar" \
        in out


def test_maven_module_inherits_properties_final_name_and_plugins(tmp_path: Path) -> None:
    root = ("<properties><app.name>svc</app.name></properties>"
            "<build><finalName>${app.name}-${project.artifactId}</finalName><plugins><plugin>"
            "<artifactId>maven-assembly-plugin</artifactId><configuration><descriptorRefs>"
            "<descriptorRef>jar-with-dependencies</descriptorRef></descriptorRefs>"
            "</configuration></plugin></plugins></build>")
    text = MAVEN.replace("app/target/app-1.0.0.jar",
                         "app/target/svc-app-jar-with-dependencies.jar")
    assert "/build/app/target/svc-app-jar-with-dependencies.jar" in _split(
        text, _maven(tmp_path, root))


def test_maven_projects_flag_limits_the_candidates(tmp_path: Path) -> None:
    text = MAVEN.replace("package", "-pl app -am package")
    assert "/build/app/target/app-1.0.0.jar" in _split(text, _maven(tmp_path))
    text = MAVEN.replace("package", "-pl :app package")
    assert "/build/app/target/app-1.0.0.jar" in _split(text, _maven(tmp_path / "b"))
    text = MAVEN.replace("package", "-pl api package")
    msg = _blocked(text, _maven(tmp_path / "c"))
    assert "but the build makes /build/api/target/api-1.0.0.jar" in msg
    msg = _blocked(MAVEN.replace("package", "-pl web package"), _maven(tmp_path / "d"))
    assert "mvn -pl web names none of the modules (api, app)" in msg


def test_maven_cmd_naming_no_module_lists_the_candidates(tmp_path: Path) -> None:
    text = MAVEN.replace("app/target/app-1.0.0.jar", "target/root-1.0.0.jar")
    msg = _blocked(text, _maven(tmp_path))
    assert ("but the build makes /build/api/target/api-1.0.0.jar, "
            "/build/app/target/app-1.0.0.jar") in msg


@pytest.mark.parametrize(("root_extra", "app_extra", "files", "reason"), [
    ("", "", {"app/pom.xml": ""}, "pom.xml lists the modules api, app; /build/app/pom.xml "
     "does not come from the build context"),
    ("", "<modules><module>x</module></modules>", {}, "has modules of its own"),
    ("<profiles><profile><id>p</id><modules><module>x</module></modules></profile>"
     "</profiles>", "", {}, "profile"),
    ("<build><pluginManagement><plugins><plugin><artifactId>spring-boot-maven-plugin"
     "</artifactId><configuration><classifier>exec</classifier></configuration></plugin>"
     "</plugins></pluginManagement></build>", "", {}, "pluginManagement"),
    ("", "<packaging>war</packaging>", {}, "but the build makes /build/api/target/"),
    ("", "<build><plugins><plugin><artifactId>maven-antrun-plugin</artifactId></plugin>"
     "</plugins></build>", {}, "maven-antrun-plugin"),
])
def test_maven_module_blockers(tmp_path: Path, root_extra: str, app_extra: str,
                               files: dict[str, str], reason: str) -> None:
    assert reason in _blocked(MAVEN, _maven(tmp_path, root_extra, app_extra, files))


# --- Gradle -----------------------------------------------------------------------

GRADLE = """\
FROM gradle:8.5-jdk17
WORKDIR /home/gradle/src
COPY . .
RUN gradle build --no-daemon -x test
CMD ["java", "-jar", "services/api/build/libs/api-2.0.jar"]
"""
JAVA_SCRIPT = "plugins {\n    id 'java'\n}\n\nversion = '2.0'\n"


def _gradle(tmp_path: Path, files: dict[str, str] | None = None) -> BuildContext:
    base = {"settings.gradle": "rootProject.name = 'shop'\ninclude ':services:api', "
                               "':lib'\n",
            "services/api/build.gradle": JAVA_SCRIPT,
            "lib/build.gradle": "plugins { id 'java-library' }\n",
            "gradle.properties": "version=1.5\n"}
    base.update(files or {})
    return _context(tmp_path, {k: v for k, v in base.items() if v})


def test_gradle_subproject_jar(tmp_path: Path) -> None:
    f = _only(GRADLE, _gradle(tmp_path))
    assert f.fix is not None and "the subproject services:api, version 2.0" in f.fix.message
    out = checked_output(GRADLE, f, _gradle(tmp_path))
    assert "COPY --from=build /home/gradle/src/services/api/build/libs/api-2.0.jar " in out


def test_gradle_version_from_properties_and_task_path(tmp_path: Path) -> None:
    text = GRADLE.replace("gradle build", "gradle :lib:jar").replace(
        "services/api/build/libs/api-2.0.jar", "lib/build/libs/lib-1.5.jar")
    assert "/home/gradle/src/lib/build/libs/lib-1.5.jar" in _split(text, _gradle(tmp_path))
    text = GRADLE.replace("gradle build", "gradle :services:api:build")
    assert "/services/api/build/libs/api-2.0.jar" in _split(text, _gradle(tmp_path / "b"))


def test_gradle_spring_boot_subproject_and_kotlin_settings(tmp_path: Path) -> None:
    files = {"settings.gradle": "",
             "settings.gradle.kts": 'rootProject.name = "shop"\ninclude("services:api")\n',
             "services/api/build.gradle": "",
             "services/api/build.gradle.kts":
                 'plugins {\n    java\n    id("org.springframework.boot") version "3.2.5"\n}\n'
                 'version = "2.0"\n'}
    out = _split(GRADLE, _gradle(tmp_path, files))
    assert "services/api/build/libs/api-2.0.jar" in out
    plain = GRADLE.replace("api-2.0.jar", "api-2.0-plain.jar")
    assert "api-2.0-plain.jar" in _split(plain, _gradle(tmp_path / "b", files))


def test_gradle_cmd_naming_no_project_lists_the_candidates(tmp_path: Path) -> None:
    text = GRADLE.replace("services/api/build/libs/api-2.0.jar", "build/libs/shop.jar")
    msg = _blocked(text, _gradle(tmp_path))
    assert "/home/gradle/src/lib/build/libs/lib-1.5.jar" in msg
    assert "/home/gradle/src/services/api/build/libs/api-2.0.jar" in msg


@pytest.mark.parametrize(("files", "change", "reason"), [
    ({"build.gradle": "subprojects { apply plugin: 'java' }\n"}, None, "allprojects/"),
    ({"buildSrc/build.gradle": "plugins { id 'groovy-gradle-plugin' }\n"}, None, "buildSrc"),
    ({"settings.gradle": "include 'api'\nproject(':api').projectDir = file('x')\n"}, None,
     "moves a project folder"),
    ({"settings.gradle": "include subprojectNames\n"}, None, "not a list of plain names"),
    ({"services/api/build.gradle": JAVA_SCRIPT + "jar { archiveBaseName = 'x' }\n"}, None,
     "archiveBaseName"),
    ({}, ("gradle build", "gradle :web:bootJar"), "subproject web, which settings.gradle"),
    ({"services/api/build.gradle": "plugins { id 'java' }\nversion = computeIt()\n"}, None,
     "computes the version"),
])
def test_gradle_multi_project_blockers(tmp_path: Path, files: dict[str, str],
                                       change: tuple[str, str] | None, reason: str) -> None:
    text = GRADLE.replace(*change) if change else GRADLE
    assert reason in _blocked(text, _gradle(tmp_path, files))


@pytest.mark.parametrize(("settings", "expected"), [
    ("include 'a', 'b'\n", ["a", "b"]),
    ('include(":x:y")\ninclude("z")\n', ["x:y", "z"]),
    ("rootProject.name = 'r'\n  include ':app' // the app\n", None),
])
def test_gradle_subprojects(settings: str, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(Blocked):
            gradle_subprojects(settings)
        return
    assert gradle_subprojects(settings) == expected


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("java-multi-*")))
def test_golden_multi_module_cases(case: str) -> None:
    folder = GOLDEN / case
    text = (folder / "Dockerfile").read_text()
    build = BuildContext(folder / "context", dockerfile=str(folder / "Dockerfile"))
    f = _only(text, build)
    if (folder / "expected.Dockerfile").is_file():
        assert f.fix is not None
        assert checked_output(text, f, build) == (folder / "expected.Dockerfile").read_text()
    else:
        assert f.fix is None and "Suggestion only" in f.message
