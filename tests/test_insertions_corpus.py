"""Instructions the fixes write land as instructions of their own, on every corpus file.

`fix --unsafe-fixes` is replayed pass by pass; each transform's step is checked on its
own against BuildKit's parser (the `dockerfile` package): the instruction keywords it
reads after the step must be those before it, minus the instructions the step's edits
replace, plus the instruction lines the edits write.  A `USER` written inside a line
continuation (`make install \\` then a blank last line) becomes arguments of the RUN
and breaks this count.  The build context is the Dockerfile's folder, as for the CLI.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from fixworker import insertion_problems

pytestmark = pytest.mark.corpus


def test_inserted_instructions_stand_alone(corpus_dockerfiles: list[Path]) -> None:
    jobs = [(str(p), f"f{i}/{p.name}") for i, p in enumerate(corpus_dockerfiles)]
    workers = max(1, min(4, os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        problems = [p for ps in pool.map(insertion_problems, jobs, chunksize=32) for p in ps]
    assert not problems, f"{len(problems)} steps:\n" + "\n".join(problems[:40])
