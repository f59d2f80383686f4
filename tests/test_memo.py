"""The per-process memo of pure text functions (rewriter.shell.TextMemo) and its users:
bounded by characters, the oldest evicted first, results equal to a fresh
computation."""

from __future__ import annotations

from dockopt.rewriter import buildkit as bk
from dockopt.rewriter import shell, syntax
from dockopt.rewriter.shell import TextMemo


def test_memo_evicts_the_oldest_within_the_budget() -> None:
    memo = TextMemo(160)
    for i, key in enumerate("abcdefghi"):
        memo.put(key, i, 20)
    assert memo.chars == 160  # nine entries of twenty: the oldest one went
    assert memo.get("a") is None
    assert memo.get("b") == 1 and memo.get("i") == 8  # a hit does not reorder
    assert len(memo) == 8
    memo.put("j", 9, 20)
    assert [memo.get(k) for k in "bcij"] == [None, 2, 8, 9]
    assert memo.chars == 160


def test_a_full_memo_of_distinct_texts_keeps_the_newest() -> None:
    """A big file: every text new, every put an eviction (the memo keeps its order in
    an OrderedDict: a plain dict walked its deleted front slots on each eviction)."""
    memo = TextMemo(1000)
    for i in range(100_000):
        memo.put(f"RUN echo step{i}", i, 10)
        if i % 7 == 0:
            memo.put(f"RUN echo step{i}", -i, 10)  # replaced: moves to the newest end
    assert memo.chars == 1000 and len(memo) == 100
    assert [memo.get(f"RUN echo step{i}") for i in range(99_900, 100_000, 33)] == [
        -99_900 if 99_900 % 7 == 0 else 99_900, 99_933, 99_966, 99_999]
    assert memo.get("RUN echo step99899") is None


def test_memo_does_not_keep_a_text_above_an_eighth_of_the_budget() -> None:
    memo = TextMemo(80)
    memo.put("small", 1, 10)
    memo.put("big", 2, 11)
    assert memo.get("big") is None and memo.get("small") == 1
    memo.put("small", 3, 10)  # replacing an entry does not count it twice
    assert memo.chars == 10 and memo.get("small") == 3


def test_parse_shell_hands_out_one_immutable_parse_per_text() -> None:
    text = "apt-get update && apt-get install -y curl >/dev/null 2>&1 # done"
    first = shell.parse_shell(text)
    assert shell.parse_shell(text) is first
    assert shell._parse(text) == first  # equal to a fresh parse, field by field
    assert [w.value for c in first.commands for w in c.words] == \
        ["apt-get", "update", "apt-get", "install", "-y", "curl"]


def test_parse_shell_memo_stays_within_its_budget() -> None:
    memo = shell._memo
    for i in range(2000):
        shell.parse_shell(f"echo {i} " + "x" * 300)
    assert 0 < memo.chars <= memo.budget


def test_instruction_meanings_are_shared_and_equal_to_a_fresh_interpretation() -> None:
    tree = syntax.parse("FROM debian:12\nRUN echo a\nRUN echo a\n")
    one, two = tree.instructions[1:]
    assert one.meaning is two.meaning
    assert one.meaning == bk.interpret("RUN echo a", "\\")
    # A rejected line is not kept: it raises, and is reported, each time.
    for _ in range(2):
        (_, env) = syntax.parse("FROM debian:12\nENV A\n").instructions
        assert env.meaning is None and env.error is not None
        assert "must have two arguments" in env.error.message
