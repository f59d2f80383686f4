"""`dockopt bulk --verify` without builds: the keep/leave decision and the per-file
record fed with real verify result objects (Measurement, VerifyReport with the
problems ``session.compare`` finds, inventories, scans parsed from the recorded
scanner reports in tests/data/scanners), summary.md's verification section from a
journal of such records, merge-reports carrying it, and the CLI's option rules.
The builds themselves are in tests/e2e/test_bulk_org_verify.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_bulk import make_repo

from dockopt.rewriter.bulk import verifying
from dockopt.rewriter.bulk.journal import CHANGED, UNCHANGED, Journal
from dockopt.rewriter.bulk.reports import load_summary, merge_reports, write_reports
from dockopt.rewriter.bulk.repos import Repo
from dockopt.rewriter.bulk.runner import RunConfig, run
from dockopt.rewriter.bulk.worker import Options
from dockopt.rewriter.cli.bulk import bulk
from dockopt.rewriter.verify import scan
from dockopt.rewriter.verify.inventory import Inventory
from dockopt.rewriter.verify.layerfs import Waste
from dockopt.rewriter.verify.report import Measurement, SmokeResult, VerifyReport
from dockopt.rewriter.verify.session import compare

DATA = Path(__file__).parent / "data" / "scanners"


def _scan(name: str) -> scan.ScanResult:
    return scan.parse("trivy", json.loads((DATA / name).read_text(encoding="utf-8")))


def _built(variant: str, size_mb: float, *, smoke_ok: bool = True,
           packages: tuple[str, ...] = ("libc6",), user: str = "root (uid 0)",
           scanned: str | None = None) -> Measurement:
    m = Measurement(variant, built=True, cold_seconds=12.0, rebuild_seconds=3.0,
                    rebuild_ok=True, size_bytes=int(size_mb * 1e6), layers=4,
                    user=user.split(" ")[0],
                    smoke=SmokeResult(["./run"], 0 if smoke_ok else 1, "out", smoke_ok))
    m.waste = Waste(efficiency=0.97, wasted_bytes=2_000_000, hidden_bytes=0,
                    total_bytes=int(size_mb * 1e6))
    m.inventory = Inventory("dpkg", {p: "1" for p in packages}, user=user)
    if scanned is not None:
        m.vulnerabilities = _scan(scanned)
    return m


def _failed(variant: str, log: str) -> Measurement:
    return Measurement(variant, built=False, error="build-failed", cold_seconds=3.0,
                       log_tail=log)


def _report(original: Measurement, rewritten: Measurement | None,
            fatal: str | None = None) -> VerifyReport:
    report = VerifyReport("org/app/Dockerfile", "buildah", True, ["DO201", "DO604"],
                          original, rewritten, scanner="trivy", scanner_note="trivy")
    if fatal is not None:
        report.fatal = fatal
    elif rewritten is not None:
        report.problems = compare(original, rewritten)  # verify's own verdict
    return report


def test_a_rewrite_that_builds_smaller_and_passes_is_kept() -> None:
    report = _report(_built("original", 200, packages=("libc6", "gcc-12", "make"),
                            scanned="trivy-alpine-39-high-critical.json"),
                     _built("rewritten", 90, user="app (uid 10001)",
                            scanned="trivy-alpine-distroless.json"))
    assert verifying.decide(report) == (verifying.VERIFIED, None)
    record = verifying.summarize(report, verifying.VERIFIED, None)
    assert record["original"]["size_bytes"] == 200_000_000
    assert record["rewritten"]["size_bytes"] == 90_000_000
    assert record["ratios"]["size"] == 0.45
    assert record["original"]["os_packages"] == 3 and record["rewritten"]["os_packages"] == 1
    assert record["rewritten"]["wasted_bytes"] == 2_000_000
    assert record["rewritten"]["rebuild_seconds"] == 3.0
    os_packages = next(d for d in record["contents"] if d["label"] == "OS packages")
    assert (os_packages["before"], os_packages["after"]) == (3, 1)
    assert os_packages["removed"] == ["gcc-12", "make"]
    vulns = record["vulnerabilities"]
    assert vulns["before"]["CRITICAL"] == 2 and vulns["after"]["MEDIUM"] == 1
    assert vulns["gone"] == ["CVE-2019-14697 musl", "CVE-2019-14697 musl-utils"]
    assert "CVE-2022-24765 git" in vulns["new"]
    assert "log_tail" not in record
    json.dumps(record)  # plain JSON data, for the journal


@pytest.mark.parametrize(("rewritten", "why"), [
    (_failed("rewritten", "STEP 6/8: RUN sh build.sh\ncat: 'certs/a.pem': No such file"),
     "the rewrite does not build (build-failed)"),
    (_built("rewritten", 90, smoke_ok=False), "the smoke test fails only after the rewrite"),
    (_built("rewritten", 250), "the image got bigger (200.0 MB -> 250.0 MB)"),
])
def test_a_rewrite_that_regresses_is_left_unchanged_with_the_reason(
        rewritten: Measurement, why: str) -> None:
    report = _report(_built("original", 200), rewritten)
    outcome, reason = verifying.decide(report)
    assert outcome == verifying.REWRITE_FAILS
    assert reason == f"rewrite rejected by --verify: {why}: left unchanged"
    record = verifying.summarize(report, outcome, reason)
    if not rewritten.built:
        assert record["log_tail"].endswith("cat: 'certs/a.pem': No such file")
    rec: dict[str, Any] = {"status": CHANGED, "added": 9, "removed": 2, "codes": [
        {"code": "DO201", "name": "apt-install-recommends", "fixes": 1}],
        "context_bytes_saved": 120}
    rec["verify"] = record
    verifying._leave_unchanged(rec, reason or "", report.codes)
    assert rec["status"] == UNCHANGED and (rec["added"], rec["removed"]) == (0, 0)
    assert rec["codes"] == [] and rec["context_bytes_saved"] is None  # nothing counted
    assert rec["verify"]["codes"] == ["DO201", "DO604"] and rec["reason"] == reason


def test_an_original_that_does_not_build_or_no_engine_leaves_the_file() -> None:
    broken = _report(_failed("original", "Error: building at STEP \"RUN exit 3\""),
                     _built("rewritten", 90),
                     fatal="the original does not build; nothing to compare against")
    outcome, reason = verifying.decide(broken)
    assert outcome == verifying.ORIGINAL_FAILS
    assert reason is not None and reason.startswith("the original does not build")
    assert verifying.summarize(broken, outcome, reason)["log_tail"].endswith("RUN exit 3\"")
    no_engine = _report(_built("original", 200), None,
                        fatal="buildah: cannot connect\nmore detail")
    assert verifying.decide(no_engine) == (
        verifying.NOT_VERIFIED, "not verified (buildah: cannot connect): left unchanged")


def test_markdown_block_is_collapsed_escaped_and_fences_the_log() -> None:
    report = _report(_built("original", 200), _failed("rewritten", "a ``` b\nlast line"))
    block = verifying.markdown_block("<org>/x", "Dockerfile", report, verifying.REWRITE_FAILS)
    assert block.startswith("<details><summary>&lt;org&gt;/x: Dockerfile: rewrite-fails, "
                            "200.0 MB → -</summary>\n")
    assert "**regression**: the rewrite does not build" in block
    assert "\n````text\na ``` b\nlast line\n````\n" in block  # a longer fence than the log's
    assert block.endswith("</details>\n\n")


def _journal(out: Path, repo: str, files: list[dict[str, Any]]) -> None:
    journal = Journal(str(out), resume=False)
    journal.append({"kind": "start", "repo": repo, "path": f"/src/{repo}",
                    "files": len(files), "notes": []})
    for f in files:
        entry = {"kind": "file", "repo": repo, "file": f, "patch_end": 0, "claims": {}}
        markdown = f.pop("verify_markdown", None)
        if markdown is not None:
            entry["verify_markdown"] = markdown
        journal.append(entry)
    journal.append({"kind": "end", "repo": repo, "status": CHANGED, "reason": None,
                    "finished_at": 1.0})
    journal.close()


def _verified_file(path: str, report: VerifyReport, repo: str) -> dict[str, Any]:
    outcome, reason = verifying.decide(report)
    f: dict[str, Any] = {"path": path, "status": CHANGED if reason is None else UNCHANGED,
                         "added": 3 if reason is None else 0, "removed": 1 if reason is None
                         else 0, "codes": [], "context": ".", "context_source": "default",
                         "verify": verifying.summarize(report, outcome, reason),
                         "verify_markdown": verifying.markdown_block(repo, path, report,
                                                                     outcome)}
    if reason is not None:
        f["reason"] = reason
    return f


def test_summary_has_a_verification_section_and_merge_keeps_it(tmp_path: Path) -> None:
    kept = _report(_built("original", 200), _built("rewritten", 90))
    rejected = _report(_built("original", 200), _failed("rewritten", "no | such file"))
    _journal(tmp_path / "s1", "api", [_verified_file("Dockerfile", kept, "api")])
    _journal(tmp_path / "s2", "web", [_verified_file("Dockerfile", rejected, "web")])
    merged = tmp_path / "merged"
    merge_reports([str(tmp_path / "s1"), str(tmp_path / "s2")], str(merged))
    totals = load_summary(str(merged))["totals"]
    assert totals["verify"] == {"rewrite-fails": 1, "verified": 1}
    md = (merged / "summary.md").read_text()
    section = md.split("## Verification: 2 Dockerfiles built before and after "
                       "(1 rewrite-fails, 1 verified)\n", 1)[1]
    assert "| api | Dockerfile | verified | 200.0 → 90.0 MB | 3.0 → 3.0 s |  |" in section
    assert ("| web | Dockerfile | rewrite-fails | 200.0 → - MB | 3.0 → - s | rewrite "
            "rejected by --verify: the rewrite does not build (build-failed): left "
            "unchanged |") in section
    assert section.index("<details><summary>api: Dockerfile: verified") < \
        section.index("<details><summary>web: Dockerfile: rewrite-fails")
    assert "no | such file" in section  # the log tail, in its fence
    # The repository's row and list item say a rewrite was left out, and where to look.
    assert ("| web | changed | 0/1 | +0/-0 |  | 1 rewrite(s) left out by --verify (see "
            "Verification) |") in md
    assert "| api | changed | 1/1 | +3/-1 |  |  |" in md
    # A report without --verify records has neither the section nor the totals key.
    plain = tmp_path / "plain"
    _journal(plain, "api", [{"path": "Dockerfile", "status": UNCHANGED, "codes": [],
                             "context": ".", "context_source": "default"}])
    write_reports(str(plain))
    assert "verify" not in load_summary(str(plain))["totals"]
    assert "Verification" not in (plain / "summary.md").read_text()


def test_a_file_that_cannot_be_verified_is_not_written(tmp_path: Path) -> None:
    """The run itself with --verify, on an engine this machine does not have: the
    changed file gets no verdict, so it is left unchanged (no patch, not written)."""
    if shutil.which("podman") is not None:
        pytest.skip("podman is installed here: the engine would work")
    root = tmp_path / "org"
    text = b"FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"
    make_repo(root / "app", {"Dockerfile": text})
    steps: list[tuple[str, str, str]] = []

    class Progress:
        def repo_started(self, *args: Any) -> None: ...
        def file_done(self, *args: Any) -> None: ...
        def repo_finished(self, *args: Any) -> None: ...

        def file_verifying(self, name: str, path: str, step: str) -> None:
            steps.append((name, path, step))

    config = RunConfig(out=str(tmp_path / "out"), mode="write", jobs=1,
                       options=Options(unsafe_fixes=True),
                       verify=verifying.VerifySettings(engine="podman"))
    run([Repo("app", str(root / "app"))], config, Progress())
    f = load_summary(config.out)["repos"][0]["files"][0]
    assert f["status"] == UNCHANGED and f["verify"]["outcome"] == verifying.NOT_VERIFIED
    assert "podman" in f["reason"] and f["verify"]["codes"]
    assert (root / "app" / "Dockerfile").read_bytes() == text
    assert not (tmp_path / "out" / "patches" / "app.patch").exists()
    assert steps == [("app", "Dockerfile", "not-verified")]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(bulk, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_verify_options_need_verify_and_an_engine(tmp_path: Path) -> None:
    make_repo(tmp_path / "org" / "a", {"Dockerfile": b"FROM debian:12\n"})
    org = str(tmp_path / "org")
    for option in (["--engine", "buildah"], ["--scanner", "none"], ["--no-rebuild"],
                   ["--build-timeout", "60"], ["--smoke-timeout", "5"], ["--no-contents"]):
        code, output = _invoke(org, *option, "--out", str(tmp_path / "o"))
        assert code == 2 and f"{option[0]} needs --verify" in output, output
    if shutil.which("podman") is None:
        code, output = _invoke(org, "--verify", "--engine", "podman",
                               "--out", str(tmp_path / "o"))
        assert code == 2 and "--verify:" in output and "podman" in output, output


def test_resume_refuses_other_verify_options(tmp_path: Path) -> None:
    if shutil.which("buildah") is None:
        pytest.skip("needs buildah (the engine is tried before the run)")
    make_repo(tmp_path / "org" / "a", {"Dockerfile": b"FROM debian:12\n"})
    org, out = str(tmp_path / "org"), str(tmp_path / "o")
    assert _invoke(org, "--out", out)[0] == 0  # no --verify, nothing to build
    code, output = _invoke(org, "--out", out, "--resume", "--verify", "--engine", "buildah")
    assert code == 2 and "verify: null then, {" in output and '"engine": "buildah"' in output
