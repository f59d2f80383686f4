"""Worker functions for corpus-wide fix tests (run in a process pool)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import fix
from dockopt.transforms.base import Edit


@dataclass(frozen=True)
class Outcome:
    path: str
    rel: str
    original: str
    text: str
    diff: str
    codes: tuple[str, ...]
    engine_errors: tuple[str, ...]
    second_run_changes: bool
    buildkit_in: str | None  # None = parsed; else the error
    buildkit_out: str | None


def _buildkit(text: str, path: str | None = None) -> str | None:
    """None if BuildKit's parser accepts the text, else its error.

    Goes through a file so that invalid UTF-8 (kept via surrogateescape) reaches
    BuildKit as the original bytes; the binding crashes on lone surrogates in str.
    """
    import tempfile

    import dockerfile

    try:
        if path is None:
            with tempfile.NamedTemporaryFile("wb", suffix=".Dockerfile", delete=False) as f:
                f.write(text.encode("utf-8", "surrogateescape"))
                path = f.name
            try:
                dockerfile.parse_file(path)
            finally:
                os.unlink(path)
        else:
            dockerfile.parse_file(path)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run_one(args: tuple[str, str, str]) -> Outcome:
    path, rel, cache = args
    with open(path, "rb") as f:
        original = f.read().decode("utf-8", "surrogateescape")
    settings = Settings(unsafe_fixes=True, cache=cache, max_passes=10)  # type: ignore[arg-type]
    result = fix(original, path=rel, settings=settings)
    again = fix(result.text, path=rel, settings=settings)
    engine = tuple(f"{d.code} {d.message}" for d in result.diagnostics if d.code.startswith("DO"))
    bk_in = _buildkit(original, path)
    bk_out = None
    if result.changed:
        bk_out = _buildkit(result.text)
    return Outcome(path, rel, original, result.text, result.diff(),
                   tuple(c.code for c in result.changes), engine,
                   again.text != result.text, bk_in, bk_out if result.changed else bk_in)


Cmd = tuple[str, tuple[str, ...], bool, tuple[str, ...]]


def buildkit_view(text: str) -> list[Cmd] | None:
    """BuildKit's reading (keyword, flags, json, value) or None if it rejects the text."""
    import dockerfile

    try:
        text.encode("utf-8")
        cmds = dockerfile.parse_string(text)
    except Exception:
        return None
    return [(c.cmd.upper(), tuple(c.flags), bool(c.json), tuple(c.value)) for c in cmds]


def _ws(s: str) -> str:
    return " ".join(s.split())


def scope_violation(scope: str, before: list[Cmd], after: list[Cmd]) -> str | None:
    """Why ``after`` is not ``before`` changed only within ``scope``; None if fine."""
    if scope == "merge":
        i = j = 0
        while i < len(before) and j < len(after):
            if before[i] == after[j]:
                i += 1
                j += 1
                continue
            b, a = before[i], after[j]
            if b[0] != "RUN" or a[0] != "RUN" or b[1] != a[1] or b[2] or a[2]:
                return f"instruction {i} differs outside RUN merging: {b} -> {a}"
            joined = b[3][0] if b[3] else ""
            k = i + 1
            while k < len(before) and _ws(joined) != _ws(a[3][0] if a[3] else ""):
                nxt = before[k]
                if nxt[0] != "RUN" or nxt[1] != b[1] or nxt[2]:
                    return f"merged RUN at {j} is not an && join of consecutive RUNs"
                joined = f"{joined} && {nxt[3][0] if nxt[3] else ''}"
                k += 1
            if _ws(joined) != _ws(a[3][0] if a[3] else ""):
                return f"merged RUN value differs: {a[3]!r} vs {joined!r}"
            i, j = k, j + 1
        return None if (i, j) == (len(before), len(after)) else "instruction count differs"
    if scope == "order":
        # RUNs may move up past other instructions of their stage; nothing else changes:
        # the same instructions, RUNs and non-RUNs each in their old relative order,
        # every RUN in its old stage.
        def split(cmds: list[Cmd]) -> tuple[list[Cmd], list[tuple[int, Cmd]]]:
            froms = 0
            rest: list[Cmd] = []
            runs: list[tuple[int, Cmd]] = []
            for c in cmds:
                froms += c[0] == "FROM"
                if c[0] == "RUN":
                    runs.append((froms, c))
                else:
                    rest.append(c)
            return rest, runs

        if split(before) != split(after):
            return "instructions changed beyond moving RUNs within their stage"
        return None
    if len(before) != len(after):
        if scope == "workdir":
            rest_b = [c for c in before if c[0] not in ("RUN", "WORKDIR")]
            rest_a = [c for c in after if c[0] not in ("RUN", "WORKDIR")]
            return None if rest_b == rest_a else "non-RUN/WORKDIR instructions changed"
        return f"instruction count {len(before)} -> {len(after)}"
    for b, a in zip(before, after, strict=True):
        if b == a:
            continue
        if scope == "run" and b[0] == a[0] == "RUN" and b[1:3] == a[1:3]:
            continue
        if scope == "form" and b[0] == a[0] and b[0] in ("CMD", "ENTRYPOINT") \
                and not b[2] and a[2] and b[3] and (list(a[3]) == b[3][0].split()
                                                    or a[3][-1:] == b[3][:1]):
            continue  # argv of plain words, or the explicit shell + the same command
        if scope == "keyword" and b[0] == "ADD" and a[0] == "COPY" and b[1:] == a[1:]:
            continue
        if scope == "keyword" and b[0] == "MAINTAINER" and a[0] == "LABEL" \
                and a[3][:1] == ("org.opencontainers.image.authors",):
            continue
        if scope == "workdir" and b[0] == a[0] == "RUN":
            continue
        return f"{b} -> {a} is outside scope {scope!r}"
    return None


