"""Work grows linearly with the size of a Dockerfile (issue 15: a file of many apt
RUNs took quadratic time, because facts about "later RUNs" were recomputed per RUN).

Wall-clock time is noisy on shared machines, so the work is counted instead, in two
deterministic ways:

* the lines of Python executed (a trace function counts them), in every module:
  dockopt's own, the standard library's, and the methods dataclasses generate (a
  list membership test of dataclass instances runs their ``__eq__``), so a
  quadratic loop inside one function shows, where counting calls would not;
* the bytes allocated (tracemalloc's peak between consecutive calls and returns):
  copying the file's text or a stage's instructions per instruction (a slice in a
  loop) runs no Python line but allocates what it copies.

Each shape is measured at n, 2n and 4n lines, and the growth of the work from 2n to
4n is compared with its growth from n to 2n: linear work doubles it (the constant
start-up part cancels), quadratic work quadruples it.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check, fix

# Linear work gives 2.0 (measured 1.97-2.07); quadratic work tends to 4.
MAX_RATIO = 2.3


def _apt_runs(n: int) -> str:
    lines = ["FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += [f"RUN apt-get update && apt-get install -y pkg{i}",
                  f"RUN echo step{i} > /tmp/f{i}"]
        i += 1
    return "\n".join(lines) + "\n"


def _apt_readers(n: int) -> str:
    """RUNs that install from the lists an earlier RUN downloaded (DO204's look-ahead
    and its refresh edits), python3-pip with pip used later (DO201's recommends)."""
    lines = ["FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += [f"RUN apt-get update && apt-get install -y a{i} python3-pip",
                  f"RUN apt-get install -y b{i}", f"RUN pip install c{i}"]
        i += 1
    return "\n".join(lines) + "\n"


def _copies(n: int) -> str:
    lines = ["FROM python:3.12", "WORKDIR /app"]
    lines += [f"COPY src/part{i}.py /app/part{i}.py" for i in range(n - 3)]
    lines.append('CMD ["python", "/app/part0.py"]')
    return "\n".join(lines) + "\n"


def _stages(n: int) -> str:
    lines: list[str] = []
    for i in range(n // 4):
        lines += [f"FROM debian:12 AS s{i}", f"RUN apt-get update && apt-get install -y p{i}",
                  f"COPY --from=s{max(0, i - 1)} /x /x{i}", ""]
    return "\n".join(lines) + "\n"


def _chain(n: int) -> str:
    """Each stage built FROM the one before it (deep ancestry)."""
    lines = ["FROM debian:12 AS s0"]
    for i in range(1, n // 2):
        lines += [f"FROM s{i - 1} AS s{i}", f"RUN echo {i} > /f{i}"]
    return "\n".join(lines) + "\n"


def _chain_apt(n: int) -> str:
    """A chain of stages, each downloading the apt lists (the look-ahead into the
    stages built on each one)."""
    lines = ["FROM debian:12 AS s0"]
    for i in range(1, n // 2):
        lines += [f"FROM s{i - 1} AS s{i}", f"RUN apt-get update && apt-get install -y p{i}"]
    return "\n".join(lines) + "\n"


def _giant_run(n: int) -> str:
    body = " \\\n".join(f"    && echo line{i} >> /tmp/out" for i in range(n - 2))
    return "FROM debian:12\nRUN true \\\n" + body + "\n"


def _continuations(n: int) -> str:
    """Many RUNs continued over several lines, with comment and empty lines inside."""
    lines = ["FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += ["RUN apt-get update \\", "    # the packages",
                  f"    && apt-get install -y a{i} \\", "", f"    b{i} \\",
                  "    && rm -rf /var/lib/apt/lists/*"]
        i += 1
    return "\n".join(lines) + "\n"


def _heredocs(n: int) -> str:
    lines = ["# syntax=docker/dockerfile:1", "FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += ["RUN <<EOF", f"apt-get update && apt-get install -y h{i}", "EOF"]
        i += 1
    return "\n".join(lines) + "\n"


def _suppressions(n: int) -> str:
    """A suppression comment above every RUN (DO510/DO511 and the engine's lookup)."""
    lines = ["FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += [f"# dockopt: ignore=DO204 reason {i}", "# hadolint ignore=DL3008",
                  f"RUN apt-get install -y p{i}"]
        i += 1
    return "\n".join(lines) + "\n"


def _cd_runs(n: int) -> str:
    """One long stage of many kinds of instructions, RUNs with `cd` among them (DO302's
    working directory before and after each, comments kept with what they precede)."""
    lines = ["FROM node:18"]
    i = 0
    while len(lines) < n:
        lines += [f"WORKDIR /app{i}", f"USER u{i}", f"EXPOSE {1000 + i % 5000}",
                  f"LABEL k{i}=v{i}", f"ADD f{i}.tar.gz /x/", f"COPY --chown=u{i} a{i} b{i}",
                  f"# build {i}", f"RUN cd /d{i} && npm install",
                  f"ADD https://example.com/f{i} /y"]
        i += 1
    lines.append('CMD ["node", "x.js"]')
    return "\n".join(lines) + "\n"


SHAPES = {"apt-runs": _apt_runs, "apt-readers": _apt_readers, "copies": _copies,
          "stages": _stages, "chain": _chain, "chain-apt": _chain_apt,
          "giant-run": _giant_run, "continuations": _continuations, "heredocs": _heredocs,
          "suppressions": _suppressions, "cd-runs": _cd_runs}


def _lines_run(work: Callable[[], object]) -> int:
    """Lines of Python executed by ``work()``, in every module."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local

    sys.settrace(calls)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def _bytes_allocated(work: Callable[[], object]) -> int:
    """Bytes ``work()`` allocates, as the sum of the rises of tracemalloc's peak over
    the memory in use between consecutive Python calls and returns: a temporary
    copy inside one function (freed before the next line) still raises the peak."""
    total = last = 0
    traced, reset = tracemalloc.get_traced_memory, tracemalloc.reset_peak

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal total, last
        if event in ("call", "return"):
            current, peak = traced()
            total += peak - last
            last = current
            reset()

    tracemalloc.start()
    last = traced()[0]
    reset()
    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
        tracemalloc.stop()
    return total


def _growth(shape: str, lines: int, *, fixing: bool,
            measure: Callable[[Callable[[], object]], int],
            context: Path | None = None) -> tuple[list[int], float]:
    """The work at ``lines``, twice and four times as many, and how much more the
    second doubling added than the first."""
    settings = Settings(unsafe_fixes=True)
    run = fix if fixing else check
    where: dict[str, Any] = {}
    if context is not None:  # the rules that read the build context take part too
        where = {"path": str(context / "Dockerfile"), "context": context}
    # Warm the per-process caches (lazy imports, compiled patterns) on the same shape,
    # so one-time work does not land in the first measurement.
    run(SHAPES[shape](lines), settings=settings, **where)
    work = []
    for n in (lines, 2 * lines, 4 * lines):
        text = SHAPES[shape](n)
        if context is not None:
            (context / "Dockerfile").write_text(text)
        work.append(measure(lambda text=text: run(text, settings=settings, **where)))  # type: ignore[misc]
    return work, (work[2] - work[1]) / (work[1] - work[0])


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_check_lines_run_grow_linearly(shape: str) -> None:
    work, ratio = _growth(shape, 250, fixing=False, measure=_lines_run)
    print(f"check {shape}: {work} lines run (second doubling x{ratio:.2f} the first)")
    assert ratio <= MAX_RATIO, f"{shape}: check's work grows faster than the file: {work}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fix_lines_run_grow_linearly(shape: str) -> None:
    work, ratio = _growth(shape, 200, fixing=True, measure=_lines_run)
    print(f"fix {shape}: {work} lines run (second doubling x{ratio:.2f} the first)")
    assert ratio <= MAX_RATIO, f"{shape}: fix's work grows faster than the file: {work}"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_check_allocations_grow_linearly(shape: str) -> None:
    work, ratio = _growth(shape, 150, fixing=False, measure=_bytes_allocated)
    print(f"check {shape}: {work} bytes allocated (second doubling x{ratio:.2f} the first)")
    assert ratio <= MAX_RATIO, f"{shape}: check allocates faster than the file grows: {work}"


# A project the shapes' COPYs and installs find things in: manifests with a lockfile
# (DO601's split of the install, DO602), a requirements file, sources, an ignore file.
_PROJECT = {"package.json": '{"name": "x", "version": "1.0.0", "dependencies": {"a": "1"}}',
            "package-lock.json": '{"name": "x", "lockfileVersion": 3, "packages": {}}',
            "requirements.txt": "flask==2.0\n", "src/part0.py": "x = 1\n",
            "app/package.json": "{}", "a0": "", "f0.tar.gz": "", ".dockerignore": "*.md\n"}


@pytest.mark.parametrize("project", [False, True], ids=["bare", "project"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_check_with_a_build_context_grows_linearly(shape: str, project: bool,
                                                   tmp_path: Path) -> None:
    # DO601/DO602/DO603 and the npm-version model read the context: a folder holding
    # only the Dockerfile is enough to switch them on (the bench's big-file case); a
    # project's files make the image views find what the COPYs put where.
    if project:
        for rel, text in _PROJECT.items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text)
    work, ratio = _growth(shape, 150, fixing=False, measure=_lines_run, context=tmp_path)
    print(f"check+context {shape}: {work} lines run (second doubling x{ratio:.2f} the first)")
    assert ratio <= MAX_RATIO, f"{shape}: with a context, check's work grows faster: {work}"
