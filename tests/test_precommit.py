"""The pre-commit hooks (.pre-commit-hooks.yaml), run by real pre-commit.

`pre-commit try-repo` installs dockopt from a snapshot of this work tree (tracked
and new files, committed into a temporary repository so that both runs below use
one cached environment) and runs both hooks on a temporary git repository with a
bad and a good Dockerfile: the check hook fails, the fix hook rewrites the bad file
(and so fails, as pre-commit wants), then both pass.  One pip install: ~30 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) \
    or shutil.which("pre-commit")

BAD = "FROM alpine:3.19\nMAINTAINER Jane Doe\nRUN apk add curl\n"
GOOD = 'FROM alpine:3.19\nLABEL org.opencontainers.image.authors="Jane Doe"\n' \
       "RUN apk add --no-cache curl\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def _snapshot(where: Path) -> Path:
    """This work tree as it is (tracked and untracked files), committed."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file() and not rel.startswith(("golden/", "tests/", "bench/", "docs/")):
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, where / rel)
    _git(where, "init", "-q")
    _git(where, "add", "-A")
    _git(where, "commit", "-q", "-m", "snapshot")
    return where


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed")
def test_hooks_with_pre_commit_try_repo(tmp_path: Path) -> None:
    assert PRE_COMMIT is not None
    hooks = _snapshot(tmp_path / "dockopt")
    repo = tmp_path / "project"
    for rel, text in (("bad/Dockerfile", BAD), ("good/Dockerfile", GOOD)):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    # Only rules whose findings these files can fix, so that "fixed" means "clean".
    (repo / ".dockopt.toml").write_text('select = ["DO205", "DO403"]\n')
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run([PRE_COMMIT, "try-repo", str(hooks), "--all-files",
                               "--color", "never"], cwd=repo, env=env, text=True,
                              capture_output=True, timeout=600)

    first = try_repo()
    out = first.stdout + first.stderr
    assert first.returncode == 1, out
    lines = [line for line in out.splitlines() if line.startswith("dockopt")]
    assert lines[0].startswith("dockopt.") and lines[0].endswith("Failed"), out
    assert lines[1].startswith("dockopt (fix)") and lines[1].endswith("Failed"), out
    assert "files were modified by this hook" in out
    assert "bad/Dockerfile" in out and "good/Dockerfile:" not in out
    assert (repo / "bad" / "Dockerfile").read_text() == GOOD
    assert (repo / "good" / "Dockerfile").read_text() == GOOD

    _git(repo, "add", "-A")
    second = try_repo()
    out = second.stdout + second.stderr
    assert second.returncode == 0, out
    assert len([line for line in out.splitlines() if line.startswith("dockopt")
            and line.endswith("Passed")]) == 2, out
