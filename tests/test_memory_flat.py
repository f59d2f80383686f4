"""`check` and `fix` over many files: what the process holds does not grow with the
number of files (issue 15: memory flat over 100,000 files).

* The real commands run here (`--jobs 1`) over n and then 4n files, and the number of
  per-file ``Input`` records alive at any file's turn is counted (weak references
  taken as each file is read): it must stay the same small number, where the input
  list used to hold every file's record for the whole run.
* Discovery alone, under tracemalloc (it makes no cyclic garbage, so its peak is what
  it holds): the peak does not grow with the number of files found.
* The files found are the same, once each, in the same order, wherever symlinks and
  overlapping arguments could repeat one (discovery no longer remembers every file).

bench/check_memory.py measures the real thing: peak RSS at 1,000 to 100,000 files.
Peak traced memory of a whole run is not asserted: the engine's cyclic garbage
(collected every 50,000 allocations, see parallel.tune_gc) moves it by megabytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import dockopt.rewriter.cli.check as check_module
import dockopt.rewriter.cli.fix as fix_module
import dockopt.rewriter.cli.inputs as inputs_module
import dockopt.rewriter.discover as discover_module
from dockopt.rewriter.cli.main import main
from dockopt.rewriter.cli.options import Selection
from dockopt.rewriter.discover import Empty, discover

# A small Dockerfile with findings and fixes (apt, COPY before the install, root).
DOCKERFILE = ("FROM debian:bookworm\n"
              "COPY . /app\n"
              "RUN apt-get update && apt-get install -y curl\n"
              'CMD ["/app/run"]\n')
N = 40


def _tree(root: Path, files: int, folders: int = 4) -> Path:
    for k in range(files):
        folder = root / f"d{k % folders}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"Dockerfile.{k:05d}").write_text(DOCKERFILE)
    return root


def _most_inputs_alive(monkeypatch: pytest.MonkeyPatch, module: object, root: Path,
                       *args: str) -> tuple[int, int]:
    """(files read, the most Input records alive at once) over a real run."""
    refs: list[weakref.ref[inputs_module.Input]] = []
    most = 0
    read = inputs_module.read_input

    def counting_read(item: inputs_module.Input, errors: list[str]) -> str | None:
        nonlocal most
        refs.append(weakref.ref(item))
        most = max(most, sum(ref() is not None for ref in refs))
        return read(item, errors)

    monkeypatch.setattr(module, "read_input", counting_read)
    result = CliRunner().invoke(main, [*args, "--jobs", "1", "--exit-zero", "-q",
                                       str(root)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return len(refs), most


@pytest.mark.parametrize("command", ["check", "fix"])
def test_input_records_do_not_accumulate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         command: str) -> None:
    module = check_module if command == "check" else fix_module
    args = ("check", "-o", str(tmp_path / "report.txt")) if command == "check" \
        else ("fix", "--fix-only")
    small = _most_inputs_alive(monkeypatch, module, _tree(tmp_path / "small", N), *args)
    large = _most_inputs_alive(monkeypatch, module, _tree(tmp_path / "large", 4 * N),
                               *args)
    assert small[0] == N and large[0] == 4 * N  # every file was read
    # Each file's record lives while its turn lasts (and the pool's window ahead).
    assert large[1] == small[1] <= 2, (small, large)
    if command == "fix":
        assert (tmp_path / "large" / "d0" / "Dockerfile.00000").read_text() != DOCKERFILE
    else:
        assert "Dockerfile.00159" in (tmp_path / "report.txt").read_text()


def _ordered_map_peak(tasks: int) -> int:
    """Peak traced bytes of the parent while a pool works through ``tasks`` tasks,
    each with a build context of its own (as `fix` over files in their own folders)."""
    import multiprocessing

    from dockopt.rewriter.cli.parallel import ordered_map

    tracemalloc.start()
    try:
        done = workers = 0
        for key, value in ordered_map(abs, ((k, -k) for k in range(tasks)), 2,
                                      one_at_a_time=lambda task: f"/context/{task}"):
            assert value == key
            done += 1
            workers = max(workers, len(multiprocessing.active_children()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert done == tasks
    assert workers == 2  # the pool ran (see the test: abs alone is too cheap for one)
    return peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork on Linux")
def test_pool_forgets_finished_build_contexts(monkeypatch: pytest.MonkeyPatch) -> None:
    # `fix` keeps one file of a build context in flight at a time; the contexts done
    # with were counted (at zero) for the rest of the run: 100,000 folders, 14 MB.
    # Every task counts as costly here: tasks as cheap as `abs` stay in this process
    # and start no pool at all (the pool judges them by their CPU time), and the test
    # then measured nothing of the pool.  Its peak also depended on whether the
    # machine's load made one task look costly and start the pool in one run only.
    from dockopt.rewriter.cli import parallel

    monkeypatch.setattr(parallel, "CHEAP_TASK", -1.0)
    _ordered_map_peak(50)
    small, large = _ordered_map_peak(1000), _ordered_map_peak(4000)
    assert large - small < 3000 * 30, (small, large)


_PEAK = """
import gc, sys, tracemalloc
import dockopt.rewriter.discover as d
d.GITIGNORE_BATCH = 16
list(d.discover([sys.argv[1]]))  # imports and first-use caches, outside the peak
gc.collect()
found = 0
tracemalloc.start()
for item in d.discover([sys.argv[2]]):
    found += isinstance(item, str)
