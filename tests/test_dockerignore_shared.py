"""DO603 never writes a .dockerignore that another build from the same context reads."""

from __future__ import annotations

from pathlib import Path

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext, PatternMatcher, read_ignore_patterns
from dockopt.rewriter.pipeline import fix
from dockopt.transforms.context.dockerignore import shared_with

SETTINGS = settings_from_dict({"select": ["DO603"], "unsafe-fixes": True}, "<test>")
A = ("FROM node:20-slim\nWORKDIR /app\nCOPY src/svc-a/ ./\nRUN npm ci && npm run build\n"
     "CMD [\"node\", \"dist/index.js\"]\n")
B = "FROM alpine\nCOPY ./src/svc-b/rel rel\nCMD [\"rel/bin/start\"]\n"


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def _written(root: Path, result_files: dict[str, tuple[str | None, str]]) -> None:
    for rel, (_old, new) in result_files.items():
        (root / rel).write_text(new)


def test_other_service_keeps_its_files(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"src/svc-a/Dockerfile": A, "src/svc-a/package.json": "{}",
                            "src/svc-b/Dockerfile": B, "src/svc-b/rel/bin/start": "#!/bin/sh\n"})
    build = BuildContext(root, dockerfile=str(root / "src/svc-a/Dockerfile"))
    result = fix(A, path="Dockerfile", context=build, settings=SETTINGS)
    assert set(result.extra_files) == {"src/svc-a/Dockerfile.dockerignore"}
    text = result.extra_files["src/svc-a/Dockerfile.dockerignore"][1]
    assert "**/bin" in text or "build" in text  # wide entries, for svc-a only
    _written(root, result.extra_files)
    # svc-b's build reads no ignore file: rel/bin/start is still sent.
    b = BuildContext(root, dockerfile=str(root / "src/svc-b/Dockerfile"))
    ign = b.ignore_file()
    assert ign.text is None
    # svc-a's build reads its own file (BuildKit: <Dockerfile>.dockerignore first).
    a = BuildContext(root, dockerfile=str(root / "src/svc-a/Dockerfile")).ignore_file()
    assert a.dockerfile_specific and a.rel == "src/svc-a/Dockerfile.dockerignore"
    assert not PatternMatcher(read_ignore_patterns(a.text or "")).excludes(
        "src/svc-a/package.json")


def test_single_dockerfile_writes_the_shared_file(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"Dockerfile": A, "src/svc-a/package.json": "{}"})
    build = BuildContext(root, dockerfile=str(root / "Dockerfile"))
    result = fix(A, path="Dockerfile", context=build, settings=SETTINGS)
    assert set(result.extra_files) == {".dockerignore"}


def test_compose_service_from_outside_makes_it_shared(tmp_path: Path) -> None:
    root = _repo(tmp_path, {
        "app/Dockerfile": A, "app/src/svc-a/package.json": "{}",
        "docker/b.Dockerfile": B,
        "compose.yaml": "services:\n  a:\n    build: ./app\n  b:\n    build:\n"
                        "      context: ./app\n      dockerfile: ../docker/b.Dockerfile\n"})
    (root / ".git").mkdir()
    build = BuildContext(root / "app", dockerfile=str(root / "app/Dockerfile"))
    assert shared_with(build) == ["../docker/b.Dockerfile"]
    result = fix(A, path="Dockerfile", context=build, settings=SETTINGS)
    assert set(result.extra_files) == {"Dockerfile.dockerignore"}
