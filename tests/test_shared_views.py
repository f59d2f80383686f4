"""The shortcuts in the views every rule reads, and in DO101's detection (issue 15),
give the answers of the long way.

- An instruction's segments, logical line, arguments and shell source are worked out
  once per distinct text (``syntax._layouts``) relative to the instruction's start and
  moved to its offset: they equal a scan of the instruction where it is, as the parser
  did it for every instruction before.
- DO101's ``_builds`` skips every command whose program it does not read, and works
  per RUN: it gives the descriptions the command-by-command scan gave.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dockopt.rewriter.shell import LogicalText, ShellScript, parse_shell
from dockopt.rewriter.syntax import (
    _CONTINUATION,
    Dockerfile,
    Instruction,
    Segment,
    _Lines,
    _lstrip_len,
    _scan_continuation,
    parse,
)
from dockopt.transforms.context.base_image import BUILD_PACKAGES
from dockopt.transforms.split import single_stage
from dockopt.transforms.split.common import cmd_words

# --- the reference computations (the code the shortcuts replaced) -----------------


def scanned_segments(ins: Instruction) -> tuple[Segment, ...]:
    lines = _Lines(ins.text, 0, ins.start)
    got = lines.next()
    assert got is not None
    ls, ce, le = got
    token = ins.text[ls:ce]
    lead = _lstrip_len(token)
    cont = _CONTINUATION[ins.escape]
    segs: list[Segment] = []
    _scan_continuation(ins.text, lines, ls, ce, le, lead, cont.search(token[lead:]), cont,
                       segs)
    for h in ins.heredoc_docs:
        body_end = h.start + len(h.content)
        if body_end > h.start:
            segs.append(Segment("heredoc", h.start, body_end))
        if h.end > body_end:
            segs.append(Segment("terminator", body_end, h.end))
    return tuple(segs)


def scanned_logical(ins: Instruction) -> LogicalText:
    pieces: list[tuple[int, int, int]] = []
    pos = 0
    for seg in scanned_segments(ins):
        if seg.kind == "code" and seg.end > seg.start:
            n = seg.end - seg.start
            pieces.append((pos, seg.start, n))
            pos += n
    return LogicalText(ins.original, tuple(pieces))


def scanned_args(ins: Instruction) -> LogicalText:
    m = ins.meaning
    whole = scanned_logical(ins)
    a, b = (0, 0) if m is None else m.sub.args_span if m.sub is not None else m.args_span
    pieces: list[tuple[int, int, int]] = []
    for ls, ps, n in whole.pieces:
        lo, hi = max(ls, a), min(ls + n, b)
        if lo < hi:
            pieces.append((lo - a, ps + (lo - ls), hi - lo))
    return LogicalText(whole.text[a:b], tuple(pieces))


def view_problems(tree: Dockerfile) -> list[str]:
    """Every instruction's shared views against the scan where it sits; the views are
    read in varying orders (args before logical, segments last...), as rules do."""
    out: list[str] = []
    for n, ins in enumerate(tree.instructions):
        order = n % 3
        if order == 0:
            got = (ins.segments, ins.logical, ins.args)
        elif order == 1:
            args = ins.args
            got = (ins.segments, ins.logical, args)
        else:
            logical, args = ins.logical, ins.args
            got = (ins.segments, logical, args)
        want = (scanned_segments(ins), scanned_logical(ins), scanned_args(ins))
        for name, g, w in zip(("segments", "logical", "args"), got, want, strict=True):
            if g != w:
                out.append(f"line {ins.start_line}: {name} {g!r} != {w!r}")
        source = ins.shell_source()
        if source is not None and source != want[2]:
            out.append(f"line {ins.start_line}: shell_source {source!r}")
        if ins.logical.text != ins.original:
            out.append(f"line {ins.start_line}: logical text differs from the original")
    return out


def test_views_of_a_repeated_text_are_placed_at_each_instruction() -> None:
    run = "RUN apt-get update \\\n  # a comment\n  && apt-get install -y gcc \\\n\n  make\n"
    # The same texts at different offsets, in one file and in two files.
    one = parse("FROM debian:12\n" + run + "COPY a b\n" + run)
    two = parse("# syntax=docker/dockerfile:1\nFROM debian:12 AS x\n\n" + run)
    first, second = one.instructions[1], one.instructions[3]
    third = two.instructions[1]
    assert first.text == second.text == third.text
    assert len({first.start, second.start, third.start}) == 3
    for tree in (one, two):
        assert view_problems(tree) == []
    for ins, text in ((first, one.text), (second, one.text), (third, two.text)):
        src = ins.shell_source()
        assert src is not None
        assert "".join(text[ps:ps + n] for _, ps, n in src.pieces) == src.text
        assert src.text.startswith("apt-get update   && apt-get install")


def test_views_with_heredocs_and_backtick_escape() -> None:
    heredoc = "RUN <<EOF cat >/x\nline 1\nEOF\n"
    texts = [
        "FROM alpine\n" + heredoc + "RUN echo hi\n" + heredoc,
        "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\ `\n  /b\n"
        "RUN dir `\n  c:\\ `\n  /b\n",
        "FROM alpine\nRUN <<A <<B\na\nA\nb\nB\nONBUILD RUN echo \\\n x\n",
        "FROM alpine\nRUN echo unterminated <<EOF\nbody",
    ]
    for text in texts:
        assert view_problems(parse(text)) == []
        # Again at another offset, after the first parse filled the memo.
        assert view_problems(parse("\n\n" + text.replace("FROM", "from", 1))) == []


def test_views_on_random_instructions() -> None:
    rng = random.Random(15)
    parts = ["RUN", "run", "ENV", "COPY", "CMD", "ONBUILD RUN", " a", " b=c", " &&", " \\",
             " `", "\n", "\r\n", "  # c\n", "\n\n", " <<EOF\nx\nEOF\n", " [\"x\"]", "\t",
             " 'q", " \"q\"", " $V"]
    for _ in range(400):
        body = "".join(rng.choice(parts) for _ in range(rng.randint(1, 14)))
        prefix = "# escape=`\n" if rng.random() < 0.2 else ""
        text = prefix + "FROM x\n" + body + "\n" + body
        assert view_problems(parse(text)) == [], repr(text)
        assert view_problems(parse("\n" + text)) == [], repr(text)


@pytest.mark.corpus
def test_views_on_the_corpus(corpus_dockerfiles: list[Path]) -> None:
    problems: list[str] = []
    for path in corpus_dockerfiles:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        problems += [f"{path}: {p}" for p in view_problems(parse(text))]
    assert problems == []


# --- DO101's detection ------------------------------------------------------------


def scanned_builds(scripts: list[ShellScript]) -> list[str]:
    """``single_stage._builds`` as it was: every command's words, every family."""
    out: list[str] = []
    for script in scripts:
        cleans = any(w[:2] in (["apk", "del"], ["apt-get", "purge"], ["apt-get", "remove"],
                               ["apt-get", "autoremove"], ["apt", "purge"], ["apt", "remove"],
                               ["yum", "remove"], ["dnf", "remove"])
                     for w in map(cmd_words, script.commands))
        for cmd in script.commands:
            words = cmd_words(cmd)
            if not words or (cleans and words[0] in ("make", "apt-get", "apt", "apk")):
                continue
            name = words[0]
            args = [w for w in words[1:] if w and not w.startswith("-")]
            for prog, subs, desc in single_stage._OTHER_BUILDS:
                if name != prog:
                    continue
                goals = args if prog.startswith(("mvn", "gradle")) else args[:1]
                matched = subs == ("",) or any(a in subs for a in goals) or \
                    ("" in subs and not args)
                if matched and desc not in out:
                    out.append(desc)
            if name in ("npm", "yarn", "pnpm") and "build" in words[1:3]:
                desc = "node: a build script (copy the output and production node_modules " \
                       "to node:<v>-slim)"
                if desc not in out:
                    out.append(desc)
            if name in ("apt-get", "apt", "apk") and ("install" in words or "add" in words):
                pkgs = [w for w in words[2:] if not w.startswith("-")]
                tools = [p for p in pkgs if p in BUILD_PACKAGES or p.endswith("-dev")
                         or p == "build-base"]
                if tools:
                    desc = (f"compilers installed ({', '.join(tools[:4])}): build in a "
                            "builder stage and copy the named outputs")
                    if desc not in out:
                        out.append(desc)
    return out


