"""`check` writes its report file by file (issue 15: memory flat over 100,000 files):
the streamed output of every format is byte for byte what the whole-run formatters
of ``rewriter.cli.output`` (the non-streaming reference) return for the same reports.

The reports are the findings of every golden case's Dockerfile (with its context),
plus files that take the odd paths: no findings at all, a file of control characters
and undecodable bytes in paths and messages, an empty run; for SARIF, with and
without engine notifications.  The CLI runs end to end too: over the golden tree its
output in every format equals the reference rendering of the findings it reports
(read back from its own JSON), and ``-o FILE`` holds what stdout would.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockopt.rewriter.cli import output, stream
from dockopt.rewriter.cli.output import OUTPUT_FORMATS, FileReport
from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check
from dockopt.rewriter.rules_doc import all_rules
from dockopt.transforms.base import Edit, Finding, Fix, Safety

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def _golden_reports() -> list[FileReport]:
    reports = []
    settings = Settings(unsafe_fixes=True)
    for case in sorted(p.parent for p in GOLDEN.glob("*/*/Dockerfile")):
        text = (case / "Dockerfile").read_text(encoding="utf-8", errors="surrogateescape")
        context = case / "context" if (case / "context").is_dir() else None
        found, _ = check(text, path=f"{case.parent.name}/{case.name}/Dockerfile",
                         context=context, settings=settings)
        reports.append(FileReport(f"{case.parent.name}/{case.name}/Dockerfile", text,
                                  output.sorted_findings(found)))
    odd = "FROM a\x1b]0;x\x07\nRUN \udcff\n"
    # (A path with undecodable bytes makes format_sarif raise: not streaming's concern.)
    reports.append(FileReport("odd,dir:x/\u00e9\x1b/Dockerfile", odd, (
        Finding("DO201", "odd", "m\x1b[31m \udcff, %0A", 2, 5, 2, 6, "error",
                Fix((Edit(0, 4, "X\n\"y\""),), Safety.UNSAFE, "\x07 fix")),
        Finding("DO201", "odd", "again", 2, 5, 2, 6, "style"))))
    reports.append(FileReport("clean/Dockerfile", "FROM scratch\n", ()))
    return reports


@pytest.fixture(scope="module")
def reports() -> list[FileReport]:
    found = _golden_reports()
    assert sum(len(r.findings) for r in found) > 500  # a real sample, not an empty one
    return found


def _reference(fmt: str, reports: list[FileReport], notifications: list[tuple[str, str]],
               color: bool, unsafe: bool) -> str:
    rules = all_rules()
    if fmt in ("text", "concise"):
        return output.format_text(reports, color=color, unsafe_fixes=unsafe,
                                  concise=fmt == "concise")
    if fmt == "full":
        return output.format_full(reports, color=color, unsafe_fixes=unsafe)
    if fmt == "sarif":
        return output.format_sarif(reports, rules, version="9.9.9",
                                   notifications=notifications)
    render = {"json": output.format_json, "json-lines": output.format_json_lines,
              "github": output.format_github, "gitlab": output.format_gitlab,
              "junit": output.format_junit, "checkstyle": output.format_checkstyle}
    return render[fmt](reports)


def _streamed(fmt: str, reports: list[FileReport], notifications: list[tuple[str, str]],
              color: bool, unsafe: bool) -> str:
    out = io.StringIO()
    render = stream.renderer(fmt, out.write, color=color, unsafe_fixes=unsafe,
                             rules=all_rules(), version=lambda: "9.9.9")
    for r in reports:
        render.file(r)
    render.close(notifications)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ("concise", *OUTPUT_FORMATS))
@pytest.mark.parametrize("variant", ("golden", "empty", "notified"))
def test_streamed_output_equals_the_whole_run_formatter(
        reports: list[FileReport], fmt: str, variant: str) -> None:
    some = [] if variant == "empty" else reports
    notes = [("a/Dockerfile", "DO003 x crashed"), ("b\x1b/D", "\udcff")] \
        if variant == "notified" else []
    for color in (False, True):
        for unsafe in (False, True):
            expected = _reference(fmt, some, notes, color, unsafe)
            assert _streamed(fmt, some, notes, color, unsafe) == expected
    if variant == "golden" and fmt in ("json", "gitlab", "sarif"):
        json.loads(_reference(fmt, some, notes, False, False))  # the reference is JSON


@pytest.mark.parametrize("some", ("golden", "empty"))
def test_tally_equals_the_whole_run_summary_and_statistics(
        reports: list[FileReport], some: str) -> None:
    chosen = reports if some == "golden" else []
    for unsafe in (False, True):
        tally = stream.Tally(unsafe)
        for r in chosen:
            tally.add(r)
        assert tally.summary() == output.check_summary(chosen, unsafe_fixes=unsafe)
        for as_json in (False, True):
            assert tally.statistics(as_json) == output.format_statistics(
                chosen, unsafe_fixes=unsafe, as_json=as_json)


# --- the command, end to end ----------------------------------------------------------


def _dockopt(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          capture_output=True, timeout=600, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream") / "projects"
    for case in sorted(p.parent for p in GOLDEN.glob("*/*/Dockerfile"))[:60]:
        dest = root / f"{case.parent.name}--{case.name}"
        if (case / "context").is_dir():
            shutil.copytree(case / "context", dest)
        else:
            dest.mkdir(parents=True)
        shutil.copyfile(case / "Dockerfile", dest / "Dockerfile")
    return root


_SAFETY = {s.label: s for s in Safety}


def _cli_reports(tree: Path) -> list[FileReport]:
    """The command's own findings, read back from its JSON output (every field the
    formats print is in it), grouped per file in its order."""
    run = _dockopt("check", "--unsafe-fixes", "--jobs", "1", "--output-format", "json",
                   ".", cwd=tree.parent)
    records = json.loads(run.stdout)
    assert records
    reports: list[FileReport] = []
    for rec in records:
        path = rec["file"]
        text = (tree.parent / path).read_text(encoding="utf-8", errors="surrogateescape")
        fix = None
        if rec["fix"] is not None:
            # The formats compared print no edit, only whether there is one.
            fix = Fix(tuple(Edit(0, 0, "") for _ in rec["fix"]["edits"]),
                      _SAFETY[rec["fix"]["applicability"]], rec["fix"]["message"])
        f = Finding(rec["code"], rec["name"], rec["message"], rec["line"], rec["column"],
                    rec["endLine"], rec["endColumn"], rec["level"], fix)
        if not reports or reports[-1].path != path:
            reports.append(FileReport(path, text, ()))
        reports[-1] = FileReport(path, text, (*reports[-1].findings, f))
    return reports


@pytest.mark.parametrize("fmt", ("text", "concise", "github", "checkstyle"))
def test_the_command_streams_what_the_formatter_prints(tree: Path, fmt: str) -> None:
    """(Formats that print no fix edits: the JSON read back has their positions
    only.)"""
    reports = _cli_reports(tree)
    run = _dockopt("check", "--unsafe-fixes", "--jobs", "1", "--output-format", fmt, ".",
                   cwd=tree.parent)
    assert run.returncode == 1, run.stderr.decode()[-2000:]
    expected = _reference(fmt, reports, [], False, True)
    if fmt == "checkstyle":  # files without findings have a block too: compare the rest
        got = run.stdout.decode("utf-8", "surrogateescape")
        assert [ln for ln in got.splitlines() if "<error " in ln] == \
            [ln for ln in expected.splitlines() if "<error " in ln]
        return
    assert run.stdout.decode("utf-8", "surrogateescape") == expected


@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
def test_output_file_holds_what_stdout_prints(tree: Path, fmt: str, tmp_path: Path) -> None:
    target = tmp_path / "out" / f"report.{fmt}"
    to_stdout = _dockopt("check", "--unsafe-fixes", "--jobs", "1", "--output-format", fmt,
                         ".", cwd=tree.parent)
    to_file = _dockopt("check", "--unsafe-fixes", "--jobs", "1", "--output-format", fmt,
                       "-o", str(target), ".", cwd=tree.parent)
    assert to_file.returncode == to_stdout.returncode == 1
    assert to_file.stdout == b""
    assert target.read_bytes() == to_stdout.stdout
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left


def test_output_file_that_cannot_be_written_is_an_error(tree: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = _dockopt("check", "--jobs", "1", "-o", str(blocker / "report.txt"), ".",
                   cwd=tree.parent)
    assert run.returncode == 2
    assert f"{blocker / 'report.txt'}: cannot write:" in run.stderr.decode()
