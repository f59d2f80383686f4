"""`dockopt bulk --verify` over a tiny organisation, with real buildah builds.

Two repositories built on the debian stand-ins (no package downloads, so each build
takes seconds):

- alpha/Dockerfile: a script image whose rewrite (slim base, non-root user, exec-form
  CMD, .dockerignore) builds and runs: kept, with its verify record;
- alpha/broken/Dockerfile: the original itself does not build: left unchanged;
- beta/Dockerfile: a build step reads ``certs/*.pem``, which the `.dockerignore`
  DO603 writes leaves out (the risk its docs name): the original builds, the
  rewrite does not, so the file is left unchanged with the build error.

The first run is interrupted (SIGINT, as Ctrl-C) when the second Dockerfile's
builds start; the resumed run must build only the files the journal does not have.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dockopt.rewriter.bulk.reports import load_summary

pytestmark = pytest.mark.e2e

BULK = [sys.executable, "-c", "from dockopt.rewriter.cli.bulk import bulk; bulk()"]
STANDINS = ("docker.io/library/debian:bookworm", "docker.io/library/debian:bookworm-slim")
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

ORG = {
    "alpha": {
        "Dockerfile": "FROM debian:bookworm\nWORKDIR /app\nCOPY . .\nCMD ./hello.sh\n",
        "hello.sh": "#!/bin/sh\necho hello from alpha\n",
        "broken/Dockerfile": "FROM debian:bookworm-slim\nRUN exit 3\nCMD echo never\n",
    },
    "beta": {
        "Dockerfile": ("FROM debian:bookworm-slim\nWORKDIR /app\nCOPY . .\n"
                       "RUN sh build.sh\nCMD [\"cat\", \"/app/bundle.txt\"]\n"),
        "build.sh": "set -e\ncat certs/*.pem > bundle.txt\necho bundled\n",
        "certs/ca.pem": "-----BEGIN CERTIFICATE-----\n(a test file, not a certificate)\n"
                        "-----END CERTIFICATE-----\n",
    },
}


@pytest.fixture(scope="module")
def buildah() -> str:
    if os.environ.get("DOCKOPT_E2E", "1") == "0":
        pytest.skip("DOCKOPT_E2E=0")
    binary = shutil.which("buildah")
    if binary is None:
        pytest.skip("buildah is not installed (tests/e2e/standins/install-tools.sh)")
    for tag in STANDINS:
        if subprocess.run([binary, "inspect", "--type", "image", tag],
                          capture_output=True, check=False).returncode != 0:
            pytest.skip(f"stand-in {tag} missing (run tests/e2e/standins/build.sh)")
    return binary


def make_org(root: Path) -> None:
    for repo, files in ORG.items():
        for rel, text in files.items():
            path = root / repo / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if rel.endswith(".sh"):
                path.chmod(0o755)
        for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                     ["commit", "-q", "-m", "init"]):
            subprocess.run(["git", "-C", str(root / repo), *args], check=True, env=GIT_ENV)


def built(stderr: str) -> list[tuple[str, str]]:
    """(repository, Dockerfile) of each original's cold build the progress reports."""
    return re.findall(r"^\[repo \d+/\d+\] (\S+): (\S+): original: cold build$", stderr, re.M)


def test_bulk_verify_keeps_what_builds_and_resume_builds_only_the_rest(
        buildah: str, tmp_path: Path) -> None:
    org, out = tmp_path / "org", tmp_path / "out"
    make_org(org)
    before = {(r, p): (org / r / p).read_bytes() for r in ORG for p in ORG[r]}
    args = [str(org), "--write", "--unsafe-fixes", "--verify", "--engine", "buildah",
            "--scanner", "none", "--out", str(out), "--jobs", "1"]

    # 1. Interrupted when the second Dockerfile's builds start: the first is journaled.
    proc = subprocess.Popen([*BULK, *args], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.rstrip("\n").endswith("alpha: broken/Dockerfile: original: cold build"):
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the parent
            break
    rest = proc.communicate(timeout=300)[1]
    first_err = "".join(seen) + rest
    assert proc.returncode == 130, first_err
    assert built(first_err) == [("alpha", "Dockerfile"), ("alpha", "broken/Dockerfile")]
    journaled = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
    first = [r["file"] for r in journaled if r["kind"] == "file"]
    assert [f["path"] for f in first] == ["Dockerfile"], first_err
    assert first[0]["verify"]["outcome"] == "verified", first[0]["verify"]

    # 2. Resumed: only the two files the journal lacks are built.
    run = subprocess.run([*BULK, *args, "--resume"], capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr
    assert built(run.stderr) == [("alpha", "broken/Dockerfile"), ("beta", "Dockerfile")]
    files = {(r["repo"], f["path"]): f for r in load_summary(str(out))["repos"]
             for f in r["files"]}

    ok = files["alpha", "Dockerfile"]
    assert ok["status"] == "changed"
    assert ok["verify"] == first[0]["verify"]  # the record of the first run, not rebuilt
    v = ok["verify"]
    assert v["original"]["built"] and v["rewritten"]["built"]
    assert v["rewritten"]["smoke_ok"] and v["rewritten"]["user"] != "root"
    assert v["rewritten"]["size_bytes"] < v["original"]["size_bytes"]  # bookworm -> slim
    for side in ("original", "rewritten"):
        assert v[side]["layers"] and v[side]["os_packages"]
        assert v[side]["wasted_bytes"] is not None and v[side]["rebuild_seconds"] is not None
    assert (org / "alpha" / "Dockerfile").read_bytes() != before["alpha", "Dockerfile"]
    assert b"USER" in (org / "alpha" / "Dockerfile").read_bytes()

    rejected = files["beta", "Dockerfile"]
    assert rejected["status"] == "unchanged" and rejected["added"] == 0
    assert rejected["verify"]["outcome"] == "rewrite-fails"
    assert "the rewrite does not build" in rejected["reason"]
    assert "certs/*.pem" in rejected["verify"]["log_tail"]  # the build error's tail
    assert "DO603" in rejected["verify"]["codes"] and rejected["codes"] == []
    assert (org / "beta" / "Dockerfile").read_bytes() == before["beta", "Dockerfile"]
    assert not (org / "beta" / ".dockerignore").exists()  # nothing of the rewrite written

    broken = files["alpha", "broken/Dockerfile"]
    assert broken["status"] == "unchanged"
    assert broken["verify"]["outcome"] == "original-fails"
    assert "the original does not build" in broken["reason"]
    assert "exit status 3" in broken["verify"]["log_tail"]
    assert (org / "alpha" / "broken" / "Dockerfile").read_bytes() == \
        before["alpha", "broken/Dockerfile"]

    patches = sorted(p.name for p in (out / "patches").iterdir())
    assert patches == ["alpha.patch"]  # no hunk for a rejected rewrite
    assert "broken/Dockerfile" not in (out / "patches" / "alpha.patch").read_text()
    md = (out / "summary.md").read_text()
    assert "## Verification: 3 Dockerfiles built before and after" in md
    assert "<details><summary>beta: Dockerfile: rewrite-fails" in md
    assert "cat: 'certs/*.pem': No such file or directory" in md
    assert "### dockopt verify: `alpha/Dockerfile`" in md
    assert "- beta: 1 rewrite(s) left out by --verify (see Verification)" in md
