"""The shell inside a RUN instruction, as a structured view with exact offsets.

BuildKit joins a shell-form RUN's continuation lines, drops its comment lines and hands
the result (the *logical* text) to ``/bin/sh -c``.  Transforms reason about that text
and edit the *file*, keeping the user's ``&& \\`` layout.  So we parse the logical text
with tree-sitter-bash (error tolerant, no shell needed), expose words, simple commands and
the top-level chain with ``str`` offsets, and map them back through :class:`LogicalText`.
tree-sitter is imported lazily: importing ``dockopt`` must stay cheap for the CLI.
"""

from __future__ import annotations

import bisect
import functools
import operator
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from dataclasses import field
from typing import TYPE_CHECKING, cast

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser, Query, QueryCursor


@dataclass(frozen=True, slots=True)
class LogicalText:
    """A logical shell command and where each of its characters sits in the file.

    ``pieces`` holds ``(logical_start, physical_start, length)`` triples: ``text[ls:ls+n]``
    equals ``file_text[ps:ps+n]``.  They are sorted, non-empty, contiguous in logical space
    and cover ``text`` exactly; this is checked on construction because a wrong map would
    silently put edits in the wrong place.  The text is built from file text only, so every
    logical character has a physical position.
    """

    text: str
    pieces: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        expected = 0
        for ls, _ps, n in self.pieces:
            if ls != expected or n <= 0:
                break
            expected += n
        if expected != len(self.text):
            raise ValueError("LogicalText pieces must be non-empty, contiguous, cover the text")

    @classmethod
    def identity(cls, text: str, physical_start: int) -> LogicalText:
        """A single-piece map, for a RUN body without continuations."""
        return cls(text, ((0, physical_start, len(text)),))

    def shifted(self, delta: int) -> LogicalText:
        """The same text ``delta`` characters further into the file (an instruction's
        view shared by text, placed at the instruction's offset). Not checked again:
        moving the physical starts keeps the logical pieces as checked."""
        if not delta:
            return self
        out = object.__new__(LogicalText)
        object.__setattr__(out, "text", self.text)
        object.__setattr__(out, "pieces", tuple([(ls, ps + delta, n)
                                                 for ls, ps, n in self.pieces]))
        return out

    def to_physical(self, logical_offset: int) -> int:
        """File offset for a logical offset; a piece boundary maps to the *next* piece.

        Inserting there lands after the continuation, at the start of the next physical
        line's content.  ``len(text)`` maps to the end of the last piece.
        """
        self._check(logical_offset)
        i = bisect.bisect_right(self.pieces, logical_offset, key=_START) - 1
        ls, ps, _n = self.pieces[i]
        return ps + logical_offset - ls

    def to_physical_end(self, logical_offset: int) -> int:
        """Like :meth:`to_physical`, but a boundary maps to the end of the *previous* piece.

        Inserting there lands on the previous line, before its `` \\`` continuation.
        Offset 0 maps to the start of the first piece.
        """
        self._check(logical_offset)
        i = max(bisect.bisect_left(self.pieces, logical_offset, key=_START) - 1, 0)
        ls, ps, _n = self.pieces[i]
        return ps + logical_offset - ls

    def _check(self, logical_offset: int) -> None:
        if not self.pieces:
            raise ValueError("empty text has no physical position")
        if not 0 <= logical_offset <= len(self.text):
            raise ValueError(f"logical offset {logical_offset} outside 0..{len(self.text)}")


