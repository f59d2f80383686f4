"""dockopt's SARIF validates against the official SARIF 2.1.0 schema (tests/data),
for every golden case (with its build context), with fixes, parse errors and engine
notifications."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockopt.rewriter.cli.output import FileReport, format_sarif, sorted_findings
from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check
from dockopt.transforms import REGISTRY

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
CASES = sorted(p.parent for p in (ROOT / "golden").glob("*/*/Dockerfile"))


def _validate(doc: dict[str, object]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_every_golden_case_gives_valid_sarif() -> None:
    assert len(CASES) > 100
    reports = []
    for case in CASES:
        text = (case / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape")
        context = case / "context" if (case / "context").is_dir() else None
        findings, _ = check(text, path="Dockerfile", context=context,
                            settings=Settings(unsafe_fixes=True))
        reports.append(FileReport(f"{case.relative_to(ROOT)}/Dockerfile", text,
                                  sorted_findings(findings)))
    doc = json.loads(format_sarif(reports, REGISTRY, version="0.1.0",
                                  notifications=[("x/Dockerfile", "DO003 crashed")]))
    results = doc["runs"][0]["results"]
    assert any("fixes" in r for r in results), "no fix was rendered: the test checks little"
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False
    _validate(doc)


def test_the_schema_rejects_a_broken_document() -> None:
    # The validator really validates: a result without a message is refused.
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                             "results": [{"ruleId": "X"}]}]}
    with pytest.raises(AssertionError):
        _validate(broken)
