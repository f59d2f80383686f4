"""The shortcuts of a `check` answered from the results cache (issue 15: a warm run
is mostly the parent's own per-file work) give the long way's answers.

- A warm run loads neither the parser, the engine, a process pool nor tempfile, and
  prints what the cold run printed.
- The files the first walk finds are kept for the second while they are few; past
  FOUND_KEPT the run walks again; either way the same files, settings and order.
- Each command-line argument is classified from one stat, as isdir / isfile /
  lexists answer.
- display_path's shortcut answers as relpath does; the compose lookup that shares
  the parents' answers lists what the folder-by-folder walk listed.
- The unpickler's memo of allowed classes still refuses any other class.
"""

from __future__ import annotations

import itertools
import os
import pickle
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dockopt.rewriter import compose, result_cache
from dockopt.rewriter.cli import inputs as inputs_module
from dockopt.rewriter.cli.inputs import Inputs, SettingsFinder
from dockopt.rewriter.cli.options import Selection
from dockopt.rewriter.discover import Exclusion, Missing, discover, display_path

# An empty line inside a continuation: a parse warning (a Diagnostic stored with the
# findings in the cache entry, read back on a warm run).
WARNED = "FROM debian:12\nRUN apt-get update && \\\n\n    apt-get install -y curl\n"
PLAIN = "FROM debian:12\nUSER 1000\nCMD [\"true\"]\n"


def _check(cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKOPT_CACHE_DIR": str(cache)}
    env.pop("DOCKOPT_NO_CACHE", None)
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "dockopt.rewriter",
                           "check", "--exit-zero", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def _loaded(stderr: str) -> set[str]:
    return set(re.findall(r"import time:.*\| *(\S+)$", stderr, re.M))


def _report(stderr: str) -> str:
    return "".join(line + "\n" for line in stderr.splitlines()
                   if not line.startswith("import time:"))


def test_a_warm_check_loads_no_parser_engine_pool_or_tempfile(tmp_path: Path) -> None:
    for k in range(12):  # enough files for a pool (see parallel.worker_count)
        folder = tmp_path / "app" / f"svc{k}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(WARNED if k % 3 == 0 else PLAIN)
    cache = tmp_path / "cache"
    cold = _check(tmp_path, cache, "app")
    assert cold.returncode == 0, cold.stderr[-2000:]
    assert "DP106" in cold.stderr  # the warning was reported, so it is in the entries
    cold_loaded = _loaded(cold.stderr)
    assert {"dockopt.rewriter.syntax", "dockopt.rewriter.pipeline"} <= cold_loaded
    warm = _check(tmp_path, cache, "app")
    assert warm.returncode == 0
    assert warm.stdout == cold.stdout and warm.stdout.count("svc") >= 12
    assert _report(warm.stderr) == _report(cold.stderr)
    unwanted = {"dockopt.rewriter.syntax", "dockopt.rewriter.pipeline", "tree_sitter",
                "multiprocessing", "concurrent.futures", "tempfile"}
    assert not _loaded(warm.stderr) & unwanted, sorted(_loaded(warm.stderr) & unwanted)
    assert "dockopt.rewriter.diagnostic" in _loaded(warm.stderr)  # the stored warning


def _tree(root: Path, files: int) -> list[str]:
    (root / "b").mkdir(parents=True)
    (root / "b" / ".dockopt.toml").write_text("ignore = ['DO501']\n")
    names = []
    for k in range(files):
        folder = root / ("b" if k % 2 else "a") / f"d{k:02d}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(PLAIN)
        names.append(str(folder / "Dockerfile"))
    return names


def _walked(paths: list[str]) -> tuple[list[tuple[str, str, tuple[str, ...]]], int]:
    """(each input's path, shown name and ignored codes; how many walks ran)."""
    walks = 0
    real = inputs_module.Inputs._files

    def counting(self: Inputs) -> object:
        nonlocal walks
        walks += 1
        return real(self)

    finder = SettingsFinder(None, False, Selection.from_options((), (), (), None, None,
                                                                 None))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inputs_module.Inputs, "_files", counting)
        found = inputs_module.inputs(paths, None, finder, [], Exclusion())
        out = [(item.source, item.shown, item.settings.ignore) for item in found]
    return out, walks