def shortcut_builds(scripts: list[ShellScript]) -> list[str]:
    out: list[str] = []
    for script in scripts:
        for desc in single_stage._run_builds(script):
            if desc not in out:
                out.append(desc)
    return out


def test_builds_detection_matches_the_full_scan() -> None:
    lines = [
        "go build -o /app . && make", "sudo -u x make install", "cargo build --release",
        "mvn -B -q package", "mvn dependency:go-offline", "gradle clean bootJar",
        "./gradlew build", "dotnet publish -c Release", "pip wheel .", "pip3 install x",
        "tsc", "tsc -p .", "make -j4", "make test", "npm run build", "yarn build",
        "pnpm -r build", "apt-get install -y gcc libpq-dev curl",
        "apk add --no-cache build-base", "apk add --virtual .deps gcc && apk del .deps",
        "apt-get purge -y gcc", "env CC=gcc make", "/usr/bin/make all", "$X build",
        "echo make", "apt install -y g++ make", "yum remove gcc && make",
        "dnf remove -y x; apt-get install -y gcc", "command -v make", "go install ./cmd/x",
    ]
    rng = random.Random(101)
    for _ in range(300):
        chosen = rng.sample(lines, rng.randint(1, 5))
        scripts = [parse_shell(" && ".join(chosen[:k])) for k in range(1, len(chosen) + 1)]
        assert shortcut_builds(scripts) == scanned_builds(scripts), chosen


