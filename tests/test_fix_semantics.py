"""Every SAFE fix, applied alone to every corpus file, changes BuildKit's semantic view
only within the scope its transform declares (``Transform.semantic_scope``)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from fixworker import Cmd, safe_semantics, scope_violation

pytestmark = pytest.mark.corpus


def test_safe_fixes_stay_in_scope(corpus_dockerfiles: list[Path]) -> None:
    workers = max(1, min(4, os.cpu_count() or 1))
    # spawn, not fork: forking after other tests started threads can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        problems = [p for batch in pool.map(safe_semantics, map(str, corpus_dockerfiles),
                                            chunksize=32) for p in batch]
    assert not problems, "\n".join(problems[:40])


def _c(kw: str, *value: str, json: bool = False) -> Cmd:
    return (kw, (), json, value)


def test_scope_checker_catches_violations() -> None:
    before = [_c("FROM", "a"), _c("RUN", "x"), _c("RUN", "y"), _c("CMD", "a b")]
    merged = [_c("FROM", "a"), _c("RUN", "x &&     y"), _c("CMD", "a b")]
    assert scope_violation("merge", before, merged) is None
    assert scope_violation("merge", before, [_c("FROM", "a"), _c("RUN", "x || y"),
                                             _c("CMD", "a b")]) is not None
    assert scope_violation("run", before, merged) is not None
    exec_form = [*before[:3], _c("CMD", "a", "b", json=True)]
    assert scope_violation("form", before, exec_form) is None
    assert scope_violation("form", before, [*before[:3], _c("CMD", "a", json=True)])
    assert scope_violation("run", before, [_c("FROM", "b"), *before[1:]]) is not None
