"""`fix --unsafe-fixes` over every corpus Dockerfile, with both cache policies.

Checks: no crash and no engine error (non-convergence, revert, transform crash);
every output that BuildKit parsed before still parses; a second run changes nothing;
the per-transform diffs, concatenated for the whole corpus, apply with `git apply`
and reproduce the outputs.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from fixworker import Outcome, run_one

pytestmark = pytest.mark.corpus

_RESULTS: dict[str, list[Outcome]] = {}


def _outcomes(corpus_dir: Path, files: list[Path], cache: str) -> list[Outcome]:
    if cache not in _RESULTS:
        jobs = [(str(p), f"f{i}/{p.name}", cache) for i, p in enumerate(files)]
        workers = max(1, min(4, os.cpu_count() or 1))
        # spawn, not fork: forking after other tests started threads can deadlock.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            _RESULTS[cache] = list(pool.map(run_one, jobs, chunksize=32))
    return _RESULTS[cache]


@pytest.fixture(scope="module", params=["clean", "mount"])
def outcomes(request: pytest.FixtureRequest, corpus_dir: Path,
             corpus_dockerfiles: list[Path]) -> list[Outcome]:
    return _outcomes(corpus_dir, corpus_dockerfiles, request.param)


def test_no_crash_and_no_engine_error(outcomes: list[Outcome]) -> None:
    bad = [(o.path, e) for o in outcomes for e in o.engine_errors]
    changed = sum(o.text != o.original for o in outcomes)
    codes = Counter(c for o in outcomes for c in o.codes)
    print(f"\n{len(outcomes)} files, {changed} changed; steps per code: "
          f"{dict(sorted(codes.items()))}")
    assert not bad, "\n".join(f"{p}: {e}" for p, e in bad[:30])


def test_outputs_parse_under_buildkit(outcomes: list[Outcome]) -> None:
    broken = [(o.path, o.buildkit_out) for o in outcomes
              if o.buildkit_in is None and o.buildkit_out is not None]
    assert not broken, "\n".join(f"{p}: {e}" for p, e in broken[:30])


def test_second_run_changes_nothing(outcomes: list[Outcome]) -> None:
    unstable = [o.path for o in outcomes if o.second_run_changes]
    assert not unstable, f"{len(unstable)} files change again, e.g. {unstable[:10]}"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_diffs_apply_with_git(outcomes: list[Outcome], tmp_path: Path) -> None:
    changed = [o for o in outcomes if o.text != o.original]
    if not changed:
        pytest.skip("no file changed")
    repo = tmp_path / "repo"
    repo.mkdir()
    for o in changed:
        target = repo / o.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(o.original.encode("utf-8", "surrogateescape"))
    patch = tmp_path / "all.patch"
    patch.write_bytes("".join(o.diff for o in changed).encode("utf-8", "surrogateescape"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    proc = subprocess.run(["git", "apply", "--whitespace=nowarn", str(patch)], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:3000]
    wrong = [o.path for o in changed
             if (repo / o.rel).read_bytes() != o.text.encode("utf-8", "surrogateescape")]
    assert not wrong, f"{len(wrong)} files differ after git apply, e.g. {wrong[:10]}"
