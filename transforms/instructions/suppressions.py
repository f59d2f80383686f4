"""Suppression comments: which findings they hide, and the rules about the comments.

``# dockopt: ignore=DO204`` (own line, in the comment block right above an
instruction) hides that instruction's findings of the named rules;
``# dockopt: global ignore=...`` anywhere hides them in the whole file.
``# hadolint ignore=DL3008`` is honoured the same way for the dockopt rules that
cover the hadolint code. The engine asks :class:`Suppressions` per finding and
records which comment hid it, so DO511 can report the codes that hid nothing
(ruff's RUF100 "unused noqa"), and DO510 the codes that name no rule.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator, Sequence

from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Comment, Dockerfile, Instruction
from dockopt.transforms.base import SUPPRESSION, Context, Edit, Finding, Fix, Safety, Transform


@dataclass(frozen=True, slots=True)
class Entry:
    """One code in one suppression comment."""

    comment: Comment
    tool: str  # "dockopt" or "hadolint": whose spelling the comment uses
    code: str
    start: int  # absolute offsets of the code in the file
    end: int
    is_global: bool
    # Where the previous/next code of the same comment ends/starts (for removal).
    prev_end: int | None
    next_start: int | None


def _entries(comment: Comment) -> list[Entry]:
    m = SUPPRESSION.match(comment.content)
    if m is None:
        return []
    base = comment.start + comment.text.find(comment.content) + m.start(3)
    listed = m.group(3)
    spans: list[tuple[str, int, int]] = []
    pos = 0
    for raw in listed.split(","):
        code = raw.strip()
        if code:
            at = listed.index(code, pos)
            spans.append((code, base + at, base + at + len(code)))
        pos += len(raw) + 1
    out = []
    for i, (code, start, end) in enumerate(spans):
        out.append(Entry(comment, m.group(1), code, start, end, bool(m.group(2)),
                         spans[i - 1][2] if i > 0 else None,
                         spans[i + 1][1] if i + 1 < len(spans) else None))
    return out


def matches(code: str, transform: type[Transform] | Transform) -> bool:
    """Whether a suppression ``code`` names ``transform``: its code, a prefix of it
    (at least three characters, as DO510 accepts), its name, ALL, or a hadolint code
    it covers."""
    if code in (transform.code, transform.name, "ALL"):
        return True
    if len(code) >= 3 and transform.code.startswith(code):
        return True
    return code in transform.hadolint_codes()


class Suppressions:
    """The suppression comments of one tree, and which of them hid a finding.

    Own-line comments only: a ``#`` after an instruction is part of its arguments.
    """

    def __init__(self, tree: Dockerfile) -> None:
        self.entries: list[Entry] = []
        self.global_entries: list[Entry] = []
        self.starts: list[int] = []
        self.spans: list[tuple[int, int, tuple[Entry, ...]]] = []
        self.used: set[int] = set()  # ids (start offsets) of entries that hid a finding
        self.ran: set[str] = set()  # codes of the transforms that ran without crashing
        pending: list[Entry] = []
        for item in tree.items:
            if isinstance(item, Comment):
                found = _entries(item)
                self.entries += found
                for e in found:
                    (self.global_entries if e.is_global else pending).append(e)
                continue
            if isinstance(item, Instruction) and pending:
                self.starts.append(item.start_line)
                self.spans.append((item.start_line, item.end_line, tuple(pending)))
            pending = []

    def hides(self, finding: Finding, transform: Transform) -> bool:
        if not self.entries:
            return False
        candidates: Sequence[Entry] = self.global_entries
        i = bisect.bisect_right(self.starts, finding.line) - 1
        if i >= 0:
            start, end, local = self.spans[i]
            if start <= finding.line <= end:
                candidates = [*candidates, *local]
        hit = False
        for e in candidates:
            if matches(e.code, transform):
                self.used.add(e.start)
                hit = True
        return hit


@functools.cache
def _rule_names() -> tuple[frozenset[str], frozenset[str]]:
    """Every rule's code, name and covered hadolint codes; and the codes alone (once
    per process: the registry does not change)."""
    from dockopt.transforms import REGISTRY

    known = {n for cls in REGISTRY for n in (cls.code, cls.name, *cls.hadolint_codes())}
    return frozenset(known), frozenset(cls.code for cls in REGISTRY)


class UnknownSuppression(Transform):
    """A `# dockopt: ignore=` comment names a code that is no rule.

    What it does:
        Reports each code in an own-line `# dockopt: ignore=...` or
        `# dockopt: global ignore=...` comment that is not a rule's code, a rule's
        name, a prefix of rule codes, or a hadolint code a rule covers (ruff's
        RUF100 idea, for the unknown half). `# hadolint ignore=` comments are
        hadolint's: their codes are not checked.

    Why:
        A typo (`DO2O1`) or a rule that was renamed silently suppresses nothing: the
        finding the comment was meant to hide comes back, or worse, the comment
        looks like a reviewed exception that does not exist.

    Example:
        `# dockopt: ignore=DO2O1` above a RUN: "`DO2O1` is not a dockopt rule".

    Fix safety:
        No fix: the intended code cannot be known.

    References:
        https://docs.astral.sh/ruff/rules/unused-noqa/
    """

    code = "DO510"
    name = "unknown-suppression"

    def check(self, ctx: Context) -> Iterator[Finding]:
        known, codes = _rule_names()
        # The engine parsed the pass's suppression comments already (ctx.suppressions);
        # a direct caller without the engine gets them parsed here.
        sup = ctx.suppressions if isinstance(ctx.suppressions, Suppressions) \
            else Suppressions(ctx.tree)
        for e in sup.entries:
            if e.tool != "dockopt" or e.code in known or e.code == "ALL" or \
                    any(c.startswith(e.code) for c in codes):
                continue
            line, col = ctx.tree.line_col(e.start)
            yield Finding(self.code, self.name,
                          f"`{e.code}` in a suppression comment is not a dockopt rule "
                          "(a code, a name, or a hadolint code a rule covers): it "
                          "suppresses nothing", line, col, line, col + len(e.code),
                          self.level)


class UnusedSuppression(Transform):
    """A `# dockopt: ignore=` code that hid no finding.

    What it does:
        Reports each code in an own-line `# dockopt: ignore=...` comment (or a
        `global ignore=`) whose rule finds nothing there to hide (ruff's RUF100, the
        unused half). A rule the run did not select is run for this judgement alone
        (its findings are not reported), so `--select DO511` works by itself.
        Without a known build context, codes of rules that read the context are not
        judged: those rules are silent then. `ALL`, unknown codes (DO510) and
        `# hadolint ignore=` comments (hadolint's own) are left alone.

    Why:
        A suppression outlives the problem it hid: after the RUN is fixed or the
        rule changes, the comment stays and would hide a new, unrelated finding of
        that rule later, unseen.

    Example:
        ```dockerfile
        # dockopt: ignore=DO204
        RUN echo no apt here
        ```
        becomes `RUN echo no apt here` (the comment line goes when it held the only
        code; otherwise only the unused code is removed).

    Fix safety:
        Safe: the code hides nothing now, so removing it changes no finding and
        nothing in the image.

    References:
        https://docs.astral.sh/ruff/rules/unused-noqa/
    """

    code = "DO511"
    name = "unused-suppression"
    fix_title = "Remove the unused suppression"
    default_safety = Safety.SAFE
    semantic_scope = "none"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sup = ctx.suppressions
        if not isinstance(sup, Suppressions) or not sup.entries:
            return
        from dockopt.transforms import REGISTRY

        self._run_the_others(sup, ctx, REGISTRY)
        unused = [e for e in sup.entries if self._unused(e, sup, ctx, REGISTRY)]
        # A comment all of whose codes are unused goes whole, in one edit (each of
        # its findings carries it; the engine applies it once).
        unused_at = {e.start for e in unused}  # a set: a list test per entry was quadratic
        whole = {e.comment.start for e in unused} - {
            e.comment.start for e in sup.entries if e.start not in unused_at}
        for e in unused:
            edit = (Edit(e.comment.start, e.comment.end, "") if e.comment.start in whole
                    else _removal(e))
            where = "in this file" if e.is_global else "on the instruction below"
            line, col = ctx.tree.line_col(e.start)
            yield Finding(self.code, self.name,
                          f"Unused suppression: `{e.code}` hid no finding {where}",
                          line, col, line, col + len(e.code), self.level,
                          Fix((edit,), Safety.SAFE,
                              f"Remove `{e.code}` from the suppression comment"))

    def _run_the_others(self, sup: Suppressions, ctx: Context,
                        registry: Sequence[type[Transform]]) -> None:
        """Run the rules the comments name that this run did not, only to learn which
        comments they use (their findings go nowhere). A crash leaves the rule
        unjudged."""
        wanted = {cls for e in sup.entries if e.tool == "dockopt" and e.code != "ALL"
                  for cls in registry if matches(e.code, cls)}
        for cls in sorted(wanted, key=lambda c: c.code):
            if cls.code in sup.ran or cls is type(self):
                continue
            rule = cls()
            try:
                for f in rule.check(ctx):
                    sup.hides(f, rule)
            except Exception:  # judged by nobody rather than wrongly
                continue
            sup.ran.add(cls.code)

    @staticmethod
    def _unused(e: Entry, sup: Suppressions, ctx: Context,
                registry: Sequence[type[Transform]]) -> bool:
        if e.tool != "dockopt" or e.code == "ALL" or e.start in sup.used:
            return False
        named = [cls for cls in registry if matches(e.code, cls)]
        if not named or any(cls.code not in sup.ran for cls in named):
            return False  # unknown (DO510), or a rule that crashed: no judgement
        # A rule that is silent without a build context says nothing then.
        return ctx.build is not None or not any(cls.reads_context for cls in named)


def _removal(e: Entry) -> Edit:
    """The edit that drops ``e`` from its comment: the whole line when it is the only
    code (a reason after the codes goes with it), else the code and one separator."""
    if e.prev_end is None and e.next_start is None:
        return Edit(e.comment.start, e.comment.end, "")
    if e.prev_end is not None:
        return Edit(e.prev_end, e.end, "")
    assert e.next_start is not None
    return Edit(e.start, e.next_start, "")
