"""The built wheel installs under the `dockopt` name only, and its CLI works from there.

This builds a real wheel and installs it (with its dependencies) into a fresh venv,
so it catches packaging mistakes an editable install hides: a missing package-dir
mapping, generic top-level names (`rewriter`, `transforms`) leaking into
site-packages, missing py.typed or template files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _first_official_dockerfile(corpus_dir: Path) -> Path:
    official = corpus_dir / "official"
    found = sorted(
        p for p in official.rglob("Dockerfile") if "_templates" not in p.parts and p.is_file()
    )
    if not found:
        pytest.skip(f"no Dockerfile under {official}")
    return found[0]


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("install")
    wheels = work / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, REPO_ROOT, cwd=work)
    (wheel,) = wheels.glob("dockopt-0.1.0-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    _run(env_dir / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=work)
    return env_dir


def _site_packages(env_dir: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = _run(env_dir / "bin" / "python", "-c", code, cwd=env_dir).stdout
    return Path(out.strip())


def test_wheel_installs_under_dockopt_only(installed_venv: Path) -> None:
    site = _site_packages(installed_venv)
    for pkg in ("rewriter", "transforms", "templates"):
        assert (site / "dockopt" / pkg / "__init__.py").is_file(), pkg
        assert (site / "dockopt" / pkg / "py.typed").is_file(), pkg
        assert not (site / pkg).exists(), f"generic top-level {pkg!r} leaked into site-packages"
    # Every module of the source tree is in the wheel: a subpackage missing from
    # pyproject's package list would be left out silently.
    root = Path(__file__).resolve().parent.parent
    for pkg in ("rewriter", "transforms", "templates"):
        for src in (root / pkg).rglob("*.py"):
            rel = src.relative_to(root)
            assert (site / "dockopt" / rel).is_file(), f"{rel} missing from the wheel"
    # `dockopt` is an implicit namespace package: no __init__.py of our own.
    assert not (site / "dockopt" / "__init__.py").exists()
    top_level = {p.name for p in site.iterdir()}
    assert not top_level & {"tests", "golden", "bench", "docs", "examples"}


def test_installed_version(installed_venv: Path, tmp_path: Path) -> None:
    # Run outside the repo, so nothing can be imported from the source tree.
    out = _run(installed_venv / "bin" / "dockopt", "--version", cwd=tmp_path).stdout
    assert out == "dockopt 0.1.0\n"


def test_installed_cli_parses_corpus_file(
    installed_venv: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    exe = installed_venv / "bin" / "dockopt"
    dockerfile = _first_official_dockerfile(corpus_dir)
    out = _run(exe, "debug", "semantic", dockerfile, cwd=tmp_path).stdout
    keywords = [line.split()[1] for line in out.splitlines()]
    assert "FROM" in keywords, out
    assert len(keywords) >= 2
