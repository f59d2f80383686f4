"""`dockopt bulk --verify`: build each changed Dockerfile before and after its
rewrite, with its build context, and keep the rewrite only when it verifies.

The builds are `dockopt verify`'s own (``verify.session.verify``: temporary copies
of the context, cold build, smoke test, cached rebuild after a source change, the
layers read from the exported images, a vulnerability scan when a scanner is set);
nothing here drives an engine.  The decision is the one `fix --verify` and `verify`
make (``session.compare``): a rewrite that does not build, fails the smoke test only
after the rewrite, makes a bigger image or fails to rebuild is rejected.  Unlike
`fix --verify`, bulk does not bisect the transforms (each candidate set costs a
build): a rejected file is left as it was, whole, with the reason, and `dockopt fix
--verify FILE` can find the transforms to leave out.

It runs in the parent process, in plan order, when a changed file's result is
committed (runner._commit_file), so the builds happen one at a time whatever
``--jobs`` is (the workers keep fixing the next files meanwhile), and a file is
journaled only once its verification is done: ``--resume`` never rebuilds a file
the journal has.

A file's record gets ``verify`` (a compact summary: outcome, reason, sizes, layers,
rebuild, smoke, wasted space, package counts, the contents delta and the
vulnerability delta) and the journal line a ``verify_markdown`` block (verify's
Markdown report, collapsed) that summary.md attaches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockopt.rewriter.bulk.journal import UNCHANGED
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.bulk.worker import WorkItem
    from dockopt.rewriter.verify.engines import Engine
    from dockopt.rewriter.verify.report import Measurement, VerifyReport

# A file's verification outcome (``verify.outcome`` in summary.json).
VERIFIED = "verified"  # the rewrite is kept
REWRITE_FAILS = "rewrite-fails"  # the rewrite regresses: left unchanged
ORIGINAL_FAILS = "original-fails"  # the original does not build: left unchanged
NOT_VERIFIED = "not-verified"  # no verdict (engine error...): left unchanged
OUTCOMES = (VERIFIED, REWRITE_FAILS, ORIGINAL_FAILS, NOT_VERIFIED)

LOG_LINES = 20  # build log lines kept in a record (verify keeps 40)
NAMES = 25  # package names per list in a record (as verify's Markdown shows)


@dataclass(frozen=True)
class VerifySettings:
    """What `bulk --verify` was asked (the options shared with `dockopt verify`)."""

    engine: str = "auto"
    scanner: str = "auto"
    smoke_timeout: float = 30.0
    build_timeout: float = 1800.0
    rebuild: bool = True
    contents: bool = True

    def fingerprint(self) -> dict[str, Any]:
        """The settings that decide a result (for --resume; timeouts are resources,
        left out as bulk's own --timeout is)."""
        return {"engine": self.engine, "scanner": self.scanner, "rebuild": self.rebuild,
                "contents": self.contents}


def make_engine(settings: VerifySettings) -> Engine:
    """The engine, or EngineError saying why none can be used."""
    from dockopt.rewriter.verify.engines import make_engine as make

    return make(settings.engine, settings.build_timeout)


# Say(repository, path, step): progress of one file's builds
# (runner.Progress.file_verifying).
Say = Callable[[str, str, str], None]


class Verifier:
    """Verifies the changed files of one run, one at a time."""

    def __init__(self, settings: VerifySettings, say: Say | None = None) -> None:
        self.settings = settings
        self.say = say
        self._engine: Engine | None = None

    def keep(self, item: WorkItem, rec: dict[str, Any], text: str | None) -> bool:
        """Build the file of ``rec`` (status changed, ``text`` its rewrite) before
        and after; True to keep the rewrite.  Otherwise ``rec`` now says unchanged,
        and why.  Never raises but for KeyboardInterrupt (the run stops there and
        the file is not journaled, so --resume builds it again)."""
        try:
            report = self._verify(item, text)
        except Exception as exc:  # one file's trouble never stops the run
            why = f"not verified ({type(exc).__name__}: {exc}): left unchanged"[:500]
            rec["verify"] = {"outcome": NOT_VERIFIED, "reason": why}
            _leave_unchanged(rec, why, [c["code"] for c in rec.get("codes", [])])
            self._tell(item, NOT_VERIFIED)
            return False
        report.path = f"{item.repo}/{item.dockerfile}"
        outcome, reason = decide(report)
        rec["verify"] = summarize(report, outcome, reason)
        rec["verify_markdown"] = markdown_block(item.repo, item.dockerfile, report, outcome)
        if reason is not None:
            _leave_unchanged(rec, reason, report.codes)
        self._tell(item, outcome, report)
        return outcome == VERIFIED

    def _tell(self, item: WorkItem, outcome: str, report: VerifyReport | None = None
              ) -> None:
        if self.say is None:
            return
        sizes = ""
        if report is not None and report.original is not None \
                and report.original.size_mb is not None:
            after = report.rewritten.size_mb if report.rewritten is not None else None
            sizes = (f" ({report.original.size_mb:.1f} MB -> "
                     + ("-" if after is None else f"{after:.1f} MB") + ")")
        self.say(item.repo, item.dockerfile, f"{outcome}{sizes}")

    def _verify(self, item: WorkItem, text: str | None) -> VerifyReport:
        from dockopt.rewriter.bulk.worker import _context, _settings
        from dockopt.rewriter.pipeline import fix
        from dockopt.rewriter.verify.session import Options, verify

        if self._engine is None:
            self._engine = make_engine(self.settings)
        repo = Path(item.repo_path)
        path = repo / item.dockerfile
        ctx_dir = repo / item.context if item.context else repo
        # The worker's fix again, the same call (it is milliseconds next to a build),
        # for the FixResult verify takes: the worker sends back only texts.
        settings = _settings(item, path)
        original = path.read_bytes().decode("utf-8")
        result = fix(original, path=item.dockerfile,
                     context=_context(ctx_dir, str(path), item.context), settings=settings)
        if text is not None and result.text != text:
            raise RuntimeError("the rewrite differs from the one the worker made")
        say = self.say

        def log(step: str) -> None:
            if say is not None:
                say(item.repo, item.dockerfile, step)

        options = Options(smoke_timeout=self.settings.smoke_timeout,
                          rebuild=self.settings.rebuild, contents=self.settings.contents,
                          scanner=self.settings.scanner, log=log)
        return verify(path, context=ctx_dir, settings=settings, engine=self._engine,
                      options=options, result=result)


def _leave_unchanged(rec: dict[str, Any], reason: str, codes: list[str]) -> None:
    """The record of a file whose rewrite is not kept: unchanged, no lines, no fixes
    counted (the rejected rewrite's codes stay in ``verify.codes``)."""
    rec.update(status=UNCHANGED, reason=reason, added=0, removed=0, codes=[],
               context_bytes_saved=None)
    rec.setdefault("verify", {})["codes"] = list(codes)


def decide(report: VerifyReport) -> tuple[str, str | None]:
    """(outcome, reason) for a verify report; the reason is None when verified.  The
    verdict is verify's: ``fatal`` (no comparison possible) or ``problems``
    (session.compare, as `fix --verify` uses it)."""
    o = report.original
    if o is not None and not o.built:
        why = o.error or "build-failed"
        return ORIGINAL_FAILS, (f"the original does not build ({why}): left unchanged, "
                                "there is nothing to verify the rewrite against")
    if report.fatal is not None:
        first = " ".join(report.fatal.split("\n", 1)[0].split())
        return NOT_VERIFIED, f"not verified ({first[:300]}): left unchanged"
    if report.problems:
        return REWRITE_FAILS, ("rewrite rejected by --verify: " + "; ".join(report.problems)
                               + ": left unchanged")
    return VERIFIED, None


def _side(m: Measurement | None) -> dict[str, Any] | None:
    if m is None:
        return None
    out: dict[str, Any] = {
        "built": m.built, "error": m.error, "size_bytes": m.size_bytes, "layers": m.layers,
        "cold_seconds": m.cold_seconds, "rebuild_seconds": m.rebuild_seconds,
        "smoke_ok": m.smoke_ok, "user": m.user,
        "wasted_bytes": m.waste.wasted_bytes if m.waste is not None else None,
        "efficiency": round(m.waste.efficiency, 4) if m.waste is not None else None,
        "os_packages": len(m.inventory.os_packages) if m.inventory is not None else None,
    }
    if m.contents_note:
        out["contents_note"] = m.contents_note
    return out


def summarize(report: VerifyReport, outcome: str, reason: str | None) -> dict[str, Any]:
    """A file's ``verify`` record: what a reviewer of many files needs, small enough
    for summary.json (the full report is `dockopt verify --output-format json`)."""
    o, r = report.original, report.rewritten
    data: dict[str, Any] = {
        "outcome": outcome, "reason": reason, "engine": report.engine,
        "codes": list(report.codes), "problems": list(report.problems),
        "original": _side(o), "rewritten": _side(r),
        "ratios": {k: (None if v is None else round(v, 4))
                   for k, v in report.ratios().items()},
        "contents": [{"label": d.label, "before": d.before, "after": d.after,
                      "removed": d.removed[:NAMES], "added": d.added[:NAMES]}
                     for d in report.inventory_delta()],
        "scanner": report.scanner, "scanner_note": report.scanner_note,
        "vulnerabilities": None,
    }
    vulns = report.vulnerability_delta()
    if vulns is not None:
        data["vulnerabilities"] = {
            "before": vulns.before, "after": vulns.after,
            "before_total": vulns.before_total, "after_total": vulns.after_total,
            "gone": [f"{f.id} {f.package}" for f in vulns.gone],
            "new": [f"{f.id} {f.package}" for f in vulns.new]}
    failed = _failed_side(report)
    if failed is not None:
        data["log_tail"] = "\n".join(failed.log_tail.splitlines()[-LOG_LINES:])
    if r is not None and r.built and r.smoke is not None and not r.smoke.ok:
        data["smoke_output"] = r.smoke.output
    return data


def _failed_side(report: VerifyReport) -> Measurement | None:
    """The build whose log explains the outcome: the original's when it does not
    build, else the rewrite's when it does not build or rebuild."""
    o, r = report.original, report.rewritten
    if o is not None and not o.built:
        return o
    if r is not None and (not r.built or r.rebuild_ok is False) and r.log_tail:
        return r
    return None


def markdown_block(repo: str, dockerfile: str, report: VerifyReport, outcome: str) -> str:
    """verify's Markdown report for summary.md, collapsed under a one-line summary,
    with the failing build's log tail."""
    from dockopt.rewriter.verify.markdown import format_markdown

    o, r = report.original, report.rewritten
    sizes = ""
    if o is not None and o.size_mb is not None:
        after = r.size_mb if r is not None else None
        sizes = f", {o.size_mb:.1f} MB → " + ("-" if after is None else f"{after:.1f} MB")
    title = _html(f"{repo}: {dockerfile}: {outcome}{sizes}")
    lines = [f"<details><summary>{title}</summary>", "", format_markdown(report).rstrip("\n"),
             ""]
    failed = _failed_side(report)
    if failed is not None and failed.log_tail:
        tail = "\n".join(failed.log_tail.splitlines()[-LOG_LINES:])
        fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", tail)), default=0))
        lines += [f"Build log of the {failed.variant} (last lines):", "", f"{fence}text",
                  tail, fence, ""]
    lines += ["</details>", "", ""]  # a blank line before the next block
    return "\n".join(lines)


def _html(text: str) -> str:
    """Text for an HTML element: a repository or path name cannot open a tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
