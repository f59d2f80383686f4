"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The results cache (`dockopt check` and `fix`) is off for the whole suite, in this
# process and in every dockopt it starts: a test must see the engine's own answer (some
# replace a transform to make it fail), and must not write to the user's cache folder.
# tests/test_result_cache.py and test_fix_cache.py turn it on where they test it.
os.environ["DOCKOPT_NO_CACHE"] = "1"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus: $DOCKOPT_CORPUS, else <repo>/../shared/corpus; skip if absent."""
    env = os.environ.get("DOCKOPT_CORPUS")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "corpus"
    if not candidate.is_dir():
        source = "DOCKOPT_CORPUS" if env else "the default location"
        pytest.skip(f"corpus not found at {candidate} ({source}); set DOCKOPT_CORPUS to run this")
    return candidate


def is_dockerfile_name(name: str) -> bool:
    """Dockerfile, Containerfile, Dockerfile.*, Dockerfile-*, *.Dockerfile (any case)."""
    low = name.lower()
    return (low.startswith(("dockerfile", "containerfile"))
            or low.endswith((".dockerfile", ".containerfile")))


@pytest.fixture(scope="session")
def corpus_dockerfiles(corpus_dir: Path) -> list[Path]:
    """Every Dockerfile in the corpus (from MANIFEST.tsv), templates included."""
    manifest = corpus_dir / "MANIFEST.tsv"
    rows = manifest.read_text(encoding="utf-8").splitlines()[1:]
    paths = [corpus_dir / row.split("\t", 1)[0] for row in rows if row.strip()]
    return sorted(p for p in paths if is_dockerfile_name(p.name) and p.is_file())
