"""The results cache of `dockopt check` (rewriter/result_cache.py, issue 15).

A run answered from the cache prints byte for byte what a run without it prints, in
every output format and with --jobs; and every change that can change a finding
makes the cache answer anew: the Dockerfile's text, a file of its build context (added,
grown, or edited in place with its mtime put back), its `.dockerignore` (also the
Dockerfile's own one outside the context), its config.  A damaged or hostile entry
is a miss; an unwritable cache folder is a warning; --no-cache, DOCKOPT_NO_CACHE and
stdin write nothing.  The commands run as subprocesses, as users run them.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli_jobs import _layout

from dockopt.rewriter import result_cache
from dockopt.rewriter.cli.output import OUTPUT_FORMATS
from dockopt.rewriter.syntax import Diagnostic


def _dockopt(*args: str, cwd: Path, stdin: bytes | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DOCKOPT_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR",
                         "DOCKOPT_NO_CACHE", "DOCKOPT_CACHE_DIR")}
    return subprocess.run([sys.executable, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          input=stdin, capture_output=True, env={**base, **(env or {})},
                          timeout=600, check=False)


def _entries(cache: Path) -> dict[str, int]:
    """Every entry of the cache: path -> mtime_ns (an entry is rewritten only on a miss)."""
    return {str(p): p.stat().st_mtime_ns for p in cache.glob("*/*") if p.is_file()}


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default cache folder of these runs: $XDG_CACHE_HOME/dockopt, in a temp dir."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "dockopt"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache") / "projects"
    root.mkdir()
    _layout(root)
    return root


def test_answers_from_the_cache_are_byte_identical_in_every_format(tree: Path) -> None:
    # (The tree is made once for the module; this test names its own cache folder.)
    cache = tree.parent / "cache-formats"
    cold = _dockopt("check", "--cache-dir", str(cache), ".", cwd=tree)
    assert cold.returncode in (1, 2), cold.stderr.decode()[-2000:]
    entries = _entries(cache)
    files = sum(1 for p in tree.rglob("Dockerfile*") if p.is_file())
    # One entry per file the engine checked: all but the binary one, whose finding is
    # made without the engine.
    assert len(entries) == files - 1, (len(entries), files)
    runs = [[f"--output-format={fmt}"] for fmt in OUTPUT_FORMATS]
    runs += [["--statistics"], ["--output-format=json", "--jobs", "2"],
             ["--select", "DO6", "--output-format=concise"]]
    for extra in runs:
        plain = _dockopt("check", "--no-cache", *extra, ".", cwd=tree)
        warm = _dockopt("check", "--cache-dir", str(cache), *extra, ".", cwd=tree)
        assert warm.stdout == plain.stdout, extra
        assert warm.stderr == plain.stderr, extra
        assert warm.returncode == plain.returncode, extra
    after = _entries(cache)
    # Every run but --select's (other settings: entries of their own) was answered
    # from the cache: not one entry was written again.
    assert {p: t for p, t in after.items() if p in entries} == entries
    assert len(after) == 2 * len(entries)


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
                                     'CMD ["node", "server.js"]\n')
    (root / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    (root / "node_modules").mkdir()
    (root / "node_modules" / "a.js").write_text("x\n")
    return root


def _check(cwd: Path, *extra: str) -> bytes:
    got = _dockopt("check", "--output-format=concise", *extra, ".", cwd=cwd)
    assert got.returncode in (0, 1), got.stderr.decode()
    return got.stdout


def _same_as_without_cache(cwd: Path, *extra: str) -> bytes:
    """The cached run's report, after checking that it equals an uncached run's."""
    cached = _check(cwd, *extra)
    assert cached == _check(cwd, "--no-cache", *extra)
    return cached


def test_every_input_of_a_finding_invalidates_its_entry(tmp_path: Path) -> None:
    app = _project(tmp_path / "app")
    first = _same_as_without_cache(app)
    assert b"DO603 The build context has no .dockerignore" in first
    assert _check(app) == first  # from the cache

    # The Dockerfile's text.
    (app / "Dockerfile").write_text((app / "Dockerfile").read_text().replace(
        "node:20\n", "node:20-slim\n"))
    second = _same_as_without_cache(app)
    assert b"DO605" in first and b"DO605" not in second

    # A context file that grows: DO603 counts the context's bytes.
    (app / "node_modules" / "b.js").write_text("more\n")
    third = _same_as_without_cache(app)
    assert third != second

    # The .dockerignore, edited in place to the same size with its mtime put back.
    ignore = app / ".dockerignore"
    ignore.write_text("node_modules\n")
    fourth = _same_as_without_cache(app)
    stamp = ignore.stat()
    ignore.write_text("node_moduleX\n")
    os.utime(ignore, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert ignore.stat().st_mtime_ns == stamp.st_mtime_ns
    fifth = _same_as_without_cache(app)
    assert fifth != fourth

    # The config.
    (app / ".dockopt.toml").write_text('ignore = ["DO501"]\n')
    sixth = _same_as_without_cache(app)
    assert b"DO501" in fifth and b"DO501" not in sixth


def test_the_dockerfiles_own_ignore_file_outside_the_context_counts(tmp_path: Path) -> None:
    context = _project(tmp_path / "context")
    (context / "Dockerfile").unlink()
    build = tmp_path / "build"
    build.mkdir()
    (build / "Dockerfile").write_text("FROM node:20\nWORKDIR /app\nCOPY . .\n")
    args = ("--context", str(context))
    before = _same_as_without_cache(build, *args)
    (build / "Dockerfile.dockerignore").write_text("node_modules\n")
    after = _same_as_without_cache(build, *args)
    assert b"has no .dockerignore" in before and b"has no .dockerignore" not in after


def test_damaged_and_hostile_entries_are_misses(tmp_path: Path, user_cache: Path) -> None:
    app = _project(tmp_path / "app")
    good = _check(app)
    (entry,) = _entries(user_cache)
    Path(entry).write_bytes(Path(entry).read_bytes()[:50])  # torn
    assert _check(app) == good
    assert pickle.loads(Path(entry).read_bytes())[0] == result_cache.FORMAT  # rewritten

    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    Path(entry).write_bytes(pickle.dumps(Hostile()))
    assert _check(app) == good
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="not a dockopt record"):
        result_cache.loads(pickle.dumps(Hostile()))


def test_an_unwritable_cache_folder_is_a_warning(tmp_path: Path) -> None:
    app = _project(tmp_path / "app")
    (tmp_path / "a-file").write_text("")
    blocker = tmp_path / "a-file" / "cache"  # cannot be made (root may write anywhere)
    got = _dockopt("check", "--output-format=concise", "--cache-dir", str(blocker), ".",
                   cwd=app)
    plain = _dockopt("check", "--output-format=concise", "--no-cache", ".", cwd=app)
    assert got.stdout == plain.stdout and got.returncode == plain.returncode
    assert f"warning: cannot use the cache folder {blocker}".encode() in got.stderr
    assert got.stderr.endswith(plain.stderr)


def test_no_cache_env_and_stdin_write_nothing(tmp_path: Path, user_cache: Path) -> None:
    app = _project(tmp_path / "app")
    _check(app, "--no-cache")
    _dockopt("check", ".", cwd=app, env={"DOCKOPT_NO_CACHE": "1"})
    _dockopt("check", "-", cwd=app, stdin=(app / "Dockerfile").read_bytes())
    assert not user_cache.exists()
    _dockopt("check", ".", cwd=app, env={"DOCKOPT_CACHE_DIR": str(tmp_path / "elsewhere")})
    assert not user_cache.exists()
    assert len(_entries(tmp_path / "elsewhere")) == 1
    _check(app)
    assert len(_entries(user_cache)) == 1
    # Nothing is written into the project (its folder is the build context).
    assert sorted(p.name for p in app.iterdir()) == ["Dockerfile", "node_modules",
                                                     "package.json"]


def test_the_cache_folder_is_tagged_and_clean_removes_only_a_cache(tmp_path: Path,
                                                                   user_cache: Path) -> None:
    app = _project(tmp_path / "app")
    _check(app)
    cache = user_cache
    assert (cache / "CACHEDIR.TAG").read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    other = tmp_path / "precious"
    other.mkdir()
    refused = _dockopt("clean", "--cache-dir", str(other), cwd=app)
    assert refused.returncode == 2 and other.is_dir()
    assert b"not a dockopt cache folder" in refused.stderr
    done = _dockopt("clean", cwd=app)
    assert done.returncode == 0 and not cache.exists(), done.stderr
    assert _dockopt("clean", cwd=app).returncode == 0  # nothing left: fine


def test_answers_with_an_engine_error_are_not_stored(tmp_path: Path) -> None:
    spec = result_cache.open_cache(tmp_path / "c")
    from dockopt.rewriter.config import Settings

    _, facts = result_cache.load(spec, "FROM x\n", "Dockerfile", None, Settings())
    result_cache.store(facts, ([], [Diagnostic("DO003", 1, 1, "a transform crashed")]))
    assert not Path(facts[0]).exists()
    result_cache.store(facts, ([], [Diagnostic("DP001", 1, 1, "a parse error")]))
    hit, _ = result_cache.load(spec, "FROM x\n", "Dockerfile", None, Settings())
    assert hit == ([], [Diagnostic("DP001", 1, 1, "a parse error")])
    # Another text under the same name is a miss.
    assert result_cache.load(spec, "FROM y\n", "Dockerfile", None, Settings())[0] is None


def test_engine_folders_no_run_used_for_long_are_pruned(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """An upgrade (or an edit of an editable install) starts a new engine folder; the
    folders no run has used for STALE_DAYS go when a new one is made, and nothing
    else in the cache folder does. A run touches its own folder, so an install in
    use (even one whose runs only read) keeps its entries."""
    import time

    where = tmp_path / "cache"
    spec = result_cache.open_cache(where)  # makes and tags the folder
    mine = Path(spec.folder).name
    old = time.time() - (result_cache.STALE_DAYS + 1) * 86400
    recent = time.time() - (result_cache.STALE_DAYS - 1) * 86400
    stale, fresh = where / ("a" * 24), where / ("b" * 24)
    for folder, when in ((stale, old), (fresh, recent)):
        (folder / "entry").parent.mkdir()
        (folder / "entry").write_bytes(b"x")
        os.utime(folder, (when, when))
    odd = where / "notes"  # not an engine folder's name: never ours to remove
    odd.mkdir()
    os.utime(odd, (old, old))
    os.utime(where / mine, (old, old))
    # Reopening this install's folder marks it used; nothing is pruned then.
    result_cache.open_cache(where)
    assert (where / mine).stat().st_mtime > recent
    assert stale.is_dir()
    # A new engine folder (another install) prunes what no run used for too long:
    # this install's folder too, now it is left alone for too long.
    os.utime(where / mine, (old, old))
    monkeypatch.setattr(result_cache, "_engine", "c" * 24)
    result_cache.open_cache(where)
    assert sorted(p.name for p in where.iterdir()) == sorted(
        [".gitignore", "CACHEDIR.TAG", "b" * 24, "c" * 24, "notes"])
    assert (fresh / "entry").read_bytes() == b"x"


def test_bytecode_written_into_a_package_keeps_the_engine_fingerprint(tmp_path: Path
                                                                     ) -> None:
    """The engine's fingerprint skips __pycache__, and a folder counts by its name and
    mode only: Python writing bytecode into a subpackage (a first run of an editable
    or --no-compile install) changed that subpackage's times, and made the next run
    miss every entry.  What a folder holds still counts."""
    import hashlib

    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "rule.py").write_text("X = 1\n")

    def digest() -> str:
        h = hashlib.sha256()
        result_cache._digest_tree(h, str(package), skip=("__pycache__",))
        return h.hexdigest()

    before = digest()
    (package / "sub" / "__pycache__").mkdir()
    (package / "sub" / "__pycache__" / "rule.cpython-311.pyc").write_bytes(b"\0")
    assert digest() == before
    (package / "sub" / "new.py").write_text("")
    added = digest()
    assert added != before
    (package / "sub" / "new.py").rename(package / "sub" / "renamed.py")
    assert digest() not in (before, added)
    (package / "sub" / "empty").mkdir()
    with_folder = digest()
    (package / "sub" / "empty").chmod(0o700)
    assert digest() != with_folder  # a folder's mode counts
