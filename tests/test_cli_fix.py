"""`dockopt fix`, `dockopt check`, `dockopt rules` / `rule`, end to end.

The real transforms are written concurrently, so these tests run against three
throwaway transforms defined here (a safe fix, an unsafe fix, a finding with no fix)
swapped into ``dockopt.transforms.REGISTRY``; the CLI must only use it generically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import dockopt.transforms
from dockopt.rewriter.cli.main import main
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform

TESTS_DIR = Path(__file__).resolve().parent


class TestRecommends(Transform):
    """Add --no-install-recommends to apt-get install (a test transform).

    What it does
    Adds `--no-install-recommends` right after `apt-get install`.

    Why
    Recommended packages make images bigger.

    Example
        RUN apt-get install -y curl

    Fix safety
    Safe (in this test).

    References
    - hadolint DL3015
    """

    __test__ = False  # not a pytest test class
    code = "TX101"
    name = "test-apt-recommends"
    fix_title = "Add --no-install-recommends"
    upstream = ("hadolint:DL3015",)
    default_safety = Safety.SAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        for ins in ctx.tree.instructions:
            if ins.keyword != "RUN":
                continue
            for m in re.finditer(r"apt-get install(?! --no-install-recommends)", ins.text):
                end = ins.start + m.end()
                fix = Fix((Edit(end, end, " --no-install-recommends"),), Safety.SAFE,
                          "Add --no-install-recommends")
                yield self.finding(ctx, ins, "apt-get install without --no-install-recommends",
                                   fix=fix, span=(ins.start + m.start(), end))


class TestAddToCopy(Transform):
    """Use COPY instead of ADD (a test transform with an unsafe fix)."""

    __test__ = False
    code = "TX102"
    name = "test-add-to-copy"
    fix_title = "Replace ADD with COPY"
    default_safety = Safety.UNSAFE
    level = "error"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for ins in ctx.tree.instructions:
            if ins.keyword == "ADD":
                start = ins.start + ins.text.upper().index("ADD")
                fix = Fix((Edit(start, start + 3, "COPY"),), Safety.UNSAFE, "Use COPY")
                yield self.finding(ctx, ins, "ADD used for a local file", fix=fix)


class TestSudo(Transform):
    """Do not use sudo (a test finding without a fix)."""

    __test__ = False
    code = "TX201"
    name = "test-sudo"
    level = "info"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for ins in ctx.tree.instructions:
            if ins.keyword == "RUN" and "sudo" in ins.text:
                start = ins.start + ins.text.index("sudo")
                yield self.finding(ctx, ins, "sudo in RUN", span=(start, start + 4))


TEST_REGISTRY = (TestRecommends, TestAddToCopy, TestSudo)

FIXABLE = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"
FIXED = "FROM debian:12\nRUN apt-get update && apt-get install --no-install-recommends -y curl\n"
CLEAN = "FROM debian:12\nCOPY a /a\n"
MIXED = (
    "# syntax=docker/dockerfile:1\n"
    "FROM debian:12\n"
    "RUN apt-get update \\\n"
    "    && apt-get install -y curl \\\n"
    "    && sudo true\n"
    "ADD app.tar /app\n"
    "RUN apt-get install -y git\n"
)
BROKEN = "FROM debian:12\nRUN apt-get install x\nRUN <<EOF\nabc\n"


@pytest.fixture(autouse=True)
def test_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockopt.transforms, "REGISTRY", TEST_REGISTRY)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return work


class Run:
    def __init__(self, code: int, out: bytes, err: str) -> None:
        self.code = code
        self.out_bytes = out
        self.out = out.decode("utf-8", "surrogateescape")
        self.err = err


def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None
        ) -> Run:
    result = CliRunner().invoke(main, list(args), input=input, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout_bytes, result.stderr)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


# --- fix: exit codes, writes --------------------------------------------------------


def test_fix_applies_safe_fixes_and_exits_0(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", FIXABLE)
    r = run("fix")
    assert r.code == 0, r.err
    assert path.read_text() == FIXED
    assert r.out == ""
    assert "Found 1 issue (1 fixed, 0 remaining)." in r.err


def test_fix_exit_1_when_findings_remain(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", MIXED)
    r = run("fix", "Dockerfile")
    assert r.code == 1
    text = path.read_text()
    assert text.count("--no-install-recommends") == 2
    assert "ADD app.tar" in text  # unsafe: held back
    # What remains goes to stdout, as `check` prints it (with the severity).
    assert "Dockerfile:5:8: TX201 info: sudo in RUN" in r.out
    assert "Dockerfile:6:1: TX102 error: ADD used for a local file" in r.out
    assert "Found 4 issues (2 fixed, 2 remaining)." in r.err
    assert "1 hidden fix can be enabled with the --unsafe-fixes option." in r.err


def test_fix_unsafe_fixes(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", MIXED)
    r = run("fix", "--unsafe-fixes", "--show-fixes", "Dockerfile")
    assert r.code == 1  # sudo has no fix
    assert "COPY app.tar /app" in path.read_text()
    assert "hidden fix" not in r.err
    assert "Found 4 issues (3 fixed, 1 remaining)." in r.err
    # --show-fixes: path:line CODE title, one line per applied step.
    assert "Dockerfile:4 TX101 Add --no-install-recommends (2 fixes)" in r.err
    assert "Dockerfile:6 TX102 Replace ADD with COPY" in r.err


def test_no_unsafe_fixes_overrides_config(cwd: Path) -> None:
    write(cwd / ".dockopt.toml", "unsafe-fixes = true\n")
    path = write(cwd / "Dockerfile", "FROM a\nADD x /x\n")
    r = run("fix", "--no-unsafe-fixes", "Dockerfile")
    assert r.code == 1
    assert "ADD x" in path.read_text()
    r = run("fix", "Dockerfile")
    assert r.code == 0
    assert "COPY x" in path.read_text()


def test_exit_non_zero_on_fix(cwd: Path) -> None:
    write(cwd / "Dockerfile", FIXABLE)
    assert run("fix", "--exit-non-zero-on-fix").code == 1
    assert run("fix", "--exit-non-zero-on-fix").code == 0  # nothing left to fix


def test_clean_file_is_not_rewritten(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", CLEAN)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = path.stat()
    r = run("fix")
    assert r.code == 0
    assert "All checks passed!" in r.err
    after = path.stat()
    assert after.st_mtime_ns == before.st_mtime_ns
    assert after.st_ino == before.st_ino
    # A file with only unfixable findings is not rewritten either.
    path2 = write(cwd / "sub" / "Dockerfile", "FROM a\nRUN sudo x\n")
    os.utime(path2, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    assert run("fix", "sub").code == 1
    assert path2.stat().st_mtime_ns == 1_000_000_000_000_000_000


def test_atomic_write_preserves_mode_and_leaves_no_temp_files(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", FIXABLE)
    path.chmod(0o640)
    inode = path.stat().st_ino
    assert run("fix").code == 0
    assert path.read_text() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # replaced by rename, not truncated in place
    assert sorted(p.name for p in cwd.iterdir()) == ["Dockerfile"]


def test_atomic_write_failure_keeps_the_original(cwd: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(cwd / "Dockerfile", FIXABLE)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    r = run("fix")
    assert r.code == 2
    assert "Dockerfile: cannot write: No space left on device" in r.err
    assert path.read_text() == FIXABLE
    assert sorted(p.name for p in cwd.iterdir()) == ["Dockerfile"]


def test_fix_through_symlink_keeps_the_link(cwd: Path) -> None:
    real = write(cwd / "real" / "Dockerfile", FIXABLE)
    link = cwd / "Dockerfile"
    link.symlink_to(real)
    assert run("fix", "Dockerfile").code == 0
    assert link.is_symlink()
    assert real.read_text() == FIXED


def test_undecodable_bytes_survive(cwd: Path) -> None:
    raw = b"FROM debian:12\nLABEL x=\xff\xfe\r\nRUN apt-get install -y \xe9t\xe9\n"
    path = write(cwd / "Dockerfile", raw)
    assert run("fix").code == 0
    assert path.read_bytes() == raw.replace(b"install", b"install --no-install-recommends")


def test_parse_error_is_a_finding_exit_1_other_files_still_fixed(cwd: Path) -> None:
    # A file BuildKit rejects is an error-level finding (exit 1, as ruff and hadolint
    # do for syntax errors); 2 stays for usage, config and internal errors.
    broken = write(cwd / "a" / "Dockerfile", BROKEN)
    good = write(cwd / "b" / "Dockerfile", FIXABLE)
    r = run("fix", "a", "b")
    assert r.code == 1
    assert re.search(r"^a/Dockerfile:3:1: DP103 error: unterminated heredoc EOF$", r.out,
                     re.M)
    assert good.read_text() == FIXED
    assert broken.read_text() == BROKEN  # a file BuildKit rejects is never rewritten


def test_missing_path_exit_2_other_files_still_fixed(cwd: Path) -> None:
    good = write(cwd / "Dockerfile", FIXABLE)
    r = run("fix", "nope", "Dockerfile")
    assert r.code == 2
    assert "dockopt: error: nope: No such file or directory" in r.err
    assert good.read_text() == FIXED


# --- fix --diff ---------------------------------------------------------------------


def test_diff_writes_nothing_and_exits_1(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", FIXABLE)
    r = run("fix", "--diff")
    assert r.code == 1
    assert path.read_text() == FIXABLE
    assert r.out.startswith("# TX101 test-apt-recommends: Add --no-install-recommends [safe]\n"
                            "diff --git a/Dockerfile b/Dockerfile\n"
                            "--- a/Dockerfile\n+++ b/Dockerfile\n")
    assert "Found 1 issue (1 fixable, 0 remaining)." in r.err
    # Nothing to change: no output, exit 0.
    write(cwd / "Dockerfile", CLEAN)
    r = run("fix", "--diff")
    assert (r.code, r.out) == (0, "")


def _git(repo: Path, *args: str, input: bytes | None = None) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo,
                   check=True, capture_output=True, input=input)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_applies_with_git_apply(cwd: Path) -> None:
    files = {
        "Dockerfile": MIXED,
        "svc/app.Dockerfile": FIXABLE.replace("\n", "\r\n"),
        "svc/Dockerfile.dev": "FROM a\nADD x /x\nRUN apt-get install y",  # no final newline
        "clean/Containerfile": CLEAN,
    }
    for name, text in files.items():
        write(cwd / name, text)
    pristine = cwd.parent / "pristine"
    shutil.copytree(cwd, pristine)
    r = run("fix", "--diff", "--unsafe-fixes", ".")
    assert r.code == 1
    assert r.out.count("# TX1") >= 4  # one comment line per transform step
    assert "--- a/svc/app.Dockerfile\n" in r.out
    # Apply the diff to a committed copy, and compare with what `fix` writes.
    _git(pristine, "init", "-q")
    _git(pristine, "add", "-A")
    _git(pristine, "commit", "-q", "-m", "before")
    _git(pristine, "apply", "--whitespace=nowarn", "-", input=r.out_bytes)
    assert run("fix", "--unsafe-fixes", ".").code == 1  # sudo remains
    for name in files:
        assert (pristine / name).read_bytes() == (cwd / name).read_bytes(), name


def test_diff_paths_are_relative_to_cwd(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(cwd / "deep" / "er" / "Dockerfile", FIXABLE)
    r = run("fix", "--diff", str(cwd / "deep"))
    assert "--- a/deep/er/Dockerfile\n+++ b/deep/er/Dockerfile\n" in r.out
    monkeypatch.chdir(cwd / "deep")
    r = run("fix", "--diff", "er/Dockerfile")
    assert "--- a/er/Dockerfile\n" in r.out


# --- stdin ----------------------------------------------------------------------------


def test_stdin_writes_the_fixed_text_to_stdout(cwd: Path) -> None:
    r = run("fix", "-", input=MIXED)
    assert r.code == 1
    assert r.out == MIXED.replace("install", "install --no-install-recommends")
    assert "-:5:8: TX201 info: sudo in RUN" in r.err  # stdout holds the fixed text
    assert "Found 4 issues" in r.err
    # Clean input comes back unchanged, exit 0.
    r = run("fix", "-", input=CLEAN)
    assert (r.code, r.out) == (0, CLEAN)


def test_stdin_keeps_bytes(cwd: Path) -> None:
    raw = b"FROM a\nRUN apt-get install \xff\r\n"
    r = run("fix", "-", input=raw)
    assert r.out_bytes == raw.replace(b"install", b"install --no-install-recommends")


def test_stdin_filename_names_the_file_and_finds_its_config(cwd: Path) -> None:
    write(cwd / "svc" / ".dockopt.toml", 'ignore = ["TX201"]\n')
    r = run("fix", "--diff", "--stdin-filename", "svc/Dockerfile", "-", input=MIXED)
    assert r.code == 1
    assert "--- a/svc/Dockerfile\n+++ b/svc/Dockerfile\n" in r.out
    assert "TX201" not in r.err  # ignored by svc/.dockopt.toml
    assert "svc/Dockerfile:6:1: TX102" in r.err
    # --stdin-filename alone implies stdin.
    r = run("check", "--stdin-filename", "x/Dockerfile", input=MIXED)
    assert "x/Dockerfile:5:8: TX201 info: sudo in RUN" in r.out


def test_stdin_cannot_be_mixed_with_paths(cwd: Path) -> None:
    write(cwd / "Dockerfile", CLEAN)
    r = run("fix", "-", "Dockerfile", input=CLEAN)
    assert r.code == 2
    assert "cannot be combined" in r.err


def test_stdin_parse_error_still_echoes_the_text(cwd: Path) -> None:
    r = run("fix", "-", input=BROKEN)
    assert r.code == 1  # an error-level finding, not an error of dockopt
    # A file BuildKit rejects is reported but never rewritten: echoed unchanged.
    assert r.out == BROKEN
    assert "-:3:1: DP103 error: unterminated heredoc EOF" in r.err


# --- discovery --------------------------------------------------------------------------


def test_directory_discovery(cwd: Path) -> None:
    wanted = ["Dockerfile", "Containerfile", "web.Dockerfile", "Dockerfile.dev",
              "sub/dockerfile", "sub/deeper/Containerfile.arm64"]
    skipped = ["Dockerfile.dockerignore", "node_modules/x/Dockerfile", ".git/Dockerfile",
               "vendor/Dockerfile", ".venv/Dockerfile", "README.md", "Dockerfile.orig",
               "Dockerfile.rej", "notes.txt", "sub/Dockerfile.bak"]
    for name in wanted + skipped:
        write(cwd / name, "FROM a\nRUN sudo x\n")
    r = run("check", "--output-format", "concise")
    found = sorted(line.split(":", 1)[0] for line in r.out.splitlines())
    assert found == sorted(wanted)
    # A file named on the command line is taken whatever its name.
    r = run("check", "notes.txt")
    assert r.out.startswith("notes.txt:2:5: TX201")


# --- select / ignore ----------------------------------------------------------------------


def _codes(out: str) -> list[str]:
    return sorted({line.split()[1] for line in out.splitlines() if line.strip()})


def test_select_ignore_extend_select(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    assert _codes(run("check").out) == ["TX101", "TX102", "TX201"]
    assert _codes(run("check", "--select", "TX1").out) == ["TX101", "TX102"]
    assert _codes(run("check", "--select", "TX101,test-sudo").out) == ["TX101", "TX201"]
    assert _codes(run("check", "--select", "TX101", "--select", "TX201").out) == [
        "TX101", "TX201"]
    assert _codes(run("check", "--ignore", "TX1").out) == ["TX201"]
    assert _codes(run("check", "--select", "TX2", "--extend-select", "TX102").out) == [
        "TX102", "TX201"]
    # The more specific selector wins, as in ruff.
    assert _codes(run("check", "--select", "TX101", "--ignore", "TX1").out) == ["TX101"]


def test_unknown_selector_is_a_usage_error(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    for option in ("--select", "--ignore", "--extend-select"):
        r = run("check", option, "TX101,DO9")
        assert r.code == 2
        assert f"{option}: unknown rule selector `DO9`" in r.err
    # A hadolint code no rule covers: an error where it would select nothing, a
    # warning in --ignore (hadolint ignore lists are copied over whole).
    r = run("check", "--select", "DL3999")
    assert r.code == 2 and "hadolint rule with no dockopt equivalent" in r.err
    r = run("check", "--ignore", "DL3999")
    assert r.code == 1 and "warning: --ignore: `DL3999` is a hadolint rule" in r.err
    # A hadolint code a rule covers selects it (TX101 covers DL3015 here).
    r = run("check", "--select", "DL3015", "--output-format", "concise")
    assert r.code == 1 and {line.split()[1] for line in r.out.splitlines()} == {"TX101"}
    assert run("fix", "--select", "nonsense").code == 2
    assert run("check", "--select", "ALL").code == 1


def test_fix_select_limits_what_is_fixed(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", MIXED)
    r = run("fix", "--unsafe-fixes", "--select", "TX102")
    assert r.code == 0
    text = path.read_text()
    assert "COPY app.tar" in text
    assert "--no-install-recommends" not in text


# --- config -------------------------------------------------------------------------------


def test_config_file_discovery_and_isolated(cwd: Path) -> None:
    write(cwd / ".dockopt.toml", 'ignore = ["TX201", "TX102"]\n')
    write(cwd / "Dockerfile", MIXED)
    assert _codes(run("check").out) == ["TX101"]
    assert _codes(run("check", "--isolated").out) == ["TX101", "TX102", "TX201"]
    # The closest config wins: sub/pyproject.toml with [tool.dockopt].
    write(cwd / "sub" / "pyproject.toml", '[tool.dockopt]\nselect = ["TX2"]\n')
    write(cwd / "sub" / "Dockerfile", MIXED)
    r = run("check", "--output-format", "concise")
    assert "sub/Dockerfile:5:8: TX201" in r.out
    assert "sub/Dockerfile:4:8: TX101" not in r.out
    assert r.out.startswith("Dockerfile:4:8: TX101")
    # CLI --ignore adds to the config's ignore; CLI --select replaces its select.
    assert _codes(run("check", "--ignore", "TX101", "Dockerfile").out) == []
    assert _codes(run("check", "--select", "TX2", "sub").out) == ["TX201"]


def test_explicit_config(cwd: Path) -> None:
    write(cwd / ".dockopt.toml", 'ignore = ["TX201"]\n')
    write(cwd / "elsewhere.toml", 'select = ["TX201"]\n')
    write(cwd / "Dockerfile", MIXED)
    assert _codes(run("check", "--config", "elsewhere.toml").out) == ["TX201"]
    r = run("check", "--config", "missing.toml")
    assert r.code == 2
    assert "missing.toml:1:1: config file not found" in r.err


def test_config_error_exit_2_with_location(cwd: Path) -> None:
    write(cwd / ".dockopt.toml", 'select = ["TX1"]\nignore = [\n')
    path = write(cwd / "Dockerfile", FIXABLE)
    for command in ("fix", "check"):
        r = run(command)
        assert r.code == 2
        assert re.search(r"\.dockopt\.toml:\d+:\d+: invalid TOML", r.err), r.err
    assert path.read_text() == FIXABLE  # nothing is written under a broken config
    write(cwd / ".dockopt.toml", 'colour = "red"\n')
    r = run("check")
    assert r.code == 2
    assert ".dockopt.toml:1:1: unknown setting(s): colour" in r.err
    assert run("check", "--isolated").code == 1


def test_cache_and_context_reach_the_engine(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockopt.rewriter import pipeline

    seen: list[tuple[Any, Any]] = []
    real_fix = pipeline.fix

    def spy(text: str, **kwargs: Any) -> Any:
        seen.append((kwargs["settings"].cache, kwargs["context"]))
        return real_fix(text, **kwargs)

    monkeypatch.setattr(pipeline, "fix", spy)
    write(cwd / ".dockopt.toml", 'cache = "mount"\n')
    write(cwd / "Dockerfile", CLEAN)
    (cwd / "ctx").mkdir()
    run("fix")
    run("fix", "--cache", "clean", "--context", "ctx")
    # Without --context, the build context is the Dockerfile's folder.
    assert seen == [("mount", Path(".")), ("clean", Path("ctx"))]
    assert run("fix", "--cache", "bogus").code == 2


# --- check --------------------------------------------------------------------------------


def test_check_text_and_exit_codes(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", MIXED)
    r = run("check")
    assert r.code == 1
    assert r.out.splitlines() == [
        "Dockerfile:4:8: TX101 warning: apt-get install without --no-install-recommends [*]",
        "Dockerfile:5:8: TX201 info: sudo in RUN",
        "Dockerfile:6:1: TX102 error: ADD used for a local file",
        "Dockerfile:7:5: TX101 warning: apt-get install without --no-install-recommends [*]",
    ]
    assert r.err.splitlines() == [
        "Found 4 issues.",
        "[*] 2 fixable with `dockopt fix`.",
        "1 hidden fix can be enabled with the --unsafe-fixes option.",
    ]
    assert path.read_text() == MIXED  # check never writes
    r = run("check", "--unsafe-fixes")
    assert "Dockerfile:6:1: TX102 error: ADD used for a local file [*]" in r.out
    assert "hidden" not in r.err
    assert run("check", "--exit-zero").code == 0
    assert run("check", "-q").err == ""
    write(cwd / "Dockerfile", CLEAN)
    r = run("check")
    assert (r.code, r.out, r.err) == (0, "", "All checks passed!\n")
    write(cwd / "Dockerfile", BROKEN)
    r = run("check")
    assert r.code == 1  # BuildKit rejects it: an error-level finding in every format
    assert "Dockerfile:3:1: DP103 error: unterminated heredoc EOF" in r.out
    assert run("check", "--exit-zero").code == 0


def test_check_concise_has_no_markers_or_summary(cwd: Path) -> None:
    write(cwd / "Dockerfile", FIXABLE)
    r = run("check", "--output-format", "concise")
    assert r.out == "Dockerfile:2:23: TX101 apt-get install without --no-install-recommends\n"
    assert r.err == ""


def test_check_json(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    r = run("check", "--output-format", "json")
    assert r.code == 1
    records = json.loads(r.out)
    assert [rec["code"] for rec in records] == ["TX101", "TX201", "TX102", "TX101"]
    first = records[0]
    assert set(first) == {"file", "line", "column", "endLine", "endColumn", "level", "code",
                          "name", "message", "url", "fix"}
    assert (first["file"], first["line"], first["column"]) == ("Dockerfile", 4, 8)
    assert (first["endLine"], first["endColumn"]) == (4, 23)
    assert first["url"].endswith("/TX101.md")
    assert first["fix"] == {
        "applicability": "safe",
        "message": "Add --no-install-recommends",
        "edits": [{"content": " --no-install-recommends",
                   "location": {"row": 4, "column": 23},
                   "end_location": {"row": 4, "column": 23}}],
    }
    sudo = records[1]
    assert (sudo["level"], sudo["fix"]) == ("info", None)
    add = records[2]
    assert add["level"] == "error"
    assert add["fix"]["applicability"] == "unsafe"
    assert add["fix"]["edits"][0]["location"] == {"row": 6, "column": 1}
    assert add["fix"]["edits"][0]["end_location"] == {"row": 6, "column": 4}
    assert r.err == ""  # no summary mixed into machine output
    # Clean: an empty array.
    write(cwd / "Dockerfile", CLEAN)
    assert json.loads(run("check", "--output-format", "json").out) == []


def test_check_json_edit_positions_match_the_tree(cwd: Path) -> None:
    from dockopt.rewriter.syntax import parse

    text = "FROM a\r\nRUN x \\\n  && apt-get install \u00e9 \\\n  && apt-get install y\n"
    write(cwd / "Dockerfile", text)
    records = json.loads(run("check", "--output-format", "json").out)
    tree = parse(text)
    offsets = [m.end() for m in re.finditer("apt-get install", text)]
    got = [tuple(rec["fix"]["edits"][0]["location"].values()) for rec in records]
    assert got == [tree.line_col(o) for o in offsets]


def test_check_github(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    r = run("check", "--output-format", "github")
    lines = r.out.splitlines()
    assert lines[0] == ("::warning file=Dockerfile,line=4,col=8,endLine=4,endColumn=23,"
                        "title=TX101 test-apt-recommends::TX101 apt-get install without "
                        "--no-install-recommends")
    assert lines[1].startswith("::notice file=Dockerfile,line=5,col=8,")
    assert lines[2].startswith("::error file=Dockerfile,line=6,col=1,")
    assert lines[2].endswith("::TX102 ADD used for a local file")


def test_check_statistics(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    write(cwd / "b" / "Dockerfile", MIXED)
    r = run("check", "--statistics")
    assert r.code == 1
    assert r.out.splitlines() == [
        "4\tTX101\t[*] test-apt-recommends",
        "2\tTX102\t    test-add-to-copy",
        "2\tTX201\t    test-sudo",
    ]
    r = run("check", "--statistics", "--output-format", "json", "--unsafe-fixes")
    assert json.loads(r.out) == [
        {"code": "TX101", "name": "test-apt-recommends", "count": 4, "fixable": True},
        {"code": "TX102", "name": "test-add-to-copy", "count": 2, "fixable": True},
        {"code": "TX201", "name": "test-sudo", "count": 2, "fixable": False},
    ]


def test_check_sarif_structure(cwd: Path) -> None:
    write(cwd / "svc dir" / "Dockerfile", MIXED)
    r = run("check", "--output-format", "sarif")
    assert r.code == 1
    doc = json.loads(r.out)
    validate_sarif(doc)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "dockopt"
    assert [rule["id"] for rule in driver["rules"]] == ["TX101", "TX102", "TX201"]
    rule = driver["rules"][0]
    assert rule["name"] == "test-apt-recommends"
    assert rule["shortDescription"]["text"] == TestRecommends.summary()
    assert "Fix safety" in rule["fullDescription"]["text"]
    assert not rule["fullDescription"]["text"].startswith(" ")
    assert rule["helpUri"].endswith("/TX101.md")
    assert driver["rules"][2]["defaultConfiguration"] == {"level": "note"}
    results = doc["runs"][0]["results"]
    assert [(res["ruleId"], res["ruleIndex"], res["level"]) for res in results] == [
        ("TX101", 0, "warning"), ("TX201", 2, "note"), ("TX102", 1, "error"),
        ("TX101", 0, "warning")]
    loc = results[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "svc%20dir/Dockerfile"
    assert loc["region"] == {"startLine": 4, "startColumn": 8, "endLine": 4, "endColumn": 23}


SARIF_LEVELS = {"none", "note", "warning", "error"}


def validate_sarif(doc: dict[str, Any]) -> None:
    """The parts of the SARIF 2.1.0 schema that code-scanning tools rely on, by hand."""
    assert set(doc) <= {"$schema", "version", "runs", "inlineExternalProperties",
                        "properties"}
    assert doc["version"] == "2.1.0"
    assert "sarif" in doc["$schema"] and "2.1.0" in doc["$schema"]
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run_ in doc["runs"]:
        driver = run_["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        assert isinstance(driver["version"], str)
        assert driver["informationUri"].startswith("https://")
        ids = []
        for rule in driver["rules"]:
            assert isinstance(rule["id"], str) and rule["id"]
            for key in ("shortDescription", "fullDescription"):
                assert set(rule[key]) <= {"text", "markdown"}
                assert isinstance(rule[key]["text"], str) and rule[key]["text"]
            assert rule["helpUri"].startswith("https://")
            assert rule["defaultConfiguration"]["level"] in SARIF_LEVELS
            ids.append(rule["id"])
        assert len(ids) == len(set(ids))
        assert run_.get("columnKind", "unicodeCodePoints") in {"utf16CodeUnits",
                                                                "unicodeCodePoints"}
        for res in run_["results"]:
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["level"] in SARIF_LEVELS
            if "ruleIndex" in res:
                assert 0 <= res["ruleIndex"] < len(ids)
                assert ids[res["ruleIndex"]] == res["ruleId"]
            for loc in res["locations"]:
                phys = loc["physicalLocation"]
                uri = phys["artifactLocation"]["uri"]
                assert isinstance(uri, str) and " " not in uri and "\\" not in uri
                region = phys["region"]
                for key in ("startLine", "startColumn", "endLine", "endColumn"):
                    assert isinstance(region[key], int) and region[key] >= 1
                assert (region["endLine"], region["endColumn"]) >= (
                    region["startLine"], region["startColumn"])


# --- colour -------------------------------------------------------------------------------


def test_color_always_and_never(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    colored = run("check", "--color", "always").out
    assert "\x1b[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == run("check").out
    assert "\x1b[" not in run("check", "--color", "never").out
    diff = run("fix", "--diff", "--color", "always").out
    assert "\x1b[32m" in diff and "\x1b[31m" in diff  # + green, - red
    # Not a terminal: auto means no colour, so the diff stays appliable.
    assert "\x1b[" not in run("fix", "--diff").out
    # An explicit --color always wins over NO_COLOR (no-color.org).
    assert "\x1b[" in run("check", "--color", "always", env={"NO_COLOR": "1"}).out


def _run_on_tty(args: list[str], cwd: Path, env: dict[str, str]) -> bytes:
    """Run the CLI (with the test registry) with stdout on a pseudo-terminal."""
    import pty

    script = ("import sys; sys.path.insert(0, sys.argv[1]); import test_cli_fix as t; "
              "import dockopt.transforms as d; d.REGISTRY = t.TEST_REGISTRY; "
              "from dockopt.rewriter.cli.main import main; main(sys.argv[2:])")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-c", script, str(TESTS_DIR), *args],
                                cwd=cwd, stdout=follower, stderr=subprocess.DEVNULL,
                                env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=30)
    finally:
        os.close(leader)
    return b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_no_color_env_on_a_terminal(cwd: Path) -> None:
    write(cwd / "Dockerfile", MIXED)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert b"\x1b[" in _run_on_tty(["check"], cwd, env)
    out = _run_on_tty(["check"], cwd, {**env, "NO_COLOR": "1"})
    assert b"TX101" in out
    assert b"\x1b[" not in out


# --- rules / rule -------------------------------------------------------------------------


def test_rules_list() -> None:
    r = run("rules")
    assert r.code == 0
    lines = r.out.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["TX101", "test-apt-recommends", "safe"],
        ["TX102", "test-add-to-copy", "unsafe"],
        ["TX201", "test-sudo", "-"],
    ]
    assert lines[0].endswith("Add --no-install-recommends to apt-get install "
                             "(a test transform).")
    records = json.loads(run("rules", "--output-format", "json").out)
    assert [(x["code"], x["safety"]) for x in records] == [
        ("TX101", "safe"), ("TX102", "unsafe"), ("TX201", "-")]
    assert records[0]["upstream"] == ["hadolint:DL3015"]


def test_rule_explains() -> None:
    r = run("rule", "TX101")
    assert r.code == 0
    assert r.out.startswith("TX101 test-apt-recommends\n\nFix: Add --no-install-recommends"
                            " (safe)\n")
    assert "What it does\nAdds `--no-install-recommends`" in r.out
    assert "\n    RUN apt-get install -y curl\n" in r.out  # dedented, example kept indented
    assert run("rule", "test-sudo").out.startswith("TX201 test-sudo\n\nFix: none")
    assert run("rule", "tx102").code == 0
    r = run("rule", "DO999")
    assert r.code == 2
    assert "unknown rule `DO999`" in r.err
    data = json.loads(run("rule", "TX201", "--output-format", "json").out)
    assert data["explanation"] == "Do not use sudo (a test finding without a fix)."


# --- start-up -------------------------------------------------------------------------------


def test_cli_module_imports_nothing_heavy() -> None:
    script = ("import sys; import dockopt.rewriter.cli.main; "
              "print(sorted(m for m in ('dockopt.rewriter.pipeline', 'dockopt.rewriter.syntax',"
              " 'dockopt.transforms', 'tree_sitter', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_the_commands() -> None:
    out = run("--help").out
    for command in ("fix", "check", "rules", "rule", "debug"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command
    assert "--stdin-filename" in run("fix", "--help").out
    assert textwrap.dedent("--output-format") in run("check", "--help").out
