"""Build contexts from compose files (`dockopt bulk`), on generated repository trees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockopt.rewriter.bulk.reports import load_summary
from dockopt.rewriter.bulk.repos import CONTEXT_MAP, DEFAULT, plan_repo
from dockopt.rewriter.cli.bulk import bulk
from dockopt.rewriter.compose import Unresolved, compose_contexts, interpolate, is_compose_name

COPY_ALL = b'FROM debian\nCOPY . /app\nCMD ["/app/run"]\n'

BASE = """\
services:
  web:
    build: ./web                      # short form: the context; Dockerfile in it
  api:
    build:
      context: .
      dockerfile: services/api/Dockerfile   # relative to the context
  worker:
    build:
      context: ${WORKER_DIR:-worker}
      dockerfile: Dockerfile.worker
  cron:
    build:
      context: ${CRON_DIR}
  inline:
    build:
      dockerfile_inline: |
        FROM scratch
  remote:
    build: https://github.com/example/app.git#main
  odd:
    build:
      context: .
      dockerfile: build/app.docker      # not a Dockerfile's name, but compose says it is
  gone:
    build:
      context: gone
  db:
    image: postgres:16
"""

OVERRIDE = """\
services:
  api:
    build:
      dockerfile: services/api/Dockerfile.dev   # the context comes from the base file
