"""What every transform is made of: findings, fixes, edits, and the per-file context.

A transform reads the tree (and the shell view of RUNs) and yields findings.  A
finding may carry a :class:`Fix`: a set of byte-range edits on the current text that
must be applied together, with a safety level decided for that occurrence.  The
engine (``dockopt.rewriter.pipeline``) chooses which fixes to apply, applies them,
re-parses and repeats until nothing changes.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator
from dataclasses import field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.edit import Style
    from dockopt.rewriter.shell import ShellScript
    from dockopt.rewriter.syntax import Dockerfile, Instruction

# hadolint's severities: `style` is advice that need not apply to every image; by
# default it is shown but does not fail a run (the failure threshold is `info`).
Level = Literal["error", "warning", "info", "style"]
DOCS_URL = "https://github.com/dockopt/dockopt/blob/main/docs/rules/{code}.md"
# An own-line suppression comment (the text after `#`): `dockopt: ignore=DO201,DO204
# reason`, `dockopt: global ignore=...`, and hadolint's `hadolint ignore=DL3015`. The
# engine applies them; DO510 reports codes in dockopt's own that name no rule.
SUPPRESSION = lazy(
    r"^(dockopt|hadolint):?\s*(global\s+)?ignore\s*=\s*"
    r"([A-Za-z0-9_\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*)(?:\s+\S.*)?$")


class Safety(enum.IntEnum):
    """How far a fix can be trusted. Ordered: SAFE > UNSAFE > DISPLAY_ONLY."""

    DISPLAY_ONLY = 0
    UNSAFE = 1
    SAFE = 2

    @property
    def label(self) -> str:
        return {0: "display-only", 1: "unsafe", 2: "safe"}[int(self)]


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``text[start:end]`` with ``content`` (offsets into the current text)."""

    start: int
    end: int
    content: str

    def overlaps(self, other: Edit) -> bool:
        """Whether the two edits cannot both be applied in a well-defined order."""
        a_ins, b_ins = self.start == self.end, other.start == other.end
        if a_ins and b_ins:
            return self.start == other.start  # two insertions at one point
        # An insertion touching a replaced range is ambiguous too (before or after
        # the new text?); the later fix waits for the next pass.
        if a_ins:
            return other.start <= self.start <= other.end
        if b_ins:
            return self.start <= other.start <= self.end
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class FileChange:
    """New content for another file of the build context (e.g. ``.dockerignore``)."""

    path: str  # relative to the build context, "/"-separated
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    """Edits (and other-file changes) applied all together or not at all."""

    edits: tuple[Edit, ...]
    safety: Safety
    message: str
    files: tuple[FileChange, ...] = ()
    # Ranges no other fix may edit in the same pass (as empty-content edits): for a
    # transform whose result another must see first (manifests._claim_stage). The
    # edits themselves stay minimal, for diffs and editor quick fixes.
    reserves: tuple[Edit, ...] = ()
    # What this fix does, when the transform's ``fix_title`` would say more than that
    # (a step whose fixes all carry the same title is shown under it).
    title: str | None = None

    def overlaps(self, edits: Iterable[Edit]) -> bool:
        mine = self.edits + self.reserves
        return any(a.overlaps(b) for a in mine for b in edits)


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at a place in the file, maybe with a fix."""

    code: str
    name: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    level: Level = "warning"
    fix: Fix | None = None

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code)


@dataclass
class Context:
    """What a transform sees of one file during one pass."""

    tree: Dockerfile
    settings: Settings
    path: str | None = None
    # The build context (dockopt.rewriter.context.BuildContext), or None when unknown.
    build: Any = None
    # Context files changed by earlier passes: path -> content (not yet on disk).
    overlay: dict[str, str] = field(default_factory=dict)
    _shell: dict[int, ShellScript | None] = field(default_factory=dict, repr=False)
    # Per-pass results shared between transforms (e.g. the editable RUNs).
    memo: dict[str, Any] = field(default_factory=dict, repr=False)
    # The pass's suppression comments and their use so far (instructions.suppressions
    # .Suppressions; set by the engine, read by DO511 after every other rule ran).
    suppressions: Any = field(default=None, repr=False)
    _style: Style | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.tree.text

    @property
    def style(self) -> Style:
        if self._style is None:
            self._style = self.tree.style()
        return self._style

    def shell(self, ins: Instruction) -> ShellScript | None:
        """The parsed shell of a shell-form RUN (cached per pass), or None."""
        key = ins.start
        if key not in self._shell:
            script = None
            if ins.keyword == "RUN" and not ins.passthrough:
                src = ins.shell_source()
                if src is not None:
                    from dockopt.rewriter.shell import parse_shell

                    script = parse_shell(src.text)
            self._shell[key] = script
        return self._shell[key]

    def read_context_file(self, rel: str) -> str | None:
        """A build-context file as fixed so far (overlay first), or None if absent."""
        if rel in self.overlay:
            return self.overlay[rel]
        if self.build is None:
            return None
        text: str | None = self.build.read_text(rel)
        return text

    def options(self, transform: Transform) -> dict[str, Any]:
        return self.settings.rule_options(transform.code, transform.name)


class Transform:
    """Base class. Subclasses set the class attributes and implement ``check``.

    The docstring is the rule's user documentation, with the sections What it does,
    Why, Example, Fix safety and References.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    fix_title: ClassVar[str | None] = None  # None: findings only, never a fix
    upstream: ClassVar[tuple[str, ...]] = ()
    level: ClassVar[Level] = "warning"
    # The safety of the typical fix, for `dockopt rules`; each fix decides its own.
    default_safety: ClassVar[Safety | None] = None
    # What a SAFE fix may change in BuildKit's semantic view (checked by the tests):
    # "run" = RUN command text only, "merge" = joins RUNs, "form" = exec/shell form
    # of CMD/ENTRYPOINT, "keyword" = the instruction keyword, "none" = nothing.
    semantic_scope: ClassVar[str] = "run"
    # The `[rules.<code or name>]` options the rule reads, with their types: unknown
    # keys in a config file are errors.
    options: ClassVar[dict[str, type]] = {}
    # Whether the findings depend on the build context (silent without one): DO511
    # then cannot judge a suppression of the rule in a context-less run.
    reads_context: ClassVar[bool] = False

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, ctx: Context, ins: Instruction, message: str, *,
                fix: Fix | None = None, span: tuple[int, int] | None = None) -> Finding:
        """A finding on ``ins`` (or on the absolute character ``span`` within it)."""
        tree = ctx.tree
        if span is None:
            line, col = ins.start_line, _first_col(ins)
            end_line, end_col = tree.line_col(_content_end(ins))
        else:
            line, col = tree.line_col(span[0])
            end_line, end_col = tree.line_col(span[1])
        return Finding(self.code, self.name, message, line, col, end_line, end_col,
                       self.level, fix)

    @classmethod
    def hadolint_codes(cls) -> tuple[str, ...]:
        """The hadolint rules this one covers (``DL3015``), from ``upstream``."""
        return _hadolint_codes(cls.upstream)

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else cls.name


@functools.lru_cache(maxsize=512)
def _hadolint_codes(upstream: tuple[str, ...]) -> tuple[str, ...]:
    # Asked for every rule of every file (selection, fix policy, suppressions).
    return tuple(u.split(":", 1)[1] for u in upstream if u.startswith("hadolint:"))


def _first_col(ins: Instruction) -> int:
    first = ins.text.split("\n", 1)[0]
    return len(first) - len(first.lstrip(" \t")) + 1


def _content_end(ins: Instruction) -> int:
    """End of the instruction's last code character (before its final newline)."""
    # Relative segments (offsets into ins.text): every finding asks, and the absolute
    # ones are made per instruction.
    for seg in reversed(ins.relative_segments()):
        if seg.kind in ("code", "terminator", "heredoc"):
            return ins.start + len(ins.text[:seg.end].rstrip("\r\n"))
    return ins.start
