"""The lossless Dockerfile syntax tree.

Every character of the input has exactly one owner and ``render()`` concatenates
the owners, so ``parse(text).render() == text`` for every string.  The owners are
the BOM, parser directives, comment lines, blank lines and instructions.  An
instruction owns its continuation lines, the comment and empty lines inside a
continuation, its heredoc bodies and terminators, and its line endings.

The line handling follows BuildKit's ``parser.Parse`` step by step (line splitting
on LF only, leading-whitespace and comment rules, the continuation regex with
either escape character, directives only before anything else, heredoc bodies read
after the logical line), so that ``start_line``/``end_line`` and the semantic view
equal what BuildKit reports.  Input BuildKit rejects does not raise: the offending
node is kept verbatim and a :class:`Diagnostic` says why.

Nodes are frozen dataclasses; edits return a new :class:`Dockerfile` (see the
methods below and ``edit.py``), re-parsed from the spliced text so that every
derived fact stays true.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import field
from typing import TYPE_CHECKING, Literal, cast

from dockopt.rewriter import buildkit as bk

# The parser's diagnostics live in a module of their own (a run answered from the
# results cache reads them without loading the parser); they are re-exported here.
from dockopt.rewriter.diagnostic import (
    BAD_DIRECTIVE,
    EMPTY_CONTINUATION,
    INVALID_UTF8,
    LINE_TOO_LONG,
    NO_INSTRUCTIONS,
    REJECTED_INSTRUCTION,
    UNKNOWN_INSTRUCTION,
    UNTERMINATED_HEREDOC,
)
from dockopt.rewriter.diagnostic import NOT_TEXT as NOT_TEXT
from dockopt.rewriter.diagnostic import Diagnostic as Diagnostic
from dockopt.rewriter.diagnostic import Severity as Severity
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.once import once
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import TextMemo

if TYPE_CHECKING:
    from dockopt.rewriter.edit import Style
    from dockopt.rewriter.shell import LogicalText


# bufio.Scanner's default limit: BuildKit fails on a longer line.
_MAX_LINE_BYTES = 64 * 1024

_DIRECTIVE = lazy(
    r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_VALID_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_CONTINUATION = {
    "\\": re.compile(r"(?<!\\)\\[ \t]*\Z"),
    "`": re.compile(r"(?<!`)`[ \t]*\Z"),
}
_SURROGATE = lazy("[\udc80-\udcff]")


@dataclass(frozen=True, slots=True)
class Directive:
    """A parser directive (``# syntax=...``, ``# escape=...``, ``# check=...``)."""

    text: str
    start: int
    end: int
    start_line: int
    name: str
    value: str
    kind: Literal["directive"] = "directive"

    @property
    def end_line(self) -> int:
        return self.start_line


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment line outside any instruction (leading whitespace allowed)."""

    text: str
    start: int
    end: int
    start_line: int
    kind: Literal["comment"] = "comment"

    @property
    def end_line(self) -> int:
        return self.start_line

    @property
    def content(self) -> str:
        """The comment without ``#``, surrounding whitespace and line ending."""
        return self.text.strip(bk.GO_SPACE)[1:].strip(bk.GO_SPACE)


@dataclass(frozen=True, slots=True)
class Blank:
    """A line holding only whitespace (or nothing) outside any instruction."""

    text: str
    start: int
    end: int
    start_line: int
    kind: Literal["blank"] = "blank"

    @property
    def end_line(self) -> int:
        return self.start_line


SegmentKind = Literal["lead", "code", "escape", "eol", "comment", "empty", "heredoc",
                      "terminator"]


@dataclass(frozen=True, slots=True)
class Segment:
    """One physical piece of an instruction. Offsets are absolute in the file.

    ``code`` pieces make up the logical line BuildKit sees; ``lead`` is the first
    line's leading whitespace, ``escape`` a line-continuation escape with the spaces
    after it, ``eol`` a line ending, ``comment``/``empty`` whole lines dropped from
    a continuation, ``heredoc``/``terminator`` heredoc bodies and their end lines.
    """

    kind: SegmentKind
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A heredoc an instruction opens; ``content`` is exactly what BuildKit stores."""

    name: str
    content: str
    fd: int
    chomp: bool
    expand: bool
    start: int  # absolute offset of the first body line
    end: int  # absolute offset just past the terminator line


@dataclass(frozen=True)
class Instruction:
    """One instruction with everything it owns, and BuildKit's reading of it.

    The parser records only the boundaries, the logical line and the heredocs; the
    semantic view and the physical segment layout are computed on first use, so
    parsing a large tree stays cheap when a caller needs only a few nodes.
    """

    text: str
    start: int
    end: int
    start_line: int
    end_line: int
    original: str
    escape: str = field(repr=False)
    heredoc_docs: tuple[Heredoc, ...] = ()
    # A structural problem found while reading the node (an unterminated heredoc).
    structural_error: Diagnostic | None = field(default=None, repr=False)
    kind: Literal["instruction"] = "instruction"

    @once
    def _interpretation(self) -> tuple[bk.Meaning | None, Diagnostic | None]:
        try:
            return _interpret(self.original, self.escape), None
        except bk.BuildKitError as exc:
            lead = _lstrip_len(self.text[: self.text.find("\n") + 1 or len(self.text)])
            return None, Diagnostic(REJECTED_INSTRUCTION, self.start_line, lead + 1, str(exc))

    @property
    def meaning(self) -> bk.Meaning | None:
        return self._interpretation[0]

    @property
    def error(self) -> Diagnostic | None:
        """Why BuildKit rejects this instruction, or None."""
        return self.structural_error or self._interpretation[1]

    @property
    def raw_keyword(self) -> str:
        m = self.meaning
        return m.raw_keyword if m is not None else bk.split_command(self.original)[0]

    @once
    def keyword(self) -> str:
        return self.raw_keyword.upper()

    @property
    def flags(self) -> tuple[str, ...]:
        m = self.meaning
        return m.flags if m is not None else ()

    @property
    def value(self) -> tuple[str, ...]:
        m = self.meaning
        return m.value if m is not None else ()

    @property
    def is_json(self) -> bool:
        m = self.meaning
        return m.is_json if m is not None else False

    @property
    def sub_keyword(self) -> str | None:
        """ONBUILD's inner keyword, upper-case."""
        m = self.meaning
        return m.sub_keyword if m is not None else None

    # known and passthrough are asked of every instruction by most rules (30,000 times
    # over the official images' 5,561 instructions): computed once per node.
    @once
    def known(self) -> bool:
        m = self.meaning
        return m is not None and _known(m)

    @once
    def passthrough(self) -> bool:
        """True when transforms must leave this node alone (unknown or rejected)."""
        return self.error is not None or not self.known

    @property
    def heredocs(self) -> tuple[tuple[str, str], ...]:
        return tuple((h.name, h.content) for h in self.heredoc_docs)

    def relative_segments(self) -> tuple[Segment, ...]:
        """``segments`` with offsets relative to the instruction's start (into
        ``text``), shared by every instruction with the same text: for readers that
        only need the kinds, or the text of each piece."""
        return self._layout.segments

    @once
    def _layout(self) -> _Layout:
        """The views of this instruction's text that do not depend on where it sits in
        the file, shared by every instruction with the same text (:data:`_layouts`).
        Kept by the node too: a text too long for the memo is scanned once, not once
        per reader."""
        key = (self.text, self.escape)
        layout = cast("_Layout | None", _layouts.get(key))
        if layout is None:
            layout = _Layout(_relative_segments(self.text, self.escape, self.start,
                                                self.heredoc_docs))
            _layouts.put(key, layout, len(self.text))
        return layout

    @once
    def segments(self) -> tuple[Segment, ...]:
        """The physical layout: every character of ``text`` in exactly one segment."""
        relative = self._layout.segments
        d = self.start
        if not d:
            return relative
        return tuple([Segment(s.kind, s.start + d, s.end + d) for s in relative])

    @property
    def open_escape(self) -> Segment | None:
        """The escape of a line continuation still open where the instruction ends.

        BuildKit keeps reading a continuation across empty and comment lines until a
        line with content, so such an instruction can only end at the end of the file
        (``RUN a \\`` then blank lines).  Any line added after it would join it.
        """
        for seg in reversed(self.segments):
            if seg.kind == "escape":
                return seg
            if seg.kind not in ("eol", "empty", "comment"):
                return None
        return None

    @once
    def logical(self) -> LogicalText:
        """The logical line (continuations joined, inner comments dropped)."""
        return self._layout.whole(self.original).shifted(self.start)

    @once
    def args(self) -> LogicalText:
        """The arguments after keyword and flags, trimmed, as BuildKit dispatches them."""
        layout = self._layout
        relative = layout.args
        if relative is None:
            m = self.meaning  # a function of the text, as the layout is
            span = (0, 0) if m is None else m.sub.args_span if m.sub is not None \
                else m.args_span
            relative = layout.args = _logical_slice(layout.whole(self.original), span)
        return relative.shifted(self.start)

    def shell_source(self) -> LogicalText | None:
        """The text BuildKit hands to ``/bin/sh -c`` for a shell-form RUN/CMD/ENTRYPOINT.

        None for exec (JSON) form, empty commands and other instructions.  Heredoc
        bodies are not part of it; they are separate scripts (see ``heredoc_docs``).
        """
        return self._shell_source

    @once
    def _shell_source(self) -> LogicalText | None:
        kw = self.sub_keyword if self.keyword == "ONBUILD" else self.keyword
        if kw not in ("RUN", "CMD", "ENTRYPOINT") or self.is_json or self.error:
            return None
        args = self.args
        return args if args.text else None


class _Layout:
    """An instruction text's position-free views, with offsets relative to the
    instruction's start: its segments, and (computed on first use) its logical line and
    its arguments. The official images' variants repeat their instructions (5,561
    instructions, 742 distinct texts), and every pass of a fix re-parses the file:
    rescanning each instruction's lines for them was a fifth of what `check` spent in
    the rules. Held in :data:`_layouts`; the fields are only ever set from ``None`` to
    the one value the text gives, so a race computes it twice, harmlessly."""

    __slots__ = ("args", "logical", "segments")

    def __init__(self, segments: tuple[Segment, ...]) -> None:
        self.segments = segments
        self.logical: LogicalText | None = None
        self.args: LogicalText | None = None

    def whole(self, original: str) -> LogicalText:
        """The logical line (``original``, the instruction's joined text, mapped onto
        the code segments), made on first use."""
        if self.logical is None:
            self.logical = _logical_of(original, self.segments)
        return self.logical


# Layouts by (instruction text, escape character): both decide every offset in them.
_layouts = TextMemo(1 << 18)


def _relative_segments(text: str, escape: str, start: int,
                       heredocs: tuple[Heredoc, ...]) -> tuple[Segment, ...]:
    """The segments of an instruction's ``text`` as if it started at offset 0 (the
    heredocs' absolute offsets are made relative with the instruction's ``start``)."""
    lines = _Lines(text, 0)
    got = lines.next()
    assert got is not None
    ls, ce, le = got
    token = text[ls:ce]
    lead = _lstrip_len(token)
    cont = _CONTINUATION[escape]
    segs: list[Segment] = []
    _scan_continuation(text, lines, ls, ce, le, lead, cont.search(token[lead:]), cont, segs)
    for h in heredocs:
        body_start, body_end = h.start - start, h.start - start + len(h.content)
        if body_end > body_start:
            segs.append(Segment("heredoc", body_start, body_end))
        if h.end - start > body_end:
            segs.append(Segment("terminator", body_end, h.end - start))
    return tuple(segs)


def _logical_of(original: str, segments: tuple[Segment, ...]) -> LogicalText:
    """The logical line ``original`` mapped onto the ``code`` segments."""
    from dockopt.rewriter.shell import LogicalText

    pieces: list[tuple[int, int, int]] = []
    pos = 0
    for seg in segments:
        if seg.kind == "code" and seg.end > seg.start:
            n = seg.end - seg.start
            pieces.append((pos, seg.start, n))
            pos += n
    return LogicalText(original, tuple(pieces))


def _logical_slice(whole: LogicalText, span: tuple[int, int]) -> LogicalText:
    """The part ``span`` of a logical line, with its own map."""
    from dockopt.rewriter.shell import LogicalText

    a, b = span
    pieces: list[tuple[int, int, int]] = []
    for ls, ps, n in whole.pieces:
        lo, hi = max(ls, a), min(ls + n, b)
        if lo < hi:
            pieces.append((lo - a, ps + (lo - ls), hi - lo))
    return LogicalText(whole.text[a:b], tuple(pieces))


Node = Directive | Comment | Blank | Instruction


@dataclass(frozen=True, slots=True)
class Stage:
    """A build stage: its FROM and the instructions up to the next FROM."""

    index: int
    name: str | None
    base: str
    platform: str | None
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]
    # The stage's instructions after FROM.  Stored once: transforms walk it per
    # instruction, and a property slicing ``instructions`` copied the stage each time.
    body: tuple[Instruction, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", self.instructions[1:])


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile. ``render()`` returns the input text exactly."""

    bom: str
    items: tuple[Node, ...]
    escape: str
    structural_diagnostics: tuple[Diagnostic, ...] = field(repr=False)
    text: str = field(repr=False)

    @once
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Everything BuildKit would reject or warn about, in file order."""
        out = list(self.structural_diagnostics)
        for ins in self.instructions:
            err = ins.error
            if err is not None:
                out.append(err)
            elif not ins.known:
                col = _lstrip_len(ins.text.split("\n", 1)[0]) + 1
                out.append(Diagnostic(UNKNOWN_INSTRUCTION, ins.start_line, col,
                                      f"unknown instruction: {ins.raw_keyword}", "warning"))
        out.sort(key=lambda d: (d.line, d.column))
        return tuple(out)

    def render(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    @once
    def instructions(self) -> tuple[Instruction, ...]:
        return tuple(i for i in self.items if isinstance(i, Instruction))

    @once
    def directives(self) -> tuple[Directive, ...]:
        return tuple(i for i in self.items if isinstance(i, Directive))

    def directive(self, name: str) -> Directive | None:
        for d in self.directives:
            if d.name == name:
                return d
        return None

    @once
    def newline(self) -> str:
        """The file's dominant line ending (LF when it has none).  Cached: edits ask
        for it per inserted line, and counting scans the whole text."""
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        return "\r\n" if crlf > lf else "\n"

    # Asked by most rules of every pass (7 times per file): answered once per tree.
    @once
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    @property
    def global_args(self) -> tuple[Instruction, ...]:
        """ARG instructions before the first FROM (usable in FROM lines)."""
        out: list[Instruction] = []
        for ins in self.instructions:
            if ins.keyword == "FROM":
                break
            if ins.keyword == "ARG":
                out.append(ins)
        return tuple(out)

    @once
    def stages(self) -> tuple[Stage, ...]:
        stages: list[Stage] = []
        current: list[Instruction] = []
        for ins in self.instructions:
            if ins.keyword == "FROM":
                if current:
                    stages.append(_make_stage(len(stages), current))
                current = [ins]
            elif current:
                current.append(ins)
        if current:
            stages.append(_make_stage(len(stages), current))
        return tuple(stages)

    @once
    def _shells(self) -> dict[int, tuple[str, ...]]:
        shells: dict[int, tuple[str, ...]] = {}
        shell: tuple[str, ...] = ("/bin/sh", "-c")
        for ins in self.instructions:
            if ins.keyword == "FROM":
                shell = ("/bin/sh", "-c")
            shells[ins.start] = shell
            if ins.keyword == "SHELL" and ins.is_json and ins.value:
                shell = ins.value
        return shells

    def shell_for(self, ins: Instruction) -> tuple[str, ...]:
        """The SHELL in effect for ``ins`` (BuildKit's default: ``/bin/sh -c``)."""
        return self._shells.get(ins.start, ("/bin/sh", "-c"))

    def owned_comments(self, target: Instruction) -> tuple[Comment, ...]:
        """The comment lines directly above ``target`` (no blank line between)."""
        items = self.items
        first = idx = self.index(target)
        # Walk back by index: slicing ``items[:idx]`` copied the file's items per call.
        while first > 0 and isinstance(items[first - 1], Comment):
            first -= 1
        return tuple(c for c in items[first:idx] if isinstance(c, Comment))

    @once
    def _positions(self) -> dict[int, int]:
        return {item.start: i for i, item in enumerate(self.items)}

    def index(self, target: Node) -> int:
        i = self._positions.get(target.start)
        if i is None or self.items[i] != target:
            raise ValueError("node is not part of this tree")
        return i

    @once
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self.text.find
        pos = find("\n")
        while pos >= 0:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        return starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    # --- edits: each returns a new tree; untouched text stays byte-identical ---

    def splice(self, start: int, end: int, new_text: str) -> Dockerfile:
        """Replace ``text[start:end]`` with ``new_text`` and re-parse."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"bad span {start}:{end}")
        return parse(self.text[:start] + new_text + self.text[end:])

    def style(self) -> Style:
        from dockopt.rewriter.edit import detect_style

        return detect_style(self)

    def replace(self, target: Instruction, new_text: str) -> Dockerfile:
        from dockopt.rewriter import edit

        return edit.replace(self, target, new_text)

    def insert_before(self, target: Instruction, new_text: str) -> Dockerfile:
        from dockopt.rewriter import edit

        return edit.insert_before(self, target, new_text)

    def insert_after(self, target: Instruction, new_text: str) -> Dockerfile:
        from dockopt.rewriter import edit

        return edit.insert_after(self, target, new_text)

    def delete(self, target: Instruction, *, with_comments: bool = True) -> Dockerfile:
        from dockopt.rewriter import edit

        return edit.delete(self, target, with_comments=with_comments)

    def edit_shell(self, target: Instruction, start: int, end: int,
                   replacement: str) -> Dockerfile:
        from dockopt.rewriter import edit

        return edit.edit_shell(self, target, start, end, replacement)


def _make_stage(index: int, body: list[Instruction]) -> Stage:
    frm = body[0]
    value = frm.value
    name = None
    if len(value) >= 3 and value[1].lower() == "as":
        name = value[2].lower()
    platform = None
    for flag in frm.flags:
        if flag.startswith("--platform="):
            platform = flag.split("=", 1)[1]
    return Stage(index, name, value[0] if value else "", platform, frm, tuple(body))


# --- the parser -------------------------------------------------------------------


class _Lines:
    """Walks the text line by line (split on LF, endings kept), like bufio.Scanner."""

    __slots__ = ("base", "line", "n", "pos", "text")

    def __init__(self, text: str, pos: int, base: int = 0) -> None:
        self.text = text
        self.n = len(text)
        self.pos = pos
        self.line = 0
        self.base = base  # added to offsets in segments (a node re-scanning its own text)

    def next(self) -> tuple[int, int, int] | None:
        """Returns (start, content_end, end) of the next line, or None at EOF."""
        start = self.pos
        if start >= self.n:
            return None
        text = self.text
        nl = text.find("\n", start)
        if nl < 0:
            end = ce = self.n
        else:
            end, ce = nl + 1, nl
        # The line holds no other LF (``nl`` is the first), so only CRs are left to
        # strip before the ending: checked once, looped over only when there is one.
        if ce > start and text[ce - 1] == "\r":
            while ce > start and text[ce - 1] == "\r":
                ce -= 1
        self.pos = end
        self.line += 1
        return start, ce, end


def _lstrip_len(s: str) -> int:
    return len(s) - len(s.lstrip(bk.GO_SPACE))


class _DirectiveState:
    __slots__ = ("done", "seen")

    def __init__(self) -> None:
        self.done = False
        self.seen: set[str] = set()

    def check(self, token: str) -> tuple[str, str] | None:
        if self.done:
            return None
        m = _DIRECTIVE.match(token)
        if m is None or m.group(1).lower() not in _VALID_DIRECTIVES:
            self.done = True
            return None
        return m.group(1).lower(), m.group(2)


def parse(text: str) -> Dockerfile:
    """Parse any string into a lossless tree. Never raises."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = _Lines(text, len(bom))
    items: list[Node] = []
    diags: list[Diagnostic] = []
    directives = _DirectiveState()
    escape = "\\"
    cont = _CONTINUATION[escape]
    long_lines = len(text) > _MAX_LINE_BYTES // 4
    n = lines.n
    find = text.find
    space = bk.GO_SPACE

    while lines.pos < n:
        # lines.next(), inline (as in _scan_continuation): once per line outside an
        # instruction's continuation, the parser's other most frequent call.
        ls = lines.pos
        nl = find("\n", ls)
        if nl < 0:
            le = ce = n
        else:
            le, ce = nl + 1, nl
        if ce > ls and text[ce - 1] == "\r":
            while ce > ls and text[ce - 1] == "\r":
                ce -= 1
        lines.pos = le
        lines.line = lineno = lines.line + 1
        token = text[ls:ce]
        lead = _lstrip_len(token) if token[:1] in space else 0
        stripped = token[lead:] if lead else token
        if not directives.done:
            found = directives.check(stripped)
            if found is not None:
                escape, cont = _directive(found, directives, escape, lineno, lead, diags)
                items.append(Directive(text[ls:le], ls, le, lineno, found[0], found[1]))
                continue
        if stripped[:1] == "#":
            items.append(Comment(text[ls:le], ls, le, lineno))
            continue
        m = cont.search(stripped)
        if m is None and not stripped:
            items.append(Blank(text[ls:le], ls, le, lineno))
            continue
        items.append(_read_instruction(text, lines, ls, ce, lead, m, escape, diags))

    if long_lines:
        _check_lengths(text, diags)
    if not any(isinstance(i, Instruction) for i in items):
        diags.append(Diagnostic(NO_INSTRUCTIONS, lines.line or 1, 1,
                                "file with no instructions"))
    m2 = _SURROGATE.search(text)
    if m2 is not None:
        off = m2.start()
        line = text.count("\n", 0, off) + 1
        diags.append(Diagnostic(INVALID_UTF8, line, off - text.rfind("\n", 0, off),
                                "invalid UTF-8 (bytes kept as they are)", "warning"))
    return Dockerfile(bom, tuple(items), escape, tuple(diags), text)


def _directive(found: tuple[str, str], directives: _DirectiveState, escape: str, lineno: int,
               lead: int, diags: list[Diagnostic]) -> tuple[str, re.Pattern[str]]:
    name, value = found
    if name in directives.seen:
        diags.append(Diagnostic(BAD_DIRECTIVE, lineno, lead + 1,
                                f"only one {name} parser directive can be used"))
    elif name == "escape" and value not in ("\\", "`"):
        diags.append(Diagnostic(BAD_DIRECTIVE, lineno, lead + 1,
                                f"invalid escape token '{value}' does not match ` or \\"))
    elif name == "escape":
        escape = value
    directives.seen.add(name)
    return escape, _CONTINUATION[escape]


def _check_lengths(text: str, diags: list[Diagnostic]) -> None:
    pos = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        n = len(line) + 1
        if n > _MAX_LINE_BYTES // 4 and \
                len(line.encode("utf-8", "surrogateescape")) + 1 >= _MAX_LINE_BYTES:
            diags.append(Diagnostic(LINE_TOO_LONG, lineno, 1,
                                    "dockerfile line greater than max allowed size of 65535"))
        pos += n


def _scan_continuation(text: str, lines: _Lines, ls: int, ce: int, le: int, lead: int,
                       m: re.Match[str] | None, cont: re.Pattern[str],
                       segs: list[Segment]) -> bool:
    """Reads the first line of an instruction and its continuation lines into
    ``segs`` (the physical layout); returns whether an empty continuation line was
    seen.  The parser's logical pieces come from ``_join_continuation``, which reads
    the lines the same way without the segments."""
    base = lines.base
    esc = "`" if cont is _CONTINUATION["`"] else "\\"
    code_end = ls + lead + m.start() if m else ce
    if lead:
        segs.append(Segment("lead", base + ls, base + ls + lead))
    segs.append(Segment("code", base + ls + lead, base + code_end))
    if code_end < ce:
        segs.append(Segment("escape", base + code_end, base + ce))
    if ce < le:
        segs.append(Segment("eol", base + ce, base + le))
    if m is None:
        return False
    empty = False
    n = lines.n
    pos = lines.pos
    count = 0
    space = bk.GO_SPACE
    while pos < n:
        # lines.next() (``lines`` walks ``text``), inline: this loop reads every
        # continuation line of every instruction, most of a Dockerfile's lines, and
        # the call was a third of its time.
        s2 = pos
        nl = text.find("\n", s2)
        if nl < 0:
            e2 = c2 = n
        else:
            e2, c2 = nl + 1, nl
        if c2 > s2 and text[c2 - 1] == "\r":
            while c2 > s2 and text[c2 - 1] == "\r":
                c2 -= 1
        pos = e2
        count += 1
        token = text[s2:c2]
        stripped = token.lstrip(space)
        if not stripped:
            empty = True
            segs.append(Segment("empty", base + s2, base + e2))
            continue
        if stripped[0] == "#":
            segs.append(Segment("comment", base + s2, base + e2))
            continue
        at = _continuation_at(token, esc)
        cend = s2 + at if at >= 0 else c2
        segs.append(Segment("code", base + s2, base + cend))
        if cend < c2:
            segs.append(Segment("escape", base + cend, base + c2))
        if c2 < e2:
            segs.append(Segment("eol", base + c2, base + e2))
        if at < 0:
            break
    lines.pos = pos
    lines.line += count
    return empty


def _join_continuation(text: str, lines: _Lines, esc: str, parts: list[str]) -> bool:
    """The continuation lines of an instruction (its first line continues) into
    ``parts``: ``_scan_continuation``'s loop without the segments, for the parser.

    The same reading of each line, with the line walk and ``_continuation_at`` inline
    and the walk's position in locals: this runs for every continuation line of every
    file, most of a Dockerfile's lines."""
    empty = False
    n = lines.n
    pos = lines.pos
    count = 0
    space = bk.GO_SPACE
    find = text.find
    append = parts.append
    while pos < n:
        s2 = pos
        nl = find("\n", s2)
        if nl < 0:
            pos = c2 = n
        else:
            pos, c2 = nl + 1, nl
        if c2 > s2 and text[c2 - 1] == "\r":
            while c2 > s2 and text[c2 - 1] == "\r":
                c2 -= 1
        count += 1
        token = text[s2:c2]
        stripped = token.lstrip(space)
        if not stripped:
            empty = True
            continue
        if stripped[0] == "#":
            continue
        # _continuation_at(token, esc), inline.
        kept = token.rstrip(" \t")
        if kept[-1] == esc and kept[-2:-1] != esc:
            append(kept[:-1])
            continue
        append(token)
        break
    lines.pos = pos
    lines.line += count
    return empty


def _continuation_at(token: str, esc: str) -> int:
    """Where ``_CONTINUATION[esc].search(token)`` matches, or -1, without the regex
    (it ran for every continuation line, the parser's most frequent call): the line
    continues when its last character before spaces and tabs is the escape, itself
    not escaped."""
    kept = token.rstrip(" \t")
    if kept[-1:] == esc and kept[-2:-1] != esc:
        return len(kept) - 1
    return -1


def _read_instruction(text: str, lines: _Lines, ls: int, ce: int, lead: int,
                      m: re.Match[str] | None, escape: str,
                      diags: list[Diagnostic]) -> Instruction:
    start_line = lines.line
    # _scan_continuation without the segments (made on demand, see _Layout): the first
    # line, then the lines it continues to (most instructions have none).
    if m is None:
        line = text[ls + lead:ce]
    else:
        parts = [text[ls + lead:ls + lead + m.start()]]
        if _join_continuation(text, lines, escape, parts):
            diags.append(Diagnostic(EMPTY_CONTINUATION, lines.line, 1,
                                    "empty continuation line (BuildKit warns: "
                                    "no-empty-continuation)", "warning"))
        line = parts[0] if len(parts) == 1 else "".join(parts)

    docs: list[Heredoc] = []
    error: Diagnostic | None = None
    if "<<" in line:
        try:
            meaning: bk.Meaning | None = _interpret(line, escape)
        except bk.BuildKitError:
            meaning = None  # reported lazily by Instruction.error
        if meaning is not None and _can_contain_heredoc(meaning):
            try:
                markers = bk.heredoc_markers(line)
            except bk.BuildKitError as exc:
                markers = []
                error = Diagnostic(REJECTED_INSTRUCTION, start_line, lead + 1, str(exc))
            error = _read_heredocs(text, lines, markers, docs, start_line, lead) or error

    return Instruction(
        text=text[ls:lines.pos],
        start=ls,
        end=lines.pos,
        start_line=start_line,
        end_line=lines.line,
        original=line,
        escape=escape,
        heredoc_docs=tuple(docs),
        structural_error=error,
    )


def _read_heredocs(text: str, lines: _Lines, markers: list[bk.HeredocMarker],
                   docs: list[Heredoc], start_line: int, lead: int) -> Diagnostic | None:
    for mk in markers:
        body_start = lines.pos
        while True:
            got = lines.next()
            if got is None:
                docs.append(Heredoc(mk.name, text[body_start:lines.pos], mk.fd, mk.chomp,
                                    mk.expand, body_start, lines.pos))
                return Diagnostic(UNTERMINATED_HEREDOC, start_line, lead + 1,
                                  f"unterminated heredoc {mk.name}")
            s3, c3, e3 = got
            candidate = text[s3:c3]
            if mk.chomp:
                candidate = candidate.lstrip("\t")
            if candidate == mk.name:
                docs.append(Heredoc(mk.name, text[body_start:s3], mk.fd, mk.chomp,
                                    mk.expand, body_start, e3))
                break
    return None


def _interpret(line: str, escape: str) -> bk.Meaning:
    """``bk.interpret``, kept for the texts seen last (dockopt.rewriter.shell.TextMemo): the
    same instruction comes back in every pass of a fix and across the variants of
    one image. A Meaning is immutable; a rejected line raises again each time."""
    key = (line, escape)
    meaning = cast("bk.Meaning | None", _meanings.get(key))
    if meaning is None:
        meaning = bk.interpret(line, escape)
        _meanings.put(key, meaning, len(line))
    return meaning


_meanings = TextMemo(1 << 18)


def _known(m: bk.Meaning) -> bool:
    if m.raw_keyword.upper() not in bk.KNOWN_INSTRUCTIONS:
        return False
    return m.sub is None or _known(m.sub)


def _can_contain_heredoc(m: bk.Meaning) -> bool:
    if m.raw_keyword.lower() == "onbuild":
        if m.sub is None:
            return False
        m = m.sub
    return m.raw_keyword.upper() in bk.HEREDOC_INSTRUCTIONS and not m.is_json
