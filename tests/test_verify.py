"""`dockopt verify` without an engine: file picking, .dockerignore, bisection, the
report, and the engine-selection errors (a fake engine stands in for builds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from dockopt.rewriter.verify import engines, inputs, session
from dockopt.rewriter.verify import report as vreport


def test_ignore_rules_follow_dockerignore_semantics() -> None:
    rules = inputs.IgnoreRules("# c\nnode_modules\n**/*.log\n!keep.log\n/dist\nsrc/*.tmp\n")
    assert rules.ignored("node_modules/x/index.js")
    assert rules.ignored("a/b/c.log")
    assert not rules.ignored("keep.log")
    assert rules.ignored("dist/app.js")
    assert rules.ignored("src/a.tmp")
    assert not rules.ignored("src/deep/a.tmp")
    assert not rules.ignored("server.js")


def test_copied_sources_skip_from_and_heredocs() -> None:
    text = ("FROM node:18 AS b\nCOPY package.json package-lock.json ./\n"
            "COPY --from=b /x /y\nCOPY --chown=node:node src/ ./src/\n"
            "COPY <<EOF /a\nhi\nEOF\n")
    assert inputs.copied_sources(text) == ["package.json", "package-lock.json", "src/"]


def _tree(root: Path, files: Sequence[str]) -> None:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x\n")


def test_pick_source_file_prefers_app_sources_over_manifests(tmp_path: Path) -> None:
    _tree(tmp_path, ["package.json", "package-lock.json", "README.md", "src/server.ts",
                     "src/util/helpers.ts", "server.js", ".env"])
    text = "FROM node:18\nCOPY . .\nRUN npm install\n"
    assert inputs.pick_source_file(tmp_path, [text], [None]) == "server.js"
    # Ignored by the rewrite's new .dockerignore: not a fair file to touch.
    assert inputs.pick_source_file(tmp_path, [text], [None, "server.js\n"]) == "src/server.ts"
    # Must be included by every Dockerfile's COPY.
    narrow = "FROM node:18\nCOPY package*.json ./\nCOPY src/ ./src/\n"
    assert inputs.pick_source_file(tmp_path, [text, narrow], [None]) == "src/server.ts"
    assert inputs.pick_source_file(tmp_path, ["FROM scratch\n"], [None]) is None


def test_find_culprits_isolates_failing_codes() -> None:
    calls: list[frozenset[str]] = []

    def passes(excluded: frozenset[str]) -> bool:
        calls.append(excluded)
        return {"DO604", "DO605"} <= excluded

    codes = ["DO201", "DO202", "DO301", "DO603", "DO604", "DO605", "DO209"]
    assert sorted(session._find_culprits(codes, passes)) == ["DO604", "DO605"]
    assert len(calls) < 2 * len(codes)
    assert session._find_culprits(codes, lambda excluded: True) == []


def _m(name: str, **kw: object) -> vreport.Measurement:
    m = vreport.Measurement(name, built=True, size_bytes=100_000_000, layers=3, user="root",
                      cold_seconds=10.0, rebuild_seconds=8.0, rebuild_ok=True,
                      smoke=vreport.SmokeResult(["x"], 0, "ok", True))
    for key, value in kw.items():
        setattr(m, key, value)
    return m


def test_compare_flags_the_three_regressions() -> None:
    base = _m("original")
    assert session.compare(base, _m("rewritten", size_bytes=40_000_000)) == []
    assert "does not build" in session.compare(base, _m("rewritten", built=False,
                                                  error="build-failed"))[0]
    failed = vreport.SmokeResult(["x"], 1, "boom", False)
    assert "smoke" in session.compare(base, _m("rewritten", smoke=failed))[0]
    assert "bigger" in session.compare(base, _m("rewritten", size_bytes=150_000_000))[0]
    # Within the noise tolerance: not bigger.
    assert session.compare(base, _m("rewritten", size_bytes=100_000_100)) == []
    # The smoke test failing before and after is not a regression of the rewrite.
    assert session.compare(_m("original", smoke=failed), _m("rewritten", smoke=failed)) == []


def test_report_text_and_json() -> None:
    report = vreport.VerifyReport("Dockerfile", "buildah", True, ["DO605"], _m("original"),
                            _m("rewritten", size_bytes=40_000_000, rebuild_seconds=2.0,
                               user="node"))
    text = vreport.format_text(report)
    assert "-60%" in text and "4.00x faster" in text and "node" in text
    assert "verified" in text
    data = vreport.VerifyReport.to_dict(report)
    assert data["exit_code"] == 0 and data["ratios"]["size"] == pytest.approx(0.4)
    report.problems = ["the image got bigger"]
    assert report.exit_code == 1


class FakeEngine(engines.Engine):
    """Builds "succeed" unless the Dockerfile contains FAIL; sizes count lines."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.removed: list[str] = []
        self.texts: dict[str, str] = {}

    def available(self) -> str | None:
        return None

    def build(self, dockerfile: Path, context: Path, tag: str, *,
              no_cache: bool) -> engines.BuildOutcome:
        text = dockerfile.read_text()
        if "FAIL" in text:
            return engines.BuildOutcome(False, 0.1, "step 3: exit 1", "build-failed")
        self.texts[tag] = text
        return engines.BuildOutcome(True, 0.5 if no_cache else 0.1, "ok")

    def inspect(self, tag: str) -> engines.ImageFacts:
        text = self.texts[tag]
        user = "app" if "USER app" in text else ""
        return engines.ImageFacts(len(text.splitlines()) * 1_000_000_0, 2, user, [], ["true"])

    def run(self, tag: str, argv: Sequence[str], timeout: float
            ) -> tuple[int | None, str, bool]:
        return 0, "fine", False

    def image_ids(self, *, dangling: bool = False) -> set[str]:
        return set()

    def remove(self, tags: Sequence[str], keep: set[str] | None = None) -> None:
        self.removed += tags


