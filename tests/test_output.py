"""The formatters (rewriter.output) and file discovery (rewriter.discover), as units."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockopt.rewriter.cli.output import (
    FileReport,
    LineIndex,
    check_summary,
    colorize_diff,
    first_changed_line,
    fix_summary,
    format_github,
    format_json,
    format_sarif,
    format_statistics,
    format_text,
    sarif_uri,
    use_color,
)
from dockopt.rewriter.discover import Missing, discover, display_path, is_dockerfile_name
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Edit, Finding, Fix, Safety


def finding(code: str = "DO201", line: int = 1, col: int = 1, *, fix: Fix | None = None,
            level: str = "warning", message: str = "msg") -> Finding:
    return Finding(code, f"name-{code}", message, line, col, line, col + 3,
                   level, fix)  # type: ignore[arg-type]


SAFE = Fix((Edit(0, 0, "x"),), Safety.SAFE, "do it")
UNSAFE = Fix((Edit(0, 0, "x"),), Safety.UNSAFE, "maybe")
DISPLAY = Fix((Edit(0, 0, "x"),), Safety.DISPLAY_ONLY, "look")


@pytest.mark.parametrize("text", [
    "", "FROM a\n", "FROM a", "FROM a\r\nRUN b\r\n", "\ufeffFROM \u00e9\nRUN x \\\n  y\n\n",
    "\n\n\n", "RUN a\rb\n",
])
def test_line_index_matches_the_tree(text: str) -> None:
    tree = parse(text)
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        assert index.line_col(offset) == tree.line_col(offset), offset


def test_use_color() -> None:
    assert use_color("always", False, {"NO_COLOR": "1"})
    assert not use_color("never", True, {})
    assert use_color("auto", True, {})
    assert not use_color("auto", False, {})
    assert not use_color("auto", True, {"NO_COLOR": "1"})
    assert use_color("auto", True, {"NO_COLOR": ""})  # empty means unset (no-color.org)
    assert use_color("auto", False, {"FORCE_COLOR": "1"})  # CI logs
    assert not use_color("auto", False, {"FORCE_COLOR": ""})
    assert not use_color("auto", True, {"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert not use_color("auto", True, {"TERM": "dumb"})
    assert use_color("always", True, {"TERM": "dumb"})


def test_colorize_diff() -> None:
    diff = ("# DO201 x: y [safe]\n--- a/D\n+++ b/D\n@@ -1,2 +1,2 @@\n ctx\n-old\n+new\n"
            "\\ No newline at end of file\n")
    assert colorize_diff(diff, False) == diff
    colored = colorize_diff(diff, True)
    lines = colored.splitlines()
    assert lines[1] == "\x1b[1m--- a/D\x1b[0m"
    assert lines[4] == " ctx"
    assert lines[5].startswith("\x1b[31m") and "-old" in lines[5]
    assert lines[6].startswith("\x1b[32m") and "+new" in lines[6]
    assert lines[7] == "\\ No newline at end of file"
    assert colored.count("\n") == diff.count("\n")


def test_first_changed_line() -> None:
    assert first_changed_line("--- a/D\n+++ b/D\n@@ -3,7 +3,8 @@\n a\n b\n c\n-d\n+e\n") == 6
    assert first_changed_line("--- a/D\n+++ b/D\n@@ -1 +1 @@\n-a\n+b\n") == 1
    assert first_changed_line("") is None


def test_text_markers_follow_unsafe_fixes() -> None:
    report = FileReport("D", "", (finding("A1", fix=SAFE), finding("A2", fix=UNSAFE),
                                  finding("A3", fix=DISPLAY), finding("A4")))
    safe_only = format_text([report]).splitlines()
    assert safe_only == ["D:1:1: A1 warning: msg [*]", "D:1:1: A2 warning: msg",
                         "D:1:1: A3 warning: msg", "D:1:1: A4 warning: msg"]
    with_unsafe = format_text([report], unsafe_fixes=True).splitlines()
    assert with_unsafe[1] == "D:1:1: A2 warning: msg [*]"
    assert with_unsafe[2] == "D:1:1: A3 warning: msg"  # display-only is never applied
    assert check_summary([report], unsafe_fixes=False) == (
        "Found 4 issues.\n[*] 1 fixable with `dockopt fix`.\n"
        "1 hidden fix can be enabled with the --unsafe-fixes option.\n")
    assert check_summary([report], unsafe_fixes=True) == (
        "Found 4 issues.\n[*] 2 fixable with `dockopt fix` --unsafe-fixes.\n")
    assert check_summary([FileReport("D", "", ())], unsafe_fixes=False) == (
        "All checks passed!\n")


def test_fix_summary() -> None:
    assert fix_summary(0, 0, 0, diff=False) == "All checks passed!\n"
    assert fix_summary(1, 0, 0, diff=False) == "Found 1 issue (1 fixed, 0 remaining).\n"
    assert fix_summary(2, 3, 2, diff=True) == (
        "Found 5 issues (2 fixable, 3 remaining).\n"
        "2 hidden fixes can be enabled with the --unsafe-fixes option.\n")


def test_json_edit_locations_span_lines() -> None:
    text = "FROM a\nRUN x \\\n  y\n"
    start, end = text.index("x"), text.index("y") + 1
    fix = Fix((Edit(end, end, " z"), Edit(start, end, "q")), Safety.UNSAFE, "m")
    record = json.loads(format_json([FileReport("D", text, (finding(fix=fix),))]))[0]
    # Edits come sorted by position, with 1-based rows and columns.
    assert record["fix"]["edits"] == [
        {"content": "q", "location": {"row": 2, "column": 5},
         "end_location": {"row": 3, "column": 4}},
        {"content": " z", "location": {"row": 3, "column": 4},
         "end_location": {"row": 3, "column": 4}},
    ]
    assert record["fix"]["applicability"] == "unsafe"


def test_github_escapes_properties_and_data() -> None:
    f = finding("A1", 2, 3, message="50% bad\nreally", level="error")
    out = format_github([FileReport("dir,x/a:b/Dockerfile", "", (f,))])
    assert out == ("::error file=dir%2Cx/a%3Ab/Dockerfile,line=2,col=3,endLine=2,endColumn=6,"
                   "title=A1 name-A1::A1 50%25 bad%0Areally\n")


def test_sarif_unknown_rule_has_no_index_and_absolute_uri(tmp_path: Path) -> None:
    path = str(tmp_path / "a b" / "Dockerfile")
    doc = json.loads(format_sarif([FileReport(path, "", (finding("ZZ1"),))], [],
                                  version="9"))
    result = doc["runs"][0]["results"][0]
    assert "ruleIndex" not in result
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("/a%20b/Dockerfile")
    assert doc["runs"][0]["tool"]["driver"]["version"] == "9"
    assert sarif_uri("x/y z") == "x/y%20z"
    # A name that is not UTF-8 (os.fsdecode's surrogate escapes): its raw byte, encoded.
    assert sarif_uri("d\udcff/Dockerfile") == "d%FF/Dockerfile"
    assert sarif_uri("/d\udcff/Dockerfile") == "file:///d%FF/Dockerfile"


def test_statistics_empty() -> None:
    assert format_statistics([]) == ""
    assert json.loads(format_statistics([], as_json=True)) == []


# --- discovery ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("Dockerfile", True), ("dockerfile", True), ("Containerfile", True),
    ("Dockerfile.dev", True), ("Dockerfile.prod.arm64", True), ("api.Dockerfile", True),
    ("api.dockerfile", True), ("Containerfile.x", True), ("x.Containerfile", True),
    ("Dockerfile.dockerignore", False), ("api.Dockerfile.dockerignore", False),
    (".dockerignore", False), ("Dockerfile.orig", False), ("Dockerfile.rej", False),
    ("Dockerfile~", False), ("Dockerfiles", False), ("MyDockerfile", False),
    ("docker-compose.yml", False), ("README.md", False),
])
def test_is_dockerfile_name(name: str, expected: bool) -> None:
    assert is_dockerfile_name(name) is expected


def test_discover_order_dedup_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("b/Dockerfile", "a/Dockerfile", "a/z/Dockerfile.x", "a/node_modules/Dockerfile"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("FROM a\n")
    found = list(discover(["./a", "b", "a/Dockerfile", "nope"]))
    assert found == [os.path.join("a", "Dockerfile"), os.path.join("a", "z", "Dockerfile.x"),
                     os.path.join("b", "Dockerfile"),
                     Missing("nope", "No such file or directory")]


def test_display_path(tmp_path: Path) -> None:
    base = str(tmp_path)
    assert display_path(str(tmp_path / "x" / "Dockerfile"), base) == "x/Dockerfile"
    outside = str(tmp_path.parent / "other" / "Dockerfile")
    assert display_path(outside, base) == outside
