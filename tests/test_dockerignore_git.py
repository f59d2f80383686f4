"""DO603 keeps .git whenever the build may read the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.syntax import parse
from dockopt.transforms.context.dockerignore import analyse, git_needs_repo


def _needs_git(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> bool:
    (tmp_path / "app.py").write_text("print(1)\n")
    for rel, text in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return "git" in analyse(parse(dockerfile), BuildContext(tmp_path)).flags


@pytest.mark.parametrize("run", [
    "git pull", "git fetch --tags", "git -C /src remote -v", "git merge origin/main",
    "git clean -fdx", "git gc", "git lfs pull", "git describe --tags", "git rev-parse HEAD",
    "git log -1", "git status --porcelain", "git submodule update --init",
    "git config user.email a@b", "echo $(git rev-parse --short HEAD) > REV",
    "sh -c 'git describe'", "python -m setuptools_scm", "git", "cd /src && git stash",
    '["git", "describe"]',
])
def test_git_commands_keep_git(tmp_path: Path, run: str) -> None:
    assert _needs_git(tmp_path, f"FROM alpine\nCOPY . /src\nRUN {run}\n")


@pytest.mark.parametrize("run", [
    "git clone https://github.com/a/b /b", "git init", "git --version",
    "git config --global user.email a@b", "git ls-remote https://x/y",
    "apt-get install -y git curl", "apk add --no-cache git make",
])
def test_git_commands_that_need_no_repository(tmp_path: Path, run: str) -> None:
    assert not _needs_git(tmp_path, f"FROM alpine\nCOPY . /src\nRUN {run}\n")


@pytest.mark.parametrize(("files", "run"), [
    ({"pkg/pyproject.toml": '[build-system]\nrequires = ["setuptools", "setuptools_scm"]\n'},
     "pip install ./pkg"),
    ({"setup.cfg": "[metadata]\nname = x\n[options]\nsetup_requires = pbr\n"},
     "pip install ."),
    ({"build.sh": "#!/bin/sh\ngit describe > VERSION\n"}, "sh build.sh"),
    ({"Makefile": "all:\n\tgit rev-parse HEAD > REV\n"}, "make"),
    ({"package.json": '{"scripts": {"build": "git log -1 > rev.txt"}}'}, "npm run build"),
    ({"x.gemspec": "s.files = `git ls-files -z`.split(\"\\x0\")\n"}, "bundle install"),
])
def test_files_the_build_runs_keep_git(tmp_path: Path, files: dict[str, str],
                                       run: str) -> None:
    assert _needs_git(tmp_path, f"FROM alpine\nCOPY . /src\nRUN {run}\n", files)


def test_makefile_without_make_is_not_read(tmp_path: Path) -> None:
    files = {"Makefile": "all:\n\tgit rev-parse HEAD > REV\n"}
    assert not _needs_git(tmp_path, "FROM alpine\nCOPY . /src\nRUN echo hi\n", files)


def test_git_needs_repo() -> None:
    assert git_needs_repo("pull") and git_needs_repo("config", "user.name x")
    assert not git_needs_repo("clone") and not git_needs_repo("config", "--global a b")
