"""`dockopt bulk` on generated trees of real git repositories made from corpus files."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockopt.rewriter.bulk.reports import load_summary
from dockopt.rewriter.bulk.repos import find_repos, shard_of
from dockopt.rewriter.cli.bulk import bulk

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env=GIT_ENV, check=True)
    return proc.stdout


def make_repo(path: Path, files: dict[str, bytes]) -> None:
    path.mkdir(parents=True)
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=GIT_ENV)
    git(path, "config", "user.name", "t")
    git(path, "config", "user.email", "t@example.com")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")


@pytest.fixture(scope="module")
def sources(corpus_dockerfiles: list[Path]) -> list[bytes]:
    """Corpus files that are valid UTF-8, a spread over the corpus, small ones."""
    picked: list[bytes] = []
    step = max(1, len(corpus_dockerfiles) // 400)
    for p in corpus_dockerfiles[::step]:
        data = p.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if 0 < len(data) < 4000 and b"<<" not in data:
            picked.append(data)
    random.Random(7).shuffle(picked)  # a mix of projects in every small tree
    return picked


def make_tree(root: Path, sources: list[bytes], count: int, offset: int = 0) -> list[Path]:
    """``count`` repositories, each with a root Dockerfile and some a second one."""
    repos = []
    for i in range(count):
        files = {"Dockerfile": sources[(offset + 2 * i) % len(sources)],
                 "README.md": b"hello\n"}
        if i % 2:
            files["svc/api/Dockerfile.prod"] = sources[(offset + 2 * i + 1) % len(sources)]
            files["node_modules/x/Dockerfile"] = b"FROM scratch\n"  # never looked at
        repo = root / f"repo{i:03d}"
        make_repo(repo, files)
        repos.append(repo)
    return repos


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(bulk, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root except git's own folder."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".git" not in p.relative_to(root).parts:
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, sources: list[bytes]) -> Path:
    root = tmp_path_factory.mktemp("bulk") / "repos"
    make_tree(root, sources, 12)
    return root


def _no_paths(summary: dict[str, object]) -> list[object]:
    """The per-repository records without the absolute path (the trees differ)."""
    repos = summary["repos"]
    assert isinstance(repos, list)
    return [{k: v for k, v in r.items() if k != "path"} for r in repos]


def copy(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest, symlinks=True)
    return dest


def test_dry_run_patches_apply_and_match_write(base: Path, tmp_path: Path) -> None:
    dry = copy(base, tmp_path / "dry")
    wet = copy(base, tmp_path / "wet")
    before = tree(dry)
    code, _ = invoke(str(dry), "--out", str(tmp_path / "o1"), "--jobs", "2")
    assert code == 0
    assert tree(dry) == before  # dry-run writes nothing in the repositories
    code, _ = invoke(str(wet), "--write", "--out", str(tmp_path / "o2"), "--jobs", "2")
    assert code == 0
    summary = load_summary(str(tmp_path / "o1"))
    changed = [r["repo"] for r in summary["repos"] if r["status"] == "changed"]
    assert len(changed) >= 3, "the tree should have some fixable files"
    patches = tmp_path / "o1" / "patches"
    assert sorted(p.name for p in patches.iterdir()) == sorted(f"{n}.patch" for n in changed)
    for name in changed:
        subprocess.run(["git", "-C", str(dry / name), "apply", "--check",
                        str(patches / f"{name}.patch")], check=True)
        subprocess.run(["git", "-C", str(dry / name), "apply",
                        str(patches / f"{name}.patch")], check=True)
    assert tree(dry) == tree(wet)
    assert tree(wet) != before
    # the two runs report the same
    assert _no_paths(load_summary(str(tmp_path / "o2"))) == _no_paths(summary)
    lines = (tmp_path / "o1" / "changed.txt").read_text().splitlines()
    assert {ln.split("\t")[0] for ln in lines} == set(changed)
    assert not any("node_modules" in ln for ln in lines)


def test_write_and_git_branch_commit_agree(base: Path, tmp_path: Path) -> None:
    wet = copy(base, tmp_path / "wet")
    br = copy(base, tmp_path / "br")
    assert invoke(str(wet), "--write", "--out", str(tmp_path / "o1"))[0] == 0
    code, _ = invoke(str(br), "--git-branch", "dockopt/opt", "--commit",
                     "--out", str(tmp_path / "o2"))
    assert code == 0
    assert tree(wet) == tree(br)
    summary = load_summary(str(tmp_path / "o2"))
    for rec in summary["repos"]:
        repo = br / rec["repo"]
        assert git(repo, "status", "--porcelain") == ""  # everything committed
        head = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
        if rec["status"] == "changed":
            assert head == "dockopt/opt"
            message = git(repo, "log", "-1", "--format=%B")
            for f in rec["files"]:
                for c in f["codes"]:
                    assert f"{c['code']} {c['name']}" in message
            assert "Transforms applied:" in message
        else:
            assert head == "main"  # unchanged repositories get no branch


def test_dirty_repo_is_skipped(base: Path, tmp_path: Path) -> None:
    root = copy(base, tmp_path / "r")
    summary0 = None
    assert invoke(str(copy(base, tmp_path / "probe")), "--out", str(tmp_path / "p"))[0] == 0
    summary0 = load_summary(str(tmp_path / "p"))
    victim = next(r["repo"] for r in summary0["repos"] if r["status"] == "changed")
    (root / victim / "README.md").write_text("local edit\n")
    dockerfile = (root / victim / "Dockerfile").read_bytes()
    code, _ = invoke(str(root), "--git-branch", "b", "--commit", "--out", str(tmp_path / "o"))
    assert code == 0
    rec = next(r for r in load_summary(str(tmp_path / "o"))["repos"] if r["repo"] == victim)
    assert rec["status"] == "skipped"
    assert "uncommitted changes" in rec["reason"]
    assert (root / victim / "Dockerfile").read_bytes() == dockerfile
    assert git(root / victim, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert victim in (tmp_path / "o" / "failed.txt").read_text()


def test_corrupt_file_fails_alone(base: Path, tmp_path: Path) -> None:
    root = copy(base, tmp_path / "r")
    good = copy(base, tmp_path / "good")
    make_repo(root / "zz-bad", {
        "Dockerfile": b"FROM debian\nRUN apt-get update && apt-get install -y curl\n",
        "bytes/Dockerfile": b"FROM debian\nRUN echo \xff\xfe\n",
        "heredoc/Dockerfile": b"# syntax=docker/dockerfile:1\nFROM debian\n"
                              b"RUN <<EOF\necho never ends\n",
    })
    code, _ = invoke(str(root), "--write", "--out", str(tmp_path / "o"), "--jobs", "2")
    assert code == 0
    invoke(str(good), "--write", "--out", str(tmp_path / "o2"), "--jobs", "2")
    summary = load_summary(str(tmp_path / "o"))
    bad = next(r for r in summary["repos"] if r["repo"] == "zz-bad")
    by_path = {f["path"]: f for f in bad["files"]}
    assert by_path["bytes/Dockerfile"]["status"] == "failed"
    assert "UTF-8" in by_path["bytes/Dockerfile"]["reason"]
    assert by_path["heredoc/Dockerfile"]["status"] == "failed"
    assert "parse error" in by_path["heredoc/Dockerfile"]["reason"]
    assert by_path["Dockerfile"]["status"] == "changed"  # its good file still changes
    corrupt = (root / "zz-bad" / "bytes/Dockerfile").read_bytes()
    assert corrupt == b"FROM debian\nRUN echo \xff\xfe\n"
    failed = (tmp_path / "o" / "failed.txt").read_text()
    assert "zz-bad\tbytes/Dockerfile" in failed and "zz-bad\theredoc/Dockerfile" in failed
    # every other repository came out exactly as without the bad one
    others = {k: v for k, v in tree(root).items() if not k.startswith("zz-bad/")}
    assert others == tree(good)


def test_timeout_is_a_status(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "r"
    make_repo(root / "one", {"Dockerfile": b"FROM debian\n"})
    monkeypatch.setenv("DOCKOPT_BULK_TEST_DELAY", "3")
    code, _ = invoke(str(root), "--timeout", "0.5", "--out", str(tmp_path / "o"))
    assert code == 0
    rec = load_summary(str(tmp_path / "o"))["repos"][0]
    assert rec["files"][0]["status"] == "failed"
    assert rec["files"][0]["reason"].startswith("timeout")


def _records(out: Path) -> list[dict[str, object]]:
    """Every record of the journal (start, file, end)."""
    path = out / "progress.jsonl"
    if not path.exists():
        return []
    recs = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut by the kill
            recs.append(json.loads(line))
    return recs


def _journal(out: Path) -> list[dict[str, object]]:
    """The journal's records of finished repositories."""
    return [r for r in _records(out) if r.get("kind") == "end"]


