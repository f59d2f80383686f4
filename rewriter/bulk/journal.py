"""The run's journal: one JSON line per finished repository (``progress.jsonl``), the
status names, and the patch file names."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

JOURNAL = "progress.jsonl"
# What the run was asked to do, for --resume to compare (see run_fingerprint).
OPTIONS_FILE = "options.json"
# Status of a file or a repository.
CHANGED, UNCHANGED, SKIPPED, FAILED = "changed", "unchanged", "skipped", "failed"

def _patch_name(repo_name: str) -> str:
    return repo_name.replace("/", "__") + ".patch"


class Journal:
    """``progress.jsonl``: one JSON line per finished repository, fsynced."""

    def __init__(self, out: str, resume: bool) -> None:
        self.path = os.path.join(out, JOURNAL)
        os.makedirs(out, exist_ok=True)
        self.done: set[str] = set()
        if resume and os.path.exists(self.path):
            with open(self.path, "rb") as handle:
                data = handle.read()
            # A run killed mid-line leaves a partial last line: cut it.
            keep = data[: data.rfind(b"\n") + 1]
            if len(keep) != len(data):
                with open(self.path, "r+b") as handle:
                    handle.truncate(len(keep))
            for rec in _read_jsonl(self.path):
                self.done.add(rec["repo"])
        elif os.path.exists(self.path):
            os.unlink(self.path)
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def append(self, rec: dict[str, Any]) -> None:
        self._handle.write(json.dumps(rec, sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def _read_jsonl(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "repo" in rec:
                yield rec


