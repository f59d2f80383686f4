"""Unit tests for the instruction transforms (runs.py, instructions.py, findings.py).

Semantic checks use BuildKit's own parser (the ``dockerfile`` package): a merged RUN
must carry exactly ``first && second``, an exec form exactly the shell words, a LABEL
exactly the MAINTAINER value.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import dockerfile
import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import check, fix
from dockopt.rewriter.shell import parse_shell
from dockopt.transforms.base import Safety
from dockopt.transforms.instructions.add_copy import Var, expand_word, is_tar_header, sniff_archive
from dockopt.transforms.instructions.exec_form import exec_form_words
from dockopt.transforms.instructions.maintainer import author_value, label_quote
from dockopt.transforms.instructions.runs import leaks_state


def _fix(text: str, code: str, *, unsafe: bool = False) -> str:
    settings = Settings(select=(code,), unsafe_fixes=unsafe, max_passes=10)
    result = fix(text, settings=settings)
    assert not result.errors, result.errors
    return result.text


def _findings(text: str, code: str) -> list[tuple[int, Safety | None]]:
    found, _ = check(text, settings=Settings(select=(code,)))
    return [(f.line, f.fix.safety if f.fix else None) for f in found if f.code == code]


def _bk(text: str) -> list[tuple[str, tuple[str, ...], bool, tuple[str, ...]]]:
    text.encode("utf-8")  # the binding only takes text that encodes to UTF-8
    return [(c.cmd.upper(), tuple(c.flags), bool(c.json), tuple(c.value))
            for c in dockerfile.parse_string(text)]


# --------------------------------------------------------------------------- DO301


MERGES = [
    # (first RUN lines, second RUN lines, first command, second command)
    ("RUN apt-get update\n", "RUN apt-get install -y curl\n",
     "apt-get update", "apt-get install -y curl"),
    ("RUN echo a   \n", "# note\n\nRUN echo b\n", "echo a", "echo b"),
    ("RUN --mount=type=cache,target=/c pip install x\n",
     "RUN --mount=type=cache,target=/c pip install y\n", "pip install x", "pip install y"),
    ("RUN apk add \\\n    curl\n", "RUN apk add \\\n    git\n", "apk add     curl",
     "apk add     git"),
    ("RUN echo 'x # not a comment'\n", "RUN printf '%s\\n' \"$HOME\"\n",
     "echo 'x # not a comment'", "printf '%s\\n' \"$HOME\""),
    ("RUN (cd /tmp && touch x)\n", "RUN ls | wc -l\n", None, None),  # 2 commands: kept
    ("RUN echo a\r\n", "RUN echo b\r\n", "echo a", "echo b"),
    ("RUN echo héllo\n", "RUN echo wörld\n", "echo héllo", "echo wörld"),
]


@pytest.mark.parametrize(("first", "second", "cmd_a", "cmd_b"), MERGES)
def test_merge_semantic_value_is_and_join(first: str, second: str, cmd_a: str | None,
                                          cmd_b: str | None) -> None:
    text = "FROM debian:12\n" + first + second + "CMD [\"sh\"]\n"
    out = _fix(text, "DO301")
    before, after = _bk(text), _bk(out)
    if cmd_a is None or cmd_b is None:
        assert out == text
        return
    assert len(after) == len(before) - 1
    merged = after[1]
    assert merged[0] == "RUN" and merged[1] == before[1][1] and not merged[2]
    value = merged[3][0]
    # Exactly `first && second`, up to the whitespace of the continuation indent.
    assert value.startswith(cmd_a) and value.endswith(cmd_b)
    assert value[len(cmd_a):len(value) - len(cmd_b)].split() == ["&&"]
    assert (before[1][3][0], before[2][3][0]) == (cmd_a, cmd_b)
    # Comment lines between the two survive as comment lines; no empty continuation.
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            assert line in out.splitlines()
    assert "\\\n\n" not in out and "\\\r\n\r\n" not in out


def test_merge_chain_in_one_pass_and_idempotent() -> None:
    text = "FROM debian:12\nRUN echo 1\nRUN echo 2\nRUN echo 3\nRUN echo 4\n"
    out = _fix(text, "DO301")
    assert _bk(out)[1][3][0].split("&&") == ["echo 1 ", "     echo 2 ", "     echo 3 ",
                                             "     echo 4"]
    assert _fix(out, "DO301") == out


@pytest.mark.parametrize("first", [
    "cd /src", "export A=1", "set -e", ". /env.sh", "source /env.sh", "umask 077", "A=1",
    "{ cd /x; }", "for i in 1; do :; done", "echo ${A:=1}", "exit 0", "f() { :; }",
    "A=1 :", "command cd /x", "echo hi # note", "echo hi;", "sleep 1 &", "alias ll=ls",
])
def test_merge_refused_when_first_leaks_or_swallows(first: str) -> None:
    text = f"FROM debian:12\nRUN {first}\nRUN echo after\n"
    assert _fix(text, "DO301", unsafe=True) == text


@pytest.mark.parametrize("second", ["sleep 1 &", "echo $_", "echo $!"])
def test_merge_refused_when_second_depends_on_shell(second: str) -> None:
    text = f"FROM debian:12\nRUN echo before\nRUN {second}\n"
    assert _fix(text, "DO301", unsafe=True) == text


def test_merge_findings_follow_hadolint_counts() -> None:
    # DL3059 flags a RUN only when it and the previous one run at most one command.
    text = ("FROM debian:12\nRUN a && b\nRUN c\nRUN d\n# c\n\nRUN e\nWORKDIR /\nRUN f\n"
            "RUN cd /x\nRUN g\n")
    assert _findings(text, "DO301") == [(4, Safety.SAFE), (7, Safety.SAFE), (10, Safety.SAFE),
                                        (11, None)]


def test_leaks_state() -> None:
    assert not leaks_state(parse_shell("apt-get update"))
    assert not leaks_state(parse_shell("(cd /x && make)"))
    assert not leaks_state(parse_shell("FOO=1 make"))
    assert leaks_state(parse_shell("FOO=1 export BAR"))
    assert leaks_state(parse_shell("if true; then cd /x; fi"))


# --------------------------------------------------------------------------- DO302


def test_workdir_restores_previous_directory() -> None:
    text = "FROM debian:12\nWORKDIR /app\nRUN cd /src && make && make install\nCOPY . .\n"
    out = _fix(text, "DO302")
    assert out == ("FROM debian:12\nWORKDIR /app\nWORKDIR /src\nRUN make && make install\n"
                   "WORKDIR /app\nCOPY . .\n")
    view = _bk(out)
    assert [c[3] for c in view if c[0] == "COPY"] == [(".", ".")]


def test_workdir_unknown_previous_is_unsafe_or_absent() -> None:
    last = "FROM golang:1.22 AS b\nRUN cd /src && go build\nFROM scratch\n"
    assert _findings(last, "DO302") == [(2, Safety.UNSAFE)]
    used_later = "FROM debian:12\nRUN cd /src && make\nRUN ls\n"
    assert _findings(used_later, "DO302") == [(2, None)]


# --------------------------------------------------------------------------- DO401


@pytest.mark.parametrize("command", [
    "/app --port 8080", "gunicorn --bind 0.0.0.0:8000 app:app", "nginx -g daemon",
    "java -Xmx1g -jar /app.jar", "node server.js", "python -m http.server 80",
])
def test_exec_form_is_json_of_the_words(command: str) -> None:
    text = f"FROM scratch\nCMD {command}\n"
    out = _fix(text, "DO401")
    line = out.splitlines()[1]
    assert json.loads(line[len("CMD "):]) == command.split()
    assert _bk(out)[1] == ("CMD", (), True, tuple(command.split()))


@pytest.mark.parametrize("command", [
    "echo $HOME", "nginx -g 'daemon off;'", "a && b", "run > /log", "ls *.txt",
    "FOO=1 app", "exec app", "cd /x", "echo ~", "a\\ b", "echo `date`", "a # c",
    "a;b", "[ -f x ]", "echo {a,b}", "ünïcode",
])
def test_exec_form_refused_for_shell_syntax(command: str) -> None:
    assert exec_form_words(command) is None


def test_exec_form_safety_depends_on_entrypoint() -> None:
    text = ("FROM scratch AS a\nCMD /app\n"
            "FROM python:3.12\nCMD /app\n"
            "FROM scratch\nENTRYPOINT [\"/tini\"]\nCMD /app\n"
            "FROM scratch\nENTRYPOINT /run\n")
    assert _findings(text, "DO401") == [(2, Safety.SAFE), (4, Safety.UNSAFE),
                                        (7, Safety.UNSAFE), (9, Safety.UNSAFE)]


ENTRYPOINT_CASES = [
    # (Dockerfile, line of the ENTRYPOINT, exec form expected)
    ("FROM alpine\nENTRYPOINT /run -v\nCMD [\"--help\"]\n", 2, False),
    ("FROM alpine\nCMD x\nENTRYPOINT /run -v\n", 3, False),
    ("FROM alpine AS a\nCMD [\"x\"]\nFROM a\nENTRYPOINT /run\n", 4, False),
    ("FROM alpine AS a\nENTRYPOINT /run\nFROM a AS b\nFROM b\nCMD [\"x\"]\n", 2, False),
    # A registry image's CMD is cleared by the ENTRYPOINT: only `docker run` args.
    ("FROM python:3.12\nENTRYPOINT /run -v\n", 2, True),
    ("FROM alpine\nENTRYPOINT /run -v\nCMD []\n", 2, True),
    # A CMD in an unrelated stage does not reach it.
    ("FROM alpine AS a\nENTRYPOINT /run\nFROM alpine\nCMD [\"x\"]\n", 2, True),
]


@pytest.mark.parametrize(("text", "line", "exec_form"), ENTRYPOINT_CASES)
def test_entrypoint_keeps_ignoring_cmd(text: str, line: int, exec_form: bool) -> None:
    found, _ = check(text, settings=Settings(select=("DO401",)))
    (finding,) = [f for f in found if f.line == line]
    assert finding.fix is not None
    before = [c for c in _bk(text) if c[0] == "ENTRYPOINT"]
    out = _fix(text, "DO401", unsafe=True)
    after = [c for c in _bk(out) if c[0] == "ENTRYPOINT"]
    if exec_form:
        assert finding.fix.safety == Safety.UNSAFE
        assert "docker run" in finding.fix.message
        assert after[0][3] == tuple(before[0][3][0].split())
    else:
        # The shell, written out: what BuildKit stores for the shell form, so the
        # CMD still only fills the shell's $0, $1, ...
        assert finding.fix.safety == Safety.SAFE
        assert "CMD of line" in finding.fix.message
        assert after[0][2] and after[0][3] == ("/bin/sh", "-c", before[0][3][0])


# --------------------------------------------------------------------------- DO402


def _context(tmp_path: Path) -> BuildContext:
    """A build context with archives under plain names and plain files under none."""
    root = tmp_path / "ctx"
    (root / "src").mkdir(parents=True)
    (root / "a.txt").write_text("hello\n")
    (root / "src" / "main.py").write_text("print(1)\n")
    member = root / "member.txt"
    member.write_text("x\n")
    for name, mode in (("payload.dat", "w"), ("gz.bin", "w:gz"), ("bz.bin", "w:bz2"),
                       ("xz.bin", "w:xz")):
        with tarfile.open(root / name, mode) as tar:
            tar.add(member, "member.txt")
    (root / "json.bin").write_bytes(gzip.compress(b'{"not": "a tar"}' * 100))
    (root / "zstd.bin").write_bytes(b"\x28\xb5\x2f\xfd" + bytes(100))
    # A folder holding an archive is copied as it is: nothing in it is unpacked.
    (root / "src" / "vendor.tar").write_bytes((root / "payload.dat").read_bytes())
    (root / "bins").mkdir()
    (root / "bins" / "plain.bin").write_text("x")
    (root / "bins" / "tarball.bin").write_bytes((root / "payload.dat").read_bytes())
    return BuildContext(root)


def _add_findings(text: str, build: BuildContext | None) -> list[tuple[int, Safety | None]]:
    found, _ = check(text, settings=Settings(select=("DO402",)), context=build)
    return [(f.line, f.fix.safety if f.fix else None) for f in found if f.code == "DO402"]


def test_add_to_copy_keeps_everything_but_the_keyword() -> None:
    text = "FROM alpine:3.20\nadd  --chown=1:1 a.txt  /x/\nADD [\"a b\", \"/c/\"]\n"
    out = _fix(text, "DO402", unsafe=True)
    assert out == "FROM alpine:3.20\ncopy  --chown=1:1 a.txt  /x/\nCOPY [\"a b\", \"/c/\"]\n"
    before, after = _bk(text), _bk(out)
    assert [c[1:] for c in before] == [c[1:] for c in after]


@pytest.mark.parametrize(("line", "expected"), [
    # Read in the context: plain files and folders are safe, whatever their name.
    ("ADD a.txt /x/", Safety.SAFE),
    ("ADD src/ /x/", Safety.SAFE),
    ("ADD src /x/", Safety.SAFE),  # holds vendor.tar, which a folder copy keeps packed
    ("ADD . /x/", Safety.SAFE),
    ("ADD json.bin /x/", Safety.SAFE),  # gzip, but not of a tar: ADD copies it
    ("ADD bins/plain* /x/", Safety.SAFE),
    ("ADD \"a.txt\" /x/", Safety.SAFE),
    # A tar archive under a plain name: ADD unpacks it, so ADD stays (no finding).
    ("ADD payload.dat /x/", "none"),
    ("ADD gz.bin /x/", "none"),
    ("ADD bz.bin /x/", "none"),
    ("ADD xz.bin /x/", "none"),
    ("ADD zstd.bin /x/", "none"),  # zstd: not looked inside, taken as an archive
    ("ADD bins/* /x/", "none"),  # the glob matches tarball.bin
    ("ADD a.txt payload.dat /x/", None),  # mixed: finding, no fix
    # Not in the context: its name proves nothing.
    ("ADD missing.txt /x/", Safety.UNSAFE),
    ("ADD nothing* /x/", Safety.UNSAFE),
    ("ADD a.tar.gz b.txt /x/", None),
    ("ADD --checksum=sha256:00 a.txt /x/", None),
])
def test_add_safety_reads_the_context(tmp_path: Path, line: str,
                                      expected: Safety | str | None) -> None:
    text = f"FROM alpine:3.20\n{line}\n"
    want = [] if expected == "none" else [(2, expected)]
    assert _add_findings(text, _context(tmp_path)) == want


@pytest.mark.parametrize(("line", "expected"), [
    ("ADD a.txt /x/", Safety.UNSAFE),  # no context: a name proves nothing
    ("ADD src/ /x/", Safety.UNSAFE),
    ("ADD . /x/", Safety.SAFE),  # the context root is a folder
    ("ADD ./ /x/", Safety.SAFE),
    ("ADD *.py /x/", Safety.UNSAFE),
    ("ADD $F /x/", None),  # not set in the file: the base image may set it
    ("ADD a.tar.gz b.txt /x/", None),
])
def test_add_safety_without_context(line: str, expected: Safety | None) -> None:
    assert _add_findings(f"FROM alpine:3.20\n{line}\n", None) == [(2, expected)]


@pytest.mark.parametrize("line", [
    "ADD https://example.com/x /x", "ADD a.tar.xz /", "ADD A.TGZ /", "ADD a.tar.gz b.tgz /",
])
def test_add_for_urls_and_archives_is_fine(line: str) -> None:
    assert _findings(f"FROM alpine:3.20\n{line}\n", "DO402") == []


VARIABLES = [
    # The default decides what ADD is for; an ARG is at best unsafe.
    ("ARG TOOL_URL=https://example.com/tool-1.0.tar.gz\nFROM alpine\nARG TOOL_URL\n"
     "ADD ${TOOL_URL} /opt/\n", []),
    ("FROM alpine\nARG TOOL_URL=https://example.com/tool\nADD $TOOL_URL /opt/\n", []),
    ("FROM alpine\nARG V=1.0\nADD \"tool-${V}.tar.gz\" /opt/\n", []),
    ("FROM alpine\nARG F=payload.dat\nADD $F /opt/\n", []),
    ("FROM alpine\nARG F=a.txt\nADD $F /opt/\n", [(3, Safety.UNSAFE)]),
    ("FROM alpine\nENV F=a.txt\nADD $F /opt/\n", [(3, Safety.SAFE)]),
    ("FROM alpine\nENV D=src\nADD ${D}/ /opt/\n", [(3, Safety.SAFE)]),
    ("FROM alpine\nENV F=payload.dat\nADD ${F} /opt/\n", []),
    ("FROM alpine\nARG A=a.txt\nENV F=$A\nADD ${F} /opt/\n", [(4, Safety.UNSAFE)]),
    # ENV in an earlier stage this one is built on.
    ("FROM alpine AS base\nENV F=a.txt\nFROM base\nADD ${F} /opt/\n", [(4, Safety.SAFE)]),
    # A global ARG the stage does not re-declare is not in scope.
    ("ARG F=a.txt\nFROM alpine\nADD $F /opt/\n", [(3, None)]),
    # Unknown values: no fix.
    ("FROM alpine\nARG F\nADD $F /opt/\n", [(3, None)]),
    ("FROM alpine\nADD $F /opt/\n", [(2, None)]),
    ("FROM alpine\nARG F=a.txt\nADD ${F:-x} /opt/\n", [(3, None)]),
    ("FROM alpine AS a\nARG F=a.txt\nFROM a\nADD $F /opt/\n", [(4, None)]),
]


@pytest.mark.parametrize(("text", "expected"), VARIABLES)
def test_add_resolves_variables(tmp_path: Path, text: str,
                                expected: list[tuple[int, Safety | None]]) -> None:
    assert _add_findings(text, _context(tmp_path)) == expected


def test_add_held_back_message_says_why() -> None:
    found, _ = check("FROM alpine\nARG SRC\nADD $SRC /opt/\n",
                     settings=Settings(select=("DO402",)))
    (finding,) = found
    assert finding.fix is None
    assert "`$SRC` is an ARG with no default" in finding.message
    found, _ = check("ARG SRC=a.txt\nFROM alpine\nADD $SRC /opt/\n",
                     settings=Settings(select=("DO402",)))
    (finding,) = found
    assert finding.fix is None and "does not re-declare" in finding.message
    found, _ = check("FROM alpine\nADD payload.dat /opt/\n",
                     settings=Settings(select=("DO402",)))
    (finding,) = found
    assert finding.fix is not None and finding.fix.safety == Safety.UNSAFE
    assert "no build context" in finding.fix.message


@pytest.mark.parametrize(("word", "scope", "value"), [
    ("a.txt", {}, "a.txt"),
    ("'$x'", {}, "$x"),
    ('"$x y"', {"x": Var("1", True)}, "1 y"),
    ("${x}.tar", {"x": Var("v", False)}, "v.tar"),
    ("a$", {}, "a$"),
    ("$x", {}, None),
    ("${x%.gz}", {"x": Var("v", False)}, None),
    ("a\\b", {}, None),
    ('"open', {}, None),
])
def test_expand_word(word: str, scope: dict[str, Var], value: str | None) -> None:
    assert expand_word(word, scope, "\\").text == value


def test_tar_header_detection() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("\u00e9t\u00e9")  # high bytes: the signed sum differs
        info.size = 0
        tar.addfile(info)
    data = buf.getvalue()
    assert is_tar_header(data)
    # A V7 header (no "ustar" magic) with a valid checksum is still a tar for Go.
    v7 = bytearray(data[:512])
    v7[257:265] = bytes(8)
    v7[148:156] = b" " * 8
    v7[148:155] = f"{sum(v7):06o}\x00".encode()
    assert is_tar_header(bytes(v7))
    assert not is_tar_header(data[:511])  # short
    assert not is_tar_header(bytes(1024))  # end-of-archive blocks
    broken = bytearray(data)
    broken[0] ^= 1
    assert not is_tar_header(bytes(broken))
    assert sniff_archive(gzip.compress(data), complete=True) == "archive"
    assert sniff_archive(gzip.compress(b"x" * 10), complete=True) == "plain"
    assert sniff_archive(b"hello", complete=True) == "plain"


# --------------------------------------------------------------------------- DO403


def _buildkit_double_quoted(word: str, escape: str) -> str:
    """BuildKit's word processing of one double-quoted word with no variables."""
    assert word[0] == word[-1] == '"'
    out: list[str] = []
    body = word[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        assert ch != "$" and ch != '"', "unescaped $ or quote"
        if ch == escape and i + 1 < len(body) and body[i + 1] in ('"', "$", escape):
            i += 1
            ch = body[i]
        out.append(ch)
        i += 1
    return "".join(out)


@pytest.mark.parametrize("value", [
    "Jane Doe <jane@example.com>", 'Jo "x" $USER \\o/', "a\\", "\\\\server\\share",
    "tab\there", "`tick` $(cmd) ${V}", "ünï <x@y>",
])
@pytest.mark.parametrize("escape", ["\\", "`"])
def test_label_value_equals_maintainer_value(value: str, escape: str) -> None:
    head = "# escape=`\n" if escape == "`" else ""
    text = f"{head}FROM alpine:3.20\nMAINTAINER {value}\n"
    (maintainer,) = [c for c in _bk(text) if c[0] == "MAINTAINER"]
    out = _fix(text, "DO403")
    (label,) = [c for c in _bk(out) if c[0] == "LABEL"]
    assert label[3][0] == "org.opencontainers.image.authors"
    assert _buildkit_double_quoted(label[3][1], escape) == maintainer[3][0]
    assert label_quote(maintainer[3][0], escape) == label[3][1]


@pytest.mark.parametrize(("value", "label"), [
    ('authors="Jane Doe <jane@example.com>"', "Jane Doe <jane@example.com>"),
    ("authors='Jane Doe'", "Jane Doe"),
    ("maintainer=ops@example.com", "ops@example.com"),
    ("org.opencontainers.image.authors=\"x $y\"", "x $y"),
    ('"boyan.au@gmail.com"', "boyan.au@gmail.com"),
    ('"T. Kim, Ph.D."', "T. Kim, Ph.D."),
    ('"Dan Walsh" <dwalsh@redhat.com>', "Dan Walsh <dwalsh@redhat.com>"),
    # Kept as written: quotes that are not around the whole value or the name, a
    # `#` (MAINTAINER has no trailing comments), several pairs, a key then text.
    ('Jacek Marchwicki "jacek@example.com"', 'Jacek Marchwicki "jacek@example.com"'),
    ("Michal <m@example.net> # 2014-06-12", "Michal <m@example.net> # 2014-06-12"),
    ('name="Jane" email="j@example.com"', 'name="Jane" email="j@example.com"'),
    ("a=b c", "a=b c"),
    ('""', '""'),
    ('"a" "b"', '"a" "b"'),
    ("http://example.com/?a=b", "http://example.com/?a=b"),
])
@pytest.mark.parametrize("escape", ["\\", "`"])
def test_label_value_drops_quotes_and_key(value: str, label: str, escape: str) -> None:
    head = "# escape=`\n" if escape == "`" else ""
    text = f"{head}FROM alpine:3.20\nMAINTAINER {value}\n"
    assert author_value(value)[0] == label
    out = _fix(text, "DO403")
    (got,) = [c for c in _bk(out) if c[0] == "LABEL"]
    assert got[3][0] == "org.opencontainers.image.authors"
    assert _buildkit_double_quoted(got[3][1], escape) == label


def test_maintainer_with_existing_label_is_unsafe() -> None:
    text = ("FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"a\"\n"
            "MAINTAINER b\n")
    assert _findings(text, "DO403") == [(3, Safety.UNSAFE)]


# --------------------------------------------------------------------------- findings


def test_findings_only_rules() -> None:
    text = (
        "ARG BASE=node\nARG TAGGED=node:20\nARG NPM_TOKEN\n"
        "FROM $BASE AS build\nENV API_KEY=abc PASSWORD_FILE=/run/secrets/pw\n"
        "RUN sudo apt-get update\nRUN curl -fsSL https://x.example/i.sh | sh\n"
        "RUN wget -qO- https://x.example/i.sh > i.sh && sh i.sh\n"
        "FROM ${TAGGED}\nFROM build\nFROM scratch\nFROM debian:latest\n"
        "ENV TOKENIZERS_PARALLELISM=false\nARG GITHUB_TOKEN_URL\n"
    )
    assert _findings(text, "DO502") == [(4, None), (12, None)]
    assert _findings(text, "DO506") == [(6, None)]
    assert _findings(text, "DO507") == [(7, None)]
    assert _findings(text, "DO508") == [(3, None), (5, None)]
    assert _findings(text, "DO501") == [(12, None)]
    with_check = text + "HEALTHCHECK CMD true\n"
    assert _findings(with_check, "DO501") == []


def test_unknown_suppression_codes_are_reported() -> None:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.pipeline import check

    text = ("FROM debian:12\n"
            "# dockopt: ignore=DO2O1,DO204 typo in the first\n"
            "RUN apt-get update && apt-get install -y curl\n"
            "# dockopt: global ignore=apt-install-recommends,DL3059,DO6,bogus-name\n"
            "# hadolint ignore=DL9999\n"
            "CMD [\"curl\"]\n")
    findings, _ = check(text, settings=Settings(select=("DO510",)))
    got = [(f.line, f.column, f.message.split("`")[1]) for f in findings]
    # DO204, the rule name, a covered hadolint code and a code prefix are known;
    # hadolint's own comment is not dockopt's to judge.
    assert got == [(2, 19, "DO2O1"), (4, 60, "bogus-name")]
