"""``summary.json``, ``summary.md``, ``failed.txt`` and ``changed.txt`` built from the
journal(s), streaming one file record at a time, and the merge of several shards'
reports."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import IO, Any

from dockopt.rewriter.bulk.journal import (
    CHANGED,
    END,
    FAILED,
    FILE,
    INTERRUPTED,
    JOURNAL,
    SKIPPED,
    START,
    UNCHANGED,
    _patch_name,
    read_records_at,
)
from dockopt.rewriter.bulk.repos import COMPOSE, CONTEXT_MAP, DEFAULT
from dockopt.rewriter.records import dataclass

# --- reports ---------------------------------------------------------------------------


TIMING_FIELDS = ("finished_at", "generated_at")
STATUSES = (CHANGED, UNCHANGED, SKIPPED, FAILED, INTERRUPTED)


@dataclass
class _Where:
    """Where a repository's records are in the journal(s): its start, the runs of
    consecutive file records (one, or a few after --resume), its end (None: not
    finished).  An index of offsets, so the records are read again one at a time."""

    start: tuple[str, int]
    segments: list[list[Any]] = field(default_factory=list)  # [journal, start, end]
    end: tuple[str, int] | None = None


def _index(journal_paths: Sequence[str]) -> dict[str, _Where]:
    """Repository name -> where its latest records are (a later start replaces an
    earlier one: a redone repository, or the same one in a later shard)."""
    where: dict[str, _Where] = {}
    for path in journal_paths:
        if not os.path.exists(path):
            continue
        for offset, length, rec in read_records_at(path):
            repo, kind = str(rec["repo"]), rec.get("kind")
            if kind == START:
                where[repo] = _Where((path, offset))
                continue
            w = where.get(repo)
            if w is None or w.end is not None:
                continue
            if kind == FILE:
                last = w.segments[-1] if w.segments else None
                if last is not None and last[0] == path and last[2] == offset:
                    last[2] = offset + length
                else:
                    w.segments.append([path, offset, offset + length])
            elif kind == END:
                w.end = (path, offset)
    return where


class _Reader:
    """Reads records back by offset, one open handle per journal."""

    def __init__(self) -> None:
        self.handles: dict[str, IO[bytes]] = {}

    def _handle(self, path: str) -> IO[bytes]:
        if path not in self.handles:
            self.handles[path] = open(path, "rb")  # noqa: SIM115
        return self.handles[path]

    def record(self, at: tuple[str, int]) -> dict[str, Any]:
        handle = self._handle(at[0])
        handle.seek(at[1])
        rec: dict[str, Any] = json.loads(handle.readline())
        return rec

    def lines(self, w: _Where) -> Any:
        """The repository's raw file-record lines, in order."""
        for path, start, end in w.segments:
            handle = self._handle(path)
            handle.seek(start)
            while handle.tell() < end:
                yield handle.readline()

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def write_reports(out: str, names: Sequence[str] | None = None, *,
                  interrupted: bool = False, journals: Sequence[str] | None = None,
                  patch_dirs: Sequence[str] = ()) -> dict[str, Any]:
    """summary.json, summary.md, failed.txt, changed.txt from the journal(s),
    streaming one file at a time; returns the totals.  A repository the journal
    started but did not finish (an interrupted run) is reported as interrupted,
    with the files it finished."""
    journals = list(journals) if journals is not None else [os.path.join(out, JOURNAL)]
    where = _index(journals)
    order = sorted(where)
    totals: dict[str, Any] = {"repos": len(order), "repos_planned": len(names)
                              if names is not None else len(order),
                              "files": 0, "lines_added": 0, "lines_removed": 0,
                              "held_back": 0, "context_bytes_saved": 0}
    for s in STATUSES:
        totals[f"repos_{s}"] = 0
    for s in (CHANGED, UNCHANGED, SKIPPED, FAILED):
        totals[f"files_{s}"] = 0
    totals["context_sources"] = {DEFAULT: 0, COMPOSE: 0, CONTEXT_MAP: 0}
    totals["notes"] = 0
    codes: dict[str, int] = {}
    reader = _Reader()
    os.makedirs(out, exist_ok=True)
    tmp = {n: os.path.join(out, f".{n}.tmp") for n in
           ("summary.json", "summary.md", "failed.txt", "changed.txt")}
    # summary.md's lists of repositories by status, written as the table is and
    # appended after it (held in files, not in memory: there may be 100,000)
    section_paths = {s: os.path.join(out, f".summary-{s}.tmp") for s in STATUSES}
    # --verify: summary.md's table of the files built and their collapsed reports
    for part in VERIFY_PARTS:
        section_paths[part] = os.path.join(out, f".summary-{part}.tmp")
    sections: dict[str, IO[str]] = {}
    verify_counts: dict[str, int] = {}
    try:
        for status, path in section_paths.items():
            sections[status] = open(path, "w+", encoding="utf-8")  # noqa: SIM115
        with open(tmp["summary.json"], "w", encoding="utf-8") as js, \
                open(tmp["summary.md"], "w", encoding="utf-8") as md, \
                open(tmp["failed.txt"], "w", encoding="utf-8") as failed, \
                open(tmp["changed.txt"], "w", encoding="utf-8") as changed:
            js.write('{"repos": [')
            md.write("| repository | status | files changed | +/- | codes | reason |\n"
                     "|---|---|---|---|---|---|\n")
            outs = _Outputs(js, md, failed, changed, sections, verify_counts)
            for i, name in enumerate(order):
                js.write(("," if i else "") + "\n")
                _report_repo(name, where[name], reader, totals, codes, outs)
                if patch_dirs:
                    _copy_patch(name, patch_dirs, out)
            totals["codes"] = dict(sorted(codes.items()))
            totals["interrupted"] = interrupted
            if verify_counts:  # (a run without --verify reports as before)
                totals["verify"] = dict(sorted(verify_counts.items()))
            js.write('\n],\n"totals": ' + json.dumps(totals, sort_keys=True) + "}\n")
            md.write(f"\n**Totals:** {totals['repos']} repositories "
                     f"({totals['repos_changed']} changed, {totals['repos_unchanged']} "
                     f"unchanged, {totals['repos_skipped']} skipped, {totals['repos_failed']} "
                     f"failed"
                     + (f", {totals['repos_interrupted']} interrupted"
                        if totals["repos_interrupted"] else "")
                     + f"); {totals['files']} Dockerfiles ({totals['files_changed']} "
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
            if verify_counts:
                _write_verification(md, verify_counts, sections)
            for status, title in SECTION_TITLES:
                if totals[f"repos_{status}"]:
                    md.write(f"\n## {title} ({totals[f'repos_{status}']})\n\n")
                    sections[status].seek(0)
                    shutil.copyfileobj(sections[status], md)
            for handle in (js, md, failed, changed):
                handle.flush()
                os.fsync(handle.fileno())
        for name, t in tmp.items():
            os.replace(t, os.path.join(out, name))
    finally:
        reader.close()
        for section in sections.values():
            section.close()
        for t in [*tmp.values(), *section_paths.values()]:
            with contextlib.suppress(OSError):
                os.unlink(t)
    return totals


# summary.md's lists, in this order: what to review first, then what needs a person.
SECTION_TITLES = ((CHANGED, "Changed: patches to review"),
                  (UNCHANGED, "Unchanged: nothing to fix"),
                  (FAILED, "Failed"), (SKIPPED, "Skipped"), (INTERRUPTED, "Interrupted"))


VERIFY_ROWS, VERIFY_DETAILS = "verify-rows", "verify-details"
VERIFY_PARTS = (VERIFY_ROWS, VERIFY_DETAILS)


def _write_verification(md: IO[str], counts: dict[str, int],
                        sections: dict[str, IO[str]]) -> None:
    """summary.md's section for --verify: the outcome of every file built, then
    verify's Markdown report of each, collapsed."""
    total = sum(counts.values())
    told = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    md.write(f"\n## Verification: {total} Dockerfiles built before and after ({told})\n\n"
             "Only verified rewrites are in the patches; the others are left unchanged.\n\n"
             "| repository | Dockerfile | outcome | size | rebuild | reason |\n"
             "|---|---|---|---|---|---|\n")
    for part in VERIFY_PARTS:
        sections[part].seek(0)
        if part == VERIFY_DETAILS:
            md.write("\n")
        shutil.copyfileobj(sections[part], md)


def _verify_row(repo: str, f: dict[str, Any]) -> str:
    v = f["verify"]
    o, r = v.get("original") or {}, v.get("rewritten") or {}

    def pair(key: str, scale: float, unit: str) -> str:
        a, b = o.get(key), r.get(key)
        if a is None and b is None:
            return ""
        show = [("-" if x is None else f"{x / scale:.1f}") for x in (a, b)]
        return f"{show[0]} → {show[1]} {unit}"

    cells = [repo, f["path"], v.get("outcome", ""), pair("size_bytes", 1e6, "MB"),
             pair("rebuild_seconds", 1.0, "s"), v.get("reason") or ""]
    return "| " + " | ".join(" ".join(str(c).split()).replace("|", "\\|")
                             for c in cells) + " |\n"


@dataclass
class _Outputs:
    js: IO[str]
    md: IO[str]
    failed: IO[str]
    changed: IO[str]
    sections: dict[str, IO[str]]  # status -> summary.md's list of those repositories
    verify_counts: dict[str, int] = field(default_factory=dict)  # outcome -> files


def _report_repo(name: str, w: _Where, reader: _Reader, totals: dict[str, Any],
                 codes: dict[str, int], outs: _Outputs) -> None:
    """One repository's summary.json record (written as its files stream by, in the
    layout ``json.dumps(record, sort_keys=True)`` gives), its summary.md row and its
    lines of changed.txt and failed.txt."""
    start = reader.record(w.start)
    end = reader.record(w.end) if w.end is not None else None
    outs.js.write('{"files": [')
    n_files = n_changed = n_failed = added = removed = n_left = 0
    repo_codes: set[str] = set()
    for line in reader.lines(w):
        entry = json.loads(line)
        f = entry["file"]
        if "verify" in f:
            outcome = str(f["verify"].get("outcome"))
            outs.verify_counts[outcome] = outs.verify_counts.get(outcome, 0) + 1
            outs.sections[VERIFY_ROWS].write(_verify_row(name, f))
            outs.sections[VERIFY_DETAILS].write(entry.get("verify_markdown") or "")
            n_left += outcome != "verified"
        outs.js.write((", " if n_files else "") + json.dumps(f, sort_keys=True))
        n_files += 1
        status = f["status"]
        totals["files"] += 1
        totals[f"files_{status}"] += 1
        added += int(f.get("added") or 0)
        removed += int(f.get("removed") or 0)
        totals["held_back"] += int(f.get("held_back") or 0)
        totals["context_bytes_saved"] += int(f.get("context_bytes_saved") or 0)
        source = str(f.get("context_source", DEFAULT))
        totals["context_sources"][source] = totals["context_sources"].get(source, 0) + 1
        totals["notes"] += len(f.get("notes", ()))
        if status == CHANGED:
            n_changed += 1
            outs.changed.write(f"{name}\t{f['path']}\n")
        elif status == FAILED:
            n_failed += 1
            outs.failed.write(f"{name}\t{f['path']}\t{f.get('reason', '')}\n")
        for c in f.get("codes", []):
            codes[c["code"]] = codes.get(c["code"], 0) + int(c["fixes"])
            repo_codes.add(c["code"])
    if end is not None:
        status, reason = str(end["status"]), end.get("reason")
        finished_at = end.get("finished_at")
    else:
        status, finished_at = INTERRUPTED, None
        reason = (f"interrupted after {n_files} of {start.get('files', '?')} Dockerfiles; "
                  "rerun with --resume to finish")
    rest = {"finished_at": finished_at, "notes": start.get("notes", []),
            "path": start.get("path"), "reason": reason, "repo": name, "status": status}
    outs.js.write("], " + json.dumps(rest, sort_keys=True)[1:])
    totals[f"repos_{status}"] += 1
    totals["notes"] += len(start.get("notes", ()))
    if status in (SKIPPED, FAILED) and not n_files:
        outs.failed.write(f"{name}\t-\t{reason or ''}\n")
    totals["lines_added"] += added
    totals["lines_removed"] += removed
    left = f"{n_left} rewrite(s) left out by --verify (see Verification)"
    reason_md: str | None = reason
    if n_left:  # (only --verify records have an outcome)
        reason_md = f"{reason}; {left}" if reason else left
    shown = (reason_md or "").replace("|", "\\|")
    outs.md.write(f"| {name} | {status} | {n_changed}/{n_files} | +{added}/-{removed} | "
                  f"{' '.join(sorted(repo_codes))} | {shown} |\n")
    if status == CHANGED:
        item = (f"{n_changed} of {n_files} Dockerfiles changed, +{added}/-{removed} lines"
                + (f"; {n_failed} failed (see failed.txt)" if n_failed else "")
                + (f"; {left}" if n_left else ""))
    else:
        item = reason_md or ""
    outs.sections[status].write(f"- {name}" + (f": {item}" if item else "") + "\n")


def _copy_patch(name: str, patch_dirs: Sequence[str], out: str) -> None:
    """Concatenate the repository's patches from each input (normally one has it),
    streaming: a repository's patch may be hundreds of MB."""
    parts = [p for d in patch_dirs
             if os.path.exists(p := os.path.join(d, "patches", _patch_name(name)))]
    if not parts:
        return
    os.makedirs(os.path.join(out, "patches"), exist_ok=True)
    target = os.path.join(out, "patches", _patch_name(name))
    tmp = target + ".tmp"
    try:
        with open(tmp, "wb") as dst:
            for p in parts:
                with open(p, "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def merge_reports(inputs: Sequence[str], out: str) -> dict[str, Any]:
    """One report from several ``--out`` folders (shards): the same as a single run.
    The merged journal holds each repository's latest records, in name order."""
    os.makedirs(out, exist_ok=True)
    journals = [os.path.join(d, JOURNAL) for d in inputs]
    merged = os.path.join(out, JOURNAL)
    where = _index(journals)
    tmp = merged + ".tmp"
    reader = _Reader()
    try:
        with open(tmp, "wb") as dst:
            for name in sorted(where):
                w = where[name]
                dst.write(_raw(reader, w.start))
                dst.writelines(reader.lines(w))
                if w.end is not None:
                    dst.write(_raw(reader, w.end))
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, merged)
    finally:
        reader.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return write_reports(out, journals=[merged], patch_dirs=list(inputs))


def _raw(reader: _Reader, at: tuple[str, int]) -> bytes:
    handle = reader._handle(at[0])
    handle.seek(at[1])
    return handle.readline()


def load_summary(out: str, *, drop_timing: bool = True) -> dict[str, Any]:
    """summary.json, without timing fields (for comparing runs)."""
    data: dict[str, Any] = json.loads(Path(out, "summary.json").read_text(encoding="utf-8"))
    if drop_timing:
        for rec in data["repos"]:
            for key in TIMING_FIELDS:
                rec.pop(key, None)
    return data
