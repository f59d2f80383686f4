"""The fix engine: run the transforms to a fixed point and account for every step.

One pass asks every selected transform (in registry order) for findings on the
same tree, accepts the applicable fixes that do not overlap a fix accepted before
them, and applies them transform by transform, so each transform's step gets its
own diff.  Then the text is re-parsed and the next pass starts, until a pass
changes nothing.  A fix skipped for overlapping is picked up by a later pass.

Guarantees: ``fix`` never raises on input text; a transform that crashes is
reported and skipped; output that BuildKit would reject where the input was fine
reverts the whole file; not converging within ``max_passes`` is reported.  A
file that BuildKit rejects is checked but never rewritten.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace

from dockopt.rewriter.config import Settings
from dockopt.rewriter.diff import spliced_diff, unified_diff
from dockopt.rewriter.fixresult import Change as Change
from dockopt.rewriter.fixresult import FixResult as FixResult
from dockopt.rewriter.fixresult import allowed_safety, choose_fixes
from dockopt.rewriter.syntax import Diagnostic, Dockerfile, parse
from dockopt.transforms.base import (
    Context,
    Edit,
    Finding,
    Fix,
    Safety,
    Transform,
)

NOT_CONVERGED = "DO001"
REVERTED = "DO002"
INTERNAL_ERROR = "DO003"
# FixResult and Change live in fixresult (the results cache makes them without loading
# the engine); the engine's callers import them from here as before.


def registry(settings: Settings) -> list[Transform]:
    """A fresh instance of each selected transform, in execution order."""
    from dockopt.transforms import REGISTRY

    return [cls() for cls in _selected(tuple(REGISTRY), settings.select, settings.ignore,
                                       settings.extend_select)]


@functools.lru_cache(maxsize=64)
def _selected(registry: tuple[type[Transform], ...], select: tuple[str, ...],
              ignore: tuple[str, ...], extend_select: tuple[str, ...],
              ) -> tuple[type[Transform], ...]:
    """The transforms of ``registry`` these selectors select (``Settings.selects``
    reads nothing else), once per process: every file of a run asks with the same
    few.  The registry is part of the key: a program (or test) may replace it."""
    probe = Settings(select=select, ignore=ignore, extend_select=extend_select)
    return tuple(cls for cls in registry
                 if probe.selects(cls.code, cls.name, cls.hadolint_codes()))


def check(text: str, *, path: str | None = None, context: object | None = None,
          settings: Settings | None = None, transforms: Sequence[Transform] | None = None,
          ) -> tuple[list[Finding], list[Diagnostic]]:
    """Findings (with their fixes) on the text as it is; nothing is applied."""
    settings = settings or Settings()
    tree = parse(text)
    active = list(transforms) if transforms is not None else registry(settings)
    build = _build_context(context, path)
    findings, diags = _collect(tree, settings, path, active, build)
    return findings, list(tree.diagnostics) + diags


def _build_context(context: object | None, path: str | None) -> object | None:
    """Accept a BuildContext, a folder path, or None (then: unknown context)."""
    if context is None:
        return None
    from dockopt.rewriter.context import BuildContext

    if isinstance(context, BuildContext):
        return context
    from pathlib import Path

    return BuildContext(Path(str(context)), dockerfile=path)


def fix(text: str, *, path: str | None = None, context: object | None = None,
        settings: Settings | None = None,
        transforms: Sequence[Transform] | None = None,
        diff_path: str | None = None) -> FixResult:
    """Apply the selected transforms' fixes to a fixed point. Never raises.

    ``context`` is the build context (a folder, or a ``BuildContext``); without it
    the context-aware transforms stay silent.  ``diff_path`` names the file in diff
    headers when that differs from ``path`` (the name in messages): the CLI passes
    ``discover.patch_path`` of the file, so the patch applies from anywhere, and
    then names the context's files the same way.
    """
    settings = settings or Settings()
    build = _build_context(context, path)
    overlay: dict[str, str] = {}
    originals: dict[str, str | None] = {}
    shown = path or "Dockerfile"
    active = list(transforms) if transforms is not None else registry(settings)
    allowed = allowed_safety(settings)
    original = tree = parse(text)
    baseline = _error_keys(original)
    current = text
    changes: list[Change] = []
    diags: list[Diagnostic] = []
    findings: list[Finding] = []
    recent: list[set[str]] = []
    initial: tuple[Finding, ...] = ()
    passes = 0
    converged = False
    while passes < settings.max_passes:
        passes += 1
        if passes > 1:
            tree = parse(current)
        findings, pass_diags = _collect(tree, settings, path, active, build, overlay)
        if passes == 1:
            initial = tuple(findings)
        diags += [d for d in pass_diags if d not in diags]
        if baseline:
            # BuildKit rejects this file: report, but rewrite nothing (a fix could
            # only guess at what the broken part means).
            break
        steps = _choose(findings, active, allowed)
        if not steps:
            converged = True
            break
        current, pass_changes = _apply(current, steps, diff_path or shown, build, overlay,
                                       originals, diff_path is not None)
        changes += pass_changes
        recent.append({c.code for c in pass_changes})
    if not converged and not baseline:
        codes = sorted(set().union(*recent[-3:]))
        diags.append(Diagnostic(NOT_CONVERGED, 1, 1,
                                f"fixes did not converge after {passes} passes; "
                                f"still changing: {', '.join(codes)}"))
    final = tree if tree.text == current else parse(current)
    broken = _error_keys(final) - baseline
    if broken:
        codes = sorted({c.code for c in changes})
        what = "; ".join(sorted(m for _, m in broken))[:300]
        diags.append(Diagnostic(REVERTED, 1, 1,
                                f"reverted: the fixed file would not parse ({what}); "
                                f"transforms involved: {', '.join(codes)}"))
        findings, more = _collect(original, settings, path, active, build, {})
        return FixResult(shown, text, text, (), tuple(findings),
                         tuple(list(original.diagnostics) + diags + more), passes,
                         initial=tuple(findings))
    extra = {p: (originals[p], overlay[p]) for p in overlay if overlay[p] != originals[p]}
    return FixResult(shown, text, current, tuple(changes), tuple(findings),
                     tuple(list(original.diagnostics) + diags), passes, extra, initial)


def _error_keys(tree: Dockerfile) -> set[tuple[str, str]]:
    return {(d.code, d.message) for d in tree.diagnostics if d.severity == "error"}


def _collect(tree: Dockerfile, settings: Settings, path: str | None,
             active: Sequence[Transform], build: object | None = None,
             overlay: dict[str, str] | None = None) -> tuple[list[Finding], list[Diagnostic]]:
    from dockopt.transforms.instructions.suppressions import Suppressions

    ctx = Context(tree, settings, path, build, overlay if overlay is not None else {})
    suppress = Suppressions(tree)
    ctx.suppressions = suppress
    findings: list[Finding] = []
    diags: list[Diagnostic] = []
    for t in active:
        try:
            found = list(t.check(ctx))
        except Exception as exc:  # a bug in one transform must not lose the file
            diags.append(Diagnostic(INTERNAL_ERROR, 1, 1,
                                    f"{t.code} {t.name} crashed: {type(exc).__name__}: {exc}"))
            continue
        suppress.ran.add(t.code)
        if not found:
            continue  # most rules find nothing in most files: skip the bookkeeping
        kept = [f for f in found if not suppress.hides(f, t)] if suppress.entries \
            else found
        policy = settings.fix_policy(t.code, t.name, t.hadolint_codes())
        if policy is not None:
            kept = [_with_policy(f, policy) for f in kept]
        findings += kept
    return findings, diags


def _with_policy(f: Finding, policy: str) -> Finding:
    """The finding with its fix as the fix settings say (check and fix agree, since
    both see the findings after this)."""
    fx = f.fix
    if fx is None:
        return f
    if policy == "off":
        return replace(f, fix=None)
    if policy == "safe" and fx.safety == Safety.UNSAFE:
        return replace(f, fix=replace(fx, safety=Safety.SAFE))
    if policy == "unsafe" and fx.safety == Safety.SAFE:
        return replace(f, fix=replace(fx, safety=Safety.UNSAFE))
    return f


def _choose(findings: list[Finding], active: Sequence[Transform],
            allowed: Safety) -> list[tuple[Transform, list[Fix]]]:
    # The choice itself is in fixresult, where the results cache asks it too (whether
    # a file's stored findings leave anything to fix) without loading the engine.
    by_code = {t.code: t for t in active}
    return [(by_code[code], fixes) for code, fixes in choose_fixes(findings, allowed).items()]


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    out: list[str] = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[pos:e.start])
        out.append(e.content)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _in_step_offsets(done: Sequence[Edit], mine: int) -> list[tuple[int, int, str]]:
    """The edits ``done[mine:]`` (this step's) as splices of the text the earlier steps
    of the pass produced: each is moved by what the earlier edits before it added or
    removed.  The order is ``apply_edits``'s (by position; on a tie, the earlier
    edit first), so applying them gives what applying all of ``done`` gives."""
    shift = 0
    out: list[tuple[int, int, str]] = []
    for i in sorted(range(len(done)), key=lambda i: (done[i].start, done[i].end)):
        e = done[i]
        if i >= mine:
            out.append((e.start + shift, e.end + shift, e.content))
        else:
            shift += len(e.content) - (e.end - e.start)
    return out


def _context_file_name(build: object | None, rel: str, folder: str, patch_names: bool) -> str:
    """How a diff names a context file the fixes change (``rel`` in the context)."""
    root = getattr(build, "root", None)
    if patch_names and root is not None:
        import os

        from dockopt.rewriter.discover import patch_path

        return patch_path(os.path.join(str(root), rel))
    name = getattr(build, "display_path", None)
    return name(rel) if callable(name) else folder + rel


def _apply(text: str, steps: list[tuple[Transform, list[Fix]]], path: str,
           build: object | None, overlay: dict[str, str],
           originals: dict[str, str | None],
           patch_names: bool = False) -> tuple[str, list[Change]]:
    done: list[Edit] = []
    prev = text
    changes: list[Change] = []
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    for t, fixes in steps:
        mine = len(done)
        for fx in fixes:
            done += fx.edits
        new, diff = spliced_diff(prev, _in_step_offsets(done, mine), path)
        for fx in fixes:
            for fc in fx.files:
                if fc.path not in originals:
                    read = getattr(build, "read_text", None)
                    originals[fc.path] = read(fc.path) if read is not None else None
                old = overlay.get(fc.path, originals[fc.path])
                shown = _context_file_name(build, fc.path, folder, patch_names)
                diff += unified_diff(old or "", fc.content, shown, new_file=old is None)
                overlay[fc.path] = fc.content
        safety = min(fx.safety for fx in fixes)
        explanation = "\n".join(dict.fromkeys(fx.message for fx in fixes))
        titles = {fx.title for fx in fixes}
        title = titles.pop() if len(titles) == 1 else None
        changes.append(Change(t.code, t.name, safety.label, title or t.fix_title or t.name,
                              explanation, diff, len(fixes)))
        prev = new
    return prev, changes
