"""DO601 / DO602 beyond the golden cases: no-fix reasons, BuildKit parse of outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import apply_edits, check
from dockopt.transforms.base import Fix

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SETTINGS = settings_from_dict({"select": ["DO601", "DO602"]}, "<test>")


def _findings(case: Path) -> list[tuple[str, bool, str]]:
    build = BuildContext(case / "context", dockerfile=str(case / "Dockerfile")) \
        if (case / "context").is_dir() else None
    text = (case / "Dockerfile").read_bytes().decode()
    found, _ = check(text, path="Dockerfile", context=build, settings=SETTINGS)
    return [(f.code, f.fix is not None, f.message) for f in found]


@pytest.mark.parametrize(("case", "reason"), [
    ("negative-env-names-source", "ENV on line 4 names /app/constraints/prod.txt"),
    ("negative-run-generates-files", "the RUN on line 4 may use the copied source"),
    ("negative-pip-editable", "local path needs the source"),
    ("negative-cargo", "cargo needs the source"),
    ("negative-npm-postinstall", "runs `postinstall` on install"),
])
def test_negatives_are_findings_without_fix(case: str, reason: str) -> None:
    got = [f for f in _findings(GOLDEN / "manifests-after-source" / case) if f[0] == "DO601"]
    assert len(got) == 1 and not got[0][1], got
    assert reason in got[0][2]


def test_no_context_is_silent() -> None:
    assert _findings(GOLDEN / "manifests-after-source" / "negative-no-context") == []


def test_lockfile_messages_name_the_lockfile() -> None:
    for case in sorted((GOLDEN / "lockfile-ignored").iterdir()):
        for code, has_fix, message in _findings(case):
            if code == "DO602" and has_fix and "npm ci" in message:
                assert "package-lock.json" in message or "npm-shrinkwrap.json" in message


@pytest.mark.parametrize("name", ["manifests-after-source", "lockfile-ignored"])
def test_expected_outputs_parse_under_buildkit(name: str) -> None:
    dockerfile = pytest.importorskip("dockerfile")
    for expected in sorted((GOLDEN / name).glob("*/expected.Dockerfile")):
        text = expected.read_bytes().decode()
        parsed = dockerfile.parse_string(text)
        kinds = [c.cmd.upper() for c in parsed]
        assert "FROM" in kinds, expected
        original = dockerfile.parse_string((expected.parent / "Dockerfile").read_bytes().decode())
        # Nothing lost: every COPY source of the input is still copied.
        before = sorted(" ".join(c.value) for c in original if c.cmd.upper() in ("COPY", "ADD"))
        after = [" ".join(c.value) for c in parsed if c.cmd.upper() in ("COPY", "ADD")]
        assert all(b in after for b in before), expected


def _do601_fix(text: str, tmp_path: Path) -> Fix:
    (tmp_path / "requirements.txt").write_text("flask==2.2.5\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    found, _ = check(text, path="Dockerfile", context=BuildContext(tmp_path), settings=SETTINGS)
    fixes = [f.fix for f in found if f.code == "DO601" and f.fix is not None]
    assert len(fixes) == 1
    return fixes[0]


SPLITTABLE = ("FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
              'CMD ["python", "app.py"]\n')


def test_do601_claims_a_stage_the_split_may_take(tmp_path: Path) -> None:
    # It reserves the whole final stage, so no other transform edits it in this pass
    # and DO101 splits the reordered stage next (manifests._claim_stage); its own
    # edits stay the two small ones (diffs, editor quick fixes).
    fix = _do601_fix(SPLITTABLE, tmp_path)
    assert [(e.start, e.end) for e in fix.reserves] == [(0, len(SPLITTABLE))]
    assert len(fix.edits) == 2
    out = apply_edits(SPLITTABLE, fix.edits)
    assert out.index("COPY requirements.txt") < out.index("RUN pip") < out.index("COPY . .")


def test_do601_edits_only_its_lines_in_a_runtime_stage(tmp_path: Path) -> None:
    # A final stage built on an earlier one is not DO101's: no claim, the usual edits
    # (the COPY line and the RUN line), neither of which reaches the stage's FROM.
    text = "FROM python:3.11 AS base\nRUN true\n\n" + SPLITTABLE.replace(
        "FROM python:3.11\n", "FROM base\n")
    (tmp_path / "requirements.txt").write_text("flask==2.2.5\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    found, _ = check(text, path="Dockerfile", context=BuildContext(tmp_path), settings=SETTINGS)
    fix = next(f.fix for f in found if f.code == "DO601" and f.fix is not None)
    assert len(fix.edits) == 2 and fix.reserves == ()
    assert min(e.start for e in fix.edits) == text.index("COPY . .")
