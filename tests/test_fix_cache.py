"""`dockopt fix` answered from the results cache (rewriter/fixresult.py ``unchanged``,
rewriter/cli/fix.py ``fix_task``).

The engine's side: for a file whose check outcome (what the cache stores) leaves
nothing for the first pass to apply, ``unchanged`` gives exactly the FixResult that
``pipeline.fix`` gives (==, field by field), it says "nothing to apply" exactly when
``pipeline._choose`` does, and it is used for every file the engine's fix leaves
alone (else the shortcut would be merely rare).  What a fix stores is what check
would store, to the byte.

The command's side (subprocesses, as users run them): warm runs print and write what
cold runs do, in every mode, load no engine and start no pool; an edited file, a
touched context file and changed settings make the engine run again; a warm entry
with a fixable finding is still fixed.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import is_dockerfile_name

from dockopt.rewriter import pipeline
from dockopt.rewriter.config import Settings
from dockopt.rewriter.fixresult import (
    allowed_safety,
    choose_fixes,
    first_pass_outcome,
    unchanged,
)
from dockopt.transforms.base import Edit, FileChange, Finding, Fix, Safety

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SETTINGS = {"default": Settings(), "unsafe": Settings(unsafe_fixes=True)}


class Tally:
    """What the comparison saw, so a run that compared nothing cannot pass."""

    def __init__(self) -> None:
        self.files = self.answered = self.engine_idle = self.rejected = 0


def _compare(text: str, path: str, context: Path | None, settings: Settings,
             tally: Tally) -> None:
    """One text: the cache's answer against the engine's, and the store's outcome
    against check's."""
    findings, diagnostics = pipeline.check(text, path=path, context=context,
                                           settings=settings)
    answer = unchanged(text, path, findings, diagnostics, settings)
    real = pipeline.fix(text, path=path, context=context, settings=settings,
                        diff_path=path)
    tally.files += 1
    rejected = any(d.severity == "error" for d in diagnostics)
    tally.rejected += rejected
    engine_error = any(d.code.startswith("DO00") for d in (*diagnostics, *real.diagnostics))
    if not rejected and not any(d.code.startswith("DO00") for d in diagnostics):
        # The decision is _choose's own: nothing to apply exactly when it chooses none.
        chosen = pipeline._choose(findings, pipeline.registry(settings),
                                  allowed_safety(settings))
        assert (answer is None) == bool(chosen), path
    if answer is not None:
        tally.answered += 1
        assert answer == real, path
        assert answer.diff() == real.diff() == "" and answer.held_back == real.held_back
    if real.text == text and not real.extra_files and not engine_error:
        # The engine changes nothing: the cache must say so too.
        tally.engine_idle += 1
        assert answer is not None, path
    stored = first_pass_outcome(real)
    if not engine_error:
        # What a fix stores for this text is what check stores, to the byte.
        assert stored == (findings, diagnostics), path
        assert pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL) == \
            pickle.dumps((findings, diagnostics), protocol=pickle.HIGHEST_PROTOCOL), path
    else:
        assert stored is None or not any(d.code.startswith("DO00") for d in diagnostics)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_answer_is_the_engines_on_the_golden_inputs_and_their_fixes(name: str) -> None:
    settings = SETTINGS[name]
    tally = Tally()
    cases = sorted(GOLDEN.glob("*/*/Dockerfile"))
    for case in cases:
        context = case.parent / "context" if (case.parent / "context").is_dir() else None
        text = case.read_text(encoding="utf-8", errors="surrogateescape")
        _compare(text, str(case), context, settings, tally)
        fixed = pipeline.fix(text, path=str(case), context=context, settings=settings).text
        if fixed != text:  # the already-fixed file: what a second run sees
            _compare(fixed, str(case), context, settings, tally)
    print(f"\n{name}: {vars(tally)}")
    assert tally.files > len(cases) + 150, tally.files
    # Most fixed texts have nothing left to apply; a shortcut that never answers
    # would fail here.
    assert tally.answered > 250 and tally.engine_idle > 250, vars(tally)


