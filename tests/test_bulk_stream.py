"""`dockopt bulk` on one repository with many generated Dockerfiles: results stream
per file (to the journal, the patch file, the reports), the parent does not hold
them, an interrupted repository resumes file by file, and the outputs are the ones
of the same Dockerfiles spread one per repository (where nothing is held anyway)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from click.testing import CliRunner

from dockopt.rewriter.bulk.reports import load_summary
from dockopt.rewriter.cli.bulk import bulk

BULK = [sys.executable, "-c", "from dockopt.rewriter.cli.bulk import bulk; bulk()"]


def dockerfile(i: int) -> bytes:
    """A few kinds of Dockerfile, about 2 KB each (so that holding results would
    show): fixable apt installs, already clean files, and unparsable ones."""
    pad = "".join(f"# line {n} of the notes of image {i}: " + "x" * 40 + "\n"
                  for n in range(30))
    kind = i % 7
    if kind == 3:
        body = ("FROM debian:12.5-slim\nUSER 1000\nHEALTHCHECK CMD [\"true\"]\n"
                "CMD [\"true\"]\n")
    elif kind == 5:
        body = "# syntax=docker/dockerfile:1\nFROM debian:12\nRUN <<EOF\necho never ends\n"
        pad = ""
    else:
        body = (f"FROM debian:12\nRUN apt-get update && apt-get install -y curl pkg{i}\n"
                f"MAINTAINER someone{i}@example.com\nCMD curl http://example.com/{i}\n")
    return (pad + body).encode()


def make_mono(root: Path, count: int) -> Path:
    """One repository (a .git folder is all discovery needs) with ``count``
    Dockerfiles, each in its own folder."""
    repo = root / "mono"
    for i in range(count):
        f = repo / f"g{i // 50:03d}" / f"d{i:05d}" / "Dockerfile"
        f.parent.mkdir(parents=True)
        f.write_bytes(dockerfile(i))
    (repo / ".git").mkdir()
    return repo


def make_spread(root: Path, count: int) -> Path:
    """The same Dockerfiles at the same paths, one repository each."""
    for i in range(count):
        repo = root / f"r{i:05d}"
        f = repo / f"g{i // 50:03d}" / f"d{i:05d}" / "Dockerfile"
        f.parent.mkdir(parents=True)
        f.write_bytes(dockerfile(i))
        (repo / ".git").mkdir()
    return root


def invoke(*args: str) -> int:
    return CliRunner().invoke(bulk, list(args), catch_exceptions=False).exit_code


def records(out: Path) -> list[dict[str, object]]:
    path = out / "progress.jsonl"
    if not path.exists():
        return []
    recs = []
    for line in path.read_bytes().splitlines(keepends=True):
        if line.endswith(b"\n"):  # a line being written is not a record yet
            recs.append(json.loads(line))
    return recs


def test_outputs_equal_the_same_files_one_per_repository(tmp_path: Path) -> None:
    count = 120
    mono = make_mono(tmp_path / "a", count)
    spread = make_spread(tmp_path / "b", count)
    assert invoke(str(mono), "--out", str(tmp_path / "o1"), "--jobs", "2") == 0
    assert invoke(str(spread), "--out", str(tmp_path / "o2"), "--jobs", "2") == 0
    one = load_summary(str(tmp_path / "o1"))
    many = load_summary(str(tmp_path / "o2"))
    (rec,) = one["repos"]
    assert rec["files"] == [f for r in many["repos"] for f in r["files"]]
    statuses = {f["status"] for f in rec["files"]}
    assert statuses == {"changed", "unchanged", "failed"}, statuses
    assert rec["status"] == "changed"
    for key in ("files", "files_changed", "files_failed", "files_unchanged", "lines_added",
                "lines_removed", "held_back", "codes", "context_sources"):
        assert one["totals"][key] == many["totals"][key], key
    # The repository's patch is the per-file patches, in path order, byte for byte.
    patches = sorted((tmp_path / "o2" / "patches").iterdir())
    expected = b"".join(p.read_bytes() for p in patches)
    assert (tmp_path / "o1" / "patches" / "mono.patch").read_bytes() == expected
    changed = (tmp_path / "o1" / "changed.txt").read_text().splitlines()
    assert len(changed) == one["totals"]["files_changed"] > count // 2
    assert [ln.split("\t")[1] for ln in changed] == \
           [ln.split("\t")[1] for ln in (tmp_path / "o2" / "changed.txt").read_text().splitlines()]
    subprocess.run(["git", "apply", "--check", str(tmp_path / "o1" / "patches" / "mono.patch")],
                   cwd=mono, check=True)


def test_parent_holds_no_results(tmp_path: Path) -> None:
    """The parent's peak Python memory does not grow with the files of a repository:
    four times the files (each result about 5 KB: text and diff) costs the parent
    less than 500 bytes a file more (the sorted list of paths is ~100 bytes a file).  The
    bulk run is in this process (the workers are other processes), measured with
    tracemalloc: allocations, not time."""
    peaks = {}
    # a first small run imports what the parent needs (imports are allocations too)
    assert invoke(str(make_mono(tmp_path / "warm", 5)), "--out", str(tmp_path / "ow")) == 0
    for count in (100, 400):
        mono = make_mono(tmp_path / f"t{count}", count)
        tracemalloc.start()
        try:
            assert invoke(str(mono), "--out", str(tmp_path / f"o{count}"), "--jobs", "2") == 0
            peaks[count] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        summary = load_summary(str(tmp_path / f"o{count}"))
        assert summary["totals"]["files"] == count
    # What holding the results would cost: at least the new texts and the diffs
    # of the changed files (the old runner held both until the repository ended).
    changed = [line.split("\t")[1] for line in
               (tmp_path / "o400" / "changed.txt").read_text().splitlines()]
    held = (sum((tmp_path / "t400" / "mono" / p).stat().st_size for p in changed)
            + (tmp_path / "o400" / "patches" / "mono.patch").stat().st_size)
    assert held > 5 * 150 * 1000, "the results are big enough for holding them to show"
    assert peaks[400] - peaks[100] < 150 * 1000, peaks


def _start(args: list[str], env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, **env_extra}
    return subprocess.Popen([*BULK, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)


def test_journal_and_patch_stream_and_a_killed_repository_resumes_per_file(
        tmp_path: Path) -> None:
    count = 60
    mono = make_mono(tmp_path / "a", count)
    out = tmp_path / "o"
    proc = _start([str(mono), "--out", str(out), "--jobs", "1"],
                  {"DOCKOPT_BULK_TEST_DELAY": "0.1"})
    try:
        deadline = time.monotonic() + 60
        while sum(1 for r in records(out) if r["kind"] == "file") < 12:
            assert proc.poll() is None, "the run ended before the check"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # Mid-repository: files are journaled and the patch grows, the repository
        # is not finished, and no patch file is in place yet (no half outputs).
        recs = records(out)
        assert not [r for r in recs if r["kind"] == "end"]
        part = out / "patches" / ".mono.patch.part"
        assert part.stat().st_size > 0
        assert not (out / "patches" / "mono.patch").exists()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    first = records(out)
    done_before = [r["file"]["path"] for r in first if r["kind"] == "file"]  # type: ignore[index]
    assert 12 <= len(done_before) < count
    # Resume: the finished files are kept, the rest done; then compare with a
    # clean run.
    assert invoke(str(mono), "--resume", "--out", str(out), "--jobs", "2") == 0
    recs = records(out)
    assert recs[: len(first)] == first  # the earlier records are kept, not redone
    done = [r["file"]["path"] for r in recs if r["kind"] == "file"]  # type: ignore[index]
    assert len(done) == len(set(done)) == count  # each Dockerfile done exactly once
    assert done[: len(done_before)] == done_before
    assert not (out / "patches" / ".mono.patch.part").exists()
    assert invoke(str(mono), "--out", str(tmp_path / "clean"), "--jobs", "2") == 0
    assert load_summary(str(out)) == load_summary(str(tmp_path / "clean"))
    assert (out / "patches" / "mono.patch").read_bytes() == \
           (tmp_path / "clean" / "patches" / "mono.patch").read_bytes()


def test_interrupt_mid_repository_reports_it_as_interrupted(tmp_path: Path) -> None:
    mono = make_mono(tmp_path / "a", 40)
    out = tmp_path / "o"
    proc = _start([str(mono), "--out", str(out), "--jobs", "1"],
                  {"DOCKOPT_BULK_TEST_DELAY": "0.1"})
    try:
        deadline = time.monotonic() + 60
        while sum(1 for r in records(out) if r["kind"] == "file") < 5:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    summary = load_summary(str(out))
    (rec,) = summary["repos"]
    assert rec["status"] == "interrupted"
    assert 5 <= len(rec["files"]) < 40
    assert f"after {len(rec['files'])} of 40 Dockerfiles" in rec["reason"]
    assert summary["totals"]["repos_interrupted"] == 1
    assert not (out / "patches" / "mono.patch").exists()  # only complete patches
    assert "interrupted" in (out / "summary.md").read_text()


def test_progress_per_file_in_a_log(tmp_path: Path) -> None:
    mono = make_mono(tmp_path / "a", 20)
    proc = subprocess.run([*BULK, str(mono), "--out", str(tmp_path / "o"), "--jobs", "2"],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "DOCKOPT_BULK_PROGRESS_INTERVAL": "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("[repo 1/1] mono: ")]
    # one line per file here (interval 0); a log gets plain lines, no \r redraws
    assert [ln.split(": ")[1].split(" ")[0] for ln in lines] == \
           [f"{n}/20" for n in range(1, 21)]
    assert all("files/s, ETA " in ln for ln in lines)
    assert "\r" not in proc.stderr
    assert "[1/1] mono: changed" in proc.stderr


def test_progress_on_a_terminal_redraws_one_line_with_rate_and_eta(tmp_path: Path) -> None:
    import pty

    mono = make_mono(tmp_path / "a", 20)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*BULK, str(mono), "--out", str(tmp_path / "o"), "--jobs", "2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=follower,
                            env={**os.environ, "DOCKOPT_BULK_PROGRESS_INTERVAL": "0",
                                 "COLUMNS": "200"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    shown = b"".join(chunks).decode()
    redraws = [s for s in shown.split("\r") if s.startswith("[repo 1/1] mono: ")]
    assert len(redraws) == 20
    assert all(" files/s, ETA " in s and s.endswith("\x1b[K") for s in redraws)
    assert "20/20 files" in redraws[-1] and "ETA 0s" in redraws[-1]
