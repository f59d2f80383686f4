"""`--jobs N` for `check` and `fix` (issue 15): the output of a run on a process pool
is byte for byte that of `--jobs 1`, in every output format, and `fix` writes the
same files.

The inputs are every golden case's Dockerfile laid out as one folder per case (its
context files beside it, so the context rules have something to read), plus a few
files that take the other paths through the loop: a file BuildKit rejects, a binary
file, a folder where two Dockerfiles share one build context (the second one's fix
must see the `.dockerignore` the first one wrote), and a file with a parse warning.
The commands run as subprocesses, as users run them, so the pool really forks.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dockopt.rewriter.cli.output import OUTPUT_FORMATS
from dockopt.rewriter.cli.parallel import (
    CHEAP_TASK,
    CHUNK,
    MAX_CHUNK,
    chunk_size,
    ordered_map,
    start_method,
    worker_count,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def _layout(root: Path) -> list[Path]:
    """The golden inputs as a tree of small projects; the Dockerfiles, sorted."""
    for case in sorted(p.parent for p in GOLDEN.glob("*/*/Dockerfile")):
        dest = root / f"{case.parent.name}--{case.name}"
        if (case / "context").is_dir():
            shutil.copytree(case / "context", dest)
        else:
            dest.mkdir()
        shutil.copyfile(case / "Dockerfile", dest / "Dockerfile")
    odd = root / "zz-odd"
    odd.mkdir()
    (odd / "Dockerfile").write_text("FROMM alpine\nRUN echo hi\n")  # BuildKit rejects it
    (odd / "Dockerfile.bin").write_bytes(b"FROM alpine\x00\x01\x02\n")  # not text
    (odd / "Dockerfile.warn").write_text("FROM alpine\nONBUILD RUN x\nFROB x\n")
    shared = root / "zz-shared"  # two Dockerfiles, one context: both want .dockerignore
    shared.mkdir()
    (shared / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    (shared / "package-lock.json").write_text('{"name": "x", "lockfileVersion": 3}\n')
    (shared / "node_modules").mkdir()
    (shared / "node_modules" / "left-pad.js").write_text("module.exports = 1\n")
    for name in ("Dockerfile", "Dockerfile.dev"):
        (shared / name).write_text("FROM node:20\nWORKDIR /app\nCOPY . .\n"
                                   "RUN npm install\nCMD node index.js\n")
    return sorted(p for p in root.rglob("Dockerfile*") if p.is_file())


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jobs") / "projects"
    root.mkdir()
    files = _layout(root)
    # The comparison means something only if --jobs 2 really runs a pool here.
    assert worker_count(2, len(files)) == 2, len(files)
    return root


def _dockopt(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DOCKOPT_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          capture_output=True, env=env, timeout=600, check=False)


def _same_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    serial = _dockopt(*args, "--jobs", "1", cwd=cwd)
    pooled = _dockopt(*args, "--jobs", "2", cwd=cwd)
    assert serial.returncode in (0, 1, 2), serial.stderr.decode()[-2000:]
    assert pooled.stdout == serial.stdout
    assert pooled.stderr == serial.stderr
    assert pooled.returncode == serial.returncode
    return serial


@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
def test_check_output_is_the_same_with_a_pool(tree: Path, fmt: str) -> None:
    run = _same_run(["check", "--unsafe-fixes", "--output-format", fmt, "."], tree.parent)
    # Every file is in the report (not an empty run that trivially agrees).
    assert b"zz-odd" in run.stdout and b"manifests-after-source" in run.stdout


def test_check_statistics_are_the_same_with_a_pool(tree: Path) -> None:
    run = _same_run(["check", "--statistics", "--unsafe-fixes", "."], tree.parent)
    assert b"DO201" in run.stdout


def test_fix_diff_is_the_same_with_a_pool(tree: Path) -> None:
    run = _same_run(["fix", "--diff", "--unsafe-fixes", "."], tree.parent)
    assert run.stdout.count(b"diff --git") > 200


def test_fix_writes_the_same_files_with_a_pool(tree: Path, tmp_path: Path) -> None:
    runs = []
    for jobs in ("1", "2"):
        copy = tmp_path / f"jobs{jobs}" / "projects"
        shutil.copytree(tree, copy)
        runs.append(_dockopt("fix", "--unsafe-fixes", "--show-fixes", "--jobs", jobs, ".",
                             cwd=copy.parent))
    serial, pooled = runs
    assert (pooled.stdout, pooled.stderr, pooled.returncode) == \
        (serial.stdout, serial.stderr, serial.returncode)
    one, two = tmp_path / "jobs1", tmp_path / "jobs2"
    _assert_same_tree(one, two)
    # Files were written, Dockerfiles and context files (here: one ignore file per
    # Dockerfile of the shared folder).
    shared = one / "projects" / "zz-shared"
    assert not filecmp.cmp(tree / "zz-shared" / "Dockerfile", shared / "Dockerfile",
                           shallow=False)
    assert (shared / "Dockerfile.dockerignore").is_file()
    assert (shared / "Dockerfile.dev.dockerignore").is_file()


def _assert_same_tree(a: Path, b: Path) -> None:
    names_a = sorted(p.relative_to(a) for p in a.rglob("*"))
    names_b = sorted(p.relative_to(b) for p in b.rglob("*"))
    assert names_a == names_b
    differ = [str(n) for n in names_a if (a / n).is_file()
              and (a / n).read_bytes() != (b / n).read_bytes()]
    assert not differ, differ


def _read_counter(path: str) -> int:
    return int(Path(path).read_text())


@pytest.fixture
def every_task_costly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks as cheap as these tests' stay in this process, and start no pool (see
    test_cheap_tasks_never_start_a_pool); here the pool must run."""
    from dockopt.rewriter.cli import parallel

    monkeypatch.setattr(parallel, "CHEAP_TASK", -1.0)


