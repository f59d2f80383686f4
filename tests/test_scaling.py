"""Work grows linearly with the size of a Dockerfile (issue 15: a file of many apt
RUNs took quadratic time, because facts about "later RUNs" were recomputed per RUN).

Wall-clock time is noisy on shared machines, so the work is counted instead: the
number of lines of dockopt's own code executed (a trace function counts them; the
count is deterministic for the same input), which also sees a quadratic loop inside
one function, where counting function calls would not.  For each shape, doubling the
file may at most about double it.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check, fix

# Generous: constant start-up work makes small files relatively cheaper, never dearer.
MAX_RATIO = 2.3


def _apt_runs(n: int) -> str:
    lines = ["FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += [f"RUN apt-get update && apt-get install -y pkg{i}",
                  f"RUN echo step{i} > /tmp/f{i}"]
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


def _giant_run(n: int) -> str:
    body = " \\\n".join(f"    && echo line{i} >> /tmp/out" for i in range(n - 2))
    return "FROM debian:12\nRUN true \\\n" + body + "\n"


def _heredocs(n: int) -> str:
    lines = ["# syntax=docker/dockerfile:1", "FROM debian:12"]
    i = 0
    while len(lines) < n:
        lines += ["RUN <<EOF", f"apt-get update && apt-get install -y h{i}", "EOF"]
        i += 1
    return "\n".join(lines) + "\n"


SHAPES = {"apt-runs": _apt_runs, "copies": _copies, "stages": _stages, "chain": _chain,
          "giant-run": _giant_run, "heredocs": _heredocs}


_OURS = tuple(os.sep + part + os.sep for part in ("rewriter", "transforms", "templates"))


def _calls(text: str, *, fixing: bool) -> int:
    """Lines of dockopt's code executed by check (or fix) on ``text``."""
    settings = Settings(unsafe_fixes=True)
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if any(p in frame.f_code.co_filename for p in _OURS) else None

    sys.settrace(calls)
    try:
        if fixing:
            fix(text, settings=settings)
        else:
            check(text, settings=settings)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_check_work_is_linear(shape: str) -> None:
    make = SHAPES[shape]
    check("FROM debian:12\n")  # warm caches and lazy imports out of the count
    small, large = _calls(make(300), fixing=False), _calls(make(600), fixing=False)
    ratio = large / small
    print(f"{shape}: {small} -> {large} lines run (x{ratio:.2f})")
    assert ratio <= MAX_RATIO, f"{shape}: doubling the file multiplied the work by {ratio:.2f}"


def test_fix_work_is_linear_on_many_apt_runs() -> None:
    fix("FROM debian:12\n")
    small, large = _calls(_apt_runs(200), fixing=True), _calls(_apt_runs(400), fixing=True)
    ratio = large / small
    print(f"fix apt-runs: {small} -> {large} lines run (x{ratio:.2f})")
    assert ratio <= MAX_RATIO, f"doubling the file multiplied fix's work by {ratio:.2f}"
