"""`--jobs` for `check` and `fix`: the per-file work on a process pool, the results
back in input order.

Only the pure part of a file's work (the engine's check or fix of its text) runs in
the workers; reading, writing and every line of output stay in the parent, in the
order of the inputs.  So `--jobs N` prints exactly what `--jobs 1` prints, in every
output format, and the writes happen in the same order.

A pool costs its start-up (fork: a few milliseconds per worker; spawn, where fork is
not safe: a fresh interpreter importing the engine, ~150 ms each) and the pickling of
texts and results, so small runs stay in this process (see ``worker_count``).
"""

from __future__ import annotations

import os
import sys
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")

# Files each worker should get at least before a pool pays for itself.  An official
# image's Dockerfile takes about 5-10 ms to check; forking a worker and shipping the
# texts there and the findings back costs about as much as a few of them.
FILES_PER_WORKER_FORK = 4
# A spawned worker imports the engine itself (~150 ms, about 20 files' work).
FILES_PER_WORKER_SPAWN = 24
# Results in flight per worker: enough to keep every worker busy while the parent
# prints, few enough that memory stays bounded whatever the number of files.
WINDOW_PER_WORKER = 4


def start_method() -> str:
    """fork where it is safe and cheap (Linux, and this process has no other thread:
    the workers inherit the imported engine), else spawn (macOS's system frameworks
    and Windows do not survive a fork, and a fork while another thread holds a lock,
    e.g. when the command runs inside a threaded program or a test runner, can
    deadlock the child)."""
    import threading

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def worker_count(jobs: int | None, files: int, method: str | None = None) -> int:
    """How many processes work on ``files`` files: 1 means this process, no pool.

    ``jobs`` is the user's `--jobs` (None or 0: every core).  A pool is used only when
    each worker gets enough files to pay for its start-up; with fewer files, fewer
    workers."""
    wanted = jobs or os.cpu_count() or 1
    per_worker = (FILES_PER_WORKER_FORK if (method or start_method()) == "fork"
                  else FILES_PER_WORKER_SPAWN)
    workers = min(wanted, files // per_worker)
    return workers if workers >= 2 else 1


def ordered_map(compute: Callable[[T], R], tasks: Iterable[tuple[K, T]], workers: int,
                one_at_a_time: Callable[[T], Hashable | None] | None = None,
                ) -> Iterator[tuple[K, R]]:
    """``(key, compute(task))`` for each ``(key, task)``, on ``workers`` processes when
    more than one.  Results come in the order of ``tasks`` (the output must not
    depend on which worker finishes first); the keys stay in this process (they need
    not be picklable); tasks are drawn from the iterable only a window ahead of the
    consumer, so neither side holds every file at once.

    ``compute`` must be a module-level function and its tasks and results picklable.
    An exception in ``compute`` is raised here, at its task's turn, as in ``map``.

    ``one_at_a_time(task)``: tasks with the same (non-None) value are never in flight
    together; a task waits until the consumer has had its predecessor's result.  `fix`
    keys its tasks by build context: one Dockerfile's fix may write the context's
    `.dockerignore`, and the next Dockerfile of that context must see it, as it
    does when they run one after the other.
    """
    if workers <= 1:
        for key, task in tasks:
            yield key, compute(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context(start_method()),
                               initializer=_ignore_interrupts)
    window = workers * WINDOW_PER_WORKER
    running: deque[tuple[K, Hashable | None, Future[R]]] = deque()
    busy: Counter[Hashable] = Counter()  # the one_at_a_time values in flight

    def landed() -> tuple[K, R]:
        done_key, lock, future = running.popleft()
        if lock is not None:
            busy[lock] -= 1
        return done_key, future.result()

    try:
        for key, task in tasks:
            lock = one_at_a_time(task) if one_at_a_time is not None else None
            while lock is not None and busy[lock] > 0:
                yield landed()
            if lock is not None:
                busy[lock] += 1
            running.append((key, lock, pool.submit(compute, task)))
            if len(running) >= window:
                yield landed()
        while running:
            yield landed()
    finally:
        # Normal end: nothing is left. Ctrl-C or an error: drop what has not started.
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent alone stops the run, so the
    # workers do not each print a KeyboardInterrupt traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