@pytest.mark.corpus
@pytest.mark.parametrize("settings_name", sorted(SETTINGS))
def test_the_answer_is_the_engines_on_the_official_images(corpus_dir: Path, tmp_path: Path,
                                                         settings_name: str) -> None:
    """Every official Dockerfile as it is, and again after `dockopt fix` rewrote the
    copy in place (the fixed file and the .dockerignore it wrote: what a warm run
    sees)."""
    settings = SETTINGS[settings_name]
    copy = tmp_path / "official"
    shutil.copytree(corpus_dir / "official", copy)
    flag = ["--unsafe-fixes"] if settings.unsafe_fixes else []
    done = _dockopt("fix", "--no-cache", "--fix-only", *flag, ".", cwd=copy)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    official = corpus_dir / "official"
    names = sorted(p.relative_to(official) for p in official.rglob("*")
                   if p.is_file() and is_dockerfile_name(p.name)
                   and "_templates" not in p.relative_to(official).parts)
    assert len(names) == 451, len(names)
    for root, label in ((official, "as is"), (copy, "fixed")):
        tally = Tally()
        for name in names:
            path = root / name
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            _compare(text, str(path), path.parent, settings, tally)
        print(f"\n{settings_name}, {label}: {vars(tally)}")
        if label == "fixed":
            # Every file the fix left with nothing to apply is answered from the cache.
            assert tally.answered >= 0.9 * tally.files, vars(tally)


def _finding(code: str, fix: Fix | None) -> Finding:
    return Finding(code, "name", "message", 1, 1, 1, 2, fix=fix)


def test_the_decision_is_chooses_on_every_shape_of_fix() -> None:
    """Findings with no fix, display-only, unsafe, safe, empty, file-only, reserved,
    overlapping: ``unchanged`` answers exactly when ``_choose`` picks nothing."""
    text = "FROM debian:12\nRUN true\n"
    edit = (Edit(0, 4, "from"),)
    shapes: list[Fix | None] = [None]
    for safety in Safety:
        shapes += [Fix(edit, safety, "m"), Fix((), safety, "m"),
                   Fix((), safety, "m", files=(FileChange(".dockerignore", "x\n"),)),
                   Fix((), safety, "m", reserves=(Edit(0, 20, ""),))]
    registry = pipeline.registry(Settings())
    codes = [t.code for t in registry[:3]]
    seen = set()
    for settings in SETTINGS.values():
        for a in shapes:
            for b in shapes:
                findings = [_finding(codes[0], a), _finding(codes[1], b)]
                answer = unchanged(text, "Dockerfile", findings, [], settings)
                chosen = pipeline._choose(findings, registry, allowed_safety(settings))
                assert (answer is None) == bool(chosen), (a, b, settings.unsafe_fixes)
                seen.add(answer is None)
    assert seen == {True, False}
    # Settings that allow no pass at all: the engine reports DO001, so no answer.
    assert unchanged(text, "Dockerfile", [], [], replace(Settings(), max_passes=0)) is None
    assert choose_fixes([], Safety.SAFE) == {}


def test_a_file_buildkit_rejects_is_answered_even_with_fixes_pending() -> None:
    # A parse error (baseline): fix reports and rewrites nothing, whatever the findings.
    # (An unterminated heredoc: BuildKit's error DP103.)
    text = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nCOPY <<EOF /x\nhi\n"
    settings = Settings()
    findings, diagnostics = pipeline.check(text, path="Dockerfile", settings=settings)
    assert any(d.severity == "error" for d in diagnostics)
    assert choose_fixes(findings, Safety.SAFE)  # something the engine would apply...
    answer = unchanged(text, "Dockerfile", findings, diagnostics, settings)
    assert answer == pipeline.fix(text, path="Dockerfile", settings=settings)  # ...but not here


