"""`dockopt bulk`'s CLI conventions (issue 14), run as a user would: the real
`dockopt` in a subprocess, with the exit code and the shape of stdout/stderr and of
the reports checked (the style of test_cli_conventions.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXABLE = "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
CLEAN = 'FROM debian:12.5-slim\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["true"]\n'
BROKEN = "# syntax=docker/dockerfile:1\nFROM debian\nRUN <<EOF\necho never ends\n"


@dataclass
class Run:
    code: int
    out: str
    err: str


def dockopt(cwd: Path, *args: str) -> Run:
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(cwd)}
    proc = subprocess.run([sys.executable, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    (path / ".git").mkdir()  # all discovery (and --dry-run) needs
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    return path


@pytest.fixture
def org(tmp_path: Path) -> Path:
    """Repositories that change, stay the same, fail (a parse error), fail in part,
    and hold no Dockerfile."""
    root = tmp_path / "org"
    repo(root / "api", {"Dockerfile": FIXABLE})
    repo(root / "docs", {"Dockerfile": CLEAN})
    repo(root / "legacy", {"Dockerfile": BROKEN, "tools/Dockerfile": BROKEN})
    repo(root / "mixed", {"Dockerfile": FIXABLE, "old/Dockerfile": BROKEN})
    repo(root / "website", {"index.html": "<p>hi</p>\n"})
    return root


def test_quiet_prints_nothing_and_still_writes_the_reports(org: Path, tmp_path: Path) -> None:
    loud = dockopt(tmp_path, "bulk", str(org), "--out", "o1", "--jobs", "1")
    assert loud.code == 0
    assert "5 repositories: 2 changed" in loud.err  # the summary line
    assert "[1/5] api: changed" in loud.err  # progress
    quiet = dockopt(tmp_path, "bulk", str(org), "--out", "o2", "--jobs", "1", "-q")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    assert (tmp_path / "o2" / "summary.md").read_text() == \
           (tmp_path / "o1" / "summary.md").read_text()
    # a warning is not silenced by -q (as `dockopt check -q`)
    empty = tmp_path / "empty"
    empty.mkdir()
    run = dockopt(tmp_path, "bulk", str(empty), "--out", "o3", "-q")
    assert run.code == 0 and run.out == ""
    assert run.err.startswith("dockopt: warning: no git repositories found under")
    assert "repositories:" not in run.err  # but no summary line


def test_merge_reports_has_its_own_help(tmp_path: Path) -> None:
    run = dockopt(tmp_path, "bulk", "merge-reports", "-h")
    assert run.code == 0 and run.err == ""
    usage = run.out.splitlines()[0]
    assert usage.startswith("Usage: ") and usage.endswith(" bulk merge-reports [OPTIONS] OUT...")
    assert "--out DIR" in run.out
    assert "--git-branch" not in run.out and "--jobs" not in run.out  # not bulk's
    assert "`dockopt bulk merge-reports -h` shows its options" in dockopt(tmp_path, "bulk",
                                                                        "-h").out
    # its own arguments are checked as its own
    run = dockopt(tmp_path, "bulk", "merge-reports")
    assert run.code == 2 and " bulk merge-reports [OPTIONS] OUT..." in run.err
    assert "Missing argument 'OUT...'" in run.err


def test_merge_reports_still_merges(org: Path, tmp_path: Path) -> None:
    for k in (1, 2):
        assert dockopt(tmp_path, "bulk", str(org), "--shard", f"{k}/2", "--out", f"s{k}",
                       "-q").code == 0
    run = dockopt(tmp_path, "bulk", "merge-reports", "s1", "s2", "--out", "merged")
    assert run.code == 0 and "merged 2 reports: 5 repositories" in run.err
    assert dockopt(tmp_path, "bulk", str(org), "--out", "single", "-q").code == 0
    assert (tmp_path / "merged" / "summary.md").read_text() == \
           (tmp_path / "single" / "summary.md").read_text()
    run = dockopt(tmp_path, "bulk", "merge-reports", "s1", "nowhere", "--out", "m2")
    assert run.code == 2 and "nowhere: not a `dockopt bulk` output folder" in run.err


def _section(md: str, title: str) -> list[str]:
    """The list items under a `## title (N)` heading of summary.md."""
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"## {title} ("))
    items = []
    for ln in lines[start + 1:]:
        if ln.startswith("## "):
            break
        if ln.startswith("- "):
            items.append(ln[2:])
    count = int(lines[start].rsplit("(", 1)[1].rstrip(")"))
    assert count == len(items), lines[start]
    return items


def test_summary_gives_the_reason_of_a_failed_repository(org: Path, tmp_path: Path) -> None:
    assert dockopt(tmp_path, "bulk", str(org), "--out", "o", "-q").code == 0
    md = (tmp_path / "o" / "summary.md").read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| legacy |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "failed"
    assert cells[5].startswith("2 of 2 Dockerfiles failed; first: Dockerfile: parse error")
    assert "unterminated heredoc" in cells[5]
    (failed,) = _section(md, "Failed")
    assert failed.startswith("legacy: 2 of 2 Dockerfiles failed; first: Dockerfile: ")
    # the same reason in summary.json
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    rec = next(r for r in summary["repos"] if r["repo"] == "legacy")
    assert rec["reason"] == cells[5]


def test_summary_lists_changed_and_unchanged_repositories(org: Path, tmp_path: Path) -> None:
    assert dockopt(tmp_path, "bulk", str(org), "--out", "o", "-q").code == 0
    md = (tmp_path / "o" / "summary.md").read_text()
    changed = _section(md, "Changed: patches to review")
    assert [c.split(":")[0] for c in changed] == ["api", "mixed"]
    assert changed[0] == "api: 1 of 1 Dockerfiles changed, +1/-1 lines"
    assert changed[1].startswith("mixed: 1 of 2 Dockerfiles changed, ")
    assert changed[1].endswith("; 1 failed (see failed.txt)")
    assert _section(md, "Unchanged: nothing to fix") == ["docs", "website: no Dockerfiles"]
    assert "## Skipped" not in md and "## Interrupted" not in md  # empty lists are left out


def test_no_repositories_is_a_warning_and_an_empty_report(tmp_path: Path) -> None:
    """Exit 0 with a warning, as ruff and `dockopt check` for an empty selection: a
    loop over folders, or a shard that happens to be empty, is not an error, and
    merge-reports still finds each shard's (empty) report.  A path that does not
    exist stays a usage error (2)."""
    empty = tmp_path / "empty"
    (empty / "just-a-folder").mkdir(parents=True)
    run = dockopt(tmp_path, "bulk", str(empty), "--out", "o")
    assert run.code == 0 and run.out == ""
    assert f"dockopt: warning: no git repositories found under {empty}" in run.err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["repos"] == [] and summary["totals"]["repos"] == 0
    assert dockopt(tmp_path, "bulk", "merge-reports", "o", "--out", "m", "-q").code == 0
    run = dockopt(tmp_path, "bulk", str(tmp_path / "missing"), "--out", "o2")
    assert run.code == 2 and "not a folder" in run.err
    # repositories exist, but this shard holds none of them: no warning (nothing wrong)
    repo(tmp_path / "one" / "r", {"Dockerfile": CLEAN})
    shards = [dockopt(tmp_path, "bulk", str(tmp_path / "one"), "--shard", f"{k}/2",
                      "--out", f"s{k}") for k in (1, 2)]
    assert all(s.code == 0 and "warning" not in s.err for s in shards)
