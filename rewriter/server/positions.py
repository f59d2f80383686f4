"""Character offsets (dockopt's unit) <-> LSP positions, exactly.

dockopt works on ``str`` offsets: one unit per code point, bytes that are not UTF-8
held as lone surrogates (``surrogateescape``).  Its lines split on LF only, as
BuildKit's do.  LSP positions are (line, character) where lines end at ``\\n``,
``\\r\\n`` or a lone ``\\r`` and ``character`` counts code units of the negotiated
encoding (UTF-16 unless the client offers another, LSP 3.17 ``positionEncoding``):

* utf-16: a code point above U+FFFF is two units; a lone surrogate is one (that is
  what a UTF-16 string holding it contains);
* utf-8: the bytes of the code point; a surrogate escape is the one byte it stands
  for; any other lone surrogate three bytes (its surrogatepass form);
* utf-32: one unit per code point.

A position inside a code point (say between the halves of a surrogate pair) rounds
down to the code point's start; a character past the end of a line means the end
of the line (the LSP spec's rule).  An offset between the CR and the LF of a CRLF
has no LSP position: ``edit_range`` widens such an edit by the CR or LF (and puts
the character into the new text), so the edit stays exact.

This module does not import pygls: it is unit-tested on its own.
"""

from __future__ import annotations

import bisect
import re

from dockopt.rewriter.records import dataclass

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_BREAK = re.compile(r"\r\n|\r|\n")


def char_units(ch: str, encoding: str) -> int:
    """Code units of one code point."""
    o = ord(ch)
    if encoding == UTF16:
        return 2 if o > 0xFFFF else 1
    if encoding == UTF8:
        if o < 0x80:
            return 1
        if o < 0x800:
            return 2
        if 0xDC80 <= o <= 0xDCFF:
            return 1  # a surrogate escape: the one byte it stands for
        if o < 0x10000:
            return 3
        return 4
    return 1


def units(text: str, encoding: str) -> int:
    """Code units of a string."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF16:
        return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    return sum(char_units(ch, encoding) for ch in text)


@dataclass(frozen=True)
class Position:
    line: int
    character: int


class LineIndex:
    """The LSP lines of one text, for converting in both directions."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0, *(m.end() for m in _BREAK.finditer(text))]

    def _line_end(self, line: int) -> int:
        """The offset where ``line``'s content ends (before its line break)."""
        if line + 1 < len(self.starts):
            end = self.starts[line + 1] - 1
            if self.text[end] == "\n" and end > self.starts[line] \
                    and self.text[end - 1] == "\r":
                end -= 1
            return end
        return len(self.text)

    def position(self, offset: int) -> Position:
        """The position of an offset (one inside a CRLF counts as before the CR)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        offset = min(offset, self._line_end(line))
        return Position(line, units(self.text[start:offset], self.encoding))

    def offset(self, line: int, character: int) -> int:
        """The offset of a position (clamped to the text and to the line's end)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        start = self.starts[line]
        end = self._line_end(line)
        if character <= 0:
            return start
        segment = self.text[start:end]
        if self.encoding == UTF32 or segment.isascii():
            return start + min(character, len(segment))
        count = 0
        for i, ch in enumerate(segment):
            count += char_units(ch, self.encoding)
            if count > character:
                return start + i  # inside this code point: round down to its start
            if count == character:
                return start + i + 1
        return end

    def inside_crlf(self, offset: int) -> bool:
        return 0 < offset < len(self.text) and self.text[offset - 1] == "\r" \
            and self.text[offset] == "\n"

    def edit_range(self, start: int, end: int, new_text: str
                   ) -> tuple[Position, Position, str]:
        """An offset edit as an LSP range and new text that do exactly the same."""
        if self.inside_crlf(start):
            start -= 1
            new_text = "\r" + new_text
        if self.inside_crlf(end):
            end += 1
            new_text = new_text + "\n"
        return self.position(start), self.position(end), new_text


def lf_line_starts(text: str) -> list[int]:
    """Line starts as dockopt counts lines (LF only)."""
    return [0, *(m.end() for m in re.finditer("\n", text))]


def dockopt_offset(starts: list[int], text: str, line: int, column: int) -> int:
    """The offset of dockopt's 1-based (line, column), clamped to that line."""
    if line < 1:
        return 0
    if line > len(starts):
        return len(text)
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    return max(start, min(start + max(column, 1) - 1, end))
