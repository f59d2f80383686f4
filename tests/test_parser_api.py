"""The tree's public API: stages, comments, line endings, shell view, heredocs, edits."""

from __future__ import annotations

import pytest

from dockopt.rewriter.syntax import Comment, Heredoc, Instruction, parse

try:
    import dockerfile
except ImportError:  # pragma: no cover - a test extra
    dockerfile = None

MULTI = """\
ARG BASE=alpine
ARG TAG
# build stage
FROM --platform=$BUILDPLATFORM golang:1.22 AS Build
RUN go build
FROM ${BASE}:${TAG}
ARG LATE
COPY --from=build /out /out
from scratch as FINAL
"""


def test_stages() -> None:
    tree = parse(MULTI)
    stages = tree.stages
    assert [s.index for s in stages] == [0, 1, 2]
    assert [s.name for s in stages] == ["build", None, "final"]  # lower-cased
    assert [s.base for s in stages] == ["golang:1.22", "${BASE}:${TAG}", "scratch"]
    assert [s.platform for s in stages] == ["$BUILDPLATFORM", None, None]
    assert [s.from_instruction.start_line for s in stages] == [4, 6, 9]
    assert [[i.keyword for i in s.instructions] for s in stages] == [
        ["FROM", "RUN"], ["FROM", "ARG", "COPY"], ["FROM"]]
    assert [i.keyword for i in stages[1].body] == ["ARG", "COPY"]
    # Only ARGs before the first FROM are global.
    assert [g.value for g in tree.global_args] == [("BASE=alpine",), ("TAG",)]


def test_no_from_means_no_stages() -> None:
    tree = parse("ARG A\nRUN x\n")
    assert tree.stages == ()
    assert len(tree.global_args) == 1


def test_owned_comments() -> None:
    text = "# not owned\n\n# one\n  # two\nRUN a\nRUN b\n# three\n\nRUN c\n"
    tree = parse(text)
    a, b, c = tree.instructions
    owned = tree.owned_comments(a)
    assert all(isinstance(x, Comment) for x in owned)
    assert [x.content for x in owned] == ["one", "two"]
    assert tree.owned_comments(b) == ()
    assert tree.owned_comments(c) == ()  # a blank line breaks ownership


def test_newline() -> None:
    assert parse("FROM a\r\nRUN b\r\n").newline == "\r\n"
    assert parse("FROM a\nRUN b\n").newline == "\n"
    assert parse("FROM a").newline == "\n"
    crlf = parse("FROM a\r\nRUN b \\\r\n  c\r\n")
    run = crlf.instructions[1]
    assert [crlf.text[s.start:s.end] for s in run.segments if s.kind == "eol"] == ["\r\n"] * 2
    assert run.value == ("b   c",)  # the CR is not part of the logical line


RUN3 = """\
FROM a
RUN apt-get update && \\
    # install things
    apt-get install -y curl \\
  && rm -rf /var/lib/apt/lists/*
"""


def test_shell_source_of_continued_run() -> None:
    tree = parse(RUN3)
    run = tree.instructions[1]
    src = run.shell_source()
    assert src is not None
    expected = "apt-get update &&     apt-get install -y curl   && rm -rf /var/lib/apt/lists/*"
    assert src.text == expected
    assert run.value == (expected,)
    if dockerfile is not None:
        assert dockerfile.parse_string(RUN3)[1].value[0] == src.text
    # Every logical character maps to the same character in the file.
    for i, ch in enumerate(src.text):
        assert RUN3[src.to_physical(i)] == ch
    for ls, ps, n in src.pieces:
        assert RUN3[ps:ps + n] == src.text[ls:ls + n]
    assert "# install things" not in src.text
    assert [s.kind for s in run.segments] == [
        "code", "escape", "eol", "comment", "code", "escape", "eol", "code", "eol"]
    assert (run.start_line, run.end_line) == (2, 5)


def test_shell_source_none_for_exec_form_and_others() -> None:
    tree = parse('FROM a\nRUN ["echo", "hi"]\nCMD ["x"]\nENV A=b\nRUN\nCMD echo hi\n')
    run_json, cmd_json, env, empty, cmd = tree.instructions[1:]
    assert run_json.is_json and run_json.shell_source() is None
    assert cmd_json.shell_source() is None
    assert env.shell_source() is None
    assert empty.shell_source() is None
    src = cmd.shell_source()
    assert src is not None and src.text == "echo hi"


def test_shell_source_after_flags_and_onbuild() -> None:
    text = "FROM a\nRUN --mount=type=cache,target=/x  apt-get  update \nONBUILD run  echo x\n"
    tree = parse(text)
    src = tree.instructions[1].shell_source()
    assert src is not None and src.text == "apt-get  update"
    assert text[src.to_physical(0):].startswith("apt-get")
    ob = tree.instructions[2]
    assert (ob.keyword, ob.sub_keyword) == ("ONBUILD", "RUN")
    src2 = ob.shell_source()
    assert src2 is not None and src2.text == "echo x"
    assert text[src2.to_physical(0):src2.to_physical(0) + 6] == "echo x"


