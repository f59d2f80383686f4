"""What a fix returns (``FixResult``, ``Change``) and which fixes a pass applies
(``choose_fixes``), apart from the engine (``pipeline``).

Apart because the results cache answers `dockopt fix` for a file with nothing to fix
(``unchanged``) without loading the parser or the engine: it needs the record the
engine would return and the engine's own choice of fixes, and nothing else.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Sequence
from dataclasses import field
from typing import TYPE_CHECKING

from dockopt.rewriter.records import dataclass
from dockopt.transforms.base import Edit, Finding, Fix, Safety

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.diagnostic import Diagnostic

# Codes of the engine's own errors (DO001 not converged, DO002 reverted, DO003 a
# transform crashed); never in the results cache.
ENGINE_ERROR_PREFIX = "DO00"


@dataclass(frozen=True)
class Change:
    """One applied step: all fixes one transform made in one pass."""

    code: str
    name: str
    safety: str
    title: str
    explanation: str
    diff: str
    fixes: int = 1

    def header(self) -> str:
        return f"# {self.code} {self.name}: {self.title} [{self.safety}]"


@dataclass(frozen=True)
class FixResult:
    """What ``fix`` did to one file. Picklable (plain data only)."""

    path: str
    original: str
    text: str
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    passes: int = 0
    # Other build-context files the fixes change: path -> (old content or None, new).
    extra_files: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    # The findings on the text as given (what `check` reports): the CLI counts the
    # issues fixes resolved against these, so `check` and `fix` agree on the total.
    initial: tuple[Finding, ...] = ()

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def held_back(self) -> int:
        """Fixes not applied because they are unsafe and unsafe fixes are off."""
        return sum(1 for f in self.findings if f.fix is not None
                   and f.fix.safety == Safety.UNSAFE)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def diff(self) -> str:
        """Every step's diff, each after a comment line naming its transform."""
        return "".join(f"{c.header()}\n{c.diff}" for c in self.changes if c.diff)


class _Taken:
    """The edits accepted in a pass, for overlap queries in O(log n) each (a list
    scanned per fix made files with thousands of fixes quadratic).

    Accepted edits never overlap each other (``Edit.overlaps``), so sorted by start
    their ends do not decrease either: the candidates for an overlap with a new edit
    are the ones starting at or before its end, walked back until one ends before
    its start. Reserves (whole stages, few) may contain edits and are kept apart."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.edits: list[Edit] = []
        self.reserves: list[Edit] = []

    def overlaps(self, fix: Fix) -> bool:
        mine = fix.edits + fix.reserves
        if any(a.overlaps(b) for a in mine for b in self.reserves):
            return True
        for edit in mine:
            i = bisect.bisect_right(self.keys, (edit.end, sys.maxsize))
            while i > 0:
                i -= 1
                other = self.edits[i]
                if other.end < edit.start:
                    break
                if edit.overlaps(other):
                    return True
        return False

    def add(self, fix: Fix) -> None:
        self.reserves += fix.reserves
        for edit in fix.edits:
            i = bisect.bisect_right(self.keys, (edit.start, edit.end))
            self.keys.insert(i, (edit.start, edit.end))
            self.edits.insert(i, edit)


def choose_fixes(findings: Sequence[Finding], allowed: Safety) -> dict[str, list[Fix]]:
    """The fixes one pass applies, per rule code in the order of ``findings``: those
    at ``allowed`` safety or above that overlap no fix accepted before them, one
    change per context file.  (``pipeline._choose`` pairs each code with its
    transform.)"""
    taken = _Taken()
    files: set[str] = set()
    steps: dict[str, list[Fix]] = {}
    for f in findings:
        fx = f.fix
        if fx is None or fx.safety == Safety.DISPLAY_ONLY or fx.safety < allowed:
            continue
        if not (fx.edits or fx.files) or taken.overlaps(fx):
            continue
        if any(fc.path in files for fc in fx.files):
            continue  # one change per context file per pass
        taken.add(fx)
        files.update(fc.path for fc in fx.files)
        steps.setdefault(f.code, []).append(fx)
    return steps


def allowed_safety(settings: Settings) -> Safety:
    """The least safety a fix needs to be applied under these settings."""
    return Safety.UNSAFE if settings.unsafe_fixes else Safety.SAFE


def unchanged(text: str, path: str | None, findings: Sequence[Finding],
              diagnostics: Sequence[Diagnostic], settings: Settings) -> FixResult | None:
    """What ``pipeline.fix(text, path=path, settings=settings, ...)`` returns when
    ``(findings, diagnostics)`` is ``pipeline.check``'s outcome for the same text,
    context and settings and its first pass applies nothing; None when it would apply
    something (or when the outcome holds an engine error, which the cache never
    stores: then the engine must say what it does).

    Why this is ``fix``'s answer, field by field: pass 1 collects exactly ``check``'s
    findings (same tree, settings, context; no context file written yet) and the
    transforms' own diagnostics, none here.  When the file has a BuildKit error
    (``baseline``) the loop stops after that pass whatever the findings; otherwise
    ``_choose`` over those findings is empty and the loop stops converged.  Either
    way: one pass, no change, no context file, no DO001/DO002, the findings of pass 1
    as both ``findings`` and ``initial``, and the parser's diagnostics (``check``
    puts them first and adds only the transforms' ones) as ``diagnostics``."""
    if settings.max_passes < 1:  # no pass at all: the engine reports DO001
        return None
    if any(d.code.startswith(ENGINE_ERROR_PREFIX) for d in diagnostics):
        return None
    rejected = any(d.severity == "error" for d in diagnostics)  # fix's `baseline`
    if not rejected and choose_fixes(findings, allowed_safety(settings)):
        return None
    found = tuple(findings)
    return FixResult(path or "Dockerfile", text, text, (), found, tuple(diagnostics), 1,
                     {}, found)


def first_pass_outcome(result: FixResult) -> tuple[list[Finding], list[Diagnostic]] | None:
    """``check``'s outcome for the text ``result`` was fixed from, read off the
    result: its first pass's findings (``initial``) and its diagnostics, which are the
    parser's alone when no engine error is among them (``fix`` adds only the
    transforms' errors and its own DO001/DO002 to them).  None when an engine error is
    there: then it is not known which of them pass 1 had, and the cache stores none."""
    if any(d.code.startswith(ENGINE_ERROR_PREFIX) for d in result.diagnostics):
        return None
    return list(result.initial), list(result.diagnostics)
