"""The CLI conventions of ruff and hadolint, run as a user would: the real `dockopt`
in a subprocess, with the exit code and the shape of stdout/stderr checked for each.

Snapshots of the renderings (text, full, JSON, SARIF, GitLab, JUnit, Checkstyle) of a
few golden cases live in tests/snapshots/; `DOCKOPT_UPDATE_SNAPSHOTS=1` rewrites them,
so a change in an output format shows up as a reviewed diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("DOCKOPT_UPDATE_SNAPSHOTS") == "1"

# DO204 (safe fix), DO201, DO503 (no fix), DO501 (style: no HEALTHCHECK) and more.
APT = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nCMD [\"curl\"]\n"
CLEAN = ("FROM debian:12.5-slim\nRUN apt-get update && apt-get install -y --no-install-recommends"
         " curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*\nUSER 1000\n"
         "HEALTHCHECK CMD [\"true\"]\nCMD [\"curl\"]\n")
# Only DO501 (style: no HEALTHCHECK), with a .dockerignore beside it (see _only_style).
ONLY_STYLE = ("FROM debian:12.5-slim\nUSER 1000\nCMD [\"true\"]\n")


def _only_style(folder: Path) -> Path:
    write(folder / ".dockerignore", _FULL_IGNORE)
    return write(folder / "Dockerfile", ONLY_STYLE)


def _full_ignore() -> str:
    """The .dockerignore DO603 writes for a bare context (so it has nothing to add)."""
    import tempfile

    from dockopt.rewriter.pipeline import fix

    with tempfile.TemporaryDirectory() as tmp:
        result = fix("FROM scratch\nCOPY . /\n", path="Dockerfile", context=tmp,
                     settings=__import__("dockopt.rewriter.config", fromlist=["Settings"])
                     .Settings(unsafe_fixes=True, select=("DO603",)))
        return result.extra_files[".dockerignore"][1]


_FULL_IGNORE = _full_ignore()


@dataclass
class Run:
    code: int
    out: str
    err: str


def dockopt(cwd: Path, *args: str, input: str | None = None,
            env: dict[str, str] | None = None) -> Run:
    base = {k: v for k, v in os.environ.items() if k != "DOCKOPT_OUTPUT_FORMAT"}
    full_env = {**base, "NO_COLOR": "1", "HOME": str(cwd), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "dockopt.rewriter", *args], cwd=cwd,
                          input=input, capture_output=True, text=True, env=full_env)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# --- exit codes ---------------------------------------------------------------------------


def test_fix_diff_exits_1_only_when_there_is_a_diff(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    r = dockopt(cwd, "fix", "--diff")
    assert r.code == 1
    assert r.out.startswith("# DO204") and "diff --git a/Dockerfile b/Dockerfile" in r.out
    assert "DO502" not in r.out  # findings never go to stdout with --diff
    write(cwd / "Dockerfile", ONLY_STYLE.replace("debian:12.5-slim", "debian"))  # DO502
    r = dockopt(cwd, "fix", "--diff")
    assert (r.code, r.out) == (0, "")
    assert "DO502" in r.err


def test_failure_threshold(cwd: Path) -> None:
    _only_style(cwd)
    r = dockopt(cwd, "check")
    # A style finding is shown but does not fail (hadolint's default threshold: info).
    assert r.code == 0 and "DO501 style:" in r.out
    assert dockopt(cwd, "check", "--failure-threshold", "style").code == 1
    assert dockopt(cwd, "check", "-t", "style").code == 1
    write(cwd / "Dockerfile", APT)
    assert dockopt(cwd, "check").code == 1
    assert dockopt(cwd, "check", "-t", "none").code == 0
    assert dockopt(cwd, "check", "-t", "error").code == 0  # warnings and info only
    write(cwd / ".dockopt.toml", 'failure-threshold = "error"\n')
    assert dockopt(cwd, "check").code == 0
    assert dockopt(cwd, "check", "-t", "info").code == 1  # the flag wins over the config
    write(cwd / ".dockopt.toml", 'failure-threshold = "loud"\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and ".dockopt.toml:1:1: `failure-threshold` must be one of" in r.err


def test_parse_errors_are_findings_in_every_format(cwd: Path) -> None:
    write(cwd / "Dockerfile", "FROMM alpine\n")
    r = dockopt(cwd, "check")
    assert r.code == 1 and "Dockerfile:1:1: DP101 error: unknown instruction" in r.out
    records = json.loads(dockopt(cwd, "check", "--output-format", "json").out)
    assert records and all(rec["level"] == "error" for rec in records
                           if rec["code"].startswith("DP"))
    sarif = json.loads(dockopt(cwd, "check", "--output-format", "sarif").out)
    assert any(res["ruleId"].startswith("DP") and res["level"] == "error"
               for res in sarif["runs"][0]["results"])
    gh = dockopt(cwd, "check", "--output-format", "github").out
    assert "::error " in gh


def test_errors_are_never_all_checks_passed(cwd: Path) -> None:
    r = dockopt(cwd, "check", "nope")
    assert r.code == 2 and "nope: No such file or directory" in r.err
    assert "All checks passed" not in r.err + r.out
    write(cwd / "empty" / "README", "no Dockerfile here\n")
    r = dockopt(cwd, "check", "empty")
    assert r.code == 0
    assert "warning: no Dockerfiles found under empty" in r.err
    assert "All checks passed" not in r.err
    write(cwd / "Dockerfile", b"\x7fELF\x02\x01\x01\x00\x00\x00binary")
    r = dockopt(cwd, "check", "Dockerfile")
    assert r.code == 1 and "DP109 error: Not a Dockerfile" in r.out
    r = dockopt(cwd, "fix", "Dockerfile")
    assert r.code == 1 and "DP109" in r.out
    assert (cwd / "Dockerfile").read_bytes().startswith(b"\x7fELF")  # never rewritten


def test_control_characters_are_escaped_for_terminals(cwd: Path) -> None:
    hostile = "FROM debian\nRUN apt-get install -y \x1b]0;pwned\x07curl \x1b[31mred\n"
    write(cwd / "Dockerfile", hostile)
    r = dockopt(cwd, "check", "--output-format", "full")
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "\\x1b]0;pwned\\x07" in r.out
    r = dockopt(cwd, "check", "--output-format", "json")
    assert "\x1b" not in r.out  # JSON escapes it (\u001b)
    # A patch to a file or a pipe keeps the bytes (it must apply).
    r = dockopt(cwd, "fix", "--diff", "--unsafe-fixes")
    assert "\x1b]0;pwned" in r.out


# --- configuration ---------------------------------------------------------------------


def test_unknown_selectors_keys_and_rule_options_have_file_and_line(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    write(cwd / ".dockopt.toml", 'unsafe-fixes = true\nselect = ["DO2", "DO40X"]\n')
    r = dockopt(cwd, "check")
    assert r.code == 2
    assert r.err.startswith(".dockopt.toml:2:18: `select`: unknown rule selector `DO40X`")
    write(cwd / ".dockopt.toml", 'cache = "clean"\nselekt = ["DO2"]\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and ".dockopt.toml:2:1: unknown setting(s): selekt" in r.err
    write(cwd / ".dockopt.toml", '[rules.DO999]\nx = 1\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and ".dockopt.toml:1:1: `[rules.DO999]`: no rule has this" in r.err
    write(cwd / ".dockopt.toml", '[rules.full-base-image]\nallow-alpine = true\nfoo = 1\n')
    r = dockopt(cwd, "check")
    assert r.code == 2
    assert ".dockopt.toml:3:1: `[rules.full-base-image]`: unknown option `foo`" in r.err
    write(cwd / ".dockopt.toml", '[rules.DO605]\nallow-alpine = "yes"\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and "`allow-alpine` must be a bool" in r.err
    write(cwd / "pyproject.toml", '[tool.dockopt]\nselect = ["DO2"\n')
    (cwd / ".dockopt.toml").unlink()
    r = dockopt(cwd, "check")
    assert r.code == 2 and "pyproject.toml:" in r.err and "invalid TOML" in r.err


def _codes(out: str) -> set[str]:
    return {line.split(": ")[1].split()[0] for line in out.splitlines() if ": DO" in line}


def test_config_extend_layers_like_ruff(cwd: Path) -> None:
    """`extend`: relative to the file that says it; the child's keys win, `ignore` and
    `extend-select` add up until the child sets `select`; errors name the right file."""
    write(cwd / "Dockerfile", APT)
    write(cwd / "shared" / "base.toml", 'select = ["DO2", "DO6"]\nignore = ["DO201"]\n'
                                        'failure-threshold = "none"\n')
    write(cwd / ".dockopt.toml", 'extend = "shared/base.toml"\nextend-select = ["DO5"]\n'
                                 'ignore = ["DO603"]\n')
    r = dockopt(cwd, "check")
    assert r.code == 0, r.err  # the threshold comes from the extended file
    assert _codes(r.out) == {"DO204", "DO503", "DO501", "DO605", "DO604"}, r.out
    write(cwd / ".dockopt.toml", 'extend = "shared/base.toml"\nselect = ["DO204"]\n')
    r = dockopt(cwd, "check")
    assert _codes(r.out) == {"DO204"} and r.code == 0
    # An error in the extended file names that file and its line.
    write(cwd / "shared" / "base.toml", 'cache = "clean"\nselect = ["DO2X"]\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and r.err.startswith("shared/base.toml:2:11: `select`: unknown"), r.err
    write(cwd / ".dockopt.toml", 'extend = "nowhere.toml"\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and "`extend`: nowhere.toml: config file not found" in r.err, r.err
    write(cwd / ".dockopt.toml", 'extend = "shared/base.toml"\n')
    write(cwd / "shared" / "base.toml", 'extend = "../.dockopt.toml"\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and "`extend` forms a cycle" in r.err


def test_config_key_value_overrides(cwd: Path) -> None:
    """ruff's `--config KEY=VALUE`: over whichever config applies; bad ones exit 2."""
    write(cwd / "Dockerfile", APT)
    write(cwd / ".dockopt.toml", 'select = ["DO2"]\n')
    r = dockopt(cwd, "check", "--config", 'ignore = ["DO201", "DO202"]')
    assert _codes(r.out) == {"DO204"}, r.out
    r = dockopt(cwd, "check", "--config", 'select = ["DO503"]',
                "--config", 'failure-threshold = "none"')
    assert (r.code, _codes(r.out)) == (0, {"DO503"})
    # With a config file given as --config too (one file at most).
    write(cwd / "other.toml", 'select = ["DO605"]\n')
    r = dockopt(cwd, "check", "--config", "other.toml", "--config", "unsafe-fixes = true")
    assert _codes(r.out) == {"DO605"} and "[*]" in r.out
    r = dockopt(cwd, "check", "--config", "other.toml", "--config", ".dockopt.toml")
    assert r.code == 2 and "only one config file" in r.err
    for bad, why in (("selekt = 1", "unknown setting(s): selekt"),
                     ('select = ["DO9"]', "unknown rule selector `DO9`"),
                     ("select = [", "neither a config file nor a TOML"),
                     ('cache = "sometimes"', "`cache` must be")):
        r = dockopt(cwd, "check", "--config", bad)
        assert r.code == 2 and why in r.err, (bad, r.err)
    r = dockopt(cwd, "check", "--config", "missing.toml")
    assert r.code == 2 and r.err.startswith("missing.toml:1:1: config file not found")
    # Dotted keys reach rule options.
    r = dockopt(cwd, "check", "--config", "rules.DO999.x = 1")
    assert r.code == 2 and "`[rules.DO999]`: no rule has this code or name" in r.err


