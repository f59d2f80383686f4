"""`fix --diff` prints patches that apply, wherever the file is and wherever dockopt
runs: headers are relative to the git work tree's top (as `git diff` writes them),
else to the common parent of the working directory and the file.  Never `a//abs`
or `a/../x`, which `git apply` rejects."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockopt.rewriter.discover import patch_path

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

# DO204 edits the Dockerfile; DO603 (unsafe) writes a .dockerignore into the context,
# so the patch names two files.
DOCKERFILE = ("FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends"
              " curl\nCOPY . /app\nCMD [\"/app/run\"]\n")


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "run").write_text("#!/bin/sh\necho hi\n")
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "big.js").write_text("x" * 5000)
    return folder / "Dockerfile"


def _dockopt(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          capture_output=True, text=True, env=env)


def _headers(patch: str) -> list[str]:
    return re.findall(r"^(?:---|\+\+\+) (\S+)", patch, re.M)


def _fixed(dockerfile: Path, tmp_path: Path) -> dict[str, str]:
    """What `dockopt fix` writes, on a copy: the expected result of applying the patch."""
    copy = tmp_path / "expected"
    shutil.copytree(dockerfile.parent, copy)
    proc = _dockopt(copy, "fix", "--unsafe-fixes", "--select", "DO204,DO603", "Dockerfile")
    assert proc.returncode in (0, 1), proc.stderr
    return {p: (copy / p).read_text() for p in ("Dockerfile", ".dockerignore")}


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def test_outside_git_from_a_sibling_folder(tmp_path: Path) -> None:
    dockerfile = _project(tmp_path / "work" / "proj")
    expected = _fixed(dockerfile, tmp_path)
    other = tmp_path / "work" / "other"
    other.mkdir()
    proc = _dockopt(other, "fix", "--diff", "--unsafe-fixes", "--select", "DO204,DO603",
                    "../proj/Dockerfile")
    assert proc.returncode == 1, proc.stderr
    headers = _headers(proc.stdout)
    assert "a/proj/Dockerfile" in headers and "b/proj/.dockerignore" in headers, headers
    assert not any(h.startswith(("a//", "a/..", "b//", "b/..")) for h in headers)
    # The common parent (work/) is where the patch applies, as `git apply` outside a
    # repository (a "better patch") would be run.
    patch = tmp_path / "p.diff"
    patch.write_text(proc.stdout)
    applied = _git(tmp_path / "work", "apply", str(patch))
    assert applied.returncode == 0, applied.stderr
    for name, text in expected.items():
        assert (dockerfile.parent / name).read_text() == text


def test_absolute_path_from_elsewhere(tmp_path: Path) -> None:
    dockerfile = _project(tmp_path / "a" / "proj")
    (tmp_path / "b").mkdir()
    proc = _dockopt(tmp_path / "b", "fix", "--diff", "--select", "DO204", str(dockerfile))
    assert proc.returncode == 1, proc.stderr
    assert _headers(proc.stdout) == ["a/a/proj/Dockerfile", "b/a/proj/Dockerfile"]


def test_in_a_git_repository_relative_to_its_top(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    dockerfile = _project(repo / "services" / "api")
    expected = _fixed(dockerfile, tmp_path)
    assert _git(repo, "init", "-q").returncode == 0
    # From the Dockerfile's own folder: the header names the path from the top, so
    # `git apply` there changes the file (a folder-relative `a/Dockerfile` would be
    # skipped silently by git apply in a subfolder).
    proc = _dockopt(dockerfile.parent, "fix", "--diff", "--unsafe-fixes", "--select",
                    "DO204,DO603", "Dockerfile")
    assert proc.returncode == 1, proc.stderr
    headers = _headers(proc.stdout)
    assert "a/services/api/Dockerfile" in headers
    assert "b/services/api/.dockerignore" in headers
    patch = tmp_path / "p.diff"
    patch.write_text(proc.stdout)
    applied = _git(dockerfile.parent, "apply", str(patch))
    assert applied.returncode == 0, applied.stderr
    for name, text in expected.items():
        assert (dockerfile.parent / name).read_text() == text


def test_in_a_git_repository_from_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _project(repo / "svc")
    assert _git(repo, "init", "-q").returncode == 0
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = _dockopt(outside, "fix", "--diff", "--select", "DO204", "../repo/svc/Dockerfile")
    assert _headers(proc.stdout) == ["a/svc/Dockerfile", "b/svc/Dockerfile"]
    patch = tmp_path / "p.diff"
    patch.write_text(proc.stdout)
    assert _git(repo, "apply", "--check", str(patch)).returncode == 0


def test_patch_path_rules(tmp_path: Path) -> None:
    (tmp_path / "r" / ".git").mkdir(parents=True)
    (tmp_path / "r" / "d").mkdir()
    (tmp_path / "x").mkdir()
    assert patch_path(str(tmp_path / "r" / "d" / "Dockerfile"), cwd=str(tmp_path / "x")) \
        == "d/Dockerfile"
    assert patch_path(str(tmp_path / "x" / "Dockerfile"), cwd=str(tmp_path / "x")) \
        == "Dockerfile"
    assert patch_path("../x/Dockerfile", cwd=str(tmp_path / "y")) != "../x/Dockerfile"
    # A `.git` file (a worktree or submodule) marks a work tree too.
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / ".git").write_text("gitdir: /elsewhere\n")
    assert patch_path(str(tmp_path / "w" / "Dockerfile"), cwd=str(tmp_path)) == "Dockerfile"