def test_engine_errors_are_neither_answered_nor_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "FROM debian:12\nUSER 1000\nCMD [\"true\"]\n"
    registry = pipeline.registry(Settings())

    def crash(self: object, ctx: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(type(registry[0]), "check", crash)
    findings, diagnostics = pipeline.check(text, path="Dockerfile")
    assert any(d.code == "DO003" for d in diagnostics)
    assert unchanged(text, "Dockerfile", findings, diagnostics, Settings()) is None
    assert first_pass_outcome(pipeline.fix(text, path="Dockerfile")) is None


# --- the command ----------------------------------------------------------------------

# Nothing to fix with the default settings (a non-root user, a slim image, a
# .dockerignore in its context); a fixable file; a file BuildKit rejects.
CLEAN = ("FROM debian:12-slim\nRUN useradd -r app\nUSER app\n"
         "HEALTHCHECK CMD [\"true\"]\nCMD [\"true\"]\n")
FIXABLE = "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\n"
# An unterminated heredoc (DP103, an error): fix rewrites nothing, fixable or not.
REJECTED = "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl\nCOPY <<EOF /x\nhi\n"
ENGINE = {"dockopt.rewriter.syntax", "dockopt.rewriter.pipeline", "tree_sitter"}
POOL = {"multiprocessing", "concurrent.futures"}


def _dockopt(*args: str, cwd: Path, cache: Path | None = None, importtime: bool = False,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """A dockopt run with the results cache on (the suite turns it off, conftest.py),
    in ``cache`` when given."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("DOCKOPT_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR",
                         "DOCKOPT_NO_CACHE", "DOCKOPT_CACHE_DIR")}
    if cache is not None:
        full["DOCKOPT_CACHE_DIR"] = str(cache)
    full.update(env or {})
    python = [sys.executable, *(["-X", "importtime"] if importtime else [])]
    return subprocess.run([*python, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          capture_output=True, env=full, timeout=600, check=False)


def _loaded(stderr: bytes) -> set[str]:
    return set(re.findall(r"import time:.*\| *(\S+)$", stderr.decode(), re.M))


def _without_importtime(stderr: bytes) -> bytes:
    return b"".join(line for line in stderr.splitlines(keepends=True)
                    if not line.startswith(b"import time:"))


def _project(root: Path, files: int = 12) -> Path:
    """``files`` folders (enough for a pool with --jobs 2), each a build context with
    a .dockerignore; every fourth Dockerfile fixable, one rejected, the rest clean.
    And one context of two Dockerfiles, the first fixable: its fix changes the
    context the second is then checked against (DO603's message gives the context's
    size), so that one's entry from before the run must not answer."""
    root.mkdir(parents=True)
    shared = root / "shared"
    shared.mkdir()
    (shared / ".dockerignore").write_text(".git\n")
    (shared / "Dockerfile").write_text(FIXABLE)
    (shared / "Dockerfile.b").write_text(CLEAN)
    for k in range(files):
        folder = root / f"svc{k:02d}"
        folder.mkdir()
        (folder / ".dockerignore").write_text(".git\n")
        (folder / "Dockerfile").write_text(
            REJECTED if k == 1 else FIXABLE if k % 4 == 0 else CLEAN)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _same(a: subprocess.CompletedProcess[bytes], b: subprocess.CompletedProcess[bytes],
          what: object) -> None:
    assert a.stdout == b.stdout, what
    assert _without_importtime(a.stderr) == _without_importtime(b.stderr), what
    assert a.returncode == b.returncode, what


MODES = [[], ["--diff"], ["--output-format", "json"], ["--show-fixes"], ["--fix-only"],
         ["--unsafe-fixes"], ["--diff", "--unsafe-fixes"], ["--exit-non-zero-on-fix"],
         ["--jobs", "2"], ["--jobs", "1", "--output-format", "json"]]


@pytest.mark.parametrize("mode", MODES, ids=" ".join)
def test_cold_filling_and_warm_runs_print_and_write_the_same(tmp_path: Path,
                                                             mode: list[str]) -> None:
    """The same run on identical trees: without the cache; with an empty one (the
    run that fills it); with one filled by `fix --diff` (a fix's entries) and by
    `check` (check's entries) on that very tree, so that every file that needs no fix
    is answered from the cache."""
    cold_tree = _project(tmp_path / "cold")
    cold = _dockopt("fix", "--no-cache", *mode, ".", cwd=cold_tree)
    assert cold.returncode in (0, 1, 2), cold.stderr.decode()[-2000:]
    written = _files(cold_tree)
    # The runs compared do something: print findings or diffs, or fix files.
    assert b"svc00" in cold.stdout or written != _files(_project(tmp_path / "original"))
    settings = [arg for arg in mode if arg == "--unsafe-fixes"]
    for run, filler in (("filling", None), ("warm from fix", ["fix", "--diff"]),
                        ("warm from check", ["check", "--exit-zero"])):
        tree = _project(tmp_path / run)
        cache = tmp_path / f"{run} cache"
        if filler is not None:
            _dockopt(*filler, *settings, ".", cwd=tree, cache=cache)
            assert list(cache.glob("*/*")), run
        got = _dockopt("fix", *mode, ".", cwd=tree, cache=cache, importtime=True)
        _same(got, cold, (run, mode))
        assert _files(tree) == written, (run, mode)


def test_a_second_run_over_fixed_files_loads_no_engine(tmp_path: Path) -> None:
    tree = tmp_path / "p"
    tree.mkdir()
    for k in range(12):
        (tree / f"svc{k:02d}").mkdir()
        (tree / f"svc{k:02d}" / "Dockerfile").write_text(
            REJECTED if k == 1 else FIXABLE if k % 3 else CLEAN)
    cache = tmp_path / "cache"
    first = _dockopt("fix", ".", cwd=tree, cache=cache)  # fixes in place
    assert b"fixed" in first.stderr, first.stderr.decode()[-2000:]
    fixed = _files(tree)
    runs = [_dockopt("fix", *extra, ".", cwd=tree, cache=cache, importtime=True)
            for extra in ([], [], ["--jobs", "2"], ["--diff"])]
    cold = _dockopt("fix", "--no-cache", ".", cwd=tree)
    _same(runs[0], cold, "filling")  # the fixed files changed: this run fills the cache
    for run in runs[1:3]:
        _same(run, cold, "warm")
        assert not _loaded(run.stderr) & (ENGINE | POOL), sorted(_loaded(run.stderr))
    cold_diff = _dockopt("fix", "--no-cache", "--diff", ".", cwd=tree)
    _same(runs[3], cold_diff, "warm --diff")
    assert runs[3].returncode == 0 and not runs[3].stdout  # nothing left to fix
    assert not _loaded(runs[3].stderr) & ENGINE
    assert _files(tree) == fixed


def _entries(cache: Path) -> dict[str, int]:
    """Every entry: path -> mtime_ns (an entry is written only on a miss)."""
    return {str(p): p.stat().st_mtime_ns for p in cache.glob("*/*") if p.is_file()}


def _engine_ran(tree: Path, cache: Path, *args: str,
                env: dict[str, str] | None = None) -> bool:
    """Whether the run loaded the engine; and it must have stored an entry exactly
    when it did (a miss), unless the cache was off or the entry asked for a fix."""
    before = _entries(cache)
    run = _dockopt("fix", *args, ".", cwd=tree, cache=cache, importtime=True, env=env)
    assert run.returncode in (0, 1), run.stderr.decode()[-2000:]
    ran = "dockopt.rewriter.pipeline" in _loaded(run.stderr)
    stored = _entries(cache) != before
    assert stored == (ran and "--no-cache" not in args and env is None), (args, env)
    return ran


def test_every_change_that_matters_runs_the_engine_again(tmp_path: Path) -> None:
    tree = tmp_path / "p"
    tree.mkdir()
    (tree / "Dockerfile").write_text(CLEAN)
    (tree / ".dockerignore").write_text(".git\n")
    (tree / "app.py").write_text("print(1)\n")
    cache = tmp_path / "cache"
    assert _engine_ran(tree, cache)  # cold
    assert not _engine_ran(tree, cache)  # warm
    (tree / "Dockerfile").write_text(CLEAN + "# edited\n")
    assert _engine_ran(tree, cache)
    assert not _engine_ran(tree, cache)
    os.utime(tree / "app.py")  # a touched context file
    assert _engine_ran(tree, cache)
    assert not _engine_ran(tree, cache)
    # Other settings: entries of their own.  (--diff: the unsafe DO603 fix would
    # otherwise write the .dockerignore.)
    for settings in (["--diff", "--select", "DO2"], ["--diff", "--fixable", "DO201"]):
        assert _engine_ran(tree, cache, *settings), settings
        assert not _engine_ran(tree, cache, *settings), settings
    count = len(_entries(cache))
    assert _engine_ran(tree, cache, "--diff", "--unsafe-fixes")  # a miss: a new entry
    assert len(_entries(cache)) == count + 1
    # A hit, but its DO603 fix applies now: the engine runs, the entry stays as it is.
    before = _entries(cache)
    again = _dockopt("fix", "--diff", "--unsafe-fixes", ".", cwd=tree, cache=cache,
                     importtime=True)
    assert "dockopt.rewriter.pipeline" in _loaded(again.stderr) and b"DO603" in again.stdout
    assert _entries(cache) == before
    assert not _engine_ran(tree, cache)  # the default settings' entry is still there
    # --no-cache and DOCKOPT_NO_CACHE: the engine, and no entry read or written.
    (tree / "Dockerfile").write_text(CLEAN + "# edited again\n")
    assert _engine_ran(tree, cache, "--no-cache")
    assert _engine_ran(tree, cache, env={"DOCKOPT_NO_CACHE": "1"})
    assert _engine_ran(tree, cache)


def test_a_warm_entry_with_a_fixable_finding_is_fixed(tmp_path: Path) -> None:
    tree = tmp_path / "p"
    tree.mkdir()
    (tree / "Dockerfile").write_text(FIXABLE)
    (tree / ".dockerignore").write_text(".git\n")
    cache = tmp_path / "cache"
    checked = _dockopt("check", "--exit-zero", ".", cwd=tree, cache=cache)
    assert b"DO204" in checked.stdout or b"[*]" in checked.stdout, checked.stdout
    assert len(list(cache.glob("*/*"))) >= 1  # check stored the file's entry
    fixed = _dockopt("fix", ".", cwd=tree, cache=cache, importtime=True)
    assert "dockopt.rewriter.pipeline" in _loaded(fixed.stderr)
    assert (tree / "Dockerfile").read_text() != FIXABLE
    # `check --fix` forwards the cache options to fix.
    (tree / "Dockerfile").write_text(FIXABLE)
    again = _dockopt("check", "--fix", "--cache-dir", str(tmp_path / "other"), ".", cwd=tree)
    assert (tree / "Dockerfile").read_text() != FIXABLE, again.stderr
    assert list((tmp_path / "other").glob("*/*"))  # entries went to --cache-dir


def test_fixs_entries_answer_check(tmp_path: Path) -> None:
    """A fix stores what check would: a check after it is answered from that entry
    and prints what a check without the cache prints."""
    tree = _project(tmp_path / "p")
    cache = tmp_path / "cache"
    _dockopt("fix", "--diff", ".", cwd=tree, cache=cache)  # writes nothing but entries
    warm = _dockopt("check", ".", cwd=tree, cache=cache, importtime=True)
    cold = _dockopt("check", "--no-cache", ".", cwd=tree)
    _same(warm, cold, "check after fix")
    assert not _loaded(warm.stderr) & ENGINE


def test_checks_entries_answer_fix(tmp_path: Path) -> None:
    """The other way round: after a check, a fix (and `check --fix`) of files with
    nothing to fix loads no engine and prints what it prints without the cache."""
    tree = tmp_path / "p"
    tree.mkdir()
    for k in range(3):
        (tree / f"svc{k}").mkdir()
        (tree / f"svc{k}" / "Dockerfile").write_text(REJECTED if k == 1 else CLEAN)
        (tree / f"svc{k}" / ".dockerignore").write_text(".git\n")
    cache = tmp_path / "cache"
    _dockopt("check", ".", cwd=tree, cache=cache)
    for command in (["fix"], ["check", "--fix"], ["fix", "--diff"]):
        warm = _dockopt(*command, ".", cwd=tree, cache=cache, importtime=True)
        _same(warm, _dockopt(*command, "--no-cache", ".", cwd=tree), command)
        assert not _loaded(warm.stderr) & ENGINE, command


def test_stdin_and_verify_leave_the_cache_alone(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "p"
    tree.mkdir()
    (tree / "Dockerfile").write_text(FIXABLE)
    cache = tmp_path / "cache"
    run = subprocess.run([sys.executable, "-m", "dockopt.rewriter", "fix", "-"],
                         input=FIXABLE.encode(), cwd=tree, capture_output=True,
                         env={**{k: v for k, v in os.environ.items()
                                 if k != "DOCKOPT_NO_CACHE"},
                              "DOCKOPT_CACHE_DIR": str(cache)}, check=False)
    assert run.stdout.startswith(FIXABLE.rstrip("\n").encode()) and run.stdout != FIXABLE
    assert not cache.exists()
    # --verify builds each fix itself (here: a stand-in that verifies nothing).
    from click.testing import CliRunner

    from dockopt.rewriter.cli import fix as fix_command

    monkeypatch.setattr(fix_command, "_verified_fix", lambda *args: None)
    monkeypatch.delenv("DOCKOPT_NO_CACHE")
    monkeypatch.setenv("DOCKOPT_CACHE_DIR", str(cache))
    monkeypatch.chdir(tree)
    result = CliRunner().invoke(fix_command.fix, ["--verify", "."])
    assert result.exit_code == 2, result.output
    assert not cache.exists()
    # The same run without --verify does use it (so the check above can fail).
    result = CliRunner().invoke(fix_command.fix, ["--diff", "."])
    assert result.exit_code == 1, result.output
    assert list(cache.glob("*/*"))