def test_heredoc_docs() -> None:
    text = ("FROM a\n"
            "RUN <<-EOF 3<<'DATA' cat >/x\n"
            "\techo $HOME\n"
            "\tEOF\n"
            "raw $HOME\n"
            "DATA\n"
            'COPY <<"CFG" /etc/cfg\n'
            "k=v\n"
            "CFG\n")
    tree = parse(text)
    run, copy = tree.instructions[1:]
    body1, body2, after = text.index("\techo"), text.index("raw"), text.index("COPY")
    assert run.heredoc_docs == (
        Heredoc("EOF", "\techo $HOME\n", 0, True, True, body1, body2),
        Heredoc("DATA", "raw $HOME\n", 3, False, False, body2, after),
    )
    assert run.end == after
    assert run.heredocs == (("EOF", "\techo $HOME\n"), ("DATA", "raw $HOME\n"))
    assert (run.start_line, run.end_line) == (2, 6)
    (cfg,) = copy.heredoc_docs
    assert (cfg.name, cfg.content, cfg.fd, cfg.chomp, cfg.expand) == ("CFG", "k=v\n", 0,
                                                                       False, False)
    assert [s.kind for s in run.segments] == ["code", "eol", "heredoc", "terminator",
                                              "heredoc", "terminator"]
    if dockerfile is not None:
        theirs = dockerfile.parse_string(text)
        assert [(h.name, h.file_descriptor, h.content) for h in theirs[1].heredocs] == [
            (h.name, h.fd, h.content) for h in run.heredoc_docs]


def test_keyword_views() -> None:
    tree = parse("from a\nonbuild Copy --chown=1:1 x y\nHealthCheck --interval=5s CMD ls\n")
    frm, ob, hc = tree.instructions
    assert (frm.keyword, frm.raw_keyword) == ("FROM", "from")
    # Like BuildKit, ONBUILD's own flags are those before the inner keyword.
    assert (ob.keyword, ob.sub_keyword, ob.flags, ob.value) == ("ONBUILD", "COPY", (),
                                                                ("x", "y"))
    assert ob.meaning is not None and ob.meaning.sub is not None
    assert ob.meaning.sub.flags == ("--chown=1:1",)
    assert ob.args.text == "x y"
    assert (hc.keyword, hc.flags, hc.value) == ("HEALTHCHECK", ("--interval=5s",),
                                                ("CMD", "ls"))


def test_diagnostic_format() -> None:
    tree = parse("FROM a\nFOO x\n")
    (d,) = tree.diagnostics
    assert d.format("Dockerfile") == "Dockerfile:2:1: DP101 unknown instruction: FOO"


# --- edits ----------------------------------------------------------------------------

edit = pytest.importorskip("dockopt.rewriter.edit")

BASE = "FROM a\n# about b\nRUN b \\\n    && c\nCMD d\n"


def test_replace_keeps_everything_else() -> None:
    tree = parse(BASE)
    run = tree.instructions[1]
    out = tree.replace(run, "RUN z").render()
    assert out == "FROM a\n# about b\nRUN z\nCMD d\n"


def test_insert_before_goes_above_owned_comments() -> None:
    tree = parse(BASE)
    out = tree.insert_before(tree.instructions[1], "ENV X=1").render()
    assert out == "FROM a\nENV X=1\n# about b\nRUN b \\\n    && c\nCMD d\n"


def test_insert_after_and_delete() -> None:
    tree = parse(BASE)
    out = tree.insert_after(tree.instructions[1], "USER u").render()
    assert out == "FROM a\n# about b\nRUN b \\\n    && c\nUSER u\nCMD d\n"
    assert tree.delete(tree.instructions[1]).render() == "FROM a\nCMD d\n"
    assert tree.delete(tree.instructions[1], with_comments=False).render() == \
        "FROM a\n# about b\nCMD d\n"


def test_edits_follow_crlf_and_missing_final_newline() -> None:
    tree = parse("FROM a\r\nCMD d")
    out = tree.insert_after(tree.instructions[1], "USER u\n").render()
    assert out == "FROM a\r\nCMD d\r\nUSER u"
    out2 = tree.insert_before(tree.instructions[1], "USER u").render()
    assert out2 == "FROM a\r\nUSER u\r\nCMD d"


def test_edit_shell_lands_on_the_right_line() -> None:
    tree = parse(RUN3)
    run = tree.instructions[1]
    src = run.shell_source()
    assert src is not None
    at = src.text.index("-y") + len("-y")
    out = tree.edit_shell(run, at, at, " --no-install-recommends").render()
    assert out == RUN3.replace("-y curl", "-y --no-install-recommends curl")
    new_src = parse(out).instructions[1].shell_source()
    assert new_src is not None and "--no-install-recommends curl" in new_src.text


def test_edit_rejects_a_stale_node() -> None:
    tree = parse(BASE)
    other = parse("FROM a\nRUN zzz\n")
    stale = other.instructions[1]
    assert isinstance(stale, Instruction)
    with pytest.raises(ValueError):
        tree.replace(stale, "RUN y")