def safe_semantics(path: str) -> list[str]:
    """Apply each transform's SAFE fixes alone; report scope violations."""
    from dockopt.rewriter.pipeline import check
    from dockopt.transforms import REGISTRY
    from dockopt.transforms.base import Safety

    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    before = buildkit_view(text)
    if before is None:
        return []
    findings, _ = check(text)
    codes = sorted({f.code for f in findings if f.fix and f.fix.safety == Safety.SAFE})
    problems = []
    by_code = {cls.code: cls for cls in REGISTRY}
    for code in codes:
        settings = Settings(select=(code,), max_passes=10)
        out = fix(text, settings=settings)
        if not out.changed:
            continue
        after = buildkit_view(out.text)
        if after is None:
            problems.append(f"{path}: {code}: output rejected by BuildKit")
            continue
        why = scope_violation(by_code[code].semantic_scope, before, after)
        if why:
            problems.append(f"{path}: {code}: {why}")
    return problems


def _keywords(text: str) -> Counter[str] | None:
    """BuildKit's instruction keywords (upper-case), or None if it rejects the text."""
    import dockerfile

    try:
        text.encode("utf-8")
        return Counter(c.cmd.upper() for c in dockerfile.parse_string(text))
    except Exception:
        return None


def expected_keywords(text: str, edits: Sequence[Edit], before: Counter[str]) -> Counter[str]:
    """The keywords ``text`` should have after ``edits``, from the edits alone.

    An instruction goes away when a replaced range covers its start; an instruction
    comes in for each instruction line of an edit's content that starts a line of the
    output (the content's first line only when the edit starts at a line start).  So
    an inserted `USER` that lands inside another instruction's continuation (and
    becomes its arguments) is expected but missing from BuildKit's reading.
    """
    from dockopt.rewriter import buildkit as bk
    from dockopt.rewriter.syntax import Instruction, parse

    out = Counter(before)
    # where each instruction's keyword starts (after its leading blanks)
    starts = [(i.start + len(i.text) - len(i.text.lstrip(" \t")), i.keyword)
              for i in parse(text).instructions]
    for e in edits:
        for at, keyword in starts:
            if e.start <= at < e.end:
                out[keyword] -= 1
        body = e.content
        line_start = text.rfind("\n", 0, e.start) + 1
        if text[line_start:e.start].strip(" \t"):
            body = body.split("\n", 1)[1] if "\n" in body else ""
        for item in parse(body).items:
            if isinstance(item, Instruction) and item.keyword in bk.KNOWN_INSTRUCTIONS:
                out[item.keyword] += 1
    return +out


_CONTEXTS: dict[str, object | None] = {}


def insertion_problems(args: tuple[str, str]) -> list[str]:
    """Every step `fix --unsafe-fixes` takes on one file (each pass, each transform's
    fixes applied alone to the pass's text), checked against BuildKit: the instruction
    keywords after it are exactly those before it, minus the instructions the edits
    replace, plus those they write."""
    from pathlib import Path

    from dockopt.rewriter.pipeline import _choose, apply_edits, check, registry
    from dockopt.transforms.base import Safety

    path, rel = args
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    settings = Settings(unsafe_fixes=True, max_passes=10)
    active = registry(settings)
    from dockopt.rewriter.context import BuildContext

    key = str(Path(path).parent)
    if key not in _CONTEXTS:
        # A folder of many unrelated Dockerfiles (a collection, not a build context)
        # gets none: the context-aware rules would only scan it again and again.
        many = sum(1 for p in Path(key).iterdir() if "ockerfile" in p.name) > 20
        _CONTEXTS[key] = None if many else BuildContext(Path(key))
    context = _CONTEXTS[key]
    problems: list[str] = []
    for _ in range(settings.max_passes):
        before = _keywords(text)
        if before is None:
            return problems
        findings, _diags = check(text, path=rel, context=context, transforms=active,
                                 settings=settings)
        steps = _choose(findings, active, Safety.UNSAFE)
        if not steps:
            break
        done: list[Edit] = []
        for transform, fixes in steps:
            edits = [e for fx in fixes for e in fx.edits]
            done += edits
            after = _keywords(apply_edits(text, edits))
            want = expected_keywords(text, edits, before)
            if after is not None and after != want:
                problems.append(f"{rel}: {transform.code}: BuildKit reads "
                                f"{dict(after - want)} more and {dict(want - after)} "
                                "fewer instructions than the fix writes")
        text = apply_edits(text, done)
    return problems
