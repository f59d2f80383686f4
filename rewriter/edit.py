"""Edits on the lossless tree that keep every untouched character as it was.

Each edit is a splice of the file text followed by a re-parse, so the new tree is
always exactly what the parser makes of the new text (no stale derived facts), and
text outside the edited span is byte-identical by construction.  New text is
adapted to the file's style: its line ending, keyword case, escape character and
continuation indent (see :class:`Style`).
"""

from __future__ import annotations

from typing import Literal, cast

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import TextMemo
from dockopt.rewriter.syntax import Comment, Dockerfile, Instruction, parse


@dataclass(frozen=True, slots=True)
class Style:
    """How a file writes things, so that inserted text looks like the rest."""

    newline: str = "\n"
    escape: str = "\\"
    upper_keywords: bool = True
    indent: str = "    "
    # Where a file puts `&&` when it continues a RUN: at the end of the line
    # (`a && \` / `    b`) or at the start of the next (`a \` / `    && b`).
    and_position: Literal["trailing", "leading"] = "trailing"

    def keyword(self, kw: str) -> str:
        return kw.upper() if self.upper_keywords else kw.lower()

    def continuation(self) -> str:
        """What ends a continued line: a space, the escape character, the newline."""
        return f" {self.escape}{self.newline}"

    def instruction(self, keyword: str, args: str) -> str:
        """A one-line instruction in this style, with its line ending."""
        return f"{self.keyword(keyword)} {args}{self.newline}"

    def join_and(self, commands: list[str]) -> str:
        """``commands`` joined with ` && ` across continuation lines in this style."""
        if self.and_position == "leading":
            sep = f"{self.continuation()}{self.indent}&& "
        else:
            sep = f" &&{self.continuation()}{self.indent}"
        return sep.join(commands)


_LEADING_AND = lazy(r"[ \t]*(&&|\|\|)")
_TRAILING_AND = lazy(r"(&&|\|\||;)[ \t]*\Z")


def detect_style(tree: Dockerfile) -> Style:
    """Read the style from the file; defaults where the file gives no evidence."""
    upper = lower = leading = trailing = 0
    # Insertion order is first appearance in the file: ``max`` below keeps the first
    # of equal counts, so the order decides ties.
    indents: dict[str, int] = {}
    for ins in tree.instructions:
        facts = _facts(ins)
        if facts.upper is not None:
            if facts.upper:
                upper += 1
            else:
                lower += 1
        for ind, n in facts.indents:
            indents[ind] = indents.get(ind, 0) + n
        leading += facts.leading
        trailing += facts.trailing
    indent = "    "
    if indents:
        indent = max(indents.items(), key=lambda kv: (kv[1], -len(kv[0])))[0] or "    "
    return Style(
        newline=tree.newline,
        escape=tree.escape,
        upper_keywords=upper >= lower,
        indent=indent,
        and_position="leading" if leading > trailing else "trailing",
    )


@dataclass(frozen=True, slots=True)
class _StyleFacts:
    """What one instruction says about the file's style (see :func:`detect_style`)."""

    upper: bool | None  # keyword case, None when the instruction is not a known one
    indents: tuple[tuple[str, int], ...]  # continuation-line indents, first seen first
    leading: int  # continuation lines starting with `&&`/`||`
    trailing: int  # continued lines ending with `&&`/`||`/`;`


# Facts by (instruction text, escape): both decide them, and the variants of an image
# and the passes of a fix repeat their instructions (5,561 instructions in the official
# images, 742 distinct texts). Reading them was 0.46 ms per file, each time a
# transform first asked for the style.
_facts_memo = TextMemo(1 << 18)


def _facts(ins: Instruction) -> _StyleFacts:
    key = (ins.text, ins.escape)
    facts = cast("_StyleFacts | None", _facts_memo.get(key))
    if facts is None:
        facts = _read_facts(ins)
        _facts_memo.put(key, facts, len(ins.text))
    return facts


def _read_facts(ins: Instruction) -> _StyleFacts:
    """The style facts of ``ins``, from its text alone.

    The `&&` before an escape is looked for in the 8 characters before it within the
    instruction: the text before an instruction ends with a line ending (or is the
    BOM), which neither an operator nor the spaces after one can straddle, so looking
    past the instruction's start would find the same."""
    upper = None
    if ins.known:
        raw = ins.raw_keyword
        upper = raw.isupper() or not raw.isalpha()
    indents: dict[str, int] = {}
    leading = trailing = 0
    text = ins.text
    prev_kind = ""
    for seg in ins.relative_segments():
        kind = seg.kind
        if kind == "code" and prev_kind in ("eol", "comment", "empty"):
            line = text[seg.start:seg.end]
            stripped = line.lstrip(" \t")
            if stripped:
                ind = line[: len(line) - len(stripped)]
                indents[ind] = indents.get(ind, 0) + 1
            if _LEADING_AND.match(line):
                leading += 1
        elif kind == "escape":
            before = text[max(0, seg.start - 8):seg.start]
            if _TRAILING_AND.search(before.rstrip(" \t")):
                trailing += 1
        prev_kind = kind
    return _StyleFacts(upper, tuple(indents.items()), leading, trailing)


def adapt_newlines(tree: Dockerfile, text: str) -> str:
    """Give ``text`` the file's line ending."""
    nl = tree.newline
    text = text.replace("\r\n", "\n")
    return text.replace("\n", nl) if nl != "\n" else text


