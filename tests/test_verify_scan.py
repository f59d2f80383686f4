"""verify's vulnerability delta: the parsers on JSON reports recorded from the real
scanners (tests/data/scanners, see its README), the scanner choice, and the whole
path through a verify session with stand-in scanner executables on PATH that check
their arguments and the archive they are given, then print such a report."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
from scanner_standin import stand_in
from test_verify import FakeEngine
from verify_layouts import oci_layout, tar_folder

from dockopt.rewriter.verify import engines, scan, session
from dockopt.rewriter.verify import report as vreport

DATA = Path(__file__).parent / "data" / "scanners"


def _load(name: str) -> dict[str, object]:
    doc = json.loads((DATA / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_trivy_reports_parse_and_compare() -> None:
    before = scan.parse("trivy", _load("trivy-alpine-39-high-critical.json"))
    after = scan.parse("trivy", _load("trivy-alpine-distroless.json"))
    assert [(f.id, f.package, f.severity, f.fixed) for f in before.findings] == [
        ("CVE-2019-14697", "musl", "CRITICAL", "1.1.20-r5"),
        ("CVE-2019-14697", "musl-utils", "CRITICAL", "1.1.20-r5")]
    # An OS package and a Go module inside a binary (lang-pkgs) both count.
    assert {(f.id, f.package, f.severity) for f in after.findings} == {
        ("CVE-2022-24765", "git", "MEDIUM"),
        ("CVE-2021-38561", "golang.org/x/text", "UNKNOWN")}
    delta = scan.compare(before, after)
    assert (delta.before_total, delta.after_total) == (2, 2)
    assert delta.before["CRITICAL"] == 2 and delta.after["MEDIUM"] == 1
    assert scan.format_ids(delta.gone) == "CVE-2019-14697 (musl, musl-utils)"
    assert scan.format_ids(delta.new) == ("CVE-2022-24765 (git), "
                                          "CVE-2021-38561 (golang.org/x/text)")
    assert scan.format_counts(delta.after) == "1 medium, 1 unknown"


def test_grype_reports_parse_and_compare() -> None:
    before = scan.parse("grype", _load("grype-images-presenter.json"))
    after = scan.parse("grype", _load("grype-empty.json"))
    assert [(f.id, f.package, f.version, f.severity, f.fixed) for f in before.findings] == [
        ("CVE-1999-0002", "package-2", "2.2.2", "CRITICAL", ""),
        ("CVE-1999-0001", "package-1", "1.1.1", "LOW", "1.2.1, 2.1.3, 3.4.0")]
    delta = scan.compare(before, after)
    assert (delta.before_total, delta.after_total) == (2, 0) and delta.new == []
    assert scan.format_counts(delta.after) == "none"


def test_scanner_choice_says_why() -> None:
    both = {"trivy": "/x/trivy", "grype": "/x/grype"}
    assert scan.choose("auto", both.get)[0] == "trivy"
    assert scan.choose("auto", {"grype": "/x/grype"}.get) == (
        "grype", "grype (the first scanner found on PATH)")
    name, why = scan.choose("auto", {}.get)
    assert name == "none" and "neither trivy nor grype is on PATH" in why
    assert scan.choose("grype", {}.get) == ("none", "grype is not on PATH: no scan")
    assert scan.choose("none", both.get)[0] == "none"


class Exporting(FakeEngine):
    """The fake engine, with images that export as real OCI archives (the rewrite:
    no compiler, fewer packages)."""

    def export(self, tag: str, dest: Path, *, scannable: bool = False) -> str:
        rewritten = "rewritten" in tag
        packages = ["libc6"] if rewritten else ["libc6", "gcc-12", "make"]
        status = "".join(f"Package: {p}\nStatus: install ok installed\nVersion: 1\n\n"
                         for p in packages).encode()
        layers: list[list[tuple[object, ...]]] = [[("f", "var/lib/dpkg/status", status)]]
        if not rewritten:
            layers[0].append(("f", "usr/bin/gcc-12", b"elf", 0o755))
            layers.append([("f", "tmp/big.tar", b"x" * 4000)])
            layers.append([("wh", "tmp/big.tar")])
        folder = oci_layout(dest.with_suffix(".d"), layers)
        tar_folder(folder, dest)
        return "oci-archive"


def _case(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("print('hi')\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11\nCOPY . .\nRUN apt-get update\n"
                          "RUN apt-get install -y curl\nCMD [\"python\", \"app.py\"]\n")
    return dockerfile


@pytest.mark.parametrize("name,reports", [
    ("trivy", ["trivy-alpine-39-high-critical.json", "trivy-alpine-distroless.json"]),
    ("grype", ["grype-images-presenter.json", "grype-empty.json"]),
])
def test_verify_runs_the_scanner_on_both_exports(tmp_path: Path, name: str,
                                                 reports: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, name, reports)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    case = tmp_path / "case"
    case.mkdir()
    report = session.verify(_case(case), engine=Exporting(),
                            options=session.Options(scanner="auto", rebuild=False))
    assert report.scanner == name and "first scanner found on PATH" in report.scanner_note
    assert (bin_dir / "calls").read_text() == "2"  # once per image
    delta = report.vulnerability_delta()
    assert delta is not None and delta.before_total == 2
    data = report.to_dict()
    assert data["vulnerability_delta"]["before_total"] == 2
    assert data["original"]["vulnerabilities"]["scanner"] == name
    inventory = {d["label"]: d for d in data["inventory_delta"]}
    assert inventory["OS packages"]["removed"] == ["gcc-12", "make"]
    assert inventory["build tools"]["removed"] == ["gcc-12"]
    assert data["original"]["waste"]["wasted_bytes"] == 4000
    text = vreport.format_text(report)
    assert f"vulnerabilities ({name} (the first scanner found on PATH)): 2 ->" in text
    assert "OS packages 3 -> 1 (-2; removed: gcc-12, make)" in text


def test_a_failing_scanner_is_a_note_not_an_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "trivy", [])  # no report: the DB "cannot be downloaded"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    case = tmp_path / "case"
    case.mkdir()
    report = session.verify(_case(case), engine=Exporting(),
                            options=session.Options(scanner="trivy", rebuild=False))
    assert report.original is not None and report.original.vulnerabilities is not None
    assert "failed to download vulnerability DB" in (
        report.original.vulnerabilities.error or "")
    assert report.vulnerability_delta() is None and report.fatal is None
    assert "scan failed" not in vreport.format_text(report)
    assert "trivy exited 1" in vreport.format_text(report)


def test_no_scanner_on_path_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan.shutil, "which", lambda name: None)
    report = session.verify(_case(tmp_path), engine=Exporting(),
                            options=session.Options(scanner="auto", rebuild=False))
    assert report.scanner == "none"
    assert "vulnerabilities: no scan: neither trivy nor grype is on PATH" in \
        vreport.format_text(report)
    assert report.to_dict()["vulnerability_delta"] is None


def test_the_archive_the_stand_in_reads_is_real(tmp_path: Path) -> None:
    # The export the scanners get is the OCI archive the layer reader reads.
    dest = tmp_path / "x.tar"
    assert Exporting().export("localhost/a:rewritten-1", dest) == "oci-archive"
    with tarfile.open(dest) as tar:
        assert "index.json" in tar.getnames()
    # An engine without an export says so; verify turns that into a note.
    with pytest.raises(engines.EngineError, match="cannot export"):
        FakeEngine().export("t", dest)
