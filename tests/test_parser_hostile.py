"""Hostile input: the parser never raises, always round-trips, and says what is wrong.

Where BuildKit's own parser (the ``dockerfile`` package) can take the input, its
verdict is checked too: it rejects exactly when we report an error.
"""

from __future__ import annotations

import pytest

from dockopt.rewriter.syntax import Blank, Comment, Directive, Dockerfile, Instruction, parse

try:
    import dockerfile
except ImportError:  # pragma: no cover - a test extra
    dockerfile = None


def rt(text: str) -> Dockerfile:
    tree = parse(text)
    assert tree.render() == text
    assert tree.bom + "".join(i.text for i in tree.items) == text
    for ins in tree.instructions:
        assert "".join(text[s.start:s.end] for s in ins.segments) == ins.text
    return tree


def codes(tree: Dockerfile) -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.severity) for d in tree.diagnostics]


def buildkit(text: str) -> list[tuple[str, tuple[str, ...], int, int]] | str:
    """BuildKit's (cmd, value, start_line, end_line) list, or its error message."""
    if dockerfile is None:
        pytest.skip("the dockerfile package is not installed")
    try:
        cmds = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return str(exc)
    return [(c.cmd, tuple(c.value), c.start_line, c.end_line) for c in cmds]


def ours(tree: Dockerfile) -> list[tuple[str, tuple[str, ...], int, int]]:
    return [(i.raw_keyword, i.value, i.start_line, i.end_line) for i in tree.instructions]


def test_empty_file() -> None:
    tree = rt("")
    assert tree.items == () and tree.instructions == ()
    assert codes(tree) == [("DP107", 1, "error")]
    assert buildkit("") == "file with no instructions"


def test_only_comments() -> None:
    text = "# one\n   # two\n#\n"
    tree = rt(text)
    assert [type(i) for i in tree.items] == [Comment, Comment, Comment]
    assert [c.content for c in tree.items if isinstance(c, Comment)] == ["one", "two", ""]
    assert codes(tree) == [("DP107", 3, "error")]
    assert tree.has_errors
    assert buildkit(text) == "file with no instructions"


def test_100k_character_line() -> None:
    text = "FROM a\nRUN echo " + "a" * 100_000 + "\nCMD x\n"
    tree = rt(text)
    assert ("DP105", 2, "error") in codes(tree)
    assert [i.keyword for i in tree.instructions] == ["FROM", "RUN", "CMD"]
    assert tree.instructions[1].end == len(text) - len("CMD x\n")
    assert "greater than max allowed size" in str(buildkit(text))


def test_long_line_under_the_limit_is_fine() -> None:
    text = "FROM a\nRUN echo " + "a" * 60_000 + "\n"
    tree = rt(text)
    assert not tree.has_errors
    assert ours(tree) == buildkit(text)


def test_nul_bytes() -> None:
    text = "FROM a\x00b\nRUN echo \x00 x\n\x00\n"
    tree = rt(text)
    assert tree.instructions[1].value == ("echo \x00 x",)
    # A line holding only NUL is an (unknown) instruction named "\x00".
    assert tree.instructions[2].raw_keyword == "\x00"
    assert tree.instructions[2].passthrough


def test_invalid_utf8_round_trips_to_the_same_bytes() -> None:
    data = b"FROM a\nRUN echo \xff\xfe\xc3 \\\n  ok\n# \x80 comment\nLABEL k=\xe9\n"
    text = data.decode("utf-8", "surrogateescape")
    tree = rt(text)
    assert tree.render().encode("utf-8", "surrogateescape") == data
    assert ("DP108", 2, "warning") in codes(tree)
    assert not tree.has_errors
    run = tree.instructions[1]
    assert (run.start_line, run.end_line) == (2, 3)
    assert run.value == ("echo \udcff\udcfe\udcc3   ok",)
    assert tree.instructions[2].value == ("k", "\udce9")


def test_lone_cr_is_not_a_line_break() -> None:
    text = "FROM a\rRUN b\n"
    tree = rt(text)
    assert len(tree.instructions) == 1
    assert tree.instructions[0].value == ("a", "RUN", "b")
    assert ours(tree) == buildkit(text)


def test_mixed_line_endings() -> None:
    text = "FROM a\r\nRUN b \\\r\n c\rd\nCMD e\r"
    tree = rt(text)
    assert ours(tree) == buildkit(text) == [
        ("FROM", ("a",), 1, 1), ("RUN", ("b  c\rd",), 2, 3), ("CMD", ("e",), 4, 4)]
    run = tree.instructions[1]
    eols = [text[s.start:s.end] for s in run.segments if s.kind == "eol"]
    assert eols == ["\r\n", "\n"]
    assert tree.newline == "\r\n"  # two CRLF against one LF
    assert parse("a\r\nb\n").newline == "\n"  # a tie goes to LF


