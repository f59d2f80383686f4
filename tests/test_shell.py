"""Tests for dockopt.rewriter.shell: the structured view of RUN shell text."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockopt.rewriter import shell
from dockopt.rewriter.shell import (
    LogicalText,
    ShellScript,
    heredoc_interpreter,
    parse_shell,
)


def assert_offsets(script: ShellScript) -> None:
    """Every public offset is a str index into script.text and slices match."""
    n = len(script.text)
    for cmd in script.commands:
        assert 0 <= cmd.start <= cmd.end <= n
        for w in (*cmd.words, *cmd.env, *cmd.redirects):
            assert 0 <= w.start <= w.end <= n
            assert script.text[w.start : w.end] == w.text
            assert cmd.start <= w.start and w.end <= cmd.end
    for step in script.top_level:
        assert 0 <= step.start <= step.end <= n
    if script.trailing_comment_start is not None:
        assert script.text[script.trailing_comment_start] == "#"


def names(script: ShellScript) -> list[str | None]:
    return [c.name for c in script.commands]


def test_env_prefix_and_two_commands() -> None:
    text = (
        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl"
        " && rm -rf /var/lib/apt/lists/*"
    )
    s = parse_shell(text)
    assert_offsets(s)
    assert not s.has_errors
    apt, rm = s.commands
    assert [w.text for w in apt.env] == ["DEBIAN_FRONTEND=noninteractive"]
    assert apt.env[0].value == "DEBIAN_FRONTEND=noninteractive"
    assert apt.name == "apt-get"
    assert apt.args == ("install", "-y", "--no-install-recommends", "curl")
    assert apt.words[0].start == text.index("apt-get")
    assert apt.start == 0 and text[apt.end - 4 : apt.end] == "curl"
    assert rm.args == ("-rf", "/var/lib/apt/lists/*")  # globs are not expanded
    assert text[rm.start : rm.end] == "rm -rf /var/lib/apt/lists/*"
    assert [(st.operator_before, st.command) for st in s.top_level] == [(None, apt), ("&&", rm)]
    assert s.trailing_comment_start is None and s.trailing_operator is None


def test_assignment_after_name_is_an_argument() -> None:
    (make,) = parse_shell('A=1 B="x y" make CC=gcc install').commands
    assert [w.value for w in make.env] == ["A=1", "B=x y"]
    assert make.args == ("CC=gcc", "install")


def test_semicolons() -> None:
    s = parse_shell("set -eux; apt-get update; apt-get install -y a b; rm -rf /var/lib/apt/lists/*")
    assert_offsets(s)
    assert names(s) == ["set", "apt-get", "apt-get", "rm"]
    assert [st.operator_before for st in s.top_level] == [None, ";", ";", ";"]
    assert s.commands[2].args == ("install", "-y", "a", "b")


def test_all_operators_flattened() -> None:
    s = parse_shell("a && b || c | d |& e & f\ng; h &")
    assert_offsets(s)
    assert [(st.operator_before, st.kind) for st in s.top_level] == [
        (None, "command"),
        ("&&", "command"),
        ("||", "command"),
        ("|", "command"),
        ("|&", "command"),
        ("&", "command"),
        ("\n", "command"),
        (";", "command"),
    ]
    assert [st.command.name for st in s.top_level if st.command] == list("abcdefgh")
    assert s.trailing_operator == "&"


def test_quoting() -> None:
    s = parse_shell('echo "a b" \'c d\' e\\ f "x\\"y\\z" \'q\'"r"s $\'t\\tu\' $"v"')
    assert_offsets(s)
    (echo,) = s.commands
    assert echo.args == ("a b", "c d", "e f", 'x"y\\z', "qrs", "t\tu", "v")
    assert [w.text for w in echo.words[1:4]] == ['"a b"', "'c d'", "e\\ f"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"\\$HOME"', "$HOME"),
        ('"\\\\$HOME"', None),
        ("'$HOME'", "$HOME"),
        ('"a\\b"', "a\\b"),
        ("$'\\x41'", None),
        ("a\\*", "a*"),
        ('--opt="x y"', "--opt=x y"),
    ],
)
def test_word_values(raw: str, value: str | None) -> None:
    (cmd,) = parse_shell("echo " + raw).commands
    assert [w.text for w in cmd.words[1:]] == [raw]
    assert cmd.args == (value,)


def test_expansions_have_no_value() -> None:
    text = 'cp $HOME/x "${A}b" `id` $(id -u) $((1+2)) <(ls) "lit$" ~/y'
    s = parse_shell(text)
    assert_offsets(s)
    cp = s.commands[0]
    assert cp.args == (None, None, None, None, None, None, "lit$", "~/y")
    assert cp.words[1].text == "$HOME/x"
    assert cp.words[1].start == text.index("$HOME")


def test_nested_commands_found() -> None:
    text = (
        "echo $(uname -m) `date` && ( cd x && make ) ; curl -fsSL x | sh ; "
        "if [ -f y ]; then a1; elif b1; then c1; else d1; fi; "
        "for i in 1 2; do e1 $i; done; while f1; do g1; done; { h1; }; case $x in k) i1;; esac"
    )
    s = parse_shell(text)
    assert_offsets(s)
    assert not s.has_errors
    assert names(s) == [
        "echo",
        "uname",
        "date",
        "cd",
        "make",
        "curl",
        "sh",
        "a1",
        "b1",
        "c1",
        "d1",
        "e1",
        "f1",
        "g1",
        "h1",
        "i1",
    ]
    kinds = [st.kind for st in s.top_level]
    assert kinds == [
        "command",
        "subshell",
        "command",
        "command",
        "if_statement",
        "for_statement",
        "while_statement",
        "compound_statement",
        "case_statement",
    ]
    assert [st.operator_before for st in s.top_level][:4] == [None, "&&", ";", "|"]


def test_trailing_comment() -> None:
    text = "apt-get install x # note"
    s = parse_shell(text)
    assert_offsets(s)
    assert s.trailing_comment_start == text.index("#")
    assert s.commands[0].args == ("install", "x")
    assert s.commands[0].end == text.index(" #")
    assert s.top_level[-1].end == text.index(" #")
    # a hash inside a word or quotes is not a comment; neither is a comment before more code
    assert parse_shell("echo a#b '# c'").trailing_comment_start is None
    assert parse_shell("a # x\nb").trailing_comment_start is None
    assert parse_shell("a # x\n  ").trailing_comment_start == 2


def test_redirects() -> None:
    text = "2>/dev/null FOO=1 cmd a > out.txt b 2>&1"
    s = parse_shell(text)
    assert_offsets(s)
    (cmd,) = s.commands
    assert [w.text for w in cmd.redirects] == ["2>/dev/null", "> out.txt", "2>&1"]
    assert [w.text for w in cmd.env] == ["FOO=1"]
    # the shell treats `b` as an argument even though tree-sitter hangs it on the redirect
    assert cmd.name == "cmd" and cmd.args == ("a", "b")
    assert (cmd.start, cmd.end) == (0, len(text))
    assert s.top_level[0].command is cmd


def test_redirect_after_list_binds_to_last_command() -> None:
    text = "a && b | c 2>y >z; ! d > x"
    s = parse_shell(text)
    assert_offsets(s)
    a, b, c, d = s.commands
    assert (a.redirects, b.redirects) == ((), ())
    assert [w.text for w in c.redirects] == ["2>y", ">z"]
    assert text[c.start : c.end] == "c 2>y >z"
    assert [w.text for w in d.redirects] == ["> x"]
    assert [(st.operator_before, st.kind) for st in s.top_level] == [
        (None, "command"),
        ("&&", "command"),
        ("|", "command"),
        (";", "negated_command"),
    ]
    assert s.top_level[2].end == text.index(";")


def test_redirected_compound_step_kind() -> None:
    s = parse_shell("( cd x && make ) > log 2>&1 && { a; } 2>/dev/null")
    assert [(st.kind, st.operator_before) for st in s.top_level] == [
        ("subshell", None),
        ("compound_statement", "&&"),
    ]
    assert s.top_level[0].end == s.text.index(" && {")
    assert all(c.redirects == () for c in s.commands)


def test_assignments_and_declarations_are_commands() -> None:
    s = parse_shell("export A=1 B; unset X; FOO=1; A=1 B=2; cd /src")
    assert_offsets(s)
    assert names(s) == ["export", "unset", None, None, "cd"]
    assert s.commands[0].args == ("A=1", "B")
    assert [w.text for w in s.commands[3].env] == ["A=1", "B=2"]
    assert all(st.kind == "command" for st in s.top_level)


def test_find_and_resolved_name() -> None:
    s = parse_shell(
        "sudo -u root apt-get update && /usr/bin/apt-get install -y x"
        " && env -i A=1 B=2 apt-get clean && sudo env X=1 apt-get purge y"
        " && apt-cache show x && command -v apt-get && sudo -i"
    )
    assert_offsets(s)
    found = list(s.find("apt-get"))
    assert [c.resolved_args[0].value for c in found] == ["update", "install", "clean", "purge"]
    assert found[1].name == "/usr/bin/apt-get"
    assert found[0].words[found[0].resolved_index or 0].text == "apt-get"
    assert [c.resolved_name for c in s.commands[-2:]] == ["command", "sudo"]
    (sudo,) = parse_shell("sudo FOO=1 -E apt-get x").commands
    assert sudo.resolved_name == "apt-get" and sudo.env == ()
    assert parse_shell("$APT install x").commands[0].resolved_name is None


def test_non_ascii_offsets() -> None:
    text = 'écho "é" ü && 日本 x 🐳 && echo \udcff z'
    s = parse_shell(text)
    assert_offsets(s)
    assert names(s) == ["écho", "日本", "echo"]
    assert s.commands[1].args == ("x", "🐳")
    assert s.commands[2].words[2].start == text.index("z")


def test_errors_flagged_not_raised() -> None:
    for text in ["echo 'unterminated", "if true; then", "a &&", "cat <<EOF > /x", ")", ""]:
        s = parse_shell(text)
        assert_offsets(s)
        assert s.has_errors == (text != "")


SHELLY = list("ab $'\"\\`(){};&|<>#=\n\t-é🐳\udcff*~!")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(SHELLY)) | st.text())
def test_never_raises_offsets_in_bounds(text: str) -> None:
    assert_offsets(parse_shell(text))


# ------------------------------------------------------------------ LogicalText


def join_continuations(physical: str, start: int) -> LogicalText:
    """BuildKit-like joining of a RUN body: drop `\\`, spaces after it and the newline."""
    pieces: list[tuple[int, int, int]] = []
    text = ""
    pos = start
    while pos < len(physical):
        nl = physical.find("\n", pos)
        line_end = len(physical) if nl < 0 else nl
        line = physical[pos:line_end]
        content = line.rstrip(" \t")
        cont = content.endswith("\\")
        keep = len(content) - 1 if cont else len(line)
        if keep:
            pieces.append((len(text), pos, keep))
            text += physical[pos : pos + keep]
        if not cont:
            break
        pos = line_end + 1
    return LogicalText(text, tuple(pieces))


def test_logical_text_three_lines() -> None:
    physical = "RUN apt-get update \\\n    && apt-get install -y curl \\\n    && rm -rf /x\n"
    lt = join_continuations(physical, 4)
    assert lt.text == "apt-get update     && apt-get install -y curl     && rm -rf /x"
    assert lt.pieces == ((0, 4, 15), (15, 21, 31), (46, 54, 16))
    for i, ch in enumerate(lt.text):
        assert physical[lt.to_physical(i)] == ch
        assert physical[lt.to_physical_end(i)] == ch or i in (15, 46)
    # boundaries: start of the next line's content vs. before the ` \` of the previous line
    assert lt.to_physical(15) == physical.index("    && apt-get install")
    assert lt.to_physical_end(15) == physical.index("\\")
    assert lt.to_physical(len(lt.text)) == physical.index("\n", 54)
    assert lt.to_physical_end(len(lt.text)) == lt.to_physical(len(lt.text))
    assert lt.to_physical(0) == lt.to_physical_end(0) == 4
    with pytest.raises(ValueError):
        lt.to_physical(len(lt.text) + 1)

    # end-to-end: insert a flag after `install` on the right physical line
    s = parse_shell(lt.text)
    (install,) = [c for c in s.find("apt-get") if c.args[:1] == ("install",)]
    at = lt.to_physical(install.words[1].end)
    edited = physical[:at] + " --no-install-recommends" + physical[at:]
    assert "    && apt-get install --no-install-recommends -y curl \\\n" in edited
    # append after the last step: lands before the final newline
    at = lt.to_physical(s.top_level[-1].end)
    assert physical[:at] + " && true" + physical[at:] == physical[:-1] + " && true\n"


def test_logical_text_validation() -> None:
    with pytest.raises(ValueError):
        LogicalText("abc", ((0, 0, 2),))
    with pytest.raises(ValueError):
        LogicalText("abc", ((0, 0, 1), (2, 5, 1)))
    with pytest.raises(ValueError):
        LogicalText("abc", ((0, 0, 0), (0, 0, 3)))
    assert LogicalText.identity("ab", 7).to_physical(1) == 8


# ------------------------------------------------------------------ heredocs


@pytest.mark.parametrize(
    ("line", "body", "expected"),
    [
        ("<<EOF", "#!/usr/bin/env python3\nprint(1)\n", "python3"),
        ("<<EOF", "#!/usr/bin/env -S python3 -u\nprint(1)\n", "python3"),
        ("<<EOF", "#!/bin/bash -e\necho\n", "bash"),
        ("<<EOF", "apt-get update\n", "sh"),
        ("<<-'EOF'", "echo\n", "sh"),
        ("<<EOF python3", "print(1)\n", "python3"),
        ("python3 <<EOF", "print(1)\n", "python3"),
        ('python3 <<"EOF"', "#!/bin/bash\n", "python3"),
        ("--mount=type=cache,target=/x <<EOF bash -ex", "echo\n", "bash"),
        ("cat <<EOF > /etc/x", "data\n", "cat"),
        ("python3 <<EOF && echo done", "print(1)\n", "python3"),
        ("echo start && python3 <<EOF", "print(1)\n", "python3"),
        ("$PY <<EOF", "print(1)\n", None),
        ("( python3 ) <<EOF", "print(1)\n", None),
        ("apt-get update", "", None),
        ('cat <<<"x"', "", None),
        ("<<EOF", "#!\n", None),
    ],
)
def test_heredoc_interpreter(line: str, body: str, expected: str | None) -> None:
    assert heredoc_interpreter(line, body) == expected


# ------------------------------------------------------------------ import cost


def run_python(code: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_no_segfault_on_brace_then_astral_char() -> None:
    """tree-sitter-bash#337: `{` then a 4-byte UTF-8 char crashed the process (SIGSEGV)."""
    code = (
        "from dockopt.rewriter.shell import parse_shell\n"
        "for t in ['s{\\U000e0000', '{\\U00031860', 's{\\U0007c5cc}', 'echo {a,\\U0001f433}']:\n"
        "    for _ in range(300):\n"
        "        s = parse_shell(t)\n"
        "assert parse_shell('echo {\\U0001f433}').commands[0].args == ('{\\U0001f433}',)\n"
    )
    run_python(code)


