"""One document's findings and fixes, in character offsets (no LSP types here).

``analyze`` runs the engine's ``check`` on the editor's text; ``Analysis.fixed``
runs ``fix`` (all fixes ``dockopt fix`` would apply) once, when a fix-all is asked
for or the file is saved.  Neither ever raises: a crash becomes a diagnostic, so
one bad file cannot take the server down.
"""

from __future__ import annotations

import difflib
import re
import traceback
from dataclasses import field
from typing import Any

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import INTERNAL_ERROR, FixResult, check, fix
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.server.positions import dockopt_offset, lf_line_starts
from dockopt.rewriter.syntax import Comment, Diagnostic, Dockerfile, Instruction, parse
from dockopt.transforms.base import Edit, Finding, Safety

# The own-line suppression comment (the engine's ``Suppressions``, dockopt spelling).
_PRAGMA = re.compile(
    r"^(?P<lead>[ \t]*#[ \t]*dockopt:?[ \t]*ignore[ \t]*=[ \t]*)"
    r"(?P<codes>[A-Za-z0-9_\-]+(?:[ \t]*,[ \t]*[A-Za-z0-9_\-]+)*)")


@dataclass
class Analysis:
    text: str
    path: str | None
    settings: Settings
    context: Any
    findings: list[Finding]
    diagnostics: list[Diagnostic]
    _fixed: FixResult | None = field(default=None, repr=False)
    _fixed_rule: dict[str, FixResult] = field(default_factory=dict, repr=False)
    _starts: list[int] | None = field(default=None, repr=False)
    _tree: Dockerfile | None = field(default=None, repr=False)

    @property
    def tree(self) -> Dockerfile:
        if self._tree is None:
            self._tree = parse(self.text)
        return self._tree

    def span(self, line: int, column: int, end_line: int, end_column: int) -> tuple[int, int]:
        """Offsets of a finding's (1-based) range."""
        if self._starts is None:
            self._starts = lf_line_starts(self.text)
        start = dockopt_offset(self._starts, self.text, line, column)
        end = dockopt_offset(self._starts, self.text, end_line, end_column)
        return start, max(start, end)

    def diagnostic_span(self, d: Diagnostic) -> tuple[int, int]:
        """A parse or engine diagnostic is a point; it covers the rest of its line."""
        if self._starts is None:
            self._starts = lf_line_starts(self.text)
        start = dockopt_offset(self._starts, self.text, d.line, d.column)
        end = dockopt_offset(self._starts, self.text, d.line, 1 << 30)
        if end > start and self.text[end - 1] == "\r":
            end -= 1
        return start, max(start, end)

    def fixable(self, finding: Finding) -> bool:
        """Whether the finding's fix is offered (safe; unsafe with unsafe fixes on)."""
        fx = finding.fix
        if fx is None or fx.safety == Safety.DISPLAY_ONLY or not (fx.edits or fx.files):
            return False
        return fx.safety == Safety.SAFE or self.settings.unsafe_fixes

    def fixed(self) -> FixResult:
        """What ``dockopt fix`` would write (cached)."""
        if self._fixed is None:
            try:
                self._fixed = fix(self.text, path=self.path, context=self.context,
                                  settings=self.settings)
            except Exception as exc:  # pragma: no cover - fix() promises not to raise
                self._fixed = FixResult(self.path or "-", self.text, self.text,
                                        diagnostics=(_crash(exc),))
        return self._fixed

    def fixed_rule(self, code: str) -> FixResult:
        """What ``dockopt fix --select CODE`` would write (cached per code)."""
        if code not in self._fixed_rule:
            from dataclasses import replace

            settings = replace(self.settings, select=(code,), extend_select=())
            self._fixed_rule[code] = fix(self.text, path=self.path, context=self.context,
                                         settings=settings)
        return self._fixed_rule[code]

    def engine_diagnostics(self) -> list[Diagnostic]:
        """Diagnostics only the fix run reports (not converging, reverted), once known."""
        if self._fixed is None:
            return []
        return [d for d in self._fixed.diagnostics
                if d not in self.diagnostics and d.code.startswith("DO")]

    def without_files(self, codes: set[str]) -> FixResult:
        """``fixed`` leaving out some transforms (those whose new files cannot be
        created in this editor)."""
        from dataclasses import replace

        settings = replace(self.settings, ignore=self.settings.ignore + tuple(sorted(codes)))
        return fix(self.text, path=self.path, context=self.context, settings=settings)


def analyze(text: str, *, path: str | None, settings: Settings, context: Any) -> Analysis:
    try:
        findings, diagnostics = check(text, path=path, context=context, settings=settings)
    except Exception as exc:  # check() guards each transform; this is the last net
        findings, diagnostics = [], [_crash(exc)]
    return Analysis(text, path, settings, context, findings, diagnostics)


def _crash(exc: Exception) -> Diagnostic:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {where[0].filename}:{where[0].lineno}" if where else ""
    return Diagnostic(INTERNAL_ERROR, 1, 1,
                      f"dockopt crashed: {type(exc).__name__}: {exc}{at}")


def text_edits(old: str, new: str) -> list[Edit]:
    """Small offset edits turning ``old`` into ``new`` (line hunks, in order)."""
    if old == new:
        return []
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    # splitlines also breaks at \r, \x0b, \x1c...; that only makes hunks finer, and the
    # offsets below are sums of the pieces, so they stay exact.
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            edits.append(Edit(offsets[i1], offsets[i2], "".join(b[j1:j2])))
    return edits


def pragma_edit(tree: Dockerfile, line: int, code: str) -> Edit | None:
    """The edit that suppresses ``code`` on the instruction at dockopt line ``line``:
    add the code to an own-line ``# dockopt: ignore=`` comment directly above it, or
    insert one there (indented like the instruction, with the file's line endings)."""
    items = tree.items
    for i, item in enumerate(items):
        if not isinstance(item, Instruction) or not item.start_line <= line <= item.end_line:
            continue
        # The comment block directly above (no blank line between) holds the pragmas.
        j = i - 1
        while j >= 0 and isinstance(items[j], Comment):
            above = items[j]
            assert isinstance(above, Comment)
            m = _PRAGMA.match(above.text)
            if m is not None:
                end = above.start + m.end("codes")
                return Edit(end, end, f",{code}")
            j -= 1
        first_line = item.text.split("\n", 1)[0]
        indent = first_line[: len(first_line) - len(first_line.lstrip(" \t"))]
        newline = "\r\n" if first_line.endswith("\r") else tree.newline
        return Edit(item.start, item.start, f"{indent}# dockopt: ignore={code}{newline}")
    return None