"""

TREE: dict[str, bytes] = {
    "docker-compose.yml": BASE.encode(),
    "docker-compose.override.yml": OVERRIDE.encode(),
    # the same Dockerfile, the same context: no conflict
    "deploy/compose.yaml": b"services:\n  api2:\n    build:\n      context: ..\n"
                           b"      dockerfile: services/api/Dockerfile\n",
    # the same Dockerfile from another context: a conflict, the first (by path) wins
    "zz/docker-compose.prod.yml": b"services:\n  x:\n    build:\n      context: ../services\n"
                                  b"      dockerfile: api/Dockerfile\n",
    "broken/docker-compose.yml": b"services:\n  a: [1, 2\n  b: {\n",
    "node_modules/pkg/docker-compose.yml": b"services: [unclosed\n",  # never read
    "escape/compose.yml": b"services:\n  out:\n    build: ../../elsewhere\n",
    "web/Dockerfile": COPY_ALL,
    "services/api/Dockerfile": COPY_ALL,
    "services/api/Dockerfile.dev": COPY_ALL,
    "worker/Dockerfile.worker": COPY_ALL,
    "build/app.docker": COPY_ALL,
    "plain/Dockerfile": COPY_ALL,
    "run": b"#!/bin/sh\n",
}


def make_repo(path: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repos" / "app", TREE)


# --- the parts --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("compose.yaml", True), ("compose.yml", True), ("docker-compose.yml", True),
    ("docker-compose.yaml", True), ("docker-compose.override.yml", True),
    ("docker-compose.prod.yml", True), ("compose.override.yaml", True),
    ("docker-compose.yml.bak", False), ("my-compose.yml", False), ("compose.json", False),
    ("Dockerfile", False),
])
def test_compose_names(name: str, expected: bool) -> None:
    assert is_compose_name(name) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("./app", "./app"),
    ("${DIR:-app}", "app"),
    ("${DIR-app}/sub", "app/sub"),
    ("${A:-${B:-deep}}", "deep"),
    ("${DIR:-}", ""),
    ("cost$$", "cost$"),
    ("$${NOT_A_VAR}", "${NOT_A_VAR}"),
])
def test_interpolate_uses_defaults(value: str, expected: str) -> None:
    assert interpolate(value) == expected


@pytest.mark.parametrize("value", ["${DIR}", "$DIR/app", "${DIR:?required}", "${DIR:+alt}",
                                   "${DIR", "${}"])
def test_interpolate_without_default_is_unresolved(value: str) -> None:
    with pytest.raises(Unresolved):
        interpolate(value)


def test_compose_contexts(repo: Path) -> None:
    composes = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*compose*.y*ml")
                      if "node_modules" not in p.parts)
    got = compose_contexts(str(repo), composes)
    contexts = {df: (b.context, b.source) for df, b in got.contexts.items()}
    assert contexts == {
        "web/Dockerfile": ("web", "docker-compose.yml (service web)"),
        # deploy/compose.yaml sorts first and names the root (`..` from deploy/)
        "services/api/Dockerfile": ("", "deploy/compose.yaml (service api2)"),
        # the override's dockerfile with the base file's context
        "services/api/Dockerfile.dev": ("", "docker-compose.override.yml (service api)"),
        "worker/Dockerfile.worker": ("worker", "docker-compose.yml (service worker)"),
        "build/app.docker": ("", "docker-compose.yml (service odd)"),
        "gone/Dockerfile": ("gone", "docker-compose.yml (service gone)"),
    }
    assert got.file_notes == {"services/api/Dockerfile": [
        "also built with context services by zz/docker-compose.prod.yml (service x); "
        "using . from deploy/compose.yaml (service api2)"]}
    notes = "\n".join(got.notes)
    assert "docker-compose.yml (service cron): build.context uses ${CRON_DIR} with no " \
           "default; ignored" in notes
    assert "docker-compose.yml (service remote): remote build context " \
           "https://github.com/example/app.git#main ignored" in notes
    assert "broken/docker-compose.yml: not valid YAML" in notes
    assert "escape/compose.yml (service out): build context or Dockerfile outside the " \
           "repository" in notes
    assert "inline" not in notes  # dockerfile_inline: nothing to rewrite, nothing to say
    assert len(got.notes) == 4


def test_plan_repo_precedence(repo: Path) -> None:
    cmap = {"web/Dockerfile": ""}
    planned, notes = plan_repo(str(repo), context_map=cmap)
    by_path = {p.dockerfile: (p.context, p.source) for p in planned}
    assert by_path == {
        "web/Dockerfile": ("", CONTEXT_MAP),  # --context-map wins over compose
        "services/api/Dockerfile": ("", "compose"),
        "services/api/Dockerfile.dev": ("", "compose"),
        "worker/Dockerfile.worker": ("worker", "compose"),
        "build/app.docker": ("", "compose"),  # taken although its name is not a Dockerfile's
        "plain/Dockerfile": ("plain", DEFAULT),  # no compose service: its own folder
    }
    assert "docker-compose.yml (service gone): Dockerfile gone/Dockerfile not found" in notes
    assert not any("node_modules" in n for n in notes)  # skipped folders are not read
    # --exclude also covers what a compose file names
    planned, _ = plan_repo(str(repo), exclude=("build",))
    assert "build/app.docker" not in {p.dockerfile for p in planned}


def test_no_compose_file_does_not_import_yaml(tmp_path: Path) -> None:
    make_repo(tmp_path / "r", {"Dockerfile": COPY_ALL})
    script = ("import sys\nfrom dockopt.rewriter.bulk.repos import plan_repo\n"
              f"print(plan_repo({str(tmp_path / 'r')!r})[0][0].source, 'yaml' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["default", "False"]


# --- through `dockopt bulk` ---------------------------------------------------------------


def test_bulk_uses_compose_contexts(repo: Path, tmp_path: Path) -> None:
    cmap = tmp_path / "map.tsv"
    cmap.write_text("plain/Dockerfile\tplain\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(bulk, [str(repo.parent), "--unsafe-fixes", "--out", str(out),
                                       "--context-map", str(cmap), "--jobs", "1"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = load_summary(str(out))
    (rec,) = summary["repos"]
    files = {f["path"]: f for f in rec["files"]}
    assert {p: (f["context"], f["context_source"]) for p, f in files.items()} == {
        "build/app.docker": (".", "compose"),
        "plain/Dockerfile": ("plain", "context-map"),
        "services/api/Dockerfile": (".", "compose"),
        "services/api/Dockerfile.dev": (".", "compose"),
        "web/Dockerfile": ("web", "compose"),
        "worker/Dockerfile.worker": ("worker", "compose"),
    }
    assert files["web/Dockerfile"]["context_from"] == "docker-compose.yml (service web)"
    assert files["services/api/Dockerfile"]["notes"][0].startswith(
        "also built with context services")
    assert "notes" not in files["web/Dockerfile"]
    assert any("not valid YAML" in n for n in rec["notes"])
    assert summary["totals"]["context_sources"] == {"default": 0, "compose": 5,
                                                    "context-map": 1}
    assert summary["totals"]["notes"] == len(rec["notes"]) + 1
    # The context decides where the new .dockerignore goes: the compose context
    # (the repository root) for services/api, web/ for web, never services/api/.
    patch = (out / "patches" / "app.patch").read_text()
    assert "+++ b/web/.dockerignore" in patch
    assert "services/api/.dockerignore" not in patch
    # The Dockerfiles sharing the root context never write the shared .dockerignore
    # (it would apply to all of them): each writes its own <Dockerfile>.dockerignore.
    assert "+++ b/.dockerignore" not in patch
    assert "+++ b/build/app.docker.dockerignore" in patch
    assert "+++ b/services/api/Dockerfile.dockerignore" in patch
    subprocess.run(["git", "-C", str(repo), "apply", "--check", str(out / "patches" /
                                                                      "app.patch")], check=True)


def test_malformed_compose_alone_changes_nothing(tmp_path: Path) -> None:
    """A repository whose only compose file is broken is fixed as without it."""
    root = tmp_path / "repos"
    make_repo(root / "a", {"Dockerfile": COPY_ALL, "docker-compose.yml": b"\tservices: :\n"})
    make_repo(tmp_path / "plain" / "a", {"Dockerfile": COPY_ALL})
    for src, out in ((root, tmp_path / "o1"), (tmp_path / "plain", tmp_path / "o2")):
        result = CliRunner().invoke(bulk, [str(src), "--out", str(out), "--jobs", "1"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
    broken = load_summary(str(tmp_path / "o1"))["repos"][0]
    plain = load_summary(str(tmp_path / "o2"))["repos"][0]
    assert [n.split(":")[0] for n in broken["notes"]] == ["docker-compose.yml"]
    assert broken["files"] == plain["files"]
    assert (tmp_path / "o1" / "patches").exists()
    assert os.listdir(tmp_path / "o1" / "patches") == os.listdir(tmp_path / "o2" / "patches")
    assert json.loads((tmp_path / "o1" / "summary.json").read_text())["totals"]["notes"] == 1


# --- `fix`/`check`/`verify` on one Dockerfile: the compose context --------------------

NODE_APP = b'FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "server.js"]\n'


def _monorepo(root: Path, compose: str, compose_at: str = "") -> Path:
    """A repository whose Dockerfile sits in docker/ while the context is the root."""
    (root / ".git").mkdir(parents=True)
    (root / "docker").mkdir()
    (root / "docker" / "Dockerfile").write_bytes(NODE_APP)
    (root / "package.json").write_text('{"name": "app", "dependencies": {"ms": "2.1.3"}}')
    (root / "server.js").write_text("require('ms')\n")
    (root / compose_at / "compose.yaml").write_text(compose)
    return root / "docker" / "Dockerfile"


ROOT_COMPOSE = ("services:\n  api:\n    build:\n      context: .\n"
                "      dockerfile: docker/Dockerfile\n")


def test_build_for_dockerfile_finds_the_root_compose(tmp_path: Path) -> None:
    from dockopt.rewriter.compose import build_for_dockerfile

    df = _monorepo(tmp_path / "repo", ROOT_COMPOSE)
    found = build_for_dockerfile(str(df))
    assert found is not None
    repo, build, notes = found
    assert Path(repo) == tmp_path / "repo" and build.context == ""
    assert build.source == "compose.yaml (service api)" and notes == []


def test_build_for_dockerfile_stops_at_the_repository_root(tmp_path: Path) -> None:
    from dockopt.rewriter.compose import build_for_dockerfile

    # A compose file above the .git folder belongs to another project.
    (tmp_path / "compose.yaml").write_text(
        "services:\n  x:\n    build:\n      context: repo\n      dockerfile: docker/Dockerfile\n")
    df = _monorepo(tmp_path / "repo", "services: {}\n")
    assert build_for_dockerfile(str(df)) is None


def test_build_for_dockerfile_context_in_a_subfolder(tmp_path: Path) -> None:
    from dockopt.rewriter.compose import build_for_dockerfile

    # compose in docker/ with `context: ..`: paths are relative to the compose file.
    df = _monorepo(tmp_path / "repo", "services:\n  api:\n    build:\n      context: ..\n"
                   "      dockerfile: docker/Dockerfile\n", compose_at="docker")
    found = build_for_dockerfile(str(df))
    assert found is not None and found[1].context == "" and \
        found[1].source == "docker/compose.yaml (service api)"


def test_cli_fix_uses_the_compose_context(tmp_path: Path) -> None:
    from dockopt.rewriter.cli.main import main

    df = _monorepo(tmp_path / "repo", ROOT_COMPOSE)
    result = CliRunner().invoke(main, ["fix", "--unsafe-fixes", str(df)])
    assert result.exit_code in (0, 1), result.output
    assert "build context" in result.stderr and "compose.yaml (service api)" in result.stderr
    # DO603 wrote the .dockerignore where `docker compose build` sends from, and DO601
    # found package.json there (the Dockerfile's own folder has neither).
    assert (tmp_path / "repo" / ".dockerignore").is_file()
    assert not (tmp_path / "repo" / "docker" / ".dockerignore").exists()
    assert "package.json .\nRUN npm install\n" in df.read_text()


def test_cli_check_without_compose_uses_the_folder(tmp_path: Path) -> None:
    from dockopt.rewriter.cli.main import main

    df = _monorepo(tmp_path / "repo", "services: {}\n")

    def do601(*extra: str) -> dict[str, object]:
        result = CliRunner().invoke(main, ["check", "--output-format", "json", *extra,
                                           str(df)])
        assert "build context" not in result.stderr
        (found,) = [f for f in json.loads(result.stdout) if f["code"] == "DO601"]
        return dict(found)

    # docker/ alone has no package.json: the move cannot be made there.
    assert "package.json is not in the build context" in str(do601()["message"])
    assert do601("--context", str(tmp_path / "repo"))["fix"] is not None