@pytest.mark.corpus
def test_builds_detection_on_the_corpus(corpus_dockerfiles: list[Path]) -> None:
    seen = 0
    for path in corpus_dockerfiles:
        tree = parse(path.read_bytes().decode("utf-8", "surrogateescape"))
        for stage in tree.stages:
            scripts = []
            for ins in stage.body:
                src = ins.shell_source() if ins.keyword == "RUN" else None
                if src is not None:
                    scripts.append(parse_shell(src.text))
            want = scanned_builds(scripts)
            seen += bool(want)
            assert shortcut_builds(scripts) == want, path
    assert seen > 100  # the corpus exercises the detection


def test_builds_per_stage_and_the_memo_give_the_full_scan() -> None:
    from dockopt.rewriter.config import Settings
    from dockopt.transforms.base import Context

    runs = ["RUN apt-get update && apt-get install -y gcc make && make",
            "RUN npm ci && npm run build", "RUN apk add --virtual .d gcc && make && apk del .d",
            "RUN go build -o /x . && tsc"]
    for n in range(2 * len(runs)):  # every text twice: computed, then from the memo
        chosen = runs[n % len(runs):] + runs[:n % len(runs)]
        tree = parse("FROM debian:12\n" + "\n".join(chosen) + "\n")
        ctx = Context(tree, Settings(), None, None, {})
        stage = tree.stages[-1]
        scripts = [parse_shell(src.text) for ins in stage.body
                   if (src := ins.shell_source()) is not None]
        assert single_stage._builds(ctx, stage) == scanned_builds(scripts)


def test_families_by_image_are_those_that_can_match() -> None:
    images = {image for f in single_stage.FAMILIES for image in f.images} | {"alpine", ""}
    for image in images:
        want = tuple(f for f in single_stage.FAMILIES if image in f.images)
        assert single_stage._FAMILIES_BY_IMAGE.get(image, ()) == want


def test_registry_selection_equals_a_fresh_one() -> None:
    from dockopt.rewriter import pipeline
    from dockopt.rewriter.config import Settings
    from dockopt.transforms import REGISTRY

    def fresh(settings: Settings) -> list[str]:
        return [cls.code for cls in REGISTRY
                if settings.selects(cls.code, cls.name, cls.hadolint_codes())]

    everything, some = Settings(), Settings(select=("DO2",), ignore=("DO204",))
    for settings in (everything, everything, some, some, everything):
        got = [t.code for t in pipeline.registry(settings)]
        assert got == fresh(settings)
    assert "DO101" not in [t.code for t in pipeline.registry(some)]
    one, two = pipeline.registry(some), pipeline.registry(some)
    assert all(a is not b for a, b in zip(one, two, strict=True))  # new instances per file


def test_a_text_too_long_for_the_memo_is_scanned_once_per_node(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dockopt.rewriter import syntax

    run = "RUN true" + "".join(f" \\\n  && echo {i:06d}" for i in range(3000)) + "\n"
    assert len(run) > syntax._layouts.budget // 8  # not kept by the memo
    scans: list[str] = []
    real = syntax._relative_segments

    def counted(text: str, escape: str, start: int,
                heredocs: tuple[syntax.Heredoc, ...]) -> tuple[Segment, ...]:
        scans.append(text)
        return real(text, escape, start, heredocs)

    monkeypatch.setattr(syntax, "_relative_segments", counted)
    tree = parse("FROM debian:12\n" + run)
    ins = tree.instructions[1]
    for _ in range(3):
        ins.relative_segments(), ins.segments, ins.logical, ins.args, ins.shell_source()
    assert len(scans) == 1
    assert view_problems(tree) == []
