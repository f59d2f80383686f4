"""Shared helpers for the DO101 (builder/runtime split) tests: write a build context,
run the transform alone, and check a split's output."""

from __future__ import annotations

from pathlib import Path

import dockerfile

from dockopt.rewriter.config import Settings
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Context, Finding
from dockopt.transforms.split.single_stage import SingleStageBuild, apply_edits


def write_context(tmp_path: Path, files: dict[str, str]) -> BuildContext:
    """A build context at ``tmp_path/ctx`` holding ``files`` (relative path -> text)."""
    root = tmp_path / "ctx"
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return BuildContext(root)


def findings(text: str, build: BuildContext | None = None) -> list[Finding]:
    """DO101's findings on ``text`` alone (default settings)."""
    ctx = Context(parse(text), Settings(), "Dockerfile", build)
    return list(SingleStageBuild().check(ctx))


def only(text: str, build: BuildContext | None = None) -> Finding:
    found = findings(text, build)
    assert len(found) == 1, found
    return found[0]


def split(text: str, build: BuildContext | None) -> str:
    """The split's output, checked: it parses (ours and BuildKit's parser), it adds
    exactly one stage, and DO101 finds nothing more in it."""
    f = only(text, build)
    assert f.fix is not None and f.fix.edits, f.message
    return checked_output(text, f, build)


def checked_output(text: str, f: Finding, build: BuildContext | None) -> str:
    """``f``'s split applied to ``text``, checked as :func:`split` says."""
    assert f.fix is not None
    out = apply_edits(text, f.fix.edits)
    tree = parse(out)
    assert not tree.has_errors
    assert len(tree.stages) == len(parse(text).stages) + 1
    dockerfile.parse_string(out)
    assert findings(out, build) == [], "not idempotent"
    return out


def check_golden_case(folder: Path) -> None:
    """A golden split case (``Dockerfile``, ``context/``, optional ``expected.Dockerfile``):
    with an expected file, the one DO101 finding's fix gives exactly it, through the
    checks of :func:`checked_output`; without one, the finding is a suggestion only."""
    text = (folder / "Dockerfile").read_text()
    build = BuildContext(folder / "context", dockerfile=str(folder / "Dockerfile"))
    f = only(text, build)
    if (folder / "expected.Dockerfile").is_file():
        assert f.fix is not None
        assert checked_output(text, f, build) == (folder / "expected.Dockerfile").read_text()
    else:
        assert f.fix is None and "Suggestion only" in f.message
