"""``summary.json`` and ``summary.md`` built from the journals (streaming), and the
merge of several shards' reports."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dockopt.rewriter.bulk.journal import CHANGED, FAILED, JOURNAL, SKIPPED, UNCHANGED, _patch_name
from dockopt.rewriter.bulk.repos import COMPOSE, CONTEXT_MAP, DEFAULT
from dockopt.rewriter.fileio import atomic_write

# --- reports ---------------------------------------------------------------------------


TIMING_FIELDS = ("finished_at", "generated_at")


def _latest(journal_paths: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Repository name -> (journal, byte offset of its last record)."""
    where: dict[str, tuple[str, int]] = {}
    for path in journal_paths:
        if not os.path.exists(path):
            continue
        with open(path, "rb") as handle:
            offset = 0
            for line in handle:
                with contextlib.suppress(ValueError):
                    rec = json.loads(line)
                    if isinstance(rec, dict) and "repo" in rec:
                        where[str(rec["repo"])] = (path, offset)
                offset += len(line)
    return where


def write_reports(out: str, names: Sequence[str] | None = None, *,
                  interrupted: bool = False, journals: Sequence[str] | None = None,
                  patch_dirs: Sequence[str] = ()) -> dict[str, Any]:
    """summary.json, summary.md, failed.txt, changed.txt from the journal(s),
    streaming one repository at a time; returns the totals."""
    journals = list(journals) if journals is not None else [os.path.join(out, JOURNAL)]
    where = _latest(journals)
    order = sorted(where)
    totals: dict[str, Any] = {"repos": len(order), "repos_planned": len(names)
                              if names is not None else len(order),
                              "files": 0, "lines_added": 0, "lines_removed": 0,
                              "held_back": 0, "context_bytes_saved": 0}
    for s in (CHANGED, UNCHANGED, SKIPPED, FAILED):
        totals[f"repos_{s}"] = totals[f"files_{s}"] = 0
    totals["context_sources"] = {DEFAULT: 0, COMPOSE: 0, CONTEXT_MAP: 0}
    totals["notes"] = 0
    codes: dict[str, int] = {}
    handles: dict[str, Any] = {}
    os.makedirs(out, exist_ok=True)
    tmp = {n: os.path.join(out, f".{n}.tmp") for n in
           ("summary.json", "summary.md", "failed.txt", "changed.txt")}
    try:
        with open(tmp["summary.json"], "w", encoding="utf-8") as js, \
                open(tmp["summary.md"], "w", encoding="utf-8") as md, \
                open(tmp["failed.txt"], "w", encoding="utf-8") as failed, \
                open(tmp["changed.txt"], "w", encoding="utf-8") as changed:
            js.write('{"repos": [')
            md.write("| repository | status | files changed | +/- | codes | reason |\n"
                     "|---|---|---|---|---|---|\n")
            for i, name in enumerate(order):
                path, offset = where[name]
                if path not in handles:
                    handles[path] = open(path, "rb")  # noqa: SIM115
                handles[path].seek(offset)
                rec = json.loads(handles[path].readline())
                js.write(("," if i else "") + "\n" + json.dumps(rec, sort_keys=True))
                _tally(rec, totals, codes, md, failed, changed)
                if patch_dirs:
                    _copy_patch(name, patch_dirs, out)
            totals["codes"] = dict(sorted(codes.items()))
            totals["interrupted"] = interrupted
            js.write('\n],\n"totals": ' + json.dumps(totals, sort_keys=True) + "}\n")
            md.write(f"\n**Totals:** {totals['repos']} repositories "
                     f"({totals['repos_changed']} changed, {totals['repos_unchanged']} "
                     f"unchanged, {totals['repos_skipped']} skipped, {totals['repos_failed']} "
                     f"failed); {totals['files']} Dockerfiles ({totals['files_changed']} "
                     f"changed, {totals['files_failed']} failed); "
                     f"+{totals['lines_added']}/-{totals['lines_removed']} lines; "
                     f"{totals['held_back']} unsafe fixes held back; "
                     f"{totals['context_bytes_saved']} context bytes saved.\n")
            if interrupted:
                md.write("\n**Interrupted:** this is a partial report; rerun with "
                         "`--resume` to finish.\n")
            if codes:
                md.write("\n| code | fixes |\n|---|---|\n")
                md.writelines(f"| {c} | {n} |\n" for c, n in sorted(codes.items()))
            for handle in (js, md, failed, changed):
                handle.flush()
                os.fsync(handle.fileno())
        for name, t in tmp.items():
            os.replace(t, os.path.join(out, name))
    finally:
        for handle in handles.values():
            handle.close()
        for t in tmp.values():
            with contextlib.suppress(OSError):
                os.unlink(t)
    return totals


