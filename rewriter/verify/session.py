"""Prove a rewrite with real builds: build the original and the rewritten Dockerfile,
run both, and compare what matters (build success, cold and cached rebuild time,
size, layers, final user, a smoke test).

The user's files are never touched: each variant is built from its own temporary
copy of the build context (symlinks preserved). The rewritten copy gets the new
Dockerfile and the other files the fix writes (``FixResult.extra_files``, e.g. a
new ``.dockerignore``). The "rebuild" figure is the time of a build with the layer
cache after appending a comment line with a fresh nonce (a newline where the file
type has no comment syntax) to one source file in the copy (a file that a COPY
includes and that is not a dependency manifest). An untimed cached build with
nothing changed comes first, so the rebuild reuses the cold build's layers as a
developer's second build would (see ``Session.measure``).

Engines: docker, podman (``docker``-compatible CLIs) and buildah. ``auto`` takes the
first that works, in that order. For buildah, ``$STORAGE_DRIVER`` (if set) is passed
as ``--storage-driver`` on every call, and the isolation comes from
``$BUILDAH_ISOLATION`` (default ``chroot``, which works without a daemon or user
namespaces).

Nothing here imports the parser or the transforms at module load time beyond what
``verify`` needs; the CLI imports this module only inside the ``verify`` command.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.pipeline import FixResult
from dockopt.rewriter.verify.engines import (
    DEFAULT_SMOKE_TIMEOUT,
    Engine,
    EngineError,
    ImageFacts,
    _run,
    _tail,
    make_engine,
)
from dockopt.rewriter.verify.inputs import copy_context, pick_source_file, source_change
from dockopt.rewriter.verify.report import Measurement, SmokeResult, VerifyReport

# Two builds of the same Dockerfile differ by a little (timestamps, caches written
# by package managers); "bigger" means bigger by more than this.
SIZE_TOLERANCE_BYTES = 1024 * 1024
# --- measuring ---------------------------------------------------------------------------


@dataclass
class Variant:
    """One Dockerfile to measure: its text, and the files written into the context copy."""

    name: str
    dockerfile_text: str
    extra_files: dict[str, str] = field(default_factory=dict)


@dataclass
class Options:
    smoke: list[str] | None = None  # argv; None: the image's ENTRYPOINT + CMD
    smoke_timeout: float = DEFAULT_SMOKE_TIMEOUT
    rebuild: bool = True
    rebuild_runs: int = 1  # source change + cached rebuild, repeated; the median counts
    touch: str | None = None  # the file changed for the rebuild; None: picked
    checks: list[list[str]] = field(default_factory=list)  # more commands run like smoke
    keep_images: bool = False
    log: Callable[[str], None] | None = None
    contents: bool = True  # export each image and read its layers (waste, inventory)
    scanner: str = "none"  # "auto", "trivy", "grype" or "none": scans the export


class Session:
    """Builds variants of one Dockerfile in temporary context copies, then cleans up."""

    def __init__(self, engine: Engine, context: Path, dockerfile_rel: str | None,
                 options: Options) -> None:
        self.engine = engine
        self.context = context
        self.dockerfile_rel = dockerfile_rel  # where the Dockerfile sits in the context
        self.options = options
        self.tmp = Path(tempfile.mkdtemp(prefix="dockopt-verify-"))
        self.tags: list[str] = []
        self.count = 0
        # Images that existed before: never removed by the clean-up.
        self.keep = engine.image_ids()
        self.prefix = f"localhost/dockopt-verify-{os.getpid()}-{secrets.token_hex(3)}"

    def say(self, message: str) -> None:
        if self.options.log is not None:
            self.options.log(message)

    def close(self) -> None:
        if not self.options.keep_images and self.tags:
            self.say(f"removing {len(self.tags)} image(s) and their build cache")
            self.engine.remove(self.tags, self.keep)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def remove_last(self) -> None:
        """Drop the newest image now (bisection builds many; vfs copies every layer)."""
        if self.tags and not self.options.keep_images:
            self.engine.remove([self.tags.pop()], self.keep)

    def prepare(self, variant: Variant) -> tuple[Path, Path]:
        """A fresh context copy with the variant's files; (context, dockerfile)."""
        self.count += 1
        ctx = self.tmp / f"{variant.name}-{self.count}"
        copy_context(self.context, ctx)
        for rel, content in variant.extra_files.items():
            target = ctx / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():
                target.unlink()
            target.write_bytes(content.encode("utf-8", "surrogateescape"))
        if self.dockerfile_rel is not None:
            dockerfile = ctx / self.dockerfile_rel
            if dockerfile.is_symlink():
                dockerfile.unlink()
        else:
            dockerfile = self.tmp / f"{variant.name}-{self.count}.Dockerfile"
        dockerfile.parent.mkdir(parents=True, exist_ok=True)
        dockerfile.write_bytes(variant.dockerfile_text.encode("utf-8", "surrogateescape"))
        return ctx, dockerfile

    def measure(self, variant: Variant, touch: str | None = None) -> Measurement:
        m = Measurement(variant.name)
        ctx, dockerfile = self.prepare(variant)
        tag = f"{self.prefix}:{variant.name}-{self.count}"
        self.tags.append(tag)
        self.say(f"{variant.name}: cold build")
        outcome = self.engine.build(dockerfile, ctx, tag, no_cache=True)
        m.cold_seconds = round(outcome.seconds, 2)
        if not outcome.ok:
            m.error = outcome.error
            m.log_tail = _tail(outcome.log)
            return m
        m.built = True
        facts = self.engine.inspect(tag)
        m.size_bytes, m.layers = facts.size_bytes, facts.layers
        m.user = facts.user or "root"
        m.layer_history = facts.history
        if self.options.contents:
            self.read_contents(tag, m)
        self.say(f"{variant.name}: smoke test")
        m.smoke = self.smoke(tag, facts)
        for argv in self.options.checks:
            code, out, timed_out = self.engine.run(tag, argv, self.options.smoke_timeout)
            m.checks.append(SmokeResult(list(argv), code, _tail(out, 20),
                                        code == 0 and not timed_out, timed_out))
        if self.options.rebuild and touch is not None:
            m.touched = touch
            # Untimed: a cached build with nothing changed, so the timed rebuilds reuse
            # this image's layers. After a --no-cache build, buildah's cache lookup
            # may pick an older image with the same first steps (the original's
            # `FROM` + `WORKDIR`, another app's `useradd`) and rebuild everything
            # after it: measured, the first rebuild of a split took about its cold
            # time (flask-psutil 8.3 s, then 1.1 s). A developer's own builds use
            # the cache, so they never see that.
            self.say(f"{variant.name}: cached build (settles the layer cache)")
            settle = self.engine.build(dockerfile, ctx, tag, no_cache=False)
            m.settle_seconds = round(settle.seconds, 2)
            if not settle.ok:
                m.rebuild_ok = False
                m.log_tail = _tail(settle.log)
                return m
            for _ in range(max(1, self.options.rebuild_runs)):
                source_change(ctx / touch)
                self.say(f"{variant.name}: rebuild after changing {touch}")
                again = self.engine.build(dockerfile, ctx, tag, no_cache=False)
                m.rebuild_samples.append(round(again.seconds, 2))
                m.rebuild_ok = again.ok
                if not again.ok:
                    m.log_tail = _tail(again.log)
                    break
            m.rebuild_seconds = round(statistics.median(m.rebuild_samples), 2)
        return m

    def read_contents(self, tag: str, m: Measurement) -> None:
        """Export the image, read its layers (wasted space, inventory), then drop
        the export.

        A failure here is a note on the measurement, never a verify error: the
        build, size and smoke figures stand without it."""
        from dockopt.rewriter.verify import inventory, scan
        from dockopt.rewriter.verify.archive import ArchiveError
        from dockopt.rewriter.verify.layerfs import walk_archive

        archive = self.tmp / f"{m.variant}-{self.count}.image"
        scanning = self.options.scanner in scan.SCANNERS
        self.say(f"{m.variant}: reading the image's layers")
        try:
            transport = self.engine.export(tag, archive, scannable=scanning)
            walk = walk_archive(archive, inventory.capture)
            m.waste = walk.waste
            m.inventory = inventory.build(walk, m.user)
            if scanning:
                self.say(f"{m.variant}: scanning with {self.options.scanner}")
                m.vulnerabilities = scan.run(
                    self.options.scanner, archive, transport,
                    lambda argv, timeout: _run(argv, timeout=timeout))
        except (EngineError, ArchiveError, OSError, EOFError) as exc:
            m.contents_note = str(exc) or type(exc).__name__
        finally:
            if archive.is_dir():
                shutil.rmtree(archive, ignore_errors=True)
            else:
                archive.unlink(missing_ok=True)

    def smoke(self, tag: str, facts: ImageFacts) -> SmokeResult:
        timeout = self.options.smoke_timeout
        if self.options.smoke is not None:
            argv = list(self.options.smoke)
            code, out, timed_out = self.engine.run(tag, argv, timeout)
            ok = code == 0 and not timed_out
            note = f"timed out after {timeout:g}s" if timed_out else ""
            return SmokeResult(argv, code, _tail(out, 20), ok, timed_out, note)
        argv = facts.entrypoint + facts.cmd
        if not argv:
            return SmokeResult([], None, "", True, note="no ENTRYPOINT/CMD: nothing to run")
        code, out, timed_out = self.engine.run(tag, argv, timeout)
        if timed_out:
            # A server: it started and kept running for the whole timeout.
            return SmokeResult(argv, None, _tail(out, 20), True, True,
                               f"still running after {timeout:g}s (treated as a server "
                               "that started)")
        return SmokeResult(argv, code, _tail(out, 20), code == 0)