print(found, tracemalloc.get_traced_memory()[1])
"""


def _discovery_peak(root: Path, warm: Path) -> tuple[int, int]:
    """(files found, peak traced bytes while finding them; none are kept), in a fresh
    interpreter: what earlier tests left in this one (the collector's thresholds,
    caches, threads) made the peak depend on the test order."""
    done = subprocess.run([sys.executable, "-c", _PEAK, str(warm), str(root)],
                          capture_output=True, text=True, check=True, timeout=300)
    found, peak = done.stdout.split()
    return int(found), int(peak)


def test_discovery_holds_no_file_list(tmp_path: Path) -> None:
    # Files are asked about in batches (one `git check-ignore` per batch); a small
    # batch there (GITIGNORE_BATCH = 16), so both runs span many.
    n = 400
    # As many folders in both (per-folder caches are bounded, at thousands of folders).
    warm = _tree(tmp_path / "warm", 20, folders=20)
    small = _discovery_peak(_tree(tmp_path / "small", n, folders=20), warm)
    large = _discovery_peak(_tree(tmp_path / "large", 4 * n, folders=20), warm)
    assert (small[0], large[0]) == (n, 4 * n)
    # A list and a set of every path held about 250 bytes per file.
    assert large[1] - small[1] < 3 * n * 10, (small, large)


def _names(root: Path, args: list[str]) -> list[str]:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return [f if isinstance(f, str) else repr(f) for f in discover(args)]
    finally:
        os.chdir(cwd)


def test_each_file_once_in_walk_order(tmp_path: Path) -> None:
    for name in ("a/Dockerfile", "a/Dockerfile.b", "a/sub/Dockerfile", "b/Dockerfile",
                 "c/Dockerfile"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DOCKERFILE)
    # Symlinked Dockerfiles, before and after their target in the walk.
    (tmp_path / "a" / "Dockerfile.a").symlink_to("Dockerfile.b")
    (tmp_path / "a" / "Dockerfile.z").symlink_to("Dockerfile")
    (tmp_path / "b" / "Dockerfile.c").symlink_to("../c/Dockerfile")
    # A symlinked folder argument (walks do not follow symlinked folders below).
    (tmp_path / "link").symlink_to("a")
    (tmp_path / "a" / "loop").symlink_to(".")
    first = ["a/Dockerfile", "a/Dockerfile.a", "a/sub/Dockerfile"]
    assert _names(tmp_path, ["a"]) == first
    # Overlapping arguments: a folder inside another, the same folder twice, a file
    # named again, a symlink to a folder already walked.
    assert _names(tmp_path, ["a", "a/sub", "a", "a/Dockerfile.b", "link"]) == first
    assert _names(tmp_path, ["a/sub", "a"]) == ["a/sub/Dockerfile", "a/Dockerfile",
                                                "a/Dockerfile.a"]
    assert _names(tmp_path, ["link/Dockerfile.z", "a"]) == ["link/Dockerfile.z",
                                                           "a/Dockerfile.a",
                                                           "a/sub/Dockerfile"]
    assert _names(tmp_path, ["c", "b"]) == ["c/Dockerfile", "b/Dockerfile"]
    assert _names(tmp_path, ["b", "c"]) == ["b/Dockerfile", "b/Dockerfile.c"]
    assert _names(tmp_path, ["."]) == [*first, "b/Dockerfile", "b/Dockerfile.c"]
    # A folder whose files all came from an earlier argument is not empty.
    assert _names(tmp_path, ["a", "a/sub", "nothing"]) == [
        *first, repr(discover_module.Missing("nothing", "No such file or directory"))]
    (tmp_path / "empty").mkdir()
    assert _names(tmp_path, ["empty"]) == [repr(Empty("empty"))]


def test_recent_keeps_the_most_recently_used(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    cache: inputs_module.Recent[str, int] = inputs_module.Recent(2)
    cache["a"], cache["b"] = 1, 2
    assert cache["a"] == 1  # a use: "b" is now the oldest
    cache["c"] = 3
    assert list(cache) == ["a", "c"]
    # SettingsFinder's caches stay bounded over many folders, and give the same
    # settings as when every folder was kept.
    monkeypatch.setattr(inputs_module, "FOLDERS_KEPT", 8)
    (tmp_path / ".dockopt.toml").write_text('ignore = ["DO101"]\n')
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / ".dockopt.toml").write_text('ignore = ["DO201"]\n')
    finder = inputs_module.SettingsFinder(None, False, Selection.from_options(
        (), (), (), None, None))
    by_folder: Callable[[Path], tuple[str, ...]] = \
        lambda folder: finder.for_path(folder / "Dockerfile").ignore  # noqa: E731
    for k in range(40):
        for top in (tmp_path, tmp_path / "x"):
            folder = top / f"f{k}"
            folder.mkdir()
            assert by_folder(folder) == (("DO201",) if top.name == "x" else ("DO101",))
    assert max(len(finder._by_folder), len(finder._config_above),
               len(finder._hadolint_above)) <= 8


def test_found_paths_are_spelled_as_pathlib_spells_them() -> None:
    """discover's _path_str is str(Path(p)) without pathlib's interning of every part
    (which grew the interpreter's table of interned strings with every file found)."""
    import random

    from dockopt.rewriter.discover import _path_str

    cases = ["./a/b", "a//b", "/a/./b/", "//a/b", "///a", "./", "a/../b", "../x/./y", ".",
             "a/b/.", "/", "//", "x", "./Dockerfile", "svc//./Dockerfile.dev"]
    rng = random.Random(7)
    cases += ["".join(rng.choice(["/", ".", "a", "..", "b/", "Dockerfile"])
                      for _ in range(rng.randint(1, 10))) for _ in range(5000)]
    for case in cases:
        assert _path_str(case) == str(Path(case)), case