def test_the_first_walks_files_are_kept_while_few(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    names = _tree(tmp_path, 10)
    for paths in ([str(tmp_path)], names, [str(tmp_path / "b"), *names[:3]]):
        kept, walks = _walked(paths)
        assert walks == 0  # the iteration went over the first walk's files
        monkeypatch.setattr(inputs_module, "FOUND_KEPT", 3)
        again, more_walks = _walked(paths)
        monkeypatch.setattr(inputs_module, "FOUND_KEPT", 4096)
        assert more_walks == 1  # too many kept: the run walked again
        assert kept == again
        assert len(kept) == len({source for source, _, _ in kept})
        # Two configs: each file has the settings of its own folder.
        assert {("DO501" in ignore) == ("/b/" in source) for source, _, ignore in kept} \
            == {True}


def test_each_argument_is_classified_from_one_stat(tmp_path: Path) -> None:
    (tmp_path / "file").write_text(PLAIN)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "Dockerfile").write_text(PLAIN)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "to-folder").symlink_to(tmp_path / "folder")
    (tmp_path / "to-file").symlink_to(tmp_path / "file")
    names = ["file", "folder", "fifo", "dangling", "to-folder", "to-file", "missing",
             "file/below", "nul\0byte"]

    def expected(name: str) -> str:
        path = str(tmp_path / name)
        if os.path.isdir(path):
            return "folder"
        if os.path.isfile(path):
            return "file"
        return "not a regular file" if os.path.lexists(path) else "missing"

    for name in names:
        got = list(discover([str(tmp_path / name)]))
        if len(got) == 1 and isinstance(got[0], Missing):
            kind = "not a regular file" if got[0].reason.startswith("not a regular") \
                else "missing"
        elif got and all(isinstance(g, str) for g in got):
            kind = "file" if got == [str(tmp_path / name)] else "folder"
        else:
            raise AssertionError((name, got))
        assert kind == expected(name), name


def _display_reference(path: str, cwd: str) -> str:
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, cwd)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


@pytest.mark.skipif(os.sep != "/", reason="POSIX paths")
def test_display_path_answers_as_relpath() -> None:
    parts = ["a", "b", "..", ".", "", "a b", "ab"]
    bases = ["/", "/a", "/a/b", "/a/b/", "//a", "//", "///a", "/a/./b", "/a/../a", "/ab",
             os.getcwd()]
    compared = 0
    for base in bases:
        for k in range(1, 5):
            for combo in itertools.product(parts, repeat=k):
                joined = "/".join(combo)
                for path in ("/" + joined, "//" + joined, joined):
                    if path:
                        assert display_path(path, base) == _display_reference(path, base), \
                            (path, base)
                        compared += 1
    assert compared > 30_000


def _compose_walk(folder: str) -> tuple[str, tuple[str, ...]]:
    """The folder-by-folder walk compose._compose_files_up replaced."""
    levels = []
    for _ in range(compose.MAX_LEVELS):
        names, is_root = compose._folder_facts(folder)
        levels.append((folder, names))
        parent = os.path.dirname(folder)
        if is_root or parent == folder:
            break
        folder = parent
    top = levels[-1][0]
    return top, tuple(os.path.relpath(os.path.join(d, n), top).replace(os.sep, "/")
                      for d, names in levels for n in names)


def test_compose_lookup_shares_the_parents_answers(tmp_path: Path) -> None:
    rnd = random.Random(15)
    compared = 0
    for trial in range(20):
        root = tmp_path / f"t{trial}"
        folders = [str(root)]
        for k in range(30):  # deep and wide: past MAX_LEVELS, compose files at any level
            folder = os.path.join(rnd.choice(folders), f"{rnd.choice('abc')}{k}")
            os.makedirs(folder, exist_ok=True)
            folders.append(folder)
            if rnd.random() < 0.3:
                name = rnd.choice(["compose.yml", "docker-compose.yaml", "compose.yaml"])
                Path(folder, name).write_text("services: {}\n")
            if rnd.random() < 0.1:
                os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
        compose.forget_cached()
        for folder in rnd.sample(folders, len(folders)):
            assert compose._compose_files_up(folder) == _compose_walk(folder), folder
            compared += 1
    compose.forget_cached()
    assert compared == 20 * 31


class _Hostile:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


def test_the_unpicklers_memo_refuses_what_it_has_not_allowed() -> None:
    from dockopt.rewriter.diagnostic import Diagnostic

    good = pickle.dumps(("1", [Diagnostic("DP106", 2, 1, "x", "warning")]))
    for _ in range(2):  # the second read answers from the memo
        assert result_cache.loads(good)[1][0].code == "DP106"
    with pytest.raises(pickle.UnpicklingError, match="not a dockopt record"):
        result_cache.loads(pickle.dumps(_Hostile()))
    with pytest.raises(pickle.UnpicklingError, match="not a dockopt record"):
        result_cache.loads(pickle.dumps(Path("x")))
