"""`dockopt verify --output-format markdown`: the pull-request summary, from a report
measured through a verify session (the fake engine with real OCI exports and a
stand-in scanner), and its escaping of text that comes from the images."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from scanner_standin import stand_in
from test_verify_scan import Exporting, _case

from dockopt.rewriter.verify import report as vreport
from dockopt.rewriter.verify import session
from dockopt.rewriter.verify.history import Layer
from dockopt.rewriter.verify.markdown import _code, format_markdown


def _report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> vreport.VerifyReport:
    stand_in(tmp_path / "bin", "trivy", ["trivy-alpine-39-high-critical.json",
                                         "trivy-alpine-distroless.json"])
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "case").mkdir()
    return session.verify(_case(tmp_path / "case"), engine=Exporting(),
                          options=session.Options(scanner="auto", rebuild=False))


def test_markdown_summary_has_every_figure(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report(tmp_path, monkeypatch)
    md = format_markdown(report)
    assert md.startswith("### dockopt verify: `")
    table = [line for line in md.splitlines() if line.startswith("| ")]
    rows = {line.split(" | ")[0][2:]: line for line in table}
    assert "| | original | rewritten | change |" in md
    for label in ("builds", "image size", "cold build", "layers", "wasted space (dive)",
                  "OS packages", "build tools", "user", "smoke test",
                  "vulnerabilities (trivy)"):
        assert label in rows, label
    assert rows["OS packages"] == "| OS packages | 3 | 1 | -2 |"
    assert "node packages" not in rows  # 0 -> 0 rows are left out
    assert rows["vulnerabilities (trivy)"] == (
        "| vulnerabilities (trivy) | 2 critical | 1 medium, 1 unknown | same count |")
    assert "| wasted space (dive) | 0.0 MB (" in rows["wasted space (dive)"]
    assert "- OS packages removed (2): `gcc-12`, `make`" in md
    assert "- gone (2): `CVE-2019-14697 musl` (critical), `CVE-2019-14697 musl-utils`" in md
    assert "<details><summary>Vulnerabilities gone and new</summary>" in md
    # Every table row has the header's four columns (escaped pipes are no separators).
    assert all(len(re.split(r"(?<!\\)\|", line)) == 6 for line in table), table


def test_markdown_escapes_text_from_the_image() -> None:
    assert _code("RUN a | b") == "`RUN a \\| b`"
    assert _code("echo `x`") == "`` echo `x` ``"
    assert _code("x" * 200, 20) == "`" + "x" * 17 + "...`"
    o = vreport.Measurement("original", built=True, size_bytes=10, layers=1,
                            layer_history=[Layer(0, "", 10, "RUN a | b\n| c", False)])
    r = vreport.Measurement("rewritten", built=True, size_bytes=5, layers=1,
                            layer_history=[Layer(0, "", 5, "RUN x", False)])
    md = format_markdown(vreport.VerifyReport("Docker|file", "fake", True, ["DO1"], o, r))
    assert "| `RUN a \\| b \\| c` | 0.0 MB | - | gone |" in md
    assert "### dockopt verify: `Docker\\|file`" in md


def test_markdown_for_no_rewrite_and_for_a_regression() -> None:
    assert "Nothing to fix" in format_markdown(
        vreport.VerifyReport("Dockerfile", "fake", False, [], None, None))
    o = vreport.Measurement("original", built=True, size_bytes=10)
    r = vreport.Measurement("rewritten", built=False, error="build-failed")
    report = vreport.VerifyReport("Dockerfile", "fake", True, ["DO605"], o, r,
                                  ["the rewrite does not build (build-failed)"])
    md = format_markdown(report)
    assert "**regression**: the rewrite does not build (build-failed)" in md
    assert "| builds | yes | no (build-failed) |  |" in md


def test_cli_markdown_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from dockopt.rewriter.cli.verify import verify as verify_command
    from dockopt.rewriter.verify import engines

    engine = Exporting()
    monkeypatch.setattr(engines, "make_engine", lambda name, timeout=0: engine)
    monkeypatch.setattr("dockopt.rewriter.verify.scan.shutil.which", lambda name: None)
    (tmp_path / "case").mkdir()
    dockerfile = _case(tmp_path / "case")
    result = CliRunner().invoke(verify_command, [str(dockerfile), "--unsafe-fixes", "-q",
                                                 "--no-rebuild", "--output-format",
                                                 "markdown"])
    assert result.output.startswith("### dockopt verify: "), result.output
    assert "Vulnerabilities: no scan: neither trivy nor grype is on PATH" in result.output
    assert "| OS packages | 3 | 1 | -2 |" in result.output