def _files_done(out: Path) -> list[tuple[object, object]]:
    """(repository, Dockerfile) of each file record, in journal order."""
    return [(r["repo"], r["file"]["path"]) for r in _records(out)  # type: ignore[index]
            if r.get("kind") == "file"]


BULK = [sys.executable, "-c", "from dockopt.rewriter.cli.bulk import bulk; bulk()"]


def _kill_midway(args: list[str], out: Path, at_least: int) -> None:
    env = {**os.environ, "DOCKOPT_BULK_TEST_DELAY": "0.15"}
    proc = subprocess.Popen([*BULK, *args, "--out", str(out), "--jobs", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while len(_journal(out)) < at_least:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker: SIGKILL, mid-way
        proc.wait()


def test_resume_after_kill(tmp_path: Path, sources: list[bytes]) -> None:
    root = tmp_path / "repos"
    make_tree(root, sources, 30, offset=40)
    clean = copy(root, tmp_path / "clean")
    before = tree(root)
    out = tmp_path / "o"
    _kill_midway([str(root), "--write"], out, at_least=5)
    first = _journal(out)
    first_records = _records(out)
    assert 5 <= len(first) < 30
    # killed in --write mode: every file is the old version or the new one
    assert invoke(str(clean), "--write", "--out", str(tmp_path / "oc"))[0] == 0
    after = tree(clean)
    assert set(tree(root)) <= set(before) | set(after)
    for rel, data in tree(root).items():
        assert data in (before.get(rel), after.get(rel)), rel
    assert not [p for p in root.rglob("*.dockopt")], "no temp files left behind"

    code, _ = invoke(str(root), "--write", "--resume", "--out", str(out))
    assert code == 0
    journal = _journal(out)
    names = [r["repo"] for r in journal]
    assert len(names) == len(set(names)) == 30  # each finished exactly once overall
    assert _records(out)[: len(first_records)] == first_records  # nothing was redone
    files = _files_done(out)
    assert len(files) == len(set(files))  # each Dockerfile done exactly once overall
    assert tree(root) == after


def test_resume_dry_run_report_equals_clean_run(tmp_path: Path, sources: list[bytes]) -> None:
    root = tmp_path / "repos"
    make_tree(root, sources, 30, offset=7)
    out = tmp_path / "o"
    _kill_midway([str(root)], out, at_least=5)
    first = _journal(out)
    first_records = _records(out)
    assert 5 <= len(first) < 30
    assert invoke(str(root), "--resume", "--out", str(out))[0] == 0
    journal = _journal(out)
    assert len({r["repo"] for r in journal}) == len(journal) == 30
    assert _records(out)[: len(first_records)] == first_records
    files = _files_done(out)
    assert len(files) == len(set(files))
    assert invoke(str(root), "--out", str(tmp_path / "clean"))[0] == 0
    assert load_summary(str(out)) == load_summary(str(tmp_path / "clean"))
    assert load_summary(str(out))["totals"]["repos_changed"] >= 5
    assert tree(out / "patches") == tree(tmp_path / "clean" / "patches")


def test_shards_cover_once_and_merge_to_single_run(base: Path, tmp_path: Path) -> None:
    root = base
    names = [r.name for r in find_repos([str(root)])]
    outs = []
    for k in (1, 2, 3):
        out = tmp_path / f"s{k}"
        assert invoke(str(root), "--shard", f"{k}/3", "--out", str(out))[0] == 0
        outs.append(out)
        got = [r["repo"] for r in load_summary(str(out))["repos"]]
        assert got == sorted(n for n in names if shard_of(n, 3) == k)
    shard_names = [r["repo"] for o in outs for r in load_summary(str(o))["repos"]]
    assert sorted(shard_names) == sorted(names)  # every repository exactly once
    merged = tmp_path / "merged"
    code, _ = invoke("merge-reports", *map(str, outs), "--out", str(merged))
    assert code == 0
    assert invoke(str(root), "--out", str(tmp_path / "single"))[0] == 0
    assert load_summary(str(merged)) == load_summary(str(tmp_path / "single"))
    assert tree(merged / "patches") == tree(tmp_path / "single" / "patches")
    assert (merged / "summary.md").read_text() == (tmp_path / "single" / "summary.md").read_text()


def test_shard_is_stable() -> None:
    assert [shard_of(f"org/repo{i}", 4) for i in range(8)] == \
           [shard_of(f"org/repo{i}", 4) for i in range(8)]
    assert {shard_of(f"r{i}", 3) for i in range(50)} == {1, 2, 3}


def test_context_map_and_exclude(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_repo(root / "a", {"docker/Dockerfile": b"FROM debian\nCOPY . /app\n",
                           "skip/Dockerfile": b"FROM debian\n",
                           "package.json": b"{}\n"})
    cmap = tmp_path / "map.tsv"
    cmap.write_text("docker/Dockerfile\t.\n")
    code, _ = invoke(str(root), "--context-map", str(cmap), "--exclude", "skip",
                     "--out", str(tmp_path / "o"))
    assert code == 0
    rec = load_summary(str(tmp_path / "o"))["repos"][0]
    assert [(f["path"], f["context"]) for f in rec["files"]] == [("docker/Dockerfile", ".")]


def test_ctrl_c_writes_partial_report_and_exits_130(tmp_path: Path, sources: list[bytes]) -> None:
    root = tmp_path / "repos"
    make_tree(root, sources, 20, offset=3)
    out = tmp_path / "o"
    env = {**os.environ, "DOCKOPT_BULK_TEST_DELAY": "0.15"}
    proc = subprocess.Popen([*BULK, str(root), "--out", str(out), "--jobs", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while len(_journal(out)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the parent
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    summary = load_summary(str(out))
    assert summary["totals"]["interrupted"] is True
    assert 2 <= len(summary["repos"]) < 20
    assert "--resume" in (out / "summary.md").read_text()


def test_dockerfiles_sharing_a_context_write_one_ignore_file(tmp_path: Path) -> None:
    root = tmp_path / "r"
    make_repo(root / "a", {
        "Dockerfile": b"FROM debian\nCOPY . /app\nCMD [\"/app/run\"]\n",
        "Dockerfile.debug": b"FROM debian\nCOPY . /app\nCMD [\"/app/run\", \"-v\"]\n",
        "Dockerfile.env": b"FROM debian\nCOPY .env /app/.env\nCOPY . /app\n",
        "run": b"#!/bin/sh\n",
    })
    wet = copy(root, tmp_path / "w")
    assert invoke(str(root), "--unsafe-fixes", "--out", str(tmp_path / "o"))[0] == 0
    assert invoke(str(wet), "--unsafe-fixes", "--write", "--out", str(tmp_path / "o2"))[0] == 0
    rec = load_summary(str(tmp_path / "o"))["repos"][0]
    statuses = {f["path"]: f["status"] for f in rec["files"]}
    assert statuses["Dockerfile"] == "changed"
    for f in rec["files"]:
        if f["status"] == "skipped":
            assert "same build context" in f["reason"]
    subprocess.run(["git", "-C", str(root / "a"), "apply",
                    str(tmp_path / "o" / "patches" / "a.patch")], check=True)
    assert tree(root) == tree(wet)
    # The shared .dockerignore would apply to all three builds: DO603 writes each
    # Dockerfile's own <Dockerfile>.dockerignore instead.
    assert not (wet / "a" / ".dockerignore").exists()
    assert (wet / "a" / "Dockerfile.dockerignore").exists()


def test_resume_refuses_other_options(tmp_path: Path, sources: list[bytes]) -> None:
    root = tmp_path / "repos"
    make_tree(root, sources, 3, offset=11)
    out = tmp_path / "o"
    assert invoke(str(root), "--out", str(out), "--jobs", "1")[0] == 0
    journal = (out / "progress.jsonl").read_bytes()
    recorded = json.loads((out / "options.json").read_text())
    assert recorded["unsafe_fixes"] is None and recorded["mode"] == "dry-run"
    for other, key in ((["--unsafe-fixes"], "unsafe_fixes"), (["--select", "DO6"], "select"),
                       (["--ignore", "DO604"], "ignore"), (["--write"], "mode"),
                       (["--shard", "1/2"], "shard"), (["--exclude", "svc"], "exclude"),
                       (["--isolated"], "isolated")):
        code, output = invoke(str(root), "--resume", "--out", str(out), *other)
        assert code == 2, (other, output)
        assert "other options" in output and f"{key}:" in output, output
        assert (out / "progress.jsonl").read_bytes() == journal  # nothing was redone
        assert json.loads((out / "options.json").read_text()) == recorded
    # the same options (resources aside: --jobs, --timeout) resume, with nothing left to do
    code, _ = invoke(str(root), "--resume", "--out", str(out), "--jobs", "2",
                     "--timeout", "30")
    assert code == 0
    assert (out / "progress.jsonl").read_bytes() == journal
    # no record of the earlier options: refused too (they cannot be compared)
    (out / "options.json").unlink()
    code, output = invoke(str(root), "--resume", "--out", str(out))
    assert code == 2 and "missing" in output
    # a fresh run writes the record; --resume into an empty folder just runs
    assert invoke(str(root), "--unsafe-fixes", "--out", str(out))[0] == 0
    assert json.loads((out / "options.json").read_text())["unsafe_fixes"] is True
    assert invoke(str(root), "--resume", "--out", str(tmp_path / "new"))[0] == 0