def test_ordered_map_runs_tasks_of_one_key_one_at_a_time(tmp_path: Path,
                                                        every_task_costly: None) -> None:
    """The consumer's write after each result is seen by the next task of the same
    key (as fix's .dockerignore writes are by the next Dockerfile of a context), and
    results come in task order; tasks of other keys still run on the pool."""
    import multiprocessing

    counter = tmp_path / "counter"
    counter.write_text("0")
    other = tmp_path / "other"
    other.write_text("7")
    tasks = [(i, str(counter if i % 3 else other)) for i in range(30)]
    seen = []
    workers = 0
    for i, value in ordered_map(_read_counter, tasks, 2, one_at_a_time=lambda p: p):
        seen.append((i, value))
        workers = max(workers, len(multiprocessing.active_children()))
        if i % 3:
            counter.write_text(str(value + 1))
    assert workers == 2
    assert [i for i, _ in seen] == list(range(30))
    assert [v for i, v in seen if i % 3] == list(range(20))
    assert all(v == 7 for i, v in seen if not i % 3)


def _pid_or_fail(n: int) -> int:
    if n == 6:
        raise ValueError(f"task {n} failed")
    return os.getpid()


def test_an_error_is_raised_at_its_tasks_turn(every_task_costly: None) -> None:
    """Tasks go to the workers a few at a time; one that raises keeps its place: the
    results before it arrive (those of its own submission too), then its error."""
    seen, pids = [], set()
    with pytest.raises(ValueError, match="task 6 failed"):
        for i, pid in ordered_map(_pid_or_fail, [(i, i) for i in range(20)], 2):
            seen.append(i)
            pids.add(pid)
    assert seen == list(range(6))
    assert pids - {os.getpid()}  # tasks 2-5 ran in a worker: the error came from one


def _slow_pid(n: int) -> int:
    """This process's id, after a task's worth of work when ``n`` is odd or above 20."""
    if n % 2 or n > 20:
        # CPU, as the pool judges a task's cost by (a sleep would count as cheap).
        end = time.process_time() + CHEAP_TASK * 3
        while time.process_time() < end:
            pass
    return os.getpid()


@pytest.mark.skipif(start_method() != "fork", reason="workers fork only on Linux")
def test_forked_workers_inherit_a_warmed_process() -> None:
    """The first task runs in this process before the pool forks (its imports and
    caches are then inherited instead of made again in each worker), and so do the
    next while tasks are cheap; the second costly one after the first starts the
    pool, and the rest run in the workers."""
    pids = [pid for _, pid in ordered_map(_slow_pid, [(i, i + 101) for i in range(40)], 2)]
    assert pids[:3] == [os.getpid()] * 3
    assert os.getpid() not in pids[3:]
    assert len(set(pids[3:])) >= 1


