"""A pool worker for tests/test_diff_edits.py: fix one file with every step's diff
built from the edits (as the engine does) and also with difflib over the whole
texts, and report the steps where the two differ."""

from __future__ import annotations

from pathlib import Path

import dockopt.rewriter.pipeline as pipeline
from dockopt.rewriter.config import Settings
from dockopt.rewriter.diff import Splice, spliced_diff, unified_diff
from dockopt.transforms.base import Edit


def compare_steps(job: tuple[str, str]) -> tuple[int, list[str]]:
    """(steps compared, a description of each step whose diffs differ)."""
    path, cache = job
    text = Path(path).read_bytes().decode("utf-8", "surrogateescape")
    steps = 0
    differ: list[str] = []

    def both(before: str, splices: list[Splice], name: str) -> tuple[str, str]:
        nonlocal steps
        after, diff = spliced_diff(before, splices, name)
        steps += 1
        expected_after = pipeline.apply_edits(before, [Edit(*s) for s in splices])
        if after != expected_after or diff != unified_diff(before, after, name):
            differ.append(f"{path}: step {steps}")
        return after, diff

    pipeline.spliced_diff = both  # the engine looks the name up in its module
    try:
        pipeline.fix(text, path=path, settings=Settings(unsafe_fixes=True,
                                                        cache="mount" if cache == "mount"
                                                        else "clean"))
    finally:
        pipeline.spliced_diff = spliced_diff
    return steps, differ
