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
# Submissions in flight per worker: enough to keep every worker busy while the parent
# prints, few enough that memory stays bounded whatever the number of files.
WINDOW_PER_WORKER = 4
# Tasks per submission when the number of tasks is not known.  Each submission costs
# the parent about 0.3 ms of CPU (pickling, the pool's queues and threads), as much as
# a tenth of a file's check, and the parent shares the cores with the workers; a few
# files per submission divide that.
CHUNK = 4
# With the number of tasks known, submissions are bigger while much is left and shrink
# towards the end ("guided" scheduling), so no worker is left with a long last chunk
# while the others idle: each takes about 1/GUIDED of the remaining tasks per worker,
# at most MAX_CHUNK.  Bigger submissions also keep neighbouring files (the versions of
# one image, which repeat the same RUN texts) in one worker, whose per-process memo
# of shell parses then hits more often.  Over the 451 official images on 2 cores:
# chunks of 4 -> 0.75 s, of 16 -> 0.70 s.
MAX_CHUNK = 16
GUIDED = 4
# A task that takes less CPU than this (seconds) is done in the parent rather than sent
# to a worker.  CPU, not wall time: on a loaded machine a cache answer preempted for a
# few milliseconds must not start a pool.
CHEAP_TASK = 0.001
# The pool starts when this many of the last COSTLY_OF tasks (the first one aside) were
# costly, not at the first costly one: a single task can be costly once for a reason of
# its own (the first answer from the cache that holds a parse warning imports the
# parser, about 4 ms), and a pool for hundreds of cache answers costs more than they do.
COSTLY_OF = 3
COSTLY_NEEDED = 2


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


def chunk_size(remaining: int | None, workers: int) -> int:
    """Tasks in the next submission, ``remaining`` tasks being left (None: unknown)."""
    if remaining is None:
        return CHUNK
    return max(1, min(MAX_CHUNK, remaining // (workers * GUIDED)))


def ordered_map(compute: Callable[[T], R], tasks: Iterable[tuple[K, T]], workers: int,
                one_at_a_time: Callable[[T], Hashable | None] | None = None,
                total: int | None = None) -> Iterator[tuple[K, R]]:
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

    ``total``: how many tasks there are, when known; it sizes the submissions
    (``chunk_size``).
    """
    tune_gc()
    if workers <= 1:
        for key, task in tasks:
            yield key, compute(task)
        return
    done = 0  # tasks drawn so far
    import gc

    method = start_method()
    frozen = False
    if method == "fork":
        # The first task runs here, before the fork: its lazy imports (the engine,
        # tree-sitter, jinja2) and per-process caches (compiled templates, patterns,
        # the shell parser) are then made once and inherited by every worker, which
        # otherwise each paid them (about 0.3 s of CPU per worker, as much as 60
        # files' work).  gc.freeze keeps the inherited objects out of the workers'
        # collections, so their pages stay shared instead of being copied.
        # Tasks that turn out cheap (answers from the results cache: a tenth of a
        # millisecond) go on here too: a pool would cost more than they do.  When
        # COSTLY_NEEDED of the last COSTLY_OF tasks cost more than CHEAP_TASK, the pool
        # starts for the rest.
        import time

        tasks = iter(tasks)
        first = True
        recent: deque[bool] = deque(maxlen=COSTLY_OF)  # whether each was costly
        for key, task in tasks:
            started = time.process_time()
            result = compute(task)
            took = time.process_time() - started
            yield key, result
            done += 1
            if not first:
                recent.append(took > CHEAP_TASK)
                if sum(recent) >= COSTLY_NEEDED:
                    break
            first = False
        else:
            return  # every task was cheap: no pool at all
        gc.freeze()
        frozen = True
    # Imported only now: a run answered from the results cache never starts a pool,
    # and these imports cost it about 7 ms.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context(method),
                               initializer=_ignore_interrupts)
    window = workers * WINDOW_PER_WORKER
    # Each submission: its tasks' (key, one_at_a_time value), and the future of their
    # outcomes.
    running: deque[tuple[list[tuple[K, Hashable | None]], Future[list[Outcome[R]]]]] = deque()
    busy: Counter[Hashable] = Counter()  # the one_at_a_time values in flight
    chunk: list[tuple[K, Hashable | None, T]] = []
    size = CHUNK

    def submit() -> None:
        if chunk:
            running.append(([(key, lock) for key, lock, _ in chunk],
                            pool.submit(_run_chunk, compute, [task for _, _, task in chunk])))
            chunk.clear()

    def landed() -> Iterator[tuple[K, R]]:
        entries, future = running.popleft()
        for _, lock in entries:
            if lock is not None:
                busy[lock] -= 1
                if not busy[lock]:  # a Counter keeps zeros: one per build context
                    del busy[lock]
        for (done_key, _), (ok, value) in zip(entries, future.result(), strict=True):
            if not ok:
                assert isinstance(value, BaseException)
                raise value
            yield done_key, value  # type: ignore[misc]

    try:
        for key, task in tasks:
            lock = one_at_a_time(task) if one_at_a_time is not None else None
            if lock is not None and busy[lock] > 0:
                submit()  # its predecessor may sit in the chunk being filled
                while busy[lock] > 0:
                    yield from landed()
            if lock is not None:
                busy[lock] += 1
            if not chunk:
                size = chunk_size(None if total is None else total - done, workers)
            chunk.append((key, lock, task))
            done += 1
            if len(chunk) >= size:
                submit()
                if len(running) >= window:
                    yield from landed()
        submit()
        while running:
            yield from landed()
    finally:
        # Normal end: nothing is left. Ctrl-C or an error: drop what has not started.
        pool.shutdown(wait=True, cancel_futures=True)
        if frozen:
            gc.unfreeze()


# A task's outcome from a worker: (True, its result) or (False, the exception it raised).
Outcome = tuple[bool, "R | BaseException"]


def _run_chunk(compute: Callable[[T], R], tasks: list[T]) -> list[Outcome[R]]:
    """``compute`` of each task, in a worker; an exception is kept in its task's place,
    so the tasks before it keep their results and it is raised at its own turn."""
    out: list[Outcome[R]] = []
    for task in tasks:
        try:
            out.append((True, compute(task)))
        except Exception as exc:  # raised in the parent, at this task's turn
            out.append((False, exc))
    return out


def tune_gc() -> None:
    """Run the cyclic garbage collector's young collections less often (every 50,000
    allocations instead of 700).  The engine allocates many small objects that live
    as long as their file's tree; with the default thresholds they are traversed
    again and again as they age, which made a big file's check spend a growing share
    of its time in the collector (a 40,000-line file: 6.1-6.9 s -> 5.6-5.7 s of CPU).
    The garbage a file leaves is collected all the same, a little later."""
    import gc

    gc.set_threshold(50_000, 20, 10)


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the parent alone stops the run, so the
    # workers do not each print a KeyboardInterrupt traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_gc()  # a spawned worker does not inherit the parent's thresholds
