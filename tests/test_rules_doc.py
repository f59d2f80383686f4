"""docs/rules/ is generated from the transforms' docstrings and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dockopt.transforms
from dockopt.rewriter import rules_doc
from dockopt.transforms.base import Safety, Transform


def test_docs_rules_are_current(repo_root: Path) -> None:
    """Fails when a transform changed without `python -m dockopt.rewriter.rules_doc`."""
    proc = subprocess.run(
        [sys.executable, "-m", "dockopt.rewriter.rules_doc", "--check",
         "--output", str(repo_root / "docs" / "rules")],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


class DocRule(Transform):
    """Pin the thing (a doc test rule).

    ## What it does
    Pins it.

    Why:
    Because | pipes are escaped in the index.

    Example
    -------
        FROM a:latest

    Fix safety
    Unsafe.
    """

    code = "TD101"
    name = "doc-rule"
    fix_title = "Pin it"
    default_safety = Safety.UNSAFE
    upstream = ("hadolint:DL3007",)


class DocFinding(Transform):
    """Report the other thing | with a pipe."""

    code = "TD201"
    name = "doc-finding"


def test_generate_check_and_clean_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockopt.transforms, "REGISTRY", (DocRule, DocFinding))
    out = tmp_path / "rules"
    assert rules_doc.main(["--check", "--output", str(out)]) == 1  # missing
    assert rules_doc.main(["--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "TD101.md", "TD201.md"]
    assert rules_doc.main(["--check", "--output", str(out)]) == 0
    page = (out / "TD101.md").read_text()
    assert page.startswith(rules_doc.GENERATED + "\n\n# TD101 doc-rule\n\nPin the thing")
    assert "- Fix: Pin it (unsafe)\n- Level: warning\n- Upstream: hadolint:DL3007\n" in page
    for section in ("What it does", "Why", "Example", "Fix safety"):
        assert f"\n## {section}\n" in page
    assert "-------" not in page
    assert "\n    FROM a:latest\n" in page
    index = (out / "README.md").read_text()
    assert "| [TD101](TD101.md) | doc-rule | unsafe | Pin the thing (a doc test rule). |" in index
    assert "| [TD201](TD201.md) | doc-finding | - | Report the other thing \\| with a pipe. |" \
        in index
    # Deterministic: a second run changes nothing, byte for byte.
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert rules_doc.write_docs(out, (DocRule, DocFinding)) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # A hand edit is stale; a page of a removed rule is stale and gets removed,
    # but a hand-written page (no generated marker) is left alone.
    (out / "TD101.md").write_text(page + "edited\n")
    (out / "NOTES.md").write_text("mine\n")
    monkeypatch.setattr(dockopt.transforms, "REGISTRY", (DocRule,))
    assert rules_doc.stale_files(out, (DocRule,)) == ["README.md", "TD101.md", "TD201.md"]
    rules_doc.main(["--output", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["NOTES.md", "README.md", "TD101.md"]
    assert rules_doc.main(["--check", "--output", str(out)]) == 0


def test_empty_registry_index() -> None:
    assert "No rules are registered yet." in rules_doc.index_markdown(())
