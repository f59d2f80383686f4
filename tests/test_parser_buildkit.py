"""Our semantic view against BuildKit's own parser (the ``dockerfile`` package).

The ``dockerfile`` package is BuildKit's Go parser compiled for Python.  Three
artifacts of the *binding* (not of BuildKit) are normalised before comparing:

1. every string it returns is truncated at the first NUL character (C strings), so
   our strings are compared truncated at ``"\\x00"`` too;
2. ``cmd`` and ``sub_cmd`` keep the case as written: ``cmd`` is compared with our
   ``raw_keyword`` and ``sub_cmd.upper()`` with our ``sub_keyword``;
3. for ONBUILD it reports no heredocs (it only reads top-level ones), so an ONBUILD
   instruction's heredocs are compared as empty on its side;
4. an empty ``cmd`` or ``original`` comes back as ``None`` (a line holding only an
   escape character, for instance), so ``None`` is read as ``""``.

``parse_string`` must only get text that encodes to UTF-8 (lone surrogates crash the
Go runtime); corpus files go through ``parse_file``.

The second half checks BuildKit's parser fixtures (``testfiles/*/Dockerfile``)
against the dump BuildKit's own test expects (``result``), re-parsed from Go's
``Node.Dump`` format.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dockopt.rewriter.syntax import Dockerfile, Instruction, parse

dockerfile = pytest.importorskip("dockerfile")

EXCLUDED_NAMES = frozenset({"MANIFEST.tsv", "README.md", "APPS.tsv", "FILES.txt"})
CORPUS_HINT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_files(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name in EXCLUDED_NAMES:
            continue
        if p.name == "result" and "buildkit-parser" in p.parts:
            continue
        out.append(p)
    return out


def nul(s: str) -> str:
    """Binding artifact 1: strings come back cut at the first NUL."""
    return s.split("\x00", 1)[0]


def our_view(ins: Instruction) -> dict[str, Any]:
    return {
        "cmd": nul(ins.raw_keyword),
        "sub_cmd": ins.sub_keyword,
        "start_line": ins.start_line,
        "end_line": ins.end_line,
        "flags": tuple(nul(f) for f in ins.flags),
        "json": ins.is_json,
        "value": tuple(nul(v) for v in ins.value),
        # Binding artifact 3: no heredocs for ONBUILD on their side.
        "heredocs": () if ins.keyword == "ONBUILD"
        else tuple((nul(n), nul(c)) for n, c in ins.heredocs),
        # BuildKit's Original appends heredoc bodies; compare only heredoc-free lines.
        "original": nul(ins.original) if not ins.heredoc_docs else None,
    }


def their_view(cmd: Any) -> dict[str, Any]:
    return {
        "cmd": cmd.cmd or "",  # artifact 4
        "sub_cmd": cmd.sub_cmd.upper() if cmd.sub_cmd else None,  # artifact 2
        "start_line": cmd.start_line,
        "end_line": cmd.end_line,
        "flags": tuple(cmd.flags),
        "json": cmd.json,
        "value": tuple(cmd.value),
        "heredocs": tuple((h.name, h.content) for h in cmd.heredocs),
        "original": (cmd.original or "") if not cmd.heredocs else None,
    }


def compare(tree: Dockerfile, commands: list[Any]) -> list[tuple[int, dict[str, Any],
                                                                  dict[str, Any]]]:
    """Mismatches as (line, ours, theirs); a count mismatch is reported at line 0."""
    ours = [our_view(i) for i in tree.instructions]
    theirs = [their_view(c) for c in commands]
    out = []
    if len(ours) != len(theirs):
        out.append((0, {"count": len(ours)}, {"count": len(theirs)}))
    for a, b in zip(ours, theirs, strict=False):  # a count mismatch is reported above
        if a["original"] is None or b["original"] is None:
            a = {**a, "original": None}
            b = {**b, "original": None}
        if a != b:
            diff = {k for k in a if a[k] != b[k]}
            out.append((a["start_line"], {k: a[k] for k in diff}, {k: b[k] for k in diff}))
    return out


@pytest.mark.corpus
def test_corpus_agrees_with_buildkit(corpus_dir: Path) -> None:
    mismatches: list[str] = []
    wrongly_accepted: list[str] = []  # BuildKit rejects, we report no error
    wrongly_rejected: list[str] = []  # we report an error, BuildKit accepts
    compared = rejected = instructions = 0
    for path in corpus_files(corpus_dir):
        rel = path.relative_to(corpus_dir)
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        tree = parse(text)
        try:
            commands = dockerfile.parse_file(str(path))
        except dockerfile.GoParseError as exc:
            rejected += 1
            if not tree.has_errors:
                wrongly_accepted.append(f"{rel}: BuildKit says {exc}")
            continue
        if tree.has_errors:
            errs = [d for d in tree.diagnostics if d.severity == "error"]
            wrongly_rejected.append(f"{rel}: we say {errs[0]}")
        compared += 1
        instructions += len(commands)
        for line, a, b in compare(tree, commands):
            mismatches.append(f"{rel}:{line}\n    ours:     {a}\n    buildkit: {b}")
    print(f"\ncompared {compared} files ({instructions} instructions), "
          f"{rejected} rejected by BuildKit, {len(mismatches)} mismatches")
    assert compared > 4000 and rejected > 0
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:20])
    assert not wrongly_accepted, "\n".join(wrongly_accepted[:20])
    assert not wrongly_rejected, "\n".join(wrongly_rejected[:20])


# --- hand-picked edge cases ----------------------------------------------------------

# Directives, continuations, heredoc detection, flags and JSON corner cases.  Each is
# compared with BuildKit's parser: same verdict (rejected <=> we report an error) and,
# when accepted, the same semantic view.
EDGE_CASES = [
    '# escape=`  \nFROM a\nRUN a `\n b\n',
    '#escape=`\nFROM a\nRUN a `\n b\n',
    '# ESCAPE=`\nFROM a\nRUN a `\n b\n',
    '#  escape  =  `\nFROM a\nRUN a `\n b\n',
    '# foo=bar\n# escape=`\nFROM a\nRUN a `\n b\n',
    '# syntax=x\n# escape=`\nFROM a\nRUN a `\n b\n',
    '\ufeff  # escape=`\nFROM a\nRUN a `\n b\n',
    '  # escape=`\nFROM a\nRUN a `\n b\n',
    '# escape=`\n# escape=`\nFROM a\n',
    'FROM a\nONBUILD COPY <<EOF /x\nhi\nEOF\n',
    'FROM a\nRUN cat \\\n <<EOF\nhi\nEOF\n',
    'FROM a\r\nRUN <<EOF\r\nhi\r\nEOF\r\n',
    'FROM a\nRUN <<-EOF\nhi\n  EOF\nEOF\n',
    'FROM a\nRUN ["<<EOF"]\nEOF\n',
    'FROM a\nCOPY <<EOF <<EOF2 /dst\na\nEOF\nb\nEOF2\n',
    'FROM a\nRUN <<EOF\nhi\nEOF \nEOF\n',
    '\x85RUN x\n',
    '\xa0RUN x\n',
    'FROM a\nRUN x \\ \t\n y\n',
    'FROM a\nRUN x \\\\\n y\n',
    '# escape=`\nFROM a\nRUN a ``\n b\n',
    'FROM a\nRUN a \\\n  \t \n b\n',
    'FROM a\nRUN <<EOF\n# c\n\nEOF\n',
    'FROM a\nRUN <<EOF bash\necho\nEOF\nRUN <<\'EOF\' <<"X"\nEOF\nX\n',
    'FROM a\nrun <<e\\\nOF\nhi\neOF\n',
    'FROM a\nRUN <<$EOF\nhi\n$EOF\n',
    'FROM a\nRUN <<${E}\nhi\n${E}\n',
    "FROM a\nRUN <<'E F'\nhi\nE F\n",
    'FROM a\nRUN <<EOF\nhi\nEOF',
    'FROM a\nADD <<EOF\nhi\nEOF\n',
    'FROM a\nRUN 0<<EOF 10<<X\na\nEOF\nb\nX\n',
    "FROM a\nRUN <<'EOF\nhi\nEOF\n",
    'FROM a\nRUN echo "<<EOF"\nhi\n',
    "FROM a\nRUN echo '<<EOF'\nhi\nEOF\n",
    'FROM a\nRUN x <<EOF;\nhi\nEOF;\n',
    'FROM a\nRUN x<<EOF\nhi\nEOF\n',
    'FROM a\nRUN <<EOF>out\nhi\nEOF\n',
    'FROM a\nHEALTHCHECK --interval=5s CMD ["a"]\n',
    'FROM a\nHEALTHCHECK\tCMD\tx\n',
    'FROM a\nENV a=b\\ c d="e f"\n',
    'FROM a\nENV a\n',
    'FROM a\nLABEL "a b"=c\n',
    'FROM a\nARG a=b c\n',
    'FROM a\nEXPOSE 80\t\x0b 90\n',
    'FROM a\nRUN ["a", "b"] trailing\n',
    'FROM a\nRUN ["a\\u0000b"]\n',
    'FROM a\nRUN [1]\n',
    'FROM a\nRUN ["a",]\n',
    'FROM a\nRUN --mount="type=cache, target=/x" y\n',
    'FROM a\nRUN --a=é x\n',
    'FROM a\nRUN --a\\ b=1 x\n',
    'FROM a\nRUN -- x\n',
    'FROM a\nRUN --=x y\n',
    "FROM a\nRUN --a='' x\n",
    'FROM a\nRUN --a="\\" x\n',
    'FROM a\nONBUILD\n',
    'FROM a\nONBUILD FROM x\n',
    'FROM a\nONBUILD MAINTAINER x\n',
    'FROM a\nSHELL ["a"] x\n',
    'FROM a\nRUN\u3000x\n',
    'FROM a\nRUN\u2028x\n',
    'FROM a\n  \\\n',
    'FROM a\nRUN a\\\n',
    'FROM a\nRUN a \\\n# c\n',
    'FROM a\nRUN a \\\n\n',
    'FROM a\n\\\nRUN x\n',
    'FROM a\nCOPY --from=a <<EOF /x\nEOF\n',
    'FROM a\nRUN <<EOF <<EOF\na\nEOF\nb\nEOF\n',
    'FROM a\nRUN <<-EOF\n\t\tEOF\n',
    'FROM a\nRUN <<-EOF\n \tEOF\nEOF\n',
    'FROM a\nRUN a \\\n  <<EOF\n\nEOF\n',
    'FROM a\nRUN a\\\\\\\nb\n',
    '# escape=`\nFROM a\nRUN a\\\nb `\nc\n',
    '# escape=`\nFROM a\nRUN <<EOF `\n x\nhi\nEOF\n',
    'FROM a\nRUN <<EOF\nhi\r\nEOF\r\n',
    'FROM a\nRUN <<EOF\nhi\nEOF\r\n',
    'FROM a\nRUN <<EOF\nhi\nEOF\r',
    'FROM a\nRUN <<"EOF"x\nhi\nEOFx\n',
    'FROM a\nRUN <<E"O"F\nhi\nEOF\n',
    'FROM a\nRUN <<\\EOF\nhi\nEOF\n',
    'FROM a\nRUN <<EOF\\\nhi\nEOF\n',
    'FROM a\nRUN <<-\nhi\n',
    # Known disagreements (parser bugs, see the report): an empty quoted heredoc word
    # is no heredoc for BuildKit; a chained ONBUILD's value is the nested node's ("").
    "FROM a\nRUN <<''\nhi\n\n",
    'FROM a\nCOPY <<"" /x\nhi\n\n',
    'FROM a\nONBUILD ONBUILD RUN x\n',
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_case_agrees_with_buildkit(text: str) -> None:
    tree = parse(text)
    assert tree.render() == text
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        assert tree.has_errors, f"BuildKit rejects: {exc}"
        return
    assert not tree.has_errors, tree.diagnostics
    assert compare(tree, commands) == []


# --- BuildKit's fixtures against their expected dump --------------------------------

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(\[)|(\])|("(?:[^"\\]|\\.)*")|([^\s()\[\]"]+))')
_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
               "v": "\v", "\\": "\\", '"': '"', "'": "'"}


def go_unquote(q: str) -> str:
    """strconv.Unquote for the double-quoted strings Node.Dump writes (UTF-8 text)."""
    body = q[1:-1]
    out: list[str] = []
    raw: list[int] = []  # pending \xNN bytes, decoded together as UTF-8
    i = 0

    def flush() -> None:
        if raw:
            out.append(bytes(raw).decode("utf-8", "surrogateescape"))
            raw.clear()

    while i < len(body):
        ch = body[i]
        if ch != "\\":
            flush()
            out.append(ch)
            i += 1
            continue
        e = body[i + 1]
        if e == "x":
            raw.append(int(body[i + 2:i + 4], 16))
            i += 4
            continue
        flush()
        if e in "uU":
            n = 4 if e == "u" else 8
            out.append(chr(int(body[i + 2:i + 2 + n], 16)))
            i += 2 + n
        elif e in "01234567":
            raw.append(int(body[i + 1:i + 4], 8))
            i += 4
            continue
        else:
            out.append(_GO_ESCAPES[e])
            i += 2
    flush()
    return "".join(out)


def parse_dump_line(line: str) -> tuple[str, list[str], list[Any]]:
    """``(keyword ["flags"] "value" ... (sub ...))`` -> (keyword, flags, values).

    A nested ``(...)`` (ONBUILD's instruction) appears in values as a tuple.
    """
    pos = 0
    tokens: list[tuple[str, str]] = []
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None or m.end() == pos:
            if line[pos:].strip() == "":
                break
            raise ValueError(f"cannot read dump at {pos}: {line!r}")
        pos = m.end()
        kind = ["(", ")", "[", "]", "str", "word"][m.lastindex - 1]
        tokens.append((kind, m.group(m.lastindex)))

    def node(i: int) -> tuple[tuple[str, list[str], list[Any]], int]:
        assert tokens[i][0] == "(", tokens[i:]
        kw = tokens[i + 1][1]
        assert tokens[i + 1][0] == "word"
        i += 2
        flags: list[str] = []
        values: list[Any] = []
        if tokens[i][0] == "[":
            i += 1
            while tokens[i][0] != "]":
                flags.append(go_unquote(tokens[i][1]))
                i += 1
            i += 1
        while tokens[i][0] != ")":
            if tokens[i][0] == "(":
                sub, i = node(i)
                values.append(sub)
            else:
                assert tokens[i][0] == "str", tokens[i]
                values.append(go_unquote(tokens[i][1]))
                i += 1
        return (kw, flags, values), i + 1

    result, end = node(0)
    assert end == len(tokens), f"trailing tokens in {line!r}"
    return result


def fixture_cases() -> list[Any]:
    import os

    env = os.environ.get("DOCKOPT_CORPUS")
    root = Path(env) if env else CORPUS_HINT
    base = root / "parser-edge" / "buildkit-parser" / "testfiles"
    if not base.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"corpus not found at {root}; set DOCKOPT_CORPUS to run this"))]
    return sorted(p for p in base.iterdir() if (p / "Dockerfile").is_file())


def expected_dump_view(ins: Instruction) -> tuple[str, list[str], list[Any]]:
    """Our instruction in the shape of a parsed dump line (separators re-derived)."""
    kw = ins.raw_keyword.lower()
    values: list[Any] = list(ins.value)
    if ins.keyword in ("ENV", "LABEL") and values:
        # Node.Dump lists key, value and the separator ("=" or "" for `ENV k v`).
        first_word = ins.args.text.split(None, 1)[0]
        sep = "=" if "=" in first_word else ""
        values = [x for i in range(0, len(values), 2) for x in (values[i], values[i + 1], sep)]
    if ins.keyword == "ONBUILD" and ins.sub_keyword is not None:
        m = ins.meaning
        assert m is not None and m.sub is not None
        sub_values: list[Any] = list(ins.value)
        values = [(m.sub.raw_keyword.lower(), list(m.sub.flags), sub_values)]
    return kw, list(ins.flags), values


@pytest.mark.corpus
@pytest.mark.parametrize("case", fixture_cases(), ids=lambda p: p.name if p else "none")
def test_buildkit_fixture_dump(case: Path) -> None:
    text = (case / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape")
    tree = parse(text)
    assert tree.render() == text
    assert not tree.has_errors, tree.diagnostics
    result = case / "result"
    if not result.exists():
        pytest.skip("no result dump")
    expected = [parse_dump_line(line) for line in
                result.read_text(encoding="utf-8").splitlines() if line.strip()]
    ours = [expected_dump_view(i) for i in tree.instructions]
    assert len(ours) == len(expected)
    for ins, a, b in zip(tree.instructions, ours, expected, strict=True):
        assert a == b, f"line {ins.start_line}: {ins.original!r}"


def test_dump_reader_reads_go_quoting() -> None:
    # The dump reader itself must be right, or the fixture test proves nothing.
    kw, flags, values = parse_dump_line(
        r'(copy ["--from=a b" "--x=\"q\""] "t\tab" "\xc3\xa9\\" "\u00e9" "")')
    assert (kw, flags) == ("copy", ["--from=a b", '--x="q"'])
    assert values == ["t\tab", "\u00e9\\", "\u00e9", ""]
    assert parse_dump_line('(onbuild (run "echo" "test"))') == \
        ("onbuild", [], [("run", [], ["echo", "test"])])
    with pytest.raises(ValueError):
        parse_dump_line("(run @@ \"x")
