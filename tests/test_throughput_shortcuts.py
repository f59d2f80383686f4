"""The shortcuts `check` takes over many files (issue 15) answer as the long way does.

- Config lookup: the files of one run share their ancestors, so each folder is looked
  at once (a cache per run), and the answer is still the closest file above each.
- DO603's substring pre-checks: a text none of whose literals occurs cannot match the
  regex they guard, so the regex runs only when it may match.
- Go's path.Clean: the fast path for paths that are already clean agrees with the
  full algorithm.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from dockopt.rewriter.config import _config_in, closest_above, find_config
from dockopt.rewriter.context import go_clean
from dockopt.rewriter.hadolint_config import find_hadolint_config
from dockopt.transforms.context import dockerignore


def test_each_folder_is_looked_at_once_per_run(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    repo = root / "repo"
    (repo / "teams").mkdir(parents=True)
    (repo / "teams" / ".dockopt.toml").write_text("select = ['DO2']\n")
    leaves = [repo / "teams" / f"svc{i}" / "docker" for i in range(10)]
    others = [repo / "apps" / f"app{i}" for i in range(5)]
    for leaf in leaves + others:
        leaf.mkdir(parents=True)
    looked: list[Path] = []

    def look(d: Path) -> Path | None:
        looked.append(d)
        return _config_in(d)  # this one folder's own config file

    cache: dict[str, Path | None] = {}
    for leaf in leaves:
        assert closest_above(leaf, look, cache) == repo / "teams" / ".dockopt.toml"
    # 10 x (docker, svcN) + teams itself, not 10 x 3 folders.
    assert len(looked) == 21
    assert len(set(looked)) == len(looked)
    looked.clear()
    for leaf in others:
        assert closest_above(leaf, look, cache) is None
    # The first walks up to the file system's root; the others stop at apps/.
    assert len(looked) == len(others[0].parents) + 1 + len(others) - 1


def test_cached_lookups_give_the_uncached_answers(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "d").mkdir(parents=True)
    (root / "a" / "pyproject.toml").write_text("[tool.dockopt]\nselect = ['ALL']\n")
    (root / "a" / "b" / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no table
    (root / "a" / "b" / ".hadolint.yaml").write_text("ignored: [DL3008]\n")
    folders = [root / "a" / "b" / "c", root / "a" / "d", root / "a" / "b", root / "a", root]
    config_cache: dict[str, Path | None] = {}
    hadolint_cache: dict[str, Path | None] = {}
    for _ in range(2):  # the second round answers from the cache
        for folder in folders:
            assert find_config(folder, config_cache) == find_config(folder)
            assert find_hadolint_config(folder, user_level=False, cache=hadolint_cache) \
                == find_hadolint_config(folder, user_level=False)
    assert find_config(root / "a" / "b" / "c", config_cache) == root / "a" / "pyproject.toml"
    assert find_hadolint_config(root / "a" / "b" / "c", user_level=False,
                                cache=hadolint_cache) == root / "a" / "b" / ".hadolint.yaml"
    assert find_hadolint_config(root / "a" / "d", user_level=False,
                                cache=hadolint_cache) is None


def test_settings_of_a_found_file_are_those_of_its_path(tmp_path: Path,
                                                       monkeypatch: object) -> None:
    """SettingsFinder.for_file (the walks' string shortcut: no stat, no Path) gives
    for_path's answer however the file's path is spelled: relative, absolute, with
    doubled slashes or ./ (as a user types an argument), with .. , through a link."""
    import os

    import pytest

    from dockopt.rewriter.cli.inputs import SettingsFinder
    from dockopt.rewriter.cli.options import Selection

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    root = tmp_path.resolve()
    (root / "svc" / "api").mkdir(parents=True)
    (root / "svc" / ".dockopt.toml").write_text("ignore = ['DO2']\n")
    (root / "svc" / "api" / ".hadolint.yaml").write_text("ignored: [DL3008]\n")
    (root / "plain").mkdir()
    (root / "link").symlink_to(root / "svc" / "api")
    for folder in (root / "svc" / "api", root / "svc", root / "plain", root):
        (folder / "Dockerfile").write_text("FROM debian:12\n")
    monkeypatch.chdir(root)
    spellings = ["Dockerfile", "./Dockerfile", "svc/api/Dockerfile", "./svc//api/Dockerfile",
                 "plain/../svc/api/Dockerfile", "link/Dockerfile", "link/../Dockerfile",
                 str(root / "svc" / "api" / "Dockerfile"), "plain/Dockerfile"]
    selection = Selection.from_options((), (), (), None, None, None)
    for spelled in spellings:
        assert os.path.isfile(spelled), spelled
        fast = SettingsFinder(None, False, selection).for_file(spelled)
        slow = SettingsFinder(None, False, selection).for_path(Path(spelled))
        assert fast == slow, spelled
    api = SettingsFinder(None, False, selection).for_file("link/Dockerfile")
    assert "DO2" in api.ignore and "DL3008" in api.ignore  # both configs were found


def test_every_vcs_tool_alternative_passes_the_pre_check() -> None:
    # One text per alternative of _VCS_TOOLS: each must match the regex and pass the
    # substring pre-check (else the pre-check would hide a real use of git).
    texts = ["setuptools_scm", "setuptools-scm", "hatch-vcs", "hatch_vcs", "versioningit",
             "dunamai", "versioneer", "setuptools-git-versioning",
             "poetry-dynamic-versioning", "uv-dynamic-versioning", "vcs-versioning",
             "pip install pbr", "git-rev-sync", "export GIT_DIR=/x", 'source = "scm"',
             "source='scm'"]
    for text in texts:
        assert dockerignore._VCS_TOOLS.search(text), text
        assert dockerignore._vcs_tool_in(text), text
        assert dockerignore._vcs_tool_in(f"RUN make && {text} --flag"), text
    assert not dockerignore._vcs_tool_in("RUN apt-get install -y git && git clone x")


def test_every_js_install_alternative_passes_the_pre_check() -> None:
    texts = ["npm install", "npm i", "npm ci", "pnpm install", "pnpm i", "bun install",
             "bun i", "yarn install", "yarn", "yarn;", "yarn && x", "yarn --frozen-lockfile"]
    for text in texts:
        assert dockerignore._JS_INSTALL.search(text), text
        assert dockerignore._has_any(text, dockerignore._JS_INSTALL_LITERALS), text


def _clean_reference(path: str) -> str:
    """Go's path.Clean, the full algorithm (no shortcut)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    return "/" + cleaned if rooted else cleaned or "."


def test_go_clean_fast_path_agrees_with_the_full_algorithm() -> None:
    for n in range(8):
        for chars in itertools.product("/.a", repeat=n):
            path = "".join(chars)
            assert go_clean(path) == _clean_reference(path), path
    for path in ("app/main.py", "/usr/local/bin", ".env", "a/.hidden/b", "dist/",
                 "./src", "src/./x", "a//b", "../x", "a/../b"):
        assert go_clean(path) == _clean_reference(path), path
