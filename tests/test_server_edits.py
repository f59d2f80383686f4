"""Positions and incremental edits: the pure conversion (hypothesis against a second
implementation), then a real server fed random incremental edits (hypothesis),
checking after each one that the diagnostics published for that version are those
of the text the client holds: no error, nothing stale."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dockopt.rewriter.server.client import offset_at
from dockopt.rewriter.server.positions import LineIndex

# Characters that make positions hard: CR, LF, tab, non-BMP, 2- and 3-byte UTF-8,
# surrogate escapes (bytes that are not UTF-8), a lone high surrogate.
ALPHABET = st.sampled_from([*"ab \t\\#\r\n", "\u00e9", "\u20ac", "\U0001f600",
                                                  "\udcff", "\udc80", "\ud800"])
TEXTS = st.lists(ALPHABET, max_size=40).map("".join)


@given(TEXTS, st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_offsets_round_trip_and_agree_with_the_client(text: str, encoding: str) -> None:
    index = LineIndex(text, encoding)
    for offset in range(len(text) + 1):
        p = index.position(offset)
        if index.inside_crlf(offset):
            assert index.offset(p.line, p.character) == offset - 1
            continue
        assert index.offset(p.line, p.character) == offset
        assert offset_at(text, p.line, p.character, encoding) == offset


@given(TEXTS, st.integers(0, 40), st.integers(0, 40), TEXTS,
       st.sampled_from(["utf-8", "utf-16"]))
def test_an_offset_edit_as_a_range_does_the_same(text: str, a: int, b: int, new: str,
                                                 encoding: str) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    index = LineIndex(text, encoding)
    p, q, content = index.edit_range(start, end, new)
    s = offset_at(text, p.line, p.character, encoding)
    e = offset_at(text, q.line, q.character, encoding)
    assert text[:s] + content + text[e:] == text[:start] + new + text[end:]


def test_positions_of_a_known_line() -> None:
    text = "a\U0001f600b\r\nc\u00e9d\re"
    assert LineIndex(text, "utf-16").position(3).character == 4  # a, the pair, b
    assert LineIndex(text, "utf-16").position(2).character == 3
    assert LineIndex(text, "utf-8").position(2).character == 5
    assert LineIndex(text, "utf-32").position(2).character == 2
    assert LineIndex(text, "utf-16").position(9).line == 2  # after the lone CR
    assert LineIndex(text, "utf-16").offset(0, 2) == 1  # inside the pair: rounds down
    assert LineIndex(text, "utf-16").offset(0, 99) == 3  # past the end: line end


# --- a real server, random incremental edits --------------------------------------------

pytest.importorskip("pygls")

SEED = ("FROM ubuntu:22.04\nMAINTAINER me\nRUN apt-get update\n"
        "RUN apt-get install curl \\\n    wget\nCMD python app.py\n")
PIECES = st.sampled_from(["RUN ", "apt-get install -y x", "\n", "\\\n", " && ", "\U0001f600",
                          "\r\n", "#", "FROM alpine\n", "COPY . .\n", "<<EOF\n", "EOF\n",
                          "\t", "\u00e9", "npm ci\n", "", "MAINTAINER x\n"])
# In all, over EXAMPLES documents from the seed (about 80 s on an idle 2-core machine;
# DOCKOPT_LSP_EDITS lowers it for a quick run).
EDITS = int(os.environ.get("DOCKOPT_LSP_EDITS", "1000"))
EXAMPLES = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dockopt.rewriter.server.client import LspClient

    root = tmp_path_factory.mktemp("edits")
    client = LspClient([sys.executable, "-m", "dockopt.rewriter", "server"])
    client.initialize(str(root), options={"debounce": 0})
    uri = (root / "Dockerfile").as_uri()
    (root / "Dockerfile").write_text(SEED)
    client.open(uri, SEED)
    client.wait_diagnostics(uri, 1)
    state = {"client": client, "uri": uri, "text": SEED, "version": 1, "root": root}
    yield state
    assert client.close() == 0
    assert not client.garbage


def _expected(text: str, root: Path) -> list[tuple[str, str]]:
    from dockopt.rewriter.context import BuildContext
    from dockopt.rewriter.pipeline import check

    (root / "Dockerfile").write_text(text, newline="")  # the context holds the Dockerfile
    findings, diags = check(text, path=str(root / "Dockerfile"),
                            context=BuildContext(root, dockerfile=str(root / "Dockerfile")))
    return sorted([(f.code, f.message) for f in findings]
                  + [(d.code, d.message) for d in diags])


EDIT = st.tuples(st.integers(0, 10**6), st.integers(0, 12), PIECES)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.generate],  # a failure prints its edits; shrinking takes minutes
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(EDIT, min_size=EDITS // EXAMPLES, max_size=EDITS // EXAMPLES))
def test_random_incremental_edits(server: dict[str, Any],
                                  edits: list[tuple[int, int, str]]) -> None:
    client, uri = server["client"], server["uri"]
    server["version"] += 1
    text = SEED
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": server["version"]},
        "contentChanges": [{"text": text}]})
    client.wait_diagnostics(uri, server["version"], timeout=30)
    for where, length, new in edits:
        start = where % (len(text) + 1)
        end = min(len(text), start + length)
        index = LineIndex(text, client.encoding)
        p, q, content = index.edit_range(start, end, new)
        server["version"] += 1
        text = text[:start] + new + text[end:]
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": server["version"]},
            "contentChanges": [{"range": {
                "start": {"line": p.line, "character": p.character},
                "end": {"line": q.line, "character": q.character}}, "text": content}]})
        diags = client.wait_diagnostics(uri, server["version"], timeout=30)
        got = sorted((d["code"], d["message"]) for d in diags)
        assert got == _expected(text, server["root"]), text
        for d in diags:  # every range lies inside the text
            r = d["range"]
            s = offset_at(text, r["start"]["line"], r["start"]["character"], client.encoding)
            e = offset_at(text, r["end"]["line"], r["end"]["character"], client.encoding)
            assert 0 <= s <= e <= len(text)
    versions = [p.get("version") for p in client.diagnostics[uri]]
    assert versions == sorted(versions)  # never an older version's after a newer one
    assert not any(m.get("method") == "window/showMessage"
                   and m["params"].get("type") == 1 for m in client.notifications)
