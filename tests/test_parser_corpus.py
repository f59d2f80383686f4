"""Round-trip and structural invariants of the lossless parser over the whole corpus.

Every file of the shared corpus (except its index files and BuildKit's ``result``
dumps) is read as bytes, decoded as UTF-8 with ``surrogateescape`` (so invalid bytes
survive) and parsed.  For each file:

* ``render()`` returns the text exactly and encodes back to the same bytes;
* the items tile the file after the BOM, each item's ``text`` is its slice;
* line numbers agree with the offsets (lines split on LF only, like BuildKit);
* each instruction's segments tile its text, in order, with known kinds;
* the logical view maps every character back to the same character in the file;
* parsing the concatenated item texts again yields equal items and diagnostics.

All failures are collected so one run reports every broken file.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import pytest

from dockopt.rewriter.syntax import Dockerfile, Instruction, parse

pytestmark = pytest.mark.corpus

# Index files of the corpus and BuildKit's expected-dump files are not Dockerfiles.
EXCLUDED_NAMES = frozenset({"MANIFEST.tsv", "README.md", "APPS.tsv", "FILES.txt"})
SEGMENT_KINDS = frozenset({"lead", "code", "escape", "eol", "comment", "empty", "heredoc",
                           "terminator"})


def corpus_files(root: Path) -> list[Path]:
    """Every corpus file a parser test should see (Dockerfiles, templates, negatives...)."""
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name in EXCLUDED_NAMES:
            continue
        if p.name == "result" and "buildkit-parser" in p.parts:
            continue
        out.append(p)
    return out


class LineIndex:
    """1-based line of an offset; lines end at LF only (a lone CR is not a break)."""

    def __init__(self, text: str) -> None:
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1


def check_tree(text: str, tree: Dockerfile) -> list[str]:
    """All invariant violations of one parsed text, as messages (empty when fine)."""
    problems: list[str] = []
    if tree.render() != text:
        problems.append("render() != text")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    if tree.bom != bom:
        problems.append(f"bom {tree.bom!r} != {bom!r}")
    pos = len(bom)
    line_of = LineIndex(text).line_of
    for item in tree.items:
        where = f"item@{item.start} ({item.kind}, line {item.start_line})"
        if item.start != pos:
            problems.append(f"{where}: starts at {item.start}, expected {pos}")
        if item.end <= item.start:
            problems.append(f"{where}: empty or negative span")
        if item.text != text[item.start:item.end]:
            problems.append(f"{where}: text is not the file slice")
        if item.start_line != line_of(item.start):
            problems.append(f"{where}: start_line {item.start_line} != "
                            f"{line_of(item.start)}")
        if item.end > item.start and item.end_line != line_of(item.end - 1):
            problems.append(f"{where}: end_line {item.end_line} != "
                            f"{line_of(item.end - 1)}")
        # Only the last item may lack a line ending.
        if item is not tree.items[-1] and not item.text.endswith("\n"):
            problems.append(f"{where}: non-final item without a line ending")
        if isinstance(item, Instruction):
            problems += [f"{where}: {p}" for p in check_instruction(text, item)]
        pos = item.end
    if pos != len(text):
        problems.append(f"items end at {pos}, file ends at {len(text)}")
    return problems


def check_instruction(text: str, ins: Instruction) -> list[str]:
    problems: list[str] = []
    pos = ins.start
    for seg in ins.segments:
        if seg.kind not in SEGMENT_KINDS:
            problems.append(f"unknown segment kind {seg.kind}")
        # A continuation line holding only the escape has an empty ``code`` piece;
        # every other segment owns at least one character.
        if seg.start != pos or seg.end < seg.start or \
                (seg.end == seg.start and seg.kind != "code"):
            problems.append(f"segment {seg} does not continue at {pos}")
        pos = seg.end
    if pos != ins.end:
        problems.append(f"segments end at {pos}, instruction at {ins.end}")
    code = "".join(text[s.start:s.end] for s in ins.segments if s.kind == "code")
    if code != ins.original:
        problems.append(f"code segments {code!r} != original {ins.original!r}")
    logical = ins.logical
    if logical.text != ins.original:
        problems.append("logical.text != original")
    for ls, ps, n in logical.pieces:
        if text[ps:ps + n] != logical.text[ls:ls + n]:
            problems.append(f"logical piece {(ls, ps, n)} maps to different text")
    for h in ins.heredoc_docs:
        if text[h.start:h.start + len(h.content)] != h.content:
            problems.append(f"heredoc {h.name} content is not the file slice")
        if not ins.start <= h.start <= h.end <= ins.end:
            problems.append(f"heredoc {h.name} outside its instruction")
    return problems


def test_corpus_round_trip_and_invariants(corpus_dir: Path) -> None:
    files = corpus_files(corpus_dir)
    assert len(files) > 4000, f"corpus looks incomplete: {len(files)} files"
    failures: list[str] = []
    total_bytes = 0
    n_instructions = 0
    for path in files:
        data = path.read_bytes()
        total_bytes += len(data)
        text = data.decode("utf-8", "surrogateescape")
        rel = path.relative_to(corpus_dir)
        try:
            tree = parse(text)
        except Exception as exc:  # parse must never raise
            failures.append(f"{rel}: parse raised {exc!r}")
            continue
        if tree.render().encode("utf-8", "surrogateescape") != data:
            failures.append(f"{rel}: rendered bytes differ")
        failures += [f"{rel}: {p}" for p in check_tree(text, tree)]
        # Re-parse from the item texts (a new string object): identical tree.
        again = parse(tree.bom + "".join(item.text for item in tree.items))
        if again.items != tree.items or again.diagnostics != tree.diagnostics \
                or again.escape != tree.escape:
            failures.append(f"{rel}: re-parsing the rendered items gives a different tree")
        n_instructions += len(tree.instructions)
    print(f"\n{len(files)} files, {total_bytes} bytes, {n_instructions} instructions, "
          f"{len(failures)} failures")
    assert not failures, "\n".join(failures[:50])
    assert n_instructions > 50_000  # the walk really parsed instructions
