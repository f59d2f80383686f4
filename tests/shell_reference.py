"""The shell view as main computed it before the builder was made leaner (issue 15):
kept as the oracle that tests/test_shell_builder.py holds the production builder
equal to, field by field, on the corpus's RUN texts and on random ones.

Copied verbatim from rewriter/shell.py (``_Builder`` and ``_redirect_target``) at the
commit before; it reads tree-sitter node properties per node and calls the unmemoized
``_unquote``. Do not optimise it: its value is being the old computation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockopt.rewriter.shell import (
    _ASSIGNMENT_PARENTS,
    _REDIRECTS,
    ShellScript,
    SimpleCommand,
    Step,
    Word,
    _byte_table,
    _captures,
    _resolve,
    _unquote,
)

if TYPE_CHECKING:
    from tree_sitter import Node


def reference_parse(text: str) -> ShellScript:
    """What ``rewriter.shell._parse`` returned before (same tree, old builder)."""
    from dockopt.rewriter import shell

    if text.isascii():
        return _Builder(text, None).build(shell._parser().parse(text.encode()).root_node)
    safe = shell._SURROGATE.sub("\ufffd", shell._ASTRAL.sub("\u00e9\u00e9", text))
    tree = shell._parser().parse(safe.encode())
    return _Builder(text, _byte_table(text)).build(tree.root_node)


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
        return Word(raw, _unquote(raw), start, end)

    def build(self, root: Node) -> ShellScript:
        found = _captures(root)
        # In the order of a pre-order walk (an outer node before the nodes inside it),
        # which the rules below were written for.
        pending: dict[int, Node] = {}  # command node id -> redirected_statement around it
        for statement in sorted(found.get("redirected", ()), key=_preorder):
            body = _redirect_target(statement)
            if body is not None:
                pending[body.id] = statement
        nodes = [*found.get("command", ()), *found.get("declaration", ())]
        nodes += [n for n in found.get("assignment", ())
                  if n.parent is None or n.parent.type not in _ASSIGNMENT_PARENTS]
        nodes.sort(key=_preorder)
        commands = [self.command(n, pending.get(n.id) if n.type == "command" else None)
                    for n in nodes]
        commands.sort(key=lambda c: c.start)
        comments = found.get("comment", ())
        last_comment = max(comments, key=_preorder) if comments else None
        trailing_comment = None
        if last_comment is not None and not self.text[self.pos(last_comment.end_byte) :].strip():
            trailing_comment = self.pos(last_comment.start_byte)
        steps, trailing_op = self.top_level(root)
        return ShellScript(
            self.text, tuple(commands), steps, root.has_error, trailing_comment, trailing_op
        )

    def command(self, node: Node, statement: Node | None) -> SimpleCommand:
        """Build from a command-like node; ``statement`` holds redirects written after it.

        tree-sitter-bash hangs ``a && b >f`` as ``(a && b) >f``; the shell binds ``>f`` to
        ``b`` alone, and so do we (see :func:`_redirect_target`).
        """
        env: list[Word] = []
        redirects = [c for c in statement.children if c.type in _REDIRECTS] if statement else []
        # argv pieces as (start byte, end byte), merged below when adjacent; each node
        # attribute read crosses into tree-sitter, so each is read once.
        parts: list[tuple[int, int]] = []
        kind = node.type
        if kind == "variable_assignment":
            env.append(self.word(node.start_byte, node.end_byte))
        else:
            for child in node.children:
                child_kind = child.type
                if child_kind == "variable_assignment" and kind != "declaration_command":
                    env.append(self.word(child.start_byte, child.end_byte))
                elif child_kind in _REDIRECTS:
                    redirects.append(child)
                elif child_kind != "comment":
                    parts.append((child.start_byte, child.end_byte))
        redirect_words: list[Word] = []
        for r in redirects:
            self.redirect(r, redirect_words, parts)
        redirect_words.sort(key=lambda w: w.start)
        parts.sort()  # pieces with the same start merge alike in either order
        spans: list[list[int]] = []
        for p_start, p_end in parts:  # tree-sitter splits e.g. $"x" in two: rejoin them
            if spans and p_start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], p_end)
            else:
                spans.append([p_start, p_end])
        # The words, made here rather than by word() (a call per word, about 24,000
        # over the official images' RUNs).
        text, table = self.text, self.table
        made: list[Word] = []
        for w_start, w_end in spans:
            if table is not None:
                w_start, w_end = table[w_start], table[w_end]
            raw = text[w_start:w_end]
            made.append(Word(raw, _unquote(raw), w_start, w_end))
        words = tuple(made)
        start, end = self.pos(node.start_byte), self.pos(node.end_byte)
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
        stack: list[tuple[Node, str | None]] = [(node, op)]
        while stack:
            n, before = stack.pop()
            body = n.child_by_field_name("body") if n.type == "redirected_statement" else None
            if body is not None and body.type in ("list", "pipeline"):
                stack.append((body, before))
                continue
            if n.type in ("list", "pipeline"):
                items: list[tuple[Node, str | None]] = []
                for c in n.children:
                    if not c.is_named:
                        before = c.type
                    elif c.type != "comment":
                        items.append((c, before))
                        before = None
                stack.extend(reversed(items))
                continue
            cmd = self.by_node.get(n.id)
            if cmd is not None:
                out.append(Step(cmd.start, cmd.end, "command", before, cmd))
            else:
                kind = (body or n).type
                out.append(Step(self.pos(n.start_byte), self.pos(n.end_byte), kind, before, None))


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