def test_verify_never_touches_the_users_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n")
    dockerfile = tmp_path / "Dockerfile"
    original = ("FROM python:3.11\nCOPY . .\nRUN apt-get update\n"
                "RUN apt-get install -y curl\nCMD [\"python\", \"app.py\"]\n")
    dockerfile.write_text(original)
    engine = FakeEngine()
    report = session.verify(dockerfile, engine=engine, options=session.Options())
    assert dockerfile.read_text() == original
    assert (tmp_path / "app.py").read_text() == "print('hi')\n"
    assert not (tmp_path / ".dockerignore").exists()
    assert report.changed and report.original and report.rewritten
    assert report.original.touched == "app.py"
    assert report.rewritten.built
    assert len(engine.removed) == 2  # both images removed afterwards


class Recording(FakeEngine):
    """Records each build: (no_cache, the touched file's content at that moment)."""

    def __init__(self) -> None:
        super().__init__()
        self.builds: list[tuple[bool, str]] = []

    def build(self, dockerfile: Path, context: Path, tag: str, *,
              no_cache: bool) -> engines.BuildOutcome:
        self.builds.append((no_cache, (context / "app.py").read_text()))
        return super().build(dockerfile, context, tag, no_cache=no_cache)


def test_a_settling_cached_build_precedes_the_timed_rebuilds(tmp_path: Path) -> None:
    # After a --no-cache build, the first cached build may rebuild from an older image
    # with the same first steps; an untimed cached build with nothing changed comes
    # first, then each timed rebuild after its own source change.
    (tmp_path / "app.py").write_text("print('hi')\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11\nCOPY . .\nRUN apt-get update\n"
                          "RUN apt-get install -y curl\nCMD [\"python\", \"app.py\"]\n")
    engine = Recording()
    report = session.verify(dockerfile, engine=engine, options=session.Options(rebuild_runs=2))
    per_variant = len(engine.builds) // 2
    assert per_variant == 4  # cold, settle, two rebuilds
    for start in (0, per_variant):
        (cold, src0), (settle, src1), (_, src2), (_, src3) = \
            engine.builds[start:start + per_variant]
        assert cold and not settle and src1 == src0  # settle: cached, nothing changed
        assert src0 != src2 != src3  # every timed rebuild follows a fresh change
    assert report.original is not None and report.original.settle_seconds == 0.1
    assert report.original.rebuild_samples == [0.1, 0.1]


def test_engine_errors_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    with pytest.raises(engines.EngineError) as info:
        engines.make_engine("auto")
    message = str(info.value)
    for cli in ("docker", "podman", "buildah"):
        assert f"{cli} is not installed" in message