def test_import_is_lazy() -> None:
    code = (
        "import sys, dockopt.rewriter.shell as m\n"
        "assert 'tree_sitter' not in sys.modules\n"
        "m.parse_shell('true')\n"
        "assert 'tree_sitter' in sys.modules\n"
    )
    run_python(code)


def _capture_sets(found: dict[str, list[Any]]) -> dict[str, set[tuple[int, int, str]]]:
    return {name: {(n.start_byte, n.end_byte, n.type) for n in nodes}
            for name, nodes in found.items() if nodes}


def test_the_walk_captures_what_the_query_captures(monkeypatch: pytest.MonkeyPatch) -> None:
    # A process walks its first trees and queries the rest (rewriter/shell.py,
    # _captures): both must find the same nodes, over every RUN of the golden cases.
    from pathlib import Path

    from dockopt.rewriter.syntax import parse

    golden = Path(__file__).resolve().parent.parent / "golden"
    scripts = {"echo a > b; x=1 y=2 cmd # c\n", "export A=1; unset B; declare -x C\n",
               "if true; then { a | b; } 2>&1; fi", "f() { local x=$(y); }; (z) &"}
    for path in sorted(golden.rglob("Dockerfile")):
        tree = parse(path.read_text("utf-8", "surrogateescape"))
        for ins in tree.instructions:
            source = ins.shell_source() if ins.keyword == "RUN" else None
            if source is not None:
                scripts.add(source.text)
    assert len(scripts) > 300, len(scripts)
    parser = shell._parser()
    for text in sorted(scripts):
        root = parser.parse(text.encode("utf-8", "surrogatepass")).root_node
        monkeypatch.setattr(shell, "_walked", 0)
        walked = shell._captures(root)
        queried = shell._cursor().captures(root)
        assert _capture_sets(walked) == _capture_sets(queried), text