def compare(original: Measurement, rewritten: Measurement) -> list[str]:
    """The regressions: what makes `verify` exit 1."""
    problems: list[str] = []
    if original.built and not rewritten.built:
        problems.append(f"the rewrite does not build ({rewritten.error})")
        return problems
    if original.smoke_ok and rewritten.smoke_ok is False:
        problems.append("the smoke test fails only after the rewrite")
    if (original.size_bytes is not None and rewritten.size_bytes is not None
            and rewritten.size_bytes > original.size_bytes + SIZE_TOLERANCE_BYTES):
        problems.append(f"the image got bigger ({original.size_mb:.1f} MB -> "
                        f"{rewritten.size_mb:.1f} MB)")
    if original.rebuild_ok and rewritten.rebuild_ok is False:
        problems.append("the rewrite fails to rebuild after a source change")
    return problems


def _dockerfile_rel(path: Path, context: Path) -> str | None:
    try:
        return path.resolve().relative_to(context.resolve()).as_posix()
    except ValueError:
        return None


def verify(path: Path, *, context: Path | None = None, settings: Settings | None = None,
           engine: Engine | str = "auto", options: Options | None = None,
           result: FixResult | None = None) -> VerifyReport:
    """Fix the Dockerfile at ``path`` (or take ``result``), then build and compare both.

    Never writes to the user's files. Raises nothing for build failures; engine
    problems end up in ``fatal``.
    """
    from dockopt.rewriter.pipeline import fix

    options = options or Options()
    context = context if context is not None else path.parent
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    if result is None:
        result = fix(text, path=str(path), context=context, settings=settings)
    codes = list(dict.fromkeys(c.code for c in result.changes))
    report = VerifyReport(str(path), engine if isinstance(engine, str) else engine.name,
                          result.changed or bool(result.extra_files), codes, None, None)
    if not report.changed:
        return report
    try:
        eng = make_engine(engine) if isinstance(engine, str) else engine
    except EngineError as exc:
        report.fatal = str(exc)
        return report
    report.engine = eng.name
    if options.contents:
        from dockopt.rewriter.verify import scan

        report.scanner, report.scanner_note = scan.choose(options.scanner)
        options = replace(options, scanner=report.scanner)
    rel = _dockerfile_rel(path, context)
    original = Variant("original", text)
    rewritten = Variant("rewritten", result.text,
                        {p: new for p, (_, new) in result.extra_files.items()})
    touch = options.touch
    if touch is None and options.rebuild:
        old_ignore = _read_optional(context / ".dockerignore")
        new_ignore = rewritten.extra_files.get(".dockerignore", old_ignore)
        touch = pick_source_file(context, [text, result.text], [old_ignore, new_ignore])
    session = Session(eng, context, rel, options)
    try:
        report.original = session.measure(original, touch)
        if not report.original.built and report.original.error == "base-image-unavailable":
            report.fatal = ("the original does not build: a base image is unavailable "
                            f"to {eng.name}:\n{report.original.log_tail}")
            return report
        report.rewritten = session.measure(rewritten, touch)
        if not report.original.built:
            report.fatal = "the original does not build; nothing to compare against"
            return report
        report.problems = compare(report.original, report.rewritten)
    except EngineError as exc:
        report.fatal = str(exc)
    finally:
        session.close()
    return report