@pytest.mark.skipif(start_method() != "fork", reason="workers fork only on Linux")
def test_cheap_tasks_never_start_a_pool() -> None:
    """Answers from the results cache cost less than a pool: while tasks are cheap
    they run here, and a run of only cheap tasks makes no process at all."""
    import multiprocessing

    cheap = [pid for _, pid in ordered_map(_slow_pid, [(i, 2 * i) for i in range(10)], 2)]
    assert cheap == [os.getpid()] * 10
    assert multiprocessing.active_children() == []
    # Ten cheap tasks, then costly ones: the first two costly ones run here too (they
    # show the work is not cheap), and the second starts the pool for the rest.
    mixed = [pid for _, pid in ordered_map(_slow_pid, [(i, 2 * i + (i >= 10))
                                                      for i in range(40)], 2)]
    assert mixed[:12] == [os.getpid()] * 12
    assert os.getpid() not in mixed[12:]
    # A costly task now and then among cheap ones (an answer that imports a module
    # the others did not need) is not a reason for a pool.
    now_and_then = [pid for _, pid in ordered_map(
        _slow_pid, [(i, 2 * i + (i % 4 == 1)) for i in range(10)], 2)]
    assert now_and_then == [os.getpid()] * 10
    assert multiprocessing.active_children() == []


def _sleepy_pid(n: int) -> int:
    time.sleep(CHEAP_TASK * 5)  # wall time, as a task preempted on a loaded machine
    return os.getpid()


@pytest.mark.skipif(start_method() != "fork", reason="workers fork only on Linux")
def test_waiting_is_not_cost() -> None:
    """A task is judged by the CPU it takes: cache answers that wait for the disk or
    for a core on a loaded machine stay cheap, and start no pool."""
    import multiprocessing

    pids = [pid for _, pid in ordered_map(_sleepy_pid, [(i, i) for i in range(6)], 2)]
    assert pids == [os.getpid()] * 6
    assert multiprocessing.active_children() == []


def test_a_process_with_threads_spawns_its_workers(tmp_path: Path) -> None:
    """fork only while this process is single-threaded (a fork while another thread
    holds a lock can deadlock the child); spawned workers give the same results."""
    counter = tmp_path / "n"
    counter.write_text("5")
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait)
    helper.start()
    try:
        assert start_method() == "spawn"
        got = list(ordered_map(_read_counter, [(i, str(counter)) for i in range(6)], 2))
    finally:
        stop.set()
        helper.join()
    assert got == [(i, 5) for i in range(6)]
    if sys.platform.startswith("linux"):
        assert start_method() == "fork"


def test_submissions_shrink_towards_the_end_of_a_known_run() -> None:
    """Guided scheduling: big submissions while much is left (fewer round trips, and
    neighbouring files in one worker), shrinking to single tasks at the end so that
    no worker is left alone with a long last chunk."""
    assert chunk_size(None, 2) == CHUNK  # the number of tasks is not known
    sizes, left = [], 451
    while left:
        sizes.append(chunk_size(left, 2))
        left -= min(sizes[-1], left)
    assert sizes[0] == MAX_CHUNK
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-4:] == [1, 1, 1, 1]
    assert sum(sizes) == 451
    assert chunk_size(3, 8) == 1


@pytest.mark.skipif(start_method() != "fork", reason="workers fork only on Linux")
def test_a_known_total_keeps_the_input_order() -> None:
    tasks = [(i, i + 101) for i in range(60)]
    sized = list(ordered_map(_slow_pid, tasks, 2, total=len(tasks)))
    assert [key for key, _ in sized] == list(range(60))
    assert os.getpid() not in [pid for _, pid in sized[3:]]


def test_worker_count_keeps_small_runs_in_one_process() -> None:
    assert worker_count(1, 10_000) == 1
    assert worker_count(8, 1, "fork") == 1
    assert worker_count(8, 7, "fork") == 1  # 3 files per worker would not pay
    assert worker_count(8, 8, "fork") == 2
    assert worker_count(2, 500, "fork") == 2
    assert worker_count(4, 500, "spawn") == 4
    assert worker_count(4, 40, "spawn") == 1
