"""Edits of an instruction's own parts: its keyword, or its arguments, in place."""

from __future__ import annotations

from dockopt.rewriter.syntax import Instruction
from dockopt.transforms.base import Edit

# --------------------------------------------------------------------------- helpers


def keyword_edit(ins: Instruction, new: str) -> Edit | None:
    """Replace the instruction keyword with ``new`` in the keyword's own case."""
    m = ins.meaning
    if m is None:
        return None
    a, b = m.keyword_span
    logical = ins.logical
    start, end = logical.to_physical(a), logical.to_physical_end(b)
    raw = ins.raw_keyword
    if end - start != len(raw):
        return None
    if raw.isupper():
        new = new.upper()
    elif raw.islower():
        new = new.lower()
    elif raw[:1].isupper() and raw[1:].islower():
        new = new.capitalize()
    else:
        return None
    return Edit(start, end, new)


def args_range(ins: Instruction) -> tuple[int, int] | None:
    """Physical range of the arguments, None if a comment line sits inside it."""
    args = ins.args
    if not args.text:
        return None
    start, end = args.to_physical(0), args.to_physical_end(len(args.text))
    if any(s.kind in ("comment", "empty") and start <= s.start < end for s in ins.segments):
        return None
    return start, end

