"""Unified diffs that ``git apply`` and ``patch -p1`` accept.

Lines are split on LF only, as git does, so a CR (a CRLF ending, or a lone CR inside
a line) stays part of its line and a change to it is visible.  A last line without
a newline gets git's ``\\ No newline at end of file`` marker.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterator, Sequence

# Unchanged lines around each edit that difflib's matching sees (see _regions).
WINDOW_REACH = 8
# Lines of edits and the unchanged lines between them in one window, at most.
MAX_WINDOW_LINES = 120
# (start, end, content): replace ``before[start:end]`` with ``content``.
Splice = tuple[int, int, str]
# difflib's opcodes: (tag, i1, i2, j1, j2) over the old and new lines.
Opcode = tuple[str, int, int, int, int]


def split_lines(text: str) -> list[str]:
    """Split on LF, keeping the LF (str.splitlines would also split on CR, FF, ...)."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(before: str, after: str, path: str, *, context: int = 3,
                 new_file: bool = False) -> str:
    """A git-style unified diff from ``before`` to ``after`` ('' if equal).

    ``path`` is relative (``Dockerfile``, ``sub/Dockerfile``); headers are
    ``a/<path>`` and ``b/<path>``, or ``/dev/null`` for a new file.  Every file's diff
    starts with a ``diff --git`` line, as git writes them: without it ``git apply``
    run in a subfolder of a work tree guesses how many leading folders to strip
    from the first patch and applies that guess to the rest (a later new file
    was skipped).
    """
    if before == after:
        return ""
    a = split_lines(before)
    b = split_lines(after)
    old = "/dev/null" if new_file else f"a/{path}"
    out: list[str] = []
    out.append(f"diff --git a/{path} b/{path}\n")
    if new_file:
        out.append("new file mode 100644\n")
    for line in difflib.unified_diff(a, b, old, f"b/{path}", n=context, lineterm="\n"):
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
        elif line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def spliced_diff(before: str, splices: Sequence[Splice], path: str, *,
                 context: int = 3) -> tuple[str, str]:
    """``(after, diff)``: the text with ``splices`` applied (sorted by position and
    not overlapping, in ``before``'s offsets) and its unified diff from ``before``,
    the same text ``unified_diff(before, after, path)`` gives, built from the edits.

    difflib compares whole files, with work that grows with the file's lines times
    the changes (quadratic for many scattered edits); here difflib matches only a
    window of lines around each group of nearby edits (``_regions``), the lines
    between windows are equal by construction, and the hunks are grouped and
    written as difflib does.  Every fix step of the corpus comes out byte-identical
    to difflib's diff (tests/test_diff_edits.py); on text of a handful of distinct
    lines, difflib's pick among equally short alignments can depend on lines far
    away, and the diff may then align differently (it is still exact).
    """
    if not splices:
        return before, ""
    pieces: list[str] = []
    opcodes: list[Opcode] = []
    regions = _regions(before, splices, WINDOW_REACH)
    a_line = b_line = 0  # the line numbers, old and new, of ``pos``
    pos = 0
    shift = 0  # len(after) - len(before) so far
    lines = _LineSource(before)
    for start, end, edits in regions:
        gap = before.count("\n", pos, start)
        a_line += gap
        b_line += gap
        lines.anchor(a_line, start, b_line, start + shift, context, pos)
        pieces.append(before[pos:start])
        new_parts: list[str] = []
        at = start
        for s, e, content in edits:
            new_parts.append(before[at:s])
            new_parts.append(content)
            at = e
        new_parts.append(before[at:end])
        new = "".join(new_parts)
        pieces.append(new)
        old_lines = split_lines(before[start:end])
        new_lines = split_lines(new)
        shift += len(new) - (end - start)
        for tag, i1, i2, j1, j2 in _local_opcodes(old_lines, new_lines):
            opcodes.append((tag, a_line + i1, a_line + i2, b_line + j1, b_line + j2))
        a_line += len(old_lines)
        b_line += len(new_lines)
        pos = end
    pieces.append(before[pos:])
    after = "".join(pieces)
    if after == before:
        return after, ""
    lines.after = after
    rest = before.count("\n", pos) + (0 if before.endswith("\n") or pos == len(before)
                                      else 1)
    a_total, b_total = a_line + rest, b_line + rest
    out = [f"diff --git a/{path} b/{path}\n", f"--- a/{path}\n", f"+++ b/{path}\n"]
    for group in _grouped(opcodes, a_total, b_total, context):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += (" " + line for line in lines.old(i1, i2))
                continue
            if tag in ("replace", "delete"):
                out += ("-" + line for line in lines.old(i1, i2))
            if tag in ("replace", "insert"):
                out += ("+" + line for line in lines.new(j1, j2))
    return after, "".join(_marked(out))