_START = operator.itemgetter(0)


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word.  ``text`` is the raw source, ``text == script.text[start:end]``.

    ``value`` is the word after quote removal (quotes dropped, backslash escapes resolved)
    when that is static; it is ``None`` when the word contains a parameter expansion,
    command/arithmetic/process substitution, or unbalanced quotes.  Globs, braces and ``~``
    are *not* expanded: ``/var/lib/apt/lists/*`` has that literal value.
    """

    text: str
    value: str | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """A simple command: ``env`` prefix assignments, argv ``words``, ``redirects``.

    Also used for ``export``/``unset``/``declare`` (argv starts with the keyword) and
    for bare assignments such as ``FOO=1`` (no words, one ``env`` entry): both change
    the state later commands see, which matters when merging RUNs.
    ``resolved_index`` points at the real program behind wrappers (``sudo``, ``env``,
    ``command``, ``exec``, ``nice``, ``nohup``, ``time``, ``doas``) or is None.
    """

    words: tuple[Word, ...]
    env: tuple[Word, ...]
    redirects: tuple[Word, ...]
    start: int
    end: int
    resolved_index: int | None
    # Computed once from the fields above: transforms ask them of every command, many
    # times (resolved_name 323,000 and resolved_args 96,000 times over the official
    # images), so they are slots read directly rather than properties.
    # The program actually run, without wrappers or directory: ``apt-get``.
    resolved_name: str | None = field(init=False, compare=False, repr=False)
    # The words after the resolved program (``install``, ``-y``, ...).
    resolved_args: tuple[Word, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        name = None
        args: tuple[Word, ...] = ()
        if self.resolved_index is not None:
            value = self.words[self.resolved_index].value
            name = None if value is None else value.rsplit("/", 1)[-1]
            args = self.words[self.resolved_index + 1 :]
        object.__setattr__(self, "resolved_name", name)
        object.__setattr__(self, "resolved_args", args)

    @property
    def name(self) -> str | None:
        """argv[0] as written (after quote removal), e.g. ``/usr/bin/apt-get``."""
        return self.words[0].value if self.words else None

    @property
    def args(self) -> tuple[str | None, ...]:
        return tuple(w.value for w in self.words[1:])


@dataclass(frozen=True, slots=True)
class Step:
    """One element of the top-level chain; ``operator_before`` is ``None`` for the first.

    Operators: ``&&``, ``||``, ``;``, ``&``, ``|``, ``|&`` or ``"\\n"``.  Lists and
    pipelines are flattened left to right (``a && b | c`` gives three steps; shell
    precedence binds ``|`` tighter).  ``kind`` is ``"command"`` when ``command`` is set,
    otherwise the tree-sitter node type (``subshell``, ``if_statement``, ``ERROR``...; for
    a redirected compound, that of the compound).  A command step spans the command up to
    its last word or redirect, so it stops before an inline heredoc body.
    """

    start: int
    end: int
    kind: str
    operator_before: str | None
    command: SimpleCommand | None


@dataclass(frozen=True, slots=True)
class ShellScript:
    """The parsed logical text.  Transforms should leave ``has_errors`` scripts alone.

    ``trailing_comment_start`` is set when the script ends in a ``# comment``: anything
    appended after it would be swallowed by the comment.  ``trailing_operator`` is a
    final ``;`` or ``&`` (appending ``&& x`` after ``a &`` is a syntax error).
    """

    text: str
    commands: tuple[SimpleCommand, ...]
    top_level: tuple[Step, ...]
    has_errors: bool
    trailing_comment_start: int | None
    trailing_operator: str | None

    def find(self, name: str) -> Iterator[SimpleCommand]:
        """Commands running ``name``, also via ``sudo``/``env`` or a path."""
        return (c for c in self.commands if c.resolved_name == name)


# --------------------------------------------------------------------------- parsing

_local = threading.local()  # Parser objects are not safe to share between threads


@functools.cache
def _language() -> Language:
    import tree_sitter

    return tree_sitter.Language(_bash_language())


def _bash_language() -> object:
    """``tree_sitter_bash.language()``, loaded from the package's compiled binding
    without running the package's ``__init__``: that imports importlib.resources
    (and tempfile, shutil, ...) for its query files, ~5 ms of every `dockopt fix -`
    start, and the parser needs none of them.  Any surprise in the package's layout
    falls back to the ordinary import."""
    import importlib.machinery

    try:
        spec = importlib.machinery.PathFinder.find_spec("tree_sitter_bash")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        for folder in folders:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = f"{folder}/_binding{suffix}"
                if os.path.isfile(path):
                    name = "tree_sitter_bash._binding"
                    loader = importlib.machinery.ExtensionFileLoader(name, path)
                    module = loader.create_module(
                        importlib.machinery.ModuleSpec(name, loader, origin=path))
                    loader.exec_module(module)
                    return module.language()
    except (ImportError, OSError, AttributeError):
        pass
    import tree_sitter_bash

    return tree_sitter_bash.language()


# The nodes the builder turns into commands, found by tree-sitter itself: walking every
# node of the tree from Python (words, strings, operators: about 90 per RUN) cost
# more than building the commands.
_INTERESTING = """
(redirected_statement) @redirected
(command) @command
(declaration_command) @declaration
(unset_command) @declaration
(variable_assignments) @declaration
(variable_assignment) @assignment
(comment) @comment
"""


@functools.cache
def _query() -> Query:
    import tree_sitter

    return tree_sitter.Query(_language(), _INTERESTING)


# The node types _INTERESTING captures, and their capture names (for the walk below).
_CAPTURE_OF = {"redirected_statement": "redirected", "command": "command",
               "declaration_command": "declaration", "unset_command": "declaration",
               "variable_assignments": "declaration", "variable_assignment": "assignment",
               "comment": "comment"}
# Compiling the query costs about 5 ms per process (tree-sitter analyses it against
# the whole bash grammar), the Python walk about 1 us per node: a process walks its
# first nodes (an editor's or a pre-commit hook's one file never pays for the query)
# and switches to the query once it has walked this many.
_WALK_NODES = 8000
_walked = 0


def _captures(root: Node) -> dict[str, list[Node]]:
    """What ``_INTERESTING`` captures in the tree under ``root``, by capture name."""
    global _walked
    if _walked >= _WALK_NODES:
        found: dict[str, list[Node]] = _cursor().captures(root)
        return found
    found = {}
    cursor = root.walk()
    capture_of = _CAPTURE_OF
    walked = 0
    while True:
        # The type first: most nodes are not captured, and asking is_named of those
        # too cost a call into tree-sitter per node.
        node = cursor.node
        walked += 1
        if node is not None:
            name = capture_of.get(node.type)
            if name is not None and node.is_named:
                found.setdefault(name, []).append(node)
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                _walked += walked
                return found


def _cursor() -> QueryCursor:
    cursor: QueryCursor | None = getattr(_local, "cursor", None)
    if cursor is None:
        import tree_sitter

        cursor = _local.cursor = tree_sitter.QueryCursor(_query())
    return cursor


def _parser() -> Parser:
    parser: Parser | None = getattr(_local, "parser", None)
    if parser is None:
        import tree_sitter

        parser = _local.parser = tree_sitter.Parser(_language())
    return parser


_ASSIGNMENT = lazy(r"[A-Za-z_]\w*=")
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_DECLARATIONS = frozenset({"declaration_command", "unset_command"})
_ASSIGNMENT_PARENTS = frozenset({"command", "variable_assignments", *_DECLARATIONS})
_WRAPPERS: dict[str, frozenset[str]] = {  # wrapper -> its options that take an argument
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-R", "-T", "-U", "-r", "-t"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir", "--split-string"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "command": frozenset(),
    "exec": frozenset({"-a"}),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
}


# --------------------------------------------------------------------------- memo

# TextMemo lives here rather than in a module of its own because every process that
# reads a Dockerfile imports this one: a module more cost a cold `fix -` about 0.2 ms
# (2 M instructions under callgrind) for nothing.

class TextMemo:
    """Results of a pure function of one text, the oldest evicted first.

    Checking many files in one process meets the same texts again and again: the
    variants of one image repeat their lines (the corpus's official/ Dockerfiles hold
    1,764 RUNs with 320 distinct texts, 5,561 instructions with 742), and every pass of
    a fix re-parses the whole file although an edit changes little of it.  A result
    that depends on the text alone and is immutable can be handed out again.

    Bounded by the characters of the texts kept (``size`` of an entry: the objects
    derived from a text take a roughly proportional amount of memory), so checking
    100,000 files keeps memory flat; a text above an eighth of the budget is not kept
    (it would evict everything else for one likely miss).  Thread-safe (the language
    server works from threads): writes take a lock, a read is one dict lookup.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.chars = 0
        # Oldest first.  An OrderedDict, not a dict: evicting from the front of a dict
        # leaves deleted slots that every later ``next(iter(d))`` walks over until
        # the next resize, so a memo full of distinct texts (a big file: every
        # instruction a miss and an eviction) spent more and more per eviction
        # (an 80,000-line file: 405,000 such walks, +13% of its check).
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object:
        # One dict read, no lock and no reordering: this runs for every instruction
        # of every pass, and a hit's move to the end cost more than the LRU order
        # saved (the variants of one image come one after another).
        item = self._items.get(key)
        return None if item is None else item[0]

    def put(self, key: Hashable, value: object, size: int) -> None:
        if size > self.budget // 8:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.chars -= old[1]
            self._items[key] = (value, size)
            self.chars += size
            while self.chars > self.budget:
                self.chars -= self._items.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._items)


def parse_shell(text: str) -> ShellScript:
    """Parse a logical RUN command.  Never raises; syntax errors set ``has_errors``.

    The result depends on ``text`` alone and is immutable, so a process keeps the
    recent ones (:class:`TextMemo`): the same RUN text comes back in every
    pass of a fix (a pass re-parses every RUN, an edit changes few of them) and across
    the variants of one image.
    """
    script = cast("ShellScript | None", _memo.get(text))
    if script is None:
        script = _parse(text)
        _memo.put(text, script, len(text))
    return script


# Parsed scripts by text; ShellScript is immutable.
_memo = TextMemo(1 << 18)


def _parse(text: str) -> ShellScript:
    if text.isascii():
        return _Builder(text, None).build(_parser().parse(text.encode()).root_node)
    # tree-sitter-bash 0.25 can read out of bounds (SIGSEGV) on `{` followed later by any
    # 4-byte UTF-8 character (tree-sitter/tree-sitter-bash#337).  Feed it a stand-in of
    # the same byte length instead: two 2-byte letters per astral character, U+FFFD for a
    # lone surrogate (from surrogateescape-decoded files).  Both lex as word characters,
    # like the originals, and byte offsets stay those of the original text.
    safe = _SURROGATE.sub("\ufffd", _ASTRAL.sub("\u00e9\u00e9", text))
    tree = _parser().parse(safe.encode())
    return _Builder(text, _byte_table(text)).build(tree.root_node)


_ASTRAL = lazy("[\U00010000-\U0010ffff]")
_SURROGATE = lazy("[\ud800-\udfff]")


class _Builder:
    """One-shot conversion of a tree-sitter tree into the frozen public classes."""

    def __init__(self, text: str, table: list[int] | None) -> None:
        self.text = text
        self.table = table  # byte offset -> str index; None for ASCII text
        self.by_node: dict[int, SimpleCommand] = {}

    def pos(self, byte_offset: int) -> int:
        return byte_offset if self.table is None else self.table[byte_offset]

    def word(self, start_byte: int, end_byte: int) -> Word:
        table = self.table  # (pos() inlined: a RUN has about 40 words)
        if table is None:
            start, end = start_byte, end_byte
        else:
            start, end = table[start_byte], table[end_byte]
        raw = self.text[start:end]
        return Word(raw, _unquoted[raw], start, end)

    def build(self, root: Node) -> ShellScript:
        found = _captures(root)
        # In the order of a pre-order walk (an outer node before the nodes inside it),
        # which the rules below were written for.
        pending: dict[int, Node] = {}  # command node id -> redirected_statement around it
        redirected = found.get("redirected")
        if redirected:
            for statement in sorted(redirected, key=_preorder):
                body = _redirect_target(statement)
                if body is not None:
                    pending[body.id] = statement
        nodes = [*found.get("command", ()), *found.get("declaration", ())]
        assignments = found.get("assignment")
        if assignments:
            nodes += [n for n in assignments
                      if n.parent is None or n.parent.type not in _ASSIGNMENT_PARENTS]
        nodes.sort(key=_preorder)
        # Already in the order of their starts: a command starts where its node does,
        # and the nodes are sorted by start (ties in pre-order, as a stable sort by
        # start would leave them).
        command = self.command
        commands = tuple([command(n, pending.get(n.id) if pending else None)
                          for n in nodes])
        comments = found.get("comment", ())
        last_comment = max(comments, key=_preorder) if comments else None
        trailing_comment = None
        if last_comment is not None and not self.text[self.pos(last_comment.end_byte) :].strip():
            trailing_comment = self.pos(last_comment.start_byte)
        steps, trailing_op = self.top_level(root)
        return ShellScript(
            self.text, commands, steps, root.has_error, trailing_comment, trailing_op
        )

    def command(self, node: Node, statement: Node | None) -> SimpleCommand:
        """Build from a command-like node; ``statement`` holds redirects written after it.

        tree-sitter-bash hangs ``a && b >f`` as ``(a && b) >f``; the shell binds ``>f`` to
        ``b`` alone, and so do we (see :func:`_redirect_target`).

        Runs for every command of every distinct RUN text (about 22 per RUN over the
        official images), so the common case, a command of plain words, takes the
        shortest path: one type test per child, no sort, no merge lists.
        """
        kind = node.type
        env: list[Word] = []
        made: list[Word] = []
        redirect_words: list[Word] = []
        text, table = self.text, self.table
        unquoted = _unquoted
        general = kind != "variable_assignment"  # whether the general path must run
        if not general:
            env.append(self.word(node.start_byte, node.end_byte))
        elif statement is None and table is None:
            # The common case, in one pass: argv words straight from the children (in
            # source order), a piece that touches or overlaps the open word joining it
            # (tree-sitter splits e.g. $"x" in two; w_end < 0: no word open yet).
            w_start, w_end = 0, -1
            for child in node.children:
                child_kind = child.type
                if child_kind in _NOT_ARGV:
                    if child_kind == "comment":
                        continue
                    if child_kind != "variable_assignment":
                        break  # a redirect: the general path below
                    if kind != "declaration_command":
                        env.append(self.word(child.start_byte, child.end_byte))
                        continue
                p_start, p_end = child.start_byte, child.end_byte
                if p_start <= w_end:
                    if p_end > w_end:
                        w_end = p_end
                    continue
                if w_end >= 0:
                    raw = text[w_start:w_end]
                    made.append(Word(raw, unquoted[raw], w_start, w_end))
                w_start, w_end = p_start, p_end
            else:
                if w_end >= 0:
                    raw = text[w_start:w_end]
                    made.append(Word(raw, unquoted[raw], w_start, w_end))
                general = False
            if general:
                env.clear()
                made.clear()
        if general:
            self.redirected_words(kind, node.children, statement, env, made, redirect_words)
        words = tuple(made)
        if table is None:
            start, end = node.start_byte, node.end_byte
        else:
            start, end = table[node.start_byte], table[node.end_byte]
        # The spans are disjoint and sorted: the last word ends last.
        if made and made[-1].end > end:
            end = made[-1].end
        for w in redirect_words:
            if w.end > end:
                end = w.end
        result = SimpleCommand(
            words, tuple(env), tuple(redirect_words), start, end, _resolve(words)
        )
        self.by_node[node.id] = result
        if statement is not None and statement.child_by_field_name("body") == node:
            self.by_node[statement.id] = result
        return result

    def redirected_words(self, kind: str, children: list[Node], statement: Node | None,
                env: list[Word], made: list[Word], redirect_words: list[Word]) -> None:
        """A command's words, env and redirects, with redirects (theirs or those of the
        redirected statement around them) or in non-ASCII text."""
        redirects = [c for c in statement.children if c.type in _REDIRECTS] if statement else []
        # argv pieces as (start byte, end byte), merged below when adjacent; each node
        # attribute read crosses into tree-sitter, so each is read once.
        parts: list[tuple[int, int]] = []
        for child in children:
            child_kind = child.type
            if child_kind not in _NOT_ARGV:  # most children: a word of argv
                parts.append((child.start_byte, child.end_byte))
            elif child_kind == "variable_assignment":
                if kind == "declaration_command":
                    parts.append((child.start_byte, child.end_byte))
                else:
                    env.append(self.word(child.start_byte, child.end_byte))
            elif child_kind != "comment":  # a redirect
                redirects.append(child)
        if redirects:
            for r in redirects:
                self.redirect(r, redirect_words, parts)
            redirect_words.sort(key=_WORD_START)
            # Redirects hand words back to argv out of order.  (Without them the
            # pieces are children in source order, already sorted.)
            parts.sort()  # pieces with the same start merge alike in either order
        text, table = self.text, self.table
        # tree-sitter splits e.g. $"x" in two: pieces that touch or overlap are
        # rejoined into one word (the rule `command`'s one-pass path applies inline;
        # w_end < 0: no word open yet).  The end marker closes the last word.
        parts.append(_PIECES_END)
        w_start, w_end = 0, -1
        for p_start, p_end in parts:
            if p_start <= w_end:
                if p_end > w_end:
                    w_end = p_end
                continue
            if w_end >= 0:
                s, e = (w_start, w_end) if table is None else (table[w_start], table[w_end])
                raw = text[s:e]
                made.append(Word(raw, _unquoted[raw], s, e))
            w_start, w_end = p_start, p_end

    def redirect(self, node: Node, out: list[Word], argv: list[tuple[int, int]]) -> None:
        """Keep ``2>/dev/null`` or ``<<EOF`` as one Word; heredoc bodies are not words.

        tree-sitter-bash attaches words after a redirect target (``>f b``) to the redirect;
        the shell treats them as arguments, so they go back into argv.
        """
        end = node.end_byte
        targets = 0
        for child in node.children:
            if child.type == "heredoc_start":
                end = child.end_byte
            elif child.type in _REDIRECTS:
                self.redirect(child, out, argv)
            elif (
                node.type == "file_redirect" and child.is_named and child.type != "file_descriptor"
            ):
                targets += 1
                if targets == 1:
                    end = child.end_byte
                else:
                    argv.append((child.start_byte, child.end_byte))
        out.append(self.word(node.start_byte, end))

    def top_level(self, root: Node) -> tuple[tuple[Step, ...], str | None]:
        steps: list[Step] = []
        op: str | None = None
        for child in root.children:
            if not child.is_named:
                op = child.type
            elif child.type not in ("comment", "heredoc_body"):
                self.flatten(child, op if op or not steps else "\n", steps)
                op = None
        return tuple(steps), op

    def flatten(self, node: Node, op: str | None, out: list[Step]) -> None:
        # Each node's type is read once: a read crosses into tree-sitter and makes a str.
        by_node = self.by_node
        stack: list[tuple[Node, str | None]] = [(node, op)]
        while stack:
            n, before = stack.pop()
            kind = n.type
            body = None
            if kind == "redirected_statement":
                body = n.child_by_field_name("body")
                if body is not None:
                    body_kind = body.type
                    if body_kind in _SEQUENCES:
                        stack.append((body, before))
                        continue
            elif kind in _SEQUENCES:
                items: list[tuple[Node, str | None]] = []
                for c in n.children:
                    c_kind = c.type
                    if not c.is_named:
                        before = c_kind
                    elif c_kind != "comment":
                        items.append((c, before))
                        before = None
                stack.extend(reversed(items))
                continue
            cmd = by_node.get(n.id)
            if cmd is not None:
                out.append(Step(cmd.start, cmd.end, "command", before, cmd))
            else:
                if body is not None:
                    kind = body_kind
                out.append(Step(self.pos(n.start_byte), self.pos(n.end_byte), kind, before, None))


_SEQUENCES = frozenset({"list", "pipeline"})
# A command's children that are not words of its argv (or not always).
_NOT_ARGV = frozenset({"variable_assignment", "comment", *_REDIRECTS})
_WORD_START = operator.attrgetter("start")
# After every piece of a command: it starts past any word, so it closes the last one.
_PIECES_END = (sys.maxsize, sys.maxsize)


def _preorder(node: Node) -> tuple[int, int]:
    """A pre-order walk's position: by start, a node before those inside it."""
    return node.start_byte, -node.end_byte


def _redirect_target(statement: Node) -> Node | None:
    """The simple command that the redirects of a redirected_statement really apply to."""
    node = statement.child_by_field_name("body")
    while node is not None and node.type in ("list", "pipeline", "negated_command"):
        named = [c for c in node.children if c.is_named and c.type != "comment"]
        node = named[-1] if named else None
    return node if node is not None and node.type == "command" else None


def _byte_table(text: str) -> list[int]:
    """byte offset -> str index; bytes inside a multi-byte character map to that character."""
    table: list[int] = []
    for i, ch in enumerate(text):
        o = ord(ch)
        table.extend([i] * (1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4))
    table.append(len(text))
    return table


def _resolve(words: tuple[Word, ...]) -> int | None:
    """Index of the program behind ``sudo -u x env A=1 /usr/bin/apt-get``, or None."""
    i = 0
    while i < len(words):
        value = words[i].value
        if value is None:
            return None
        wrapper = value.rsplit("/", 1)[-1]
        takes_arg = _WRAPPERS.get(wrapper)
        if takes_arg is None:
            return i
        j = i + 1
        while j < len(words):
            arg = words[j].value
            if arg is None:
                return None
            if arg == "--":
                j += 1
                break
            if wrapper == "command" and arg in ("-v", "-V"):
                return i  # a lookup, not an invocation
            if arg.startswith("-") and len(arg) > 1:
                j += 2 if arg in takes_arg else 1
            elif wrapper in ("env", "sudo") and _ASSIGNMENT.match(arg):
                j += 1
            else:
                break
        if j >= len(words):
            return i  # bare ``sudo -i`` or ``env``: the wrapper itself is the program
        i = j
    return None


_ANSI_C = dict(zip("ntrabeEfv\\'\"?", "\n\t\r\a\b\x1b\x1b\f\v\\'\"?", strict=True))
_DYNAMIC = lazy(r"\$[\w{(@*#?$!-]|`|[<>]\(")
_QUOTING = lazy(
    r"'([^']*)'"  # 'single'
    r"|\$'((?:[^'\\]|\\.)*)'"  # $'ansi-c'
    r'|\$?"((?:[^"\\]|\\.)*)"'  # "double", $"translated"
    r"|\\(.?)"  # backslash escape
    r"""|((?:[^'"\\$]|\$(?!['"]))+)"""  # unquoted run
    r"|(.)",  # unbalanced quote
    re.DOTALL,
)
_DQ_ESCAPE = {"$": "$", "`": "`", '"': '"', "\\": "\\", "\n": ""}
_ESCAPE = lazy(r"\\(.)", re.DOTALL)


# A word with none of these is its own value (no quotes, escapes, expansions or
# process substitutions): most words are, and skip the full scan below.
_SPECIAL = lazy(r"['\"\\$`(]")


def _unquote(raw: str) -> str | None:
    """POSIX quote removal for a static word; None when the value depends on the shell."""
    if _SPECIAL.search(raw) is None:
        return raw
    out: list[str] = []
    for m in _QUOTING.finditer(raw):
        single, ansi, double, escaped, plain, stray = m.groups()
        if single is not None:
            out.append(single)
        elif ansi is not None:  # $'...': common escapes only; octal, hex, unicode give None
            if any(e not in _ANSI_C for e in _ESCAPE.findall(ansi)):
                return None
            out.append(_ESCAPE.sub(lambda e: _ANSI_C[e[1]], ansi))
        elif double is not None:  # "...": backslash escapes only $ ` " \ and newline
            if _DYNAMIC.search(_ESCAPE.sub("", double)):
                return None
            out.append(_ESCAPE.sub(lambda e: _DQ_ESCAPE.get(e[1], e[0]), double))
        elif escaped is not None:
            out.append("" if escaped == "\n" else escaped or "\\")
        elif plain is not None:
            if _DYNAMIC.search(plain):
                return None
            out.append(plain)
        elif stray is not None:
            return None  # unbalanced quote
    return "".join(out)


class _Unquoted(dict[str, "str | None"]):
    """``_unquote`` per word text, read as ``_unquoted[raw]``: a hit is one dict lookup
    in C.  Words repeat far more than RUN texts do (the official images' 320 distinct
    RUN texts hold 22,767 words, 1,648 distinct), and quote removal is a pure function
    of the word.  Bounded: a word above _UNQUOTE_LONGEST characters is not kept, and
    the table starts afresh when it reaches _UNQUOTE_ENTRIES (a long run over many
    repositories changes vocabulary; clearing keeps memory flat and costs one miss
    per word after).  Thread-safe as a dict is: a lookup, an insert and ``clear``
    are single operations under the GIL, and a racing clear only costs a miss."""

    def __missing__(self, raw: str) -> str | None:
        value = _unquote(raw)
        if len(raw) <= _UNQUOTE_LONGEST:
            if len(self) >= _UNQUOTE_ENTRIES:
                self.clear()
            self[raw] = value
        return value


_UNQUOTE_LONGEST = 200
_UNQUOTE_ENTRIES = 1 << 14  # at most about 3 MB of keys
_unquoted = _Unquoted()


# --------------------------------------------------------------------------- heredocs

_HEREDOC_MARK = lazy(r"(?<!<)<<(?!<)-?[ \t]*(?:'[^'\n]*'|\"[^\"\n]*\"|[^\s;&|<>()'\"]+)")
_LEADING_FLAGS = lazy(r"^(?:\s*--\S+)*\s*")


def heredoc_interpreter(first_line_of_run_args: str, body: str) -> str | None:
    """The program that reads a RUN heredoc's body, or None when it cannot be told.

    A command on the RUN line that takes the (first) heredoc as stdin wins
    (``python3 <<EOF`` and ``<<EOF python3`` give ``python3``; ``cat <<EOF >f`` gives
    ``cat``: the body is data then).  With no command BuildKit runs the body as a script:
    its shebang decides (``#!/usr/bin/env python3`` -> ``python3``), else ``sh``.
    """
    line = _LEADING_FLAGS.sub("", first_line_of_run_args, count=1)
    mark = _HEREDOC_MARK.search(line)
    if mark is None:
        return None
    # Replace each marker with an equal-length input redirect: parseable without the
    # body, offsets unchanged, and it tells which command reads the heredoc.
    line = _HEREDOC_MARK.sub(lambda m: "<" + "H" * (len(m.group()) - 1), line)
    script = parse_shell(line)
    if script.has_errors:
        return None
    for cmd in script.commands:
        if any(r.start == mark.start() for r in cmd.redirects):
            return cmd.resolved_name if cmd.words else _shebang(body)
    return _shebang(body) if not script.commands else None


def _shebang(body: str) -> str | None:
    if not body.startswith("#!"):
        return "sh"
    parts = body[2:].split("\n", 1)[0].split()
    if not parts:
        return None
    prog, rest = parts[0].rsplit("/", 1)[-1], parts[1:]
    if prog == "env":
        rest = [p for p in rest if not p.startswith("-") and "=" not in p]
        return rest[0].rsplit("/", 1)[-1] if rest else None
    return prog