def test_unterminated_heredoc_spans_to_eof() -> None:
    text = "FROM a\nRUN <<EOF\necho hi\n\nFROM b\n"
    tree = rt(text)
    assert codes(tree) == [("DP103", 2, "error")]
    run = tree.instructions[-1]
    assert len(tree.instructions) == 2
    assert (run.end, run.start_line, run.end_line) == (len(text), 2, 5)
    assert run.heredocs == (("EOF", "echo hi\n\nFROM b\n"),)
    assert run.error is not None and run.passthrough
    assert buildkit(text) == "unterminated heredoc"


def test_continuation_at_eof() -> None:
    text = "FROM a\nRUN a \\"
    tree = rt(text)
    run = tree.instructions[-1]
    assert run.end == len(text) and run.text == "RUN a \\"
    assert [s.kind for s in run.segments] == ["code", "escape"]
    assert not tree.has_errors
    assert ours(tree) == buildkit(text) == [("FROM", ("a",), 1, 1), ("RUN", ("a",), 2, 2)]


def test_escape_directive_after_a_comment_does_not_count() -> None:
    text = "# hello\n# escape=`\nFROM a\nRUN a `\n b\n"
    tree = rt(text)
    assert tree.escape == "\\"
    assert [type(i) for i in tree.items[:2]] == [Comment, Comment]
    run = tree.instructions[1]
    assert (run.start_line, run.end_line) == (4, 4)  # not joined with the next line
    assert run.value == ("a `",)
    assert tree.instructions[2].raw_keyword == "b"
    assert ("DP101", 5, "warning") in codes(tree)
    assert ours(tree) == buildkit(text)


def test_escape_directive_after_a_blank_line_does_not_count() -> None:
    text = "\n# escape=`\nFROM a\nRUN a `\n b\n"
    tree = rt(text)
    assert tree.escape == "\\"
    assert [type(i) for i in tree.items[:2]] == [Blank, Comment]
    assert tree.directives == ()
    assert (tree.instructions[1].start_line, tree.instructions[1].end_line) == (4, 4)
    assert ours(tree) == buildkit(text)


def test_bom_then_directive_counts() -> None:
    text = "\ufeff# escape=`\nFROM a\nRUN a `\n b\n"
    tree = rt(text)
    assert tree.bom == "\ufeff"
    assert tree.escape == "`"
    assert isinstance(tree.items[0], Directive) and tree.items[0].start == 1
    assert tree.directive("escape") is not None
    run = tree.instructions[1]
    assert (run.start_line, run.end_line) == (3, 4)
    assert ours(tree) == buildkit(text) == [("FROM", ("a",), 2, 2), ("RUN", ("a  b",), 3, 4)]


def test_duplicate_escape_directive() -> None:
    text = "# escape=`\n# escape=\\\nFROM a\n"
    tree = rt(text)
    assert ("DP104", 2, "error") in codes(tree)
    assert tree.has_errors
    assert buildkit(text) == "only one escape parser directive can be used"


def test_invalid_escape_value() -> None:
    text = "# escape=x\nFROM a\n"
    tree = rt(text)
    assert ("DP104", 1, "error") in codes(tree)
    assert tree.escape == "\\"
    assert "invalid escape token" in str(buildkit(text))


def test_unknown_instruction_is_a_passthrough_warning() -> None:
    text = "FROM a\nFOO bar \\\n  baz\nRUN x\n"
    tree = rt(text)
    foo = tree.instructions[1]
    assert isinstance(foo, Instruction)
    assert foo.keyword == "FOO" and foo.passthrough and foo.error is None
    assert (foo.start_line, foo.end_line) == (2, 3)
    assert codes(tree) == [("DP101", 2, "warning")]
    assert not tree.has_errors
    assert not tree.instructions[2].passthrough
    assert ours(tree) == buildkit(text)


def test_rejected_instruction_is_kept_verbatim() -> None:
    text = "FROM a\nENV onlykey\nRUN x\n"
    tree = rt(text)
    env = tree.instructions[1]
    assert env.error is not None and env.error.code == "DP102" and env.passthrough
    assert env.text == "ENV onlykey\n"
    assert codes(tree) == [("DP102", 2, "error")]
    assert buildkit(text) == "ENV must have two arguments"


def test_empty_arguments_never_raise() -> None:
    # Semantic and logical views of instructions without arguments must not raise.
    text = ("FROM a\nRUN\nCMD   \nONBUILD RUN\nRUN --mount=type=cache,target=/x\n\\\n"
            "RUN \\\n# c\n  \\")
    tree = rt(text)
    assert len(tree.instructions) == 6  # the lone `\` line continues into `RUN \`
    assert ours(tree) == buildkit(text)
    for ins in tree.instructions[1:]:
        _ = ins.value, ins.flags, ins.logical
        assert ins.args.text == "", ins.text
        assert ins.shell_source() is None, ins.text