def _tally(rec: dict[str, Any], totals: dict[str, Any], codes: dict[str, int],
           md: Any, failed: Any, changed: Any) -> None:
    status = rec["status"]
    totals[f"repos_{status}"] += 1
    added = removed = 0
    repo_codes: set[str] = set()
    for f in rec["files"]:
        totals["files"] += 1
        totals[f"files_{f['status']}"] += 1
        added += int(f.get("added") or 0)
        removed += int(f.get("removed") or 0)
        totals["held_back"] += int(f.get("held_back") or 0)
        totals["context_bytes_saved"] += int(f.get("context_bytes_saved") or 0)
        source = str(f.get("context_source", DEFAULT))
        totals["context_sources"][source] = totals["context_sources"].get(source, 0) + 1
        totals["notes"] += len(f.get("notes", ()))
        if f["status"] == CHANGED:
            changed.write(f"{rec['repo']}\t{f['path']}\n")
        elif f["status"] == FAILED:
            failed.write(f"{rec['repo']}\t{f['path']}\t{f.get('reason', '')}\n")
        for c in f.get("codes", []):
            codes[c["code"]] = codes.get(c["code"], 0) + int(c["fixes"])
            repo_codes.add(c["code"])
    totals["notes"] += len(rec.get("notes", ()))
    if status in (SKIPPED, FAILED) and not rec["files"]:
        failed.write(f"{rec['repo']}\t-\t{rec.get('reason') or ''}\n")
    totals["lines_added"] += added
    totals["lines_removed"] += removed
    n_changed = sum(1 for f in rec["files"] if f["status"] == CHANGED)
    reason = (rec.get("reason") or "").replace("|", "\\|")
    md.write(f"| {rec['repo']} | {status} | {n_changed}/{len(rec['files'])} | "
             f"+{added}/-{removed} | {' '.join(sorted(repo_codes))} | {reason} |\n")


def _copy_patch(name: str, patch_dirs: Sequence[str], out: str) -> None:
    """Concatenate the repository's patches from each input (normally one has it)."""
    parts: list[bytes] = []
    for d in patch_dirs:
        p = os.path.join(d, "patches", _patch_name(name))
        if os.path.exists(p):
            parts.append(Path(p).read_bytes())
    if parts:
        os.makedirs(os.path.join(out, "patches"), exist_ok=True)
        atomic_write(os.path.join(out, "patches", _patch_name(name)), b"".join(parts))


def merge_reports(inputs: Sequence[str], out: str) -> dict[str, Any]:
    """One report from several ``--out`` folders (shards): the same as a single run."""
    os.makedirs(out, exist_ok=True)
    journals = [os.path.join(d, JOURNAL) for d in inputs]
    merged = os.path.join(out, JOURNAL)
    where = _latest(journals)
    tmp = merged + ".tmp"
    with open(tmp, "wb") as dst:
        handles: dict[str, Any] = {}
        try:
            for name in sorted(where):
                path, offset = where[name]
                if path not in handles:
                    handles[path] = open(path, "rb")  # noqa: SIM115
                handles[path].seek(offset)
                dst.write(handles[path].readline())
        finally:
            for h in handles.values():
                h.close()
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, merged)
    return write_reports(out, journals=[merged], patch_dirs=list(inputs))


def load_summary(out: str, *, drop_timing: bool = True) -> dict[str, Any]:
    """summary.json, without timing fields (for comparing runs)."""
    data: dict[str, Any] = json.loads(Path(out, "summary.json").read_text(encoding="utf-8"))
    if drop_timing:
        for rec in data["repos"]:
            for key in TIMING_FIELDS:
                rec.pop(key, None)
    return data