def test_hadolint_codes_are_accepted_wherever_a_rule_is_named(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    r = dockopt(cwd, "check", "--select", "DL3015", "--output-format", "concise")
    assert {line.split()[1] for line in r.out.splitlines()} == {"DO201"}
    r = dockopt(cwd, "check", "--ignore", "DL3015,DL3009", "--output-format", "concise")
    assert "DO201" not in r.out and "DO204" not in r.out and "DO503" in r.out
    r = dockopt(cwd, "rule", "DL3015")
    assert r.code == 0 and r.out.startswith("DO201 apt-install-recommends")
    r = dockopt(cwd, "rule", "DL3061")
    assert r.code == 2 and "no dockopt equivalent" in r.err
    write(cwd / ".dockopt.toml", 'ignore = ["DL3015", "DL3999"]\n')  # hadolint's list as is
    r = dockopt(cwd, "check", "--output-format", "concise")
    assert r.code == 1 and "DO201" not in r.out


def test_hadolint_yaml_is_honoured(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    write(cwd / ".hadolint.yaml", "ignored:\n  - DL3015\nfailure-threshold: error\n"
                                  "override:\n  error:\n    - DL3009\n"
                                  "trustedRegistries:\n  - registry.example.com\n")
    r = dockopt(cwd, "check", "--output-format", "concise")
    codes = {line.split()[1] for line in r.out.splitlines()}
    assert "DO201" not in codes  # ignored
    assert "DO509" in codes  # debian:12 comes from docker.io
    # DO204 (hadolint DL3009) became an error: the threshold `error` fails the run.
    assert r.code == 1
    records = json.loads(dockopt(cwd, "check", "--output-format", "json").out)
    assert {rec["code"]: rec["level"] for rec in records}["DO204"] == "error"
    # dockopt's own config wins where both say something.
    write(cwd / ".dockopt.toml", 'failure-threshold = "none"\ntrusted-registries = ["*"]\n')
    r = dockopt(cwd, "check", "--output-format", "concise")
    assert r.code == 0 and "DO509" not in r.out and "DO201" not in r.out
    write(cwd / ".hadolint.yaml", "ignored: DL3015\n")
    r = dockopt(cwd, "check")
    assert r.code == 2 and ".hadolint.yaml:1:1: `ignored` must be a list" in r.err
    write(cwd / ".hadolint.yaml", "ignore:\n  - DL3015\n")
    r = dockopt(cwd, "check")
    assert r.code == 2 and ".hadolint.yaml:1:1: unknown hadolint setting(s): ignore" in r.err


# --- discovery -------------------------------------------------------------------------


def test_templates_are_skipped_and_renovate_names_found(cwd: Path) -> None:
    write(cwd / "Dockerfile.j2", "FROM {{ base }}\n")
    write(cwd / "Dockerfile.tmpl", "FROM {{.Base}}\n")
    write(cwd / "svc" / "Dockerfile.template", "FROM %%BASE%%\n")
    write(cwd / "Dockerfile-dev", ONLY_STYLE)
    write(cwd / ".dockerignore", _FULL_IGNORE)
    r = dockopt(cwd, "check", "--output-format", "concise", "-t", "style")
    files = {line.split(":")[0] for line in r.out.splitlines()}
    assert files == {"Dockerfile-dev"}
    # A template named on the command line is taken (the user asked for it).
    assert "Dockerfile.j2" in dockopt(cwd, "check", "Dockerfile.j2").out


def test_exclude_force_exclude_and_gitignore(cwd: Path) -> None:
    for rel in ("app/Dockerfile", "legacy/Dockerfile", "svc/a/Dockerfile.old-base",
                "gen/Dockerfile"):
        write(cwd / rel, ONLY_STYLE)

    def files(*args: str) -> set[str]:
        r = dockopt(cwd, "check", "--output-format", "concise", "-t", "style",
                    "--ignore", "DO603", *args)
        return {line.split(":")[0] for line in r.out.splitlines()}

    everything = {"app/Dockerfile", "legacy/Dockerfile", "svc/a/Dockerfile.old-base",
                  "gen/Dockerfile"}
    assert files() == everything
    assert files("--exclude", "legacy") == everything - {"legacy/Dockerfile"}
    assert files("--extend-exclude", "*.old-base,svc/a") == \
        everything - {"svc/a/Dockerfile.old-base"}
    # A file named on the command line is taken, unless --force-exclude (pre-commit).
    assert files("--exclude", "legacy", "legacy/Dockerfile") == {"legacy/Dockerfile"}
    assert files("--exclude", "legacy", "--force-exclude", "legacy/Dockerfile") == set()
    # .gitignore'd files are left out of a folder search (ruff's default).
    assert subprocess.run(["git", "init", "-q"], cwd=cwd).returncode == 0
    write(cwd / ".gitignore", "gen/\n")
    assert files() == everything - {"gen/Dockerfile"}
    assert files("--no-respect-gitignore") == everything
    assert files("gen/Dockerfile") == {"gen/Dockerfile"}
    assert files("--force-exclude", "gen/Dockerfile") == set()


# --- output ----------------------------------------------------------------------------


def test_output_file_and_env_format(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    r = dockopt(cwd, "check", "-o", "report.json", "--output-format", "json")
    assert r.code == 1 and r.out == ""
    assert json.loads((cwd / "report.json").read_text())[0]["file"] == "Dockerfile"
    r = dockopt(cwd, "check", env={"DOCKOPT_OUTPUT_FORMAT": "json-lines"})
    lines = r.out.splitlines()
    assert len(lines) >= 3 and all(json.loads(line)["file"] == "Dockerfile" for line in lines)


def test_machine_formats_are_well_formed(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    write(cwd / "ok" / "Dockerfile", CLEAN)
    write(cwd / "ok" / ".dockerignore", _FULL_IGNORE)
    # (DO603 would advise more .dockerignore entries for ok/: a style finding, left out.)
    junit = ET.fromstring(dockopt(cwd, "check", "--ignore", "DO603", "--output-format",
                                  "junit").out)
    assert junit.tag == "testsuites" and int(junit.get("failures", "0")) >= 3
    suites = {s.get("name"): s for s in junit}
    assert suites["ok/Dockerfile"].get("failures") == "0"
    checkstyle = ET.fromstring(dockopt(cwd, "check", "--ignore", "DO603", "--output-format",
                                       "checkstyle").out)
    errors = checkstyle.findall("./file/error")
    assert errors and all(e.get("source", "").startswith("dockopt.DO") for e in errors)
    gitlab = json.loads(dockopt(cwd, "check", "--ignore", "DO603", "--output-format",
                                "gitlab").out)
    assert {g["location"]["path"] for g in gitlab} == {"Dockerfile"}
    assert len({g["fingerprint"] for g in gitlab}) == len(gitlab)


def test_fingerprints_survive_unrelated_edits(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    before = json.loads(dockopt(cwd, "check", "--output-format", "gitlab").out)
    write(cwd / "Dockerfile", "# a comment\n\n" + APT)
    after = json.loads(dockopt(cwd, "check", "--output-format", "gitlab").out)
    assert sorted(g["fingerprint"] for g in before) == sorted(g["fingerprint"] for g in after)
    assert [g["location"]["lines"]["begin"] for g in after] != \
        [g["location"]["lines"]["begin"] for g in before]


def test_rules_are_sorted_by_code(cwd: Path) -> None:
    rules = json.loads(dockopt(cwd, "rules", "--output-format", "json").out)
    codes = [r["code"] for r in rules]
    assert codes == sorted(codes) and len(codes) > 20
    write(cwd / "Dockerfile", APT)
    sarif = json.loads(dockopt(cwd, "check", "--output-format", "sarif").out)
    ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert ids == sorted(ids)


def test_check_fix_is_fix_and_fix_only_reports_nothing(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", APT)
    r = dockopt(cwd, "check", "--fix")
    assert r.code == 1 and "rm -rf /var/lib/apt/lists/*" in path.read_text()
    assert "DO503" in r.out  # what remains, on stdout as check prints it
    path.write_text(APT)
    r = dockopt(cwd, "check", "--fix-only")
    assert (r.code, r.out) == (0, "")
    assert "rm -rf /var/lib/apt/lists/*" in path.read_text()
    path.write_text(APT)
    assert dockopt(cwd, "check", "--fix-only", "--exit-non-zero-on-fix").code == 1
    path.write_text(APT)
    assert dockopt(cwd, "check", "--no-fix").code == 1
    assert path.read_text() == APT


def test_fixable_unfixable_and_safety_overrides(cwd: Path) -> None:
    path = write(cwd / "Dockerfile", APT)
    # DO201 (safe here) reported but not fixed; DO204 still fixed.
    r = dockopt(cwd, "fix", "--unfixable", "DO201", "--select", "DO201,DO204")
    assert "rm -rf /var/lib/apt/lists/*" in path.read_text()
    assert "--no-install-recommends" not in path.read_text()
    assert "DO201" in r.out and r.code == 1
    path.write_text(APT)
    r = dockopt(cwd, "check", "--fixable", "DO204", "--select", "DO201,DO204")
    marked = {line.split()[1] for line in r.out.splitlines() if line.endswith("[*]")}
    assert marked == {"DO204"}  # check and fix agree on what is fixable
    # DO204's safe fix demoted: it needs --unsafe-fixes now.
    r = dockopt(cwd, "fix", "--diff", "--extend-unsafe-fixes", "DL3009", "--select", "DO204")
    assert (r.code, r.out) == (0, "")
    # DO605's unsafe fix promoted: `fix` applies it without --unsafe-fixes.
    write(cwd / ".dockopt.toml", 'extend-safe-fixes = ["full-base-image"]\n')
    r = dockopt(cwd, "fix", "--diff", "--select", "DO605")
    assert r.code == 1 and "debian:12-slim" in r.out
    write(cwd / ".dockopt.toml", 'unfixable = ["DO2O4"]\n')
    r = dockopt(cwd, "check")
    assert r.code == 2 and "`unfixable`: unknown rule selector `DO2O4`" in r.err


def test_stdin_uses_the_context_of_stdin_filename(cwd: Path) -> None:
    write(cwd / "app" / "node_modules" / "x.js", "x" * 4096)
    write(cwd / "app" / "Dockerfile", "FROM debian:12\nCOPY . /app\n")
    text = (cwd / "app" / "Dockerfile").read_text()
    r = dockopt(cwd, "fix", "-", "--stdin-filename", "app/Dockerfile", "--unsafe-fixes",
                "--select", "DO603", input=text)
    assert r.out == text  # only the Dockerfile goes to stdout
    assert "not written in stdin mode: .dockerignore" in r.err
    assert not (cwd / "app" / ".dockerignore").exists()


def test_version_comes_from_the_package_metadata(cwd: Path) -> None:
    from importlib.metadata import version

    assert dockopt(cwd, "--version").out == f"dockopt {version('dockopt')}\n"


def test_python_dash_m_dockopt_runs_the_cli(cwd: Path) -> None:
    """`python -m dockopt` (the namespace package's own __main__, package/)."""
    from importlib.metadata import version

    run = subprocess.run([sys.executable, "-m", "dockopt", "--version"], cwd=cwd,
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, f"dockopt {version('dockopt')}\n"), run.stderr
    run = subprocess.run([sys.executable, "-m", "dockopt", "check", "--isolated", "-"],
                         cwd=cwd, input="FROM debian:12-slim\nRUN apt-get update\n",
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "DO204" in run.stdout, run.stderr


# --- snapshots -------------------------------------------------------------------------

SNAPSHOT_CASES = ("apt-install-recommends/basic", "root-user/python-useradd",
                  "add-for-local-file/simple", "add-for-local-file/crlf")
SNAPSHOT_FORMATS = ("text", "full", "json", "sarif", "gitlab", "junit", "checkstyle")


def _normalise(text: str, work: Path) -> str:
    from importlib.metadata import version

    return (text.replace(work.as_uri(), "file:///WORK")
            .replace(f'"{version("dockopt")}"', '"VERSION"'))


@pytest.mark.parametrize("case", [c for c in SNAPSHOT_CASES
                                  if (ROOT / "golden" / c / "Dockerfile").is_file()])
@pytest.mark.parametrize("fmt", SNAPSHOT_FORMATS)
def test_output_snapshots(case: str, fmt: str, cwd: Path) -> None:
    (cwd / "Dockerfile").write_bytes((ROOT / "golden" / case / "Dockerfile").read_bytes())
    r = dockopt(cwd, "check", "--isolated", "--output-format", fmt)
    assert r.code in (0, 1), r.err
    got = _normalise(r.out, cwd)
    if fmt == "sarif":
        # The rules' full documentation is reviewed in docs/rules (generated, tested);
        # here only the format counts, so a docstring edit does not churn snapshots.
        doc = json.loads(got)
        for rule in doc["runs"][0]["tool"]["driver"]["rules"]:
            rule["fullDescription"]["text"] = f"<docs/rules/{rule['id']}.md>"
        got = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    snapshot = SNAPSHOTS / f"{case.replace('/', '--')}.{fmt}"
    if UPDATE or not snapshot.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {snapshot.name}: run with DOCKOPT_UPDATE_SNAPSHOTS=1")
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(got)
    assert got == snapshot.read_text(), f"{snapshot.name} changed (review, then update)"


def test_check_and_fix_count_the_same_issues(cwd: Path) -> None:
    """One source of truth: `fix`'s total is `check`'s count of the file as it is, and
    its "fixed" counts issues resolved, also those a first fix made fixable (DO204
    once DO202 merged the update), never more than the total."""
    text = ("FROM debian:12-slim\nRUN apt-get update\n"
            "RUN apt-get install -y --no-install-recommends curl\nRUN echo hi\n"
            "USER nobody\nCMD [\"curl\"]\n")
    write(cwd / "Dockerfile", text)
    write(cwd / ".dockerignore", ".git\n")
    check = dockopt(cwd, "check")
    total = int(re.search(r"Found (\d+) issues", check.err + check.out).group(1))
    fixable = int(re.search(r"\[\*\] (\d+) fixable", check.err + check.out).group(1))
    diff = dockopt(cwd, "fix", "--diff")
    m = re.search(r"Found (\d+) issues \((\d+) fixable, (\d+) remaining\)", diff.err)
    assert m, diff.err
    assert int(m.group(1)) == total
    assert fixable <= int(m.group(2)) <= total
    applied = dockopt(cwd, "fix")
    assert f"Found {total} issues ({m.group(2)} fixed, {m.group(3)} remaining)" in applied.err
    after = dockopt(cwd, "check")
    left = re.search(r"Found (\d+) issues?", after.err + after.out)
    assert left and int(left.group(1)) == int(m.group(3))


def test_fix_json_reports_what_was_fixed_and_what_remains(cwd: Path) -> None:
    write(cwd / "Dockerfile", APT)
    write(cwd / ".dockerignore", ".git\n")
    before = dockopt(cwd, "check", "--output-format", "json")
    r = dockopt(cwd, "fix", "--output-format", "json")
    assert r.code == 1, r.err  # findings remain at or above the threshold
    doc = json.loads(r.out)  # stdout is the JSON document and nothing else
    [entry] = doc["files"]
    assert entry["file"] == "Dockerfile" and entry["changed"] is True
    assert {f["code"] for f in entry["fixes"]} >= {"DO204"}
    assert all(f["diff"].startswith("diff --git a/Dockerfile b/Dockerfile\n")
               for f in entry["fixes"])
    # What remains is what `check` now says about the written file (DO603's message
    # counts the context's bytes, which the write changed: compared by place and code).
    after = json.loads(dockopt(cwd, "check", "--output-format", "json").out)

    def key(rec: dict[str, object]) -> tuple[object, ...]:
        return (rec["code"], rec["line"], rec["column"], rec["level"])
    assert [key(x) for x in entry["remaining"]] == [key(x) for x in after]
    summary = doc["summary"]
    assert summary["issues"] == len(json.loads(before.out))
    assert summary["remaining"] == len(after)
    assert summary["fixed"] == summary["issues"] - summary["remaining"]
    for args in (("--diff",), ("-",)):
        bad = dockopt(cwd, "fix", "--output-format", "json", *args, input=APT)
        assert bad.code == 2 and "cannot be combined" in bad.err and bad.out == ""