def _ensure_eol(tree: Dockerfile, text: str) -> str:
    text = adapt_newlines(tree, text)
    return text if text.endswith("\n") else text + tree.newline


def replace(tree: Dockerfile, target: Instruction, new_text: str) -> Dockerfile:
    """Replace ``target`` (not its comments) by ``new_text``, one or more instructions."""
    _check_target(tree, target)
    new_text = adapt_newlines(tree, new_text)
    old_eol = target.text.endswith("\n")
    if old_eol and not new_text.endswith("\n"):
        new_text += tree.newline
    elif not old_eol and new_text.endswith("\n") and target.end == len(tree.text):
        new_text = new_text.rstrip("\r\n")  # keep a missing final newline missing
    return tree.splice(target.start, target.end, new_text)


def insert_before(tree: Dockerfile, target: Instruction, new_text: str) -> Dockerfile:
    """Insert above ``target`` and above the comments that belong to it."""
    _check_target(tree, target)
    comments = tree.owned_comments(target)
    at = comments[0].start if comments else target.start
    return tree.splice(at, at, _ensure_eol(tree, new_text))


def after(tree: Dockerfile, target: Instruction, new_text: str
          ) -> tuple[int, int, str] | None:
    """The splice ``(start, end, text)`` that puts ``new_text`` (whole lines) right
    after where BuildKit ends ``target``; None when nothing can follow it.

    * After the target's line ending, heredoc bodies and terminators included.
    * A target that ends the file without a newline: the new lines go after a new
      line ending, and the file still ends without one.
    * A target whose line continuation is still open at the end of the file (``RUN a
      \\`` then only blank or comment lines, which the continuation swallows): the
      dangling escape (and the blanks before it) is removed, which leaves BuildKit's
      logical line as it was, and the new lines go right after that line; the
      swallowed blank and comment lines stay below them.
    * A target with an unterminated heredoc (it reads to the end of the file): None,
      since anything added would become part of the heredoc body.
    """
    _check_target(tree, target)
    if target.heredoc_docs and target.structural_error is not None:
        return None
    text = tree.text
    new_text = _ensure_eol(tree, new_text)
    esc = target.open_escape
    if esc is not None:
        cut = esc.start
        while cut - 2 >= target.start and text[cut - 1] in " \t" and \
                text[cut - 2] != target.escape:
            cut -= 1
        eol = ""
        if esc.end < len(text) and text[esc.end] in "\r\n":
            eol = "\r\n" if text.startswith("\r\n", esc.end) else "\n"
        if not eol:
            splice = cut, esc.end, tree.newline + new_text.rstrip("\r\n")
        else:
            splice = cut, esc.end + len(eol), eol + new_text
        # Prove it: the target keeps its logical line and the new lines are
        # instructions of their own (a continuation line holding only the escape
        # would leave the continuation open).
        out = parse(text[:splice[0]] + splice[2] + text[splice[1]:])
        added = len(parse(new_text).instructions)
        same = [i for i in out.instructions if i.start == target.start]
        if len(out.instructions) != len(tree.instructions) + added or not same or \
                same[0].original.rstrip(" \t") != target.original.rstrip(" \t"):
            return None
        return splice
    at = target.end
    if not text.endswith("\n", 0, at):  # (not text[:at]: that copies the file per call)
        # The target ends the file without a newline: keep it that way at the new end.
        return at, at, tree.newline + new_text.rstrip("\r\n")
    return at, at, new_text


def insert_after(tree: Dockerfile, target: Instruction, new_text: str) -> Dockerfile:
    """Insert right after ``target`` (see :func:`after` for where that is)."""
    where = after(tree, target, new_text)
    if where is None:
        raise ValueError(f"line {target.start_line}: nothing can follow this instruction "
                         "(an unterminated heredoc or continuation)")
    return tree.splice(*where)


def delete(tree: Dockerfile, target: Instruction, *, with_comments: bool = True) -> Dockerfile:
    """Remove ``target`` and, by default, the comment lines directly above it."""
    _check_target(tree, target)
    comments: tuple[Comment, ...] = tree.owned_comments(target) if with_comments else ()
    start = comments[0].start if comments else target.start
    return tree.splice(start, target.end, "")


def edit_shell(tree: Dockerfile, target: Instruction, start: int, end: int,
               replacement: str, *, at_boundary: Literal["next", "prev"] = "next"
               ) -> Dockerfile:
    """Replace logical ``[start, end)`` of a shell-form command's text.

    Offsets are in ``target.shell_source().text``.  An insertion (``start == end``) at
    the seam between two physical lines lands at the start of the next line's
    content (``at_boundary="next"``) or at the end of the previous one, before its
    continuation escape (``"prev"``).  A replacement spanning a seam replaces the
    physical text between, continuation and inner comment lines included.
    """
    _check_target(tree, target)
    src = target.shell_source()
    if src is None:
        raise ValueError(f"line {target.start_line}: {target.keyword} has no shell-form text")
    if not 0 <= start <= end <= len(src.text):
        raise ValueError(f"bad logical span {start}:{end} for {len(src.text)} characters")
    if start == end:
        pos = src.to_physical(start) if at_boundary == "next" else src.to_physical_end(start)
        return tree.splice(pos, pos, adapt_newlines(tree, replacement))
    return tree.splice(src.to_physical(start), src.to_physical_end(end),
                       adapt_newlines(tree, replacement))


def _check_target(tree: Dockerfile, target: Instruction) -> None:
    if tree.text[target.start:target.end] != target.text:
        raise ValueError("instruction does not belong to this tree (stale node?)")