def _read_optional(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None


# --- fix --verify: keep only the transforms whose output passes -----------------------


@dataclass
class VerifiedFix:
    """The fix to write: every transform whose output verifies, minus the failing ones."""

    result: FixResult  # what to write (may be unchanged)
    failed: list[str]  # transform codes excluded because their output did not verify
    attempts: int  # builds of rewritten variants
    report: VerifyReport | None  # the final comparison (None if nothing was built)
    fatal: str | None = None  # nothing was written: engine unavailable, original broken

    @property
    def ok(self) -> bool:
        return self.fatal is None


def verify_fix(path: Path, context: Path | None, settings: Settings | None = None, *,
               engine: Engine | str = "auto", options: Options | None = None,
               diff_path: str | None = None
               ) -> VerifiedFix:
    """`dockopt fix --verify`'s engine: fix, build, and when the rewrite fails (does
    not build, smoke test fails only after it, bigger image) find the failing
    transforms by bisection over transform codes and fix again without them.

    The original is built once; each candidate set of codes costs one build (no
    rebuild timing). The search assumes failures come from individual codes or
    small groups; with k culprits among n codes it needs about k*log2(n) builds.
    """
    from dockopt.rewriter.config import Settings as SettingsType
    from dockopt.rewriter.pipeline import fix

    settings = settings or SettingsType()
    options = replace(options or Options(), rebuild=False, contents=False)
    context = context if context is not None else path.parent
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    full = fix(text, path=str(path), diff_path=diff_path, context=context, settings=settings)
    codes = list(dict.fromkeys(c.code for c in full.changes))
    if not full.changed and not full.extra_files:
        return VerifiedFix(full, [], 0, None)
    try:
        eng = make_engine(engine) if isinstance(engine, str) else engine
    except EngineError as exc:
        return VerifiedFix(full, [], 0, None, str(exc))
    session = Session(eng, context, _dockerfile_rel(path, context), options)
    attempts = 0
    results: dict[frozenset[str], tuple[FixResult, Measurement]] = {}
    try:
        original = session.measure(Variant("original", text))
        if not original.built:
            return VerifiedFix(full, [], 0, None,
                               f"the original does not build ({original.error}):\n"
                               f"{original.log_tail}")

        def run_with(excluded: frozenset[str]) -> tuple[FixResult, Measurement]:
            nonlocal attempts
            if excluded not in results:
                narrowed = replace(settings, ignore=settings.ignore + tuple(sorted(excluded)))
                res = full if not excluded else fix(text, path=str(path), diff_path=diff_path,
                                                    context=context, settings=narrowed)
                attempts += 1
                m = session.measure(Variant("rewritten", res.text,
                                            {p: n for p, (_, n) in res.extra_files.items()}))
                results[excluded] = (res, m)
                session.remove_last()
            return results[excluded]

        def passes(excluded: frozenset[str]) -> bool:
            _, m = run_with(excluded)
            return not compare(original, m)

        failed = _find_culprits(codes, passes)
        excluded = frozenset(failed)
        res, m = run_with(excluded)
        report = VerifyReport(str(path), eng.name, res.changed,
                              list(dict.fromkeys(c.code for c in res.changes)), original, m,
                              compare(original, m))
        if report.problems:  # interactions the bisection could not separate
            unchanged = fix(text, path=str(path), diff_path=diff_path, context=context,
                            settings=replace(settings, select=()))
            return VerifiedFix(unchanged, codes, attempts, report)
        return VerifiedFix(res, failed, attempts, report)
    finally:
        session.close()


def _find_culprits(codes: Sequence[str], passes: Callable[[frozenset[str]], bool]
                   ) -> list[str]:
    """The codes to exclude so that the rest passes: delta debugging by halves."""
    everything = frozenset(codes)

    def search(kept: frozenset[str], candidates: list[str]) -> list[str]:
        # `kept` is known to pass; find which of `candidates` break it.
        if passes(everything - kept - frozenset(candidates)):
            return []
        if len(candidates) == 1:
            return list(candidates)
        half = len(candidates) // 2
        first = search(kept, candidates[:half])
        kept_more = kept | (frozenset(candidates[:half]) - frozenset(first))
        return first + search(kept_more, candidates[half:])

    if passes(frozenset()):
        return []
    return search(frozenset(), list(codes))