def _marked(lines: list[str]) -> Iterator[str]:
    for line in lines:
        yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def _regions(before: str, splices: Sequence[Splice],
             reach: int) -> list[tuple[int, int, list[Splice]]]:
    """The windows of ``before`` difflib's matching is run on: each edit widened to
    the lines it touches, edits at most ``2 * reach`` unchanged lines apart joined
    (up to ``MAX_WINDOW_LINES`` lines a window), and each window widened by up to
    ``reach`` unchanged lines on either side (never into its neighbour's).

    difflib matches the whole file: near an edit it may align a changed line with an
    unchanged one a few lines away (a blank line, a block moved past a line), so
    each window holds the unchanged lines around its edits; further away the
    unchanged lines are the longest matches there are, and difflib aligns them
    with themselves, as the windows do.  The cap keeps the matching's cost per edit
    bounded where edits are dense (difflib's own is quadratic there)."""
    # (start, end, its line count, gap in lines to the span before, edits)
    spans: list[tuple[int, int, int, int, list[Splice]]] = []
    for splice in splices:
        s, e, _ = splice
        start = before.rfind("\n", 0, s) + 1
        nl = before.find("\n", e)
        end = len(before) if nl < 0 else nl + 1
        if spans and start < spans[-1][1]:  # shares a line with the span before
            last_start, last_end, size, gap, edits = spans[-1]
            edits.append(splice)
            new_end = max(last_end, end)
            size += before.count("\n", last_end, new_end)
            spans[-1] = (last_start, new_end, size, gap, edits)
            continue
        gap = before.count("\n", spans[-1][1], start) if spans else 0
        size = before.count("\n", start, end) or 1
        if spans and gap <= 2 * reach and spans[-1][2] + gap + size <= MAX_WINDOW_LINES:
            last_start, _, last_size, last_gap, edits = spans[-1]
            edits.append(splice)
            spans[-1] = (last_start, end, last_size + gap + size, last_gap, edits)
        else:
            spans.append((start, end, size, gap, [splice]))
    out: list[tuple[int, int, list[Splice]]] = []
    for i, (start, end, _, gap, edits) in enumerate(spans):
        back = min(reach, gap - gap // 2) if i else reach
        ahead = min(reach, spans[i + 1][3] // 2) if i + 1 < len(spans) else reach
        for _ in range(back):
            if start == 0:
                break
            start = before.rfind("\n", 0, start - 1) + 1
        for _ in range(ahead):
            if end == len(before):
                break
            nl = before.find("\n", end)
            end = len(before) if nl < 0 else nl + 1
        out.append((start, end, edits))
    return out


def _local_opcodes(old: list[str], new: list[str]) -> list[Opcode]:
    """One window's opcodes, as difflib matches it."""
    if old and new:
        # Windows are short (see _regions), so no "popular line" heuristic is needed;
        # difflib applies it only to files of 200 lines or more.
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        return [(tag, i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]
    if old:
        return [("delete", 0, len(old), 0, 0)]
    return [("insert", 0, 0, 0, len(new))] if new else []


def _grouped(changes: list[Opcode], a_total: int, b_total: int,
             n: int) -> Iterator[list[Opcode]]:
    """difflib's ``get_grouped_opcodes(n)`` over the whole files, from the regions'
    opcodes (the lines between regions are equal)."""
    codes: list[Opcode] = []
    ai = bj = 0
    for tag, i1, i2, j1, j2 in changes:
        if i1 > ai:  # equal lines before this opcode
            _append(codes, ("equal", ai, i1, bj, j1))
        if i2 > i1 or j2 > j1:
            _append(codes, (tag, i1, i2, j1, j2))
        ai, bj = i2, j2
    if a_total > ai:
        _append(codes, ("equal", ai, a_total, bj, b_total))
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > n + n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _append(codes: list[Opcode], op: Opcode) -> None:
    """Add an opcode, joining it to the previous one as difflib's opcodes would be:
    equal runs are maximal, and changes between two equal runs are one opcode."""
    if codes:
        tag, i1, _, j1, _ = codes[-1]
        if (tag == "equal") == (op[0] == "equal"):
            if tag != "equal":
                old, new = op[2] > i1, op[4] > j1
                tag = "replace" if old and new else "delete" if old else "insert"
            codes[-1] = (tag, i1, op[2], j1, op[4])
            return
    codes.append(op)


def _range(start: int, stop: int) -> str:
    """A hunk header's range, as difflib writes it."""
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"


class _LineSource:
    """Lines of the old and new text by number.  Each region leaves an anchor (its
    line number and offset, in both texts) up to ``context`` lines above it, where its
    hunk's context starts; lines are found by walking forward from the nearest
    anchor, so only the lines a hunk shows are looked at."""

    def __init__(self, before: str) -> None:
        self.before = before
        self.after = ""
        # Per text: anchor line numbers (increasing) and their offsets.
        self._lines_at: tuple[list[int], list[int]] = ([0], [0])
        self._offsets: tuple[list[int], list[int]] = ([0], [0])
        self._cursor = [(0, 0), (0, 0)]  # per text: the line after the last read

    def anchor(self, a_line: int, a_offset: int, b_line: int, b_offset: int,
               context: int, floor: int) -> None:
        """Anchor a region at ``a_offset``/``b_offset``; ``floor`` is where the region
        before it ended: the text between is the same in both texts."""
        back = 0
        start = a_offset
        while back < context and start > floor:
            start = self.before.rfind("\n", 0, start - 1) + 1
            back += 1
        for which, line, offset in ((0, a_line, start), (1, b_line, b_offset - (a_offset - start))):
            self._lines_at[which].append(line - back)
            self._offsets[which].append(offset)

    def old(self, i1: int, i2: int) -> list[str]:
        return self._lines(self.before, 0, i1, i2)

    def new(self, j1: int, j2: int) -> list[str]:
        return self._lines(self.after, 1, j1, j2)

    def _lines(self, text: str, which: int, first: int, stop: int) -> list[str]:
        i = bisect.bisect_right(self._lines_at[which], first) - 1
        line, offset = self._lines_at[which][i], self._offsets[which][i]
        here, at = self._cursor[which]
        if line <= here <= first:  # hunks come in order: go on from the last line read
            line, offset = here, at
        while line < first:
            offset = text.index("\n", offset) + 1
            line += 1
        out: list[str] = []
        while line < stop:
            nl = text.find("\n", offset)
            end = len(text) if nl < 0 else nl + 1
            out.append(text[offset:end])
            offset = end
            line += 1
        self._cursor[which] = (line, offset)
        return out
