"""The run's journal ``progress.jsonl``, the status names, and the patch file names.

The journal is written as results arrive, one JSON line per event, so that neither
the parent process nor a resumed run has to hold a repository's results:

- ``{"kind": "start", "repo", "path", "files", "notes"}``: a repository's plan is
  made (``files``: how many Dockerfiles it has).  A later ``start`` of the same
  repository (a redo) replaces everything recorded for it before.
- ``{"kind": "file", "repo", "file", "patch_end", "claims"}``: one Dockerfile is
  finished and its diff is in the repository's patch file; ``file`` is its record in
  summary.json, ``patch_end`` the patch file's length after its diff (a resumed run
  cuts the patch file back to it), ``claims`` the extra files (``.dockerignore``) it
  writes for the first time ("<digest of the content> <Dockerfile>", see
  runner._commit_file).
- ``{"kind": "end", "repo", "status", "reason", "finished_at"}``: the repository is
  finished; its patch file is complete.

A repository's file records come in the order of its plan (sorted paths), so a
resumed run skips the files already recorded for a repository that was not finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import field
from typing import IO, Any

from dockopt.rewriter.records import dataclass

JOURNAL = "progress.jsonl"
# The journal's layout; part of the run fingerprint, so --resume refuses a journal
# written by another layout instead of misreading it.
JOURNAL_FORMAT = 2
# What the run was asked to do, for --resume to compare (see run_fingerprint).
OPTIONS_FILE = "options.json"
# Status of a file or a repository.
CHANGED, UNCHANGED, SKIPPED, FAILED = "changed", "unchanged", "skipped", "failed"
# A repository an interrupted run did not finish (reports only; never journaled).
INTERRUPTED = "interrupted"
START, FILE, END = "start", "file", "end"


def _patch_name(repo_name: str) -> str:
    return repo_name.replace("/", "__") + ".patch"


def patch_part_name(repo_name: str) -> str:
    """The patch file while its repository runs (renamed to _patch_name at its end)."""
    return "." + _patch_name(repo_name) + ".part"


@dataclass
class Partial:
    """What the journal says about a repository that was started but not finished:
    its files so far (``tally.files`` of them, the first of its plan), the last one's
    path, the patch file's length after it, and the extra files they claimed."""

    last_path: str | None = None
    patch_end: int = 0
    tally: RepoTally = field(default_factory=lambda: RepoTally())
    claims: dict[str, str] = field(default_factory=dict)


@dataclass
class RepoTally:
    """What a repository's end needs from its files, added up as they finish (the
    files themselves are not kept): counts by status, the first failure (for the
    reason of a failed repository) and, for the commit message, the fixes applied and
    the findings left in changed files."""

    files: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    first_failure: tuple[str, str] | None = None
    applied: dict[tuple[str, str], int] = field(default_factory=dict)
    remaining: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, f: dict[str, Any]) -> None:
        status = str(f["status"])
        self.files += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status == FAILED and self.first_failure is None:
            self.first_failure = (str(f["path"]), str(f.get("reason") or ""))
        if status != CHANGED:
            return
        for c in f.get("codes", []):
            key = (c["code"], c["name"])
            self.applied[key] = self.applied.get(key, 0) + int(c["fixes"])
        for fd in f.get("findings", []):
            key = (fd["code"], fd["name"])
            self.remaining[key] = self.remaining.get(key, 0) + 1

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)


class Journal:
    """``progress.jsonl``: appended one line per event; flushed per line (a killed
    process loses nothing written), fsynced by ``sync`` (the runner calls it at each
    repository's end and every few seconds, not per file: one fsync per file would
    cost more than the file's fix)."""

    def __init__(self, out: str, resume: bool) -> None:
        self.path = os.path.join(out, JOURNAL)
        os.makedirs(out, exist_ok=True)
        self.done: set[str] = set()
        self.partial: dict[str, Partial] = {}
        if resume and os.path.exists(self.path):
            with open(self.path, "rb") as handle:
                data_end = handle.seek(0, os.SEEK_END)
                # A run killed mid-line leaves a partial last line: cut it.
                keep = _last_newline(handle, data_end)
            if keep != data_end:
                with open(self.path, "r+b") as handle:
                    handle.truncate(keep)
            self._load()
        elif os.path.exists(self.path):
            os.unlink(self.path)
        self._handle: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def _load(self) -> None:
        for rec in read_records(self.path):
            repo = str(rec["repo"])
            kind = rec.get("kind")
            if kind == START:
                self.done.discard(repo)
                self.partial[repo] = Partial()
            elif kind == FILE and repo in self.partial:
                part = self.partial[repo]
                part.last_path = str(rec["file"]["path"])
                part.patch_end = int(rec.get("patch_end") or 0)
                part.claims.update(rec.get("claims") or {})
                part.tally.add(rec["file"])
            elif kind == END:
                self.done.add(repo)
                self.partial.pop(repo, None)

    def append(self, rec: dict[str, Any]) -> None:
        self._handle.write(json.dumps(rec, sort_keys=True) + "\n")
        self._handle.flush()

    def sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self.sync()
        self._handle.close()


def _last_newline(handle: IO[bytes], end: int) -> int:
    """The offset just after the file's last newline (0 if none), reading backwards
    in blocks: the journal of a big run is not read whole."""
    pos = end
    while pos > 0:
        start = max(0, pos - 65536)
        handle.seek(start)
        block = handle.read(pos - start)
        at = block.rfind(b"\n")
        if at >= 0:
            return start + at + 1
        pos = start
    return 0


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """The journal's records, one at a time (lines that do not parse are skipped)."""
    for _offset, _length, rec in read_records_at(path):
        yield rec


def read_records_at(path: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(byte offset, byte length, record) for each record of the journal."""
    with open(path, "rb") as handle:
        offset = 0
        for line in handle:
            length = len(line)
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if isinstance(rec, dict) and "repo" in rec and line.endswith(b"\n"):
                yield offset, length, rec
            offset += length
