"""The shell view's builder (rewriter/shell.py, ``_Builder``) and its word memo give
exactly what the builder gave before they were made leaner (issue 15): the old
builder is kept as the oracle in tests/shell_reference.py, and both run on the same
tree-sitter trees, over the golden cases' RUN texts, random texts and (``-m corpus``)
every RUN text of the shared corpus."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from shell_reference import reference_parse

from dockopt.rewriter import shell
from dockopt.rewriter.shell import ShellScript
from dockopt.rewriter.syntax import parse


def _facts(script: ShellScript) -> tuple[object, ...]:
    """Every field, also the derived ones that equality leaves out."""
    return (script, repr(script),
            [(c.resolved_name, c.resolved_args, c.name, c.args) for c in script.commands],
            [(s.command.resolved_name if s.command else None) for s in script.top_level])


def _assert_same(text: str) -> None:
    assert _facts(shell._parse(text)) == _facts(reference_parse(text)), repr(text)


def _run_texts(paths: list[Path]) -> set[str]:
    texts: set[str] = set()
    for path in paths:
        tree = parse(path.read_bytes().decode("utf-8", "surrogateescape"))
        for ins in tree.instructions:
            source = ins.shell_source() if ins.keyword == "RUN" else None
            if source is not None:
                texts.add(source.text)
            for doc in ins.heredoc_docs if ins.keyword == "RUN" else ():
                texts.add(doc.content)
    return texts


def _both_capture_paths(texts: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A process walks its first trees and queries the rest: hold both paths equal.
    for walked in (0, shell._WALK_NODES):
        monkeypatch.setattr(shell, "_walked", walked)
        for text in sorted(texts):
            _assert_same(text)
            monkeypatch.setattr(shell, "_walked", walked)


def test_the_builder_gives_the_old_view_on_the_golden_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    golden = Path(__file__).resolve().parent.parent / "golden"
    texts = _run_texts(sorted(golden.rglob("Dockerfile")))
    assert len(texts) > 300, len(texts)
    _both_capture_paths(texts, monkeypatch)


# Pieces that exercise every branch of the builder: redirects before, after and
# between words (and words after a redirect target), heredocs, assignments as env,
# as declarations and alone, wrappers, comments, compounds, pipelines, quoting of
# every kind, expansions, non-ASCII and astral text, and syntax errors.
_PIECES = [
    "apt-get", " install", " -y", " curl", " && ", " || ", "; ", " | ", " |& ", " & ", "\n",
    " >/dev/null", " 2>&1", " >f b", " <in", " >>log", " &>all", " <<<here",
    " <<EOF\nbody $x\nEOF\n", " <<-'E'\n\tq\nE\n", "cat <<EOF >out\nz\nEOF\n",
    " A=1", "B=2 ", "export C=3", "unset D", "declare -x E=4", "local F", "readonly G=5",
    "sudo -u root ", "env -i H=1 ", "command -v ", "exec ", "nice -n 5 ", "time ",
    " # comment", "#c\n", " 'single'", ' "dou$ble"', ' "plain"', " $'an\\tsi'",
    " $'\\x41'", ' $"tr"', " \\ ", " \\\n", " $(sub cmd)", " `bt`", " ${V:-d}", " $((1+2))",
    " <(ps)", " *.txt", " ~/x", " {a,b}", "(subshell)", "{ grp; }", "if true; then x; fi",
    "for i in 1 2; do echo $i; done", "f() { y; }", "! neg", "[[ -f x ]]", " é", " 日本",
    " \U0001f600", " {", " }", " '", ' "', " )", "case $x in a) b;; esac", " x=$(y z)",
]


def test_the_builder_gives_the_old_view_on_random_texts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(15)
    texts = {"".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 16)))
             for _ in range(1500)}
    _both_capture_paths(texts, monkeypatch)


@pytest.mark.corpus
def test_the_builder_gives_the_old_view_on_the_corpus(
        corpus_dockerfiles: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _run_texts(corpus_dockerfiles)
    assert len(texts) > 5000, len(texts)
    for text in sorted(texts):
        _assert_same(text)  # the query path: the process has walked its first trees
    monkeypatch.setattr(shell, "_WALK_NODES", 1 << 62)  # and the walk, on every text
    for text in sorted(texts):
        _assert_same(text)


def test_the_word_memo_gives_unquote_and_stays_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    memo = shell._Unquoted()
    words = ["a", "'q'", '"$x"', "$'\\n'", "\\ b", "'open", "é", "x" * 500]
    for word in words * 2:
        assert memo[word] == shell._unquote(word), word
    assert "x" * 500 not in memo and len(memo) == len(words) - 1  # long words not kept
    monkeypatch.setattr(shell, "_UNQUOTE_ENTRIES", 10)
    for i in range(25):
        assert memo[f"w{i}"] == f"w{i}"
        assert len(memo) <= 10
    assert "w24" in memo and "w0" not in memo  # started afresh when full
