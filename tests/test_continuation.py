"""The parser tells a continuation line without its regex (syntax._continuation_at):
it must agree with the regex on every line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockopt.rewriter import syntax


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="a \t\\`\r\f#", max_size=12), st.sampled_from(["\\", "`"]))
def test_continuation_at_agrees_with_the_regex(token: str, esc: str) -> None:
    m = syntax._CONTINUATION[esc].search(token)
    assert syntax._continuation_at(token, esc) == (m.start() if m else -1)


def test_continuation_lines_parse_as_before() -> None:
    # An escaped escape at the end of a line ends the instruction (`p \\\` too).
    text = ("FROM a\nRUN x \\\n  y \\\\\nRUN z \\ \t\n  w\n# escape doc\n"
            "RUN p \\\\\\\n  q\n")
    tree = syntax.parse(text)
    assert [i.original for i in tree.instructions] == \
        ["FROM a", "RUN x   y \\\\", "RUN z   w", "RUN p \\\\\\", "q"]
    assert "".join(s for i in tree.instructions for s in
                   (text[g.start:g.end] for g in i.segments)) == \
        "".join(i.text for i in tree.instructions)