def test_cleanup_removes_only_new_dangling_images(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    store = {"old", "base", "mine1", "mine2"}
    dangling = {"old", "mine1", "mine2"}

    def fake_run(argv: list[str], **kw: object) -> tuple[int, str, bool]:
        calls.append(argv)
        if "images" in argv:
            ids = dangling if "dangling=true" in argv else store
            return 0, "\n".join(sorted(ids)), False
        if argv[1] == "rmi":
            for image in argv[2:]:
                dangling.discard(image)
                store.discard(image)
        return 0, "", False

    monkeypatch.setattr(engines, "_run", fake_run)
    engine = engines.DockerEngine("docker")
    engine.remove(["localhost/x:1"], keep={"old", "base"})
    removed = [a for a in calls if a[1] == "rmi"]
    assert removed[0] == ["docker", "rmi", "localhost/x:1"]
    assert removed[1] == ["docker", "rmi", "mine1", "mine2"]
    assert "old" in store and all("-f" not in a and "prune" not in a for a in calls)


def test_docker_daemon_down_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(engines, "_run", lambda argv, **kw: (
        1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", False))
    why = engines.DockerEngine("docker").available()
    assert why is not None and "daemon is not running" in why


def test_base_image_missing_is_classified(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "_run", lambda argv, **kw: (
        125, "Error: creating build container: nope:1: image not known", False))
    out = engines.BuildahEngine().build(tmp_path / "Dockerfile", tmp_path, "t", no_cache=True)
    assert not out.ok and out.error == "base-image-unavailable"


class Shrinking(FakeEngine):
    """Every rewritten image is smaller than the original (10 MB vs 90 MB)."""

    def inspect(self, tag: str) -> engines.ImageFacts:
        facts = super().inspect(tag)
        facts.size_bytes = 10_000_000 if "rewritten" in tag else 90_000_000
        return facts


def _cli_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              engine: FakeEngine) -> Path:
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11\nCOPY . .\nRUN apt-get update\nRUN apt-get install -y curl\n"
        "CMD [\"python\", \"app.py\"]\n")
    # The CLI's verify command and fix --verify (session) both pick an engine.
    for module in (engines, session):
        monkeypatch.setattr(module, "make_engine", lambda name, timeout=0: engine)
    return tmp_path


def test_cli_verify_json_and_exit_codes(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from dockopt.rewriter.cli.verify import verify as verify_command

    folder = _cli_case(tmp_path, monkeypatch, Shrinking())
    result = CliRunner().invoke(verify_command, [str(folder), "--unsafe-fixes", "-q",
                                                 "--output-format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rewritten"]["built"] and data["ratios"]["size"] == pytest.approx(1 / 9)
    # The fake engine's sizes grow with the Dockerfile's length: the rewrite is longer.
    (tmp_path / "b").mkdir()
    folder = _cli_case(tmp_path / "b", monkeypatch, FakeEngine())
    result = CliRunner().invoke(verify_command, [str(folder), "--unsafe-fixes", "-q"])
    assert result.exit_code == 1, result.output
    assert "regression: the image got bigger" in result.output
    assert (folder / "Dockerfile").read_text().startswith("FROM python:3.11\nCOPY . .\n")


def test_cli_fix_verify_writes_the_verified_result(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from dockopt.rewriter.cli.main import main

    folder = _cli_case(tmp_path, monkeypatch, Shrinking())
    before = (folder / "Dockerfile").read_text()
    result = CliRunner().invoke(main, ["fix", "--verify", "--unsafe-fixes", "-q",
                                       str(folder / "Dockerfile")])
    assert result.exit_code in (0, 1), result.output
    after = (folder / "Dockerfile").read_text()
    assert after != before and "apt-get update && apt-get install" in after
    # The plain fake engine's image size grows with the Dockerfile, so the transform
    # that adds a layer (the user creation, DO604) makes the image "bigger": bisection
    # leaves it out and writes the rest.
    (tmp_path / "b").mkdir()
    folder = _cli_case(tmp_path / "b", monkeypatch, FakeEngine())
    before = (folder / "Dockerfile").read_text()
    result = CliRunner().invoke(main, ["fix", "--verify", "--unsafe-fixes",
                                       str(folder / "Dockerfile")])
    after = (folder / "Dockerfile").read_text()
    assert "left out after failing verification: DO604" in result.output
    assert "useradd" not in after and "USER" not in after
    assert after != before and "apt-get update && apt-get install" in after


def test_source_change_appends_a_fresh_comment(tmp_path: Path) -> None:
    """The rebuild's change must be new content every time (a repeated newline could
    be answered by a layer cached in an earlier run) and must not change behaviour."""
    from dockopt.rewriter.verify.inputs import source_change

    py = tmp_path / "app.py"
    py.write_bytes(b"print(1)")  # no final newline
    first = source_change(py)
    second = source_change(py)
    assert first != second
    lines = py.read_bytes().split(b"\n")
    assert lines[0] == b"print(1)" and lines[1].startswith(b"# dockopt verify ")
    js = tmp_path / "server.js"
    js.write_bytes(b"x()\r\n")
    source_change(js)
    assert js.read_bytes().startswith(b"x()\r\n// dockopt verify ")
    assert js.read_bytes().endswith(b"\r\n")
    data = tmp_path / "sample.json"
    data.write_bytes(b"{}\n")
    source_change(data)
    assert data.read_bytes() == b"{}\n\n"
