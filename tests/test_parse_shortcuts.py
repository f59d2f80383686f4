"""The per-file shortcuts of issue 15's parser pass give the answers of the long way.

- ``Dockerfile.has_errors`` is answered once per tree: it equals the scan of the
  diagnostics it replaced.
- ``edit.detect_style`` sums facts read once per distinct instruction text (looking
  for an `&&` before an escape inside the instruction only): it equals the whole-file
  reading it replaced.
- DO601's ``classify`` rejects a command by its program name before reading its
  arguments: it equals the full classification.
- The parser walks lines in locals, reads a one-line instruction without the
  continuation loop and the continuation lines without building segments
  (``_join_continuation``); the segments' loop (``_scan_continuation``) keeps the
  walk in locals: the trees, diagnostics and segments equal the old parser's.
- The tree's read-once attributes (``once``) give what ``cached_property`` gave.

Each reference below is the code the shortcut replaced, kept as it was.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import pytest

from dockopt.rewriter import edit, syntax
from dockopt.rewriter.buildkit import GO_SPACE
from dockopt.rewriter.edit import _LEADING_AND, _TRAILING_AND, Style
from dockopt.rewriter.once import once
from dockopt.rewriter.shell import SimpleCommand, parse_shell
from dockopt.rewriter.syntax import Dockerfile, parse
from dockopt.transforms import shellfix
from dockopt.transforms.context.manifests.installs import (
    _NPM_VALUE,
    _PY,
    Install,
    _opt,
    _values,
    classify,
)

# --- the reference computations (the code the shortcuts replaced) -----------------


def scanned_has_errors(tree: Dockerfile) -> bool:
    return any(d.severity == "error" for d in tree.diagnostics)


def scanned_style(tree: Dockerfile) -> Style:
    kws = Counter(ins.raw_keyword.isupper() or not ins.raw_keyword.isalpha()
                  for ins in tree.instructions if ins.known)
    indents: Counter[str] = Counter()
    leading = trailing = 0
    for ins in tree.instructions:
        segs = ins.relative_segments()
        for prev, seg in pairwise(segs):
            if seg.kind != "code" or prev.kind not in ("eol", "comment", "empty"):
                continue
            line = ins.text[seg.start:seg.end]
            stripped = line.lstrip(" \t")
            if stripped:
                indents[line[: len(line) - len(stripped)]] += 1
            if _LEADING_AND.match(line):
                leading += 1
        for seg in segs:
            if seg.kind == "escape":
                at = ins.start + seg.start
                before = tree.text[max(0, at - 8):at]
                if _TRAILING_AND.search(before.rstrip(" \t")):
                    trailing += 1
    indent = "    "
    if indents:
        indent = max(indents.items(), key=lambda kv: (kv[1], -len(kv[0])))[0] or "    "
    return Style(
        newline=tree.newline,
        escape=tree.escape,
        upper_keywords=kws[True] >= kws[False],
        indent=indent,
        and_position="leading" if leading > trailing else "trailing",
    )


def classified(cmd: SimpleCommand, step: int) -> Install | None:
    """``installs.classify`` as it was: every command's arguments read."""
    name = cmd.resolved_name
    if name is None:
        return None
    args = _values(cmd)
    if args is None:
        return None
    sub = shellfix.subcommand(cmd, _NPM_VALUE)
    subv = sub.value if sub is not None else None
    if name == "npm" and subv in ("install", "i", "ci"):
        if "-g" in args or "--global" in args or any(a.startswith("--global=") for a in args):
            return None
        ops = shellfix.operands(cmd, sub, _NPM_VALUE) if sub else []
        if ops:
            return None
        return Install("npm", cmd, step, sub, args, _opt(args, "--prefix", "-C"))
    if name == "yarn" and (subv is None or subv == "install"):
        if subv is None and any(not a.startswith("-") for a in args):
            return None
        return Install("yarn", cmd, step, sub, args, _opt(args, "--cwd"))
    if name == "pnpm" and subv in ("install", "i"):
        if sub is not None and shellfix.operands(cmd, sub, _NPM_VALUE):
            return None
        if "-g" in args or "--global" in args:
            return None
        return Install("pnpm", cmd, step, sub, args, _opt(args, "--dir", "-C"))
    pip_args: list[str] | None = None
    if name in ("pip", "pip3") or re.fullmatch(r"pip3\.\d+", name):
        pip_args = args
    elif _PY.match(name) and args[:2] == ["-m", "pip"]:
        pip_args = args[2:]
    if pip_args is not None:
        if pip_args[:1] != ["install"]:
            return None
        local = any(a in (".", "-e", "--editable") or a.startswith(("./", "-e.", ".["))
                    for a in pip_args)
        if _opt(pip_args, "-r", "--requirement") is None and not local and \
                not any(a.startswith("-r") and len(a) > 2 for a in pip_args):
            return None
        return Install("pip", cmd, step, sub, pip_args)
    if name == "poetry" and subv == "install" and "--only-root" not in args:
        return Install("poetry", cmd, step, sub, args, _opt(args, "--directory", "-C"))
    if name == "pipenv" and subv in ("install", "sync"):
        if sub is not None and shellfix.operands(cmd, sub):
            return None
        return Install("pipenv", cmd, step, sub, args)
    if name == "uv" and subv == "sync":
        return Install("uv", cmd, step, sub, args, _opt(args, "--directory", "--project"))
    if name == "go" and args[:2] == ["mod", "download"]:
        return Install("go-mod", cmd, step, sub, args)
    if name in ("mvn", "mvnw") and any(a in ("package", "install", "verify", "compile",
                                             "dependency:go-offline", "dependency:resolve")
                                       for a in args):
        return Install("maven", cmd, step, sub, args)
    if name in ("gradle", "gradlew") and any(a in ("build", "assemble", "installDist",
                                                   "bootJar", "shadowJar") for a in args):
        return Install("gradle", cmd, step, sub, args)
    if name in ("bundle", "bundler") and subv == "install":
        return Install("bundler", cmd, step, sub, args, _opt(args, "--gemfile"))
    if name == "composer" and subv == "install":
        return Install("composer", cmd, step, sub, args, _opt(args, "--working-dir", "-d"))
    if name == "cargo" and subv in ("build", "install"):
        return Install("cargo", cmd, step, sub, args)
    return None


def scanned_continuation(text: str, lines: syntax._Lines, ls: int, ce: int, le: int, lead: int,
                       m: re.Match[str] | None, cont: re.Pattern[str],
                       segs: list[syntax.Segment] | None, parts: list[str] | None) -> bool:
    """``syntax._scan_continuation`` as it was: one loop for segments and parts.

    Fills ``segs`` (physical layout) and/or ``parts`` (logical pieces); returns
    whether an empty continuation line was seen.
    """
    base = lines.base
    esc = "`" if cont is syntax._CONTINUATION["`"] else "\\"
    code_end = ls + lead + m.start() if m else ce
    if segs is not None:
        if lead:
            segs.append(syntax.Segment("lead", base + ls, base + ls + lead))
        segs.append(syntax.Segment("code", base + ls + lead, base + code_end))
        if code_end < ce:
            segs.append(syntax.Segment("escape", base + code_end, base + ce))
        if ce < le:
            segs.append(syntax.Segment("eol", base + ce, base + le))
    if parts is not None:
        parts.append(text[ls + lead:code_end])
    end_of_line = m is None
    empty = False
    n = lines.n
    while not end_of_line:
        # lines.next() (``lines`` walks ``text``), inline: this loop reads every
        # continuation line of every instruction, most of a Dockerfile's lines, and
        # the call was a third of its time.
        s2 = lines.pos
        if s2 >= n:
            break
        nl = text.find("\n", s2)
        if nl < 0:
            e2 = c2 = n
        else:
            e2, c2 = nl + 1, nl
        if c2 > s2 and text[c2 - 1] == "\r":
            while c2 > s2 and text[c2 - 1] == "\r":
                c2 -= 1
        lines.pos = e2
        lines.line += 1
        token = text[s2:c2]
        stripped = token.lstrip(GO_SPACE)
        if stripped[:1] == "#" or not stripped:
            empty = empty or not stripped
            if segs is not None:
                kind: syntax.SegmentKind = "empty" if not stripped else "comment"
                segs.append(syntax.Segment(kind, base + s2, base + e2))
            continue
        at = syntax._continuation_at(token, esc)
        continues = at >= 0
        cend = s2 + at if continues else c2
        if segs is not None:
            segs.append(syntax.Segment("code", base + s2, base + cend))
            if cend < c2:
                segs.append(syntax.Segment("escape", base + cend, base + c2))
            if c2 < e2:
                segs.append(syntax.Segment("eol", base + c2, base + e2))
        if parts is not None:
            parts.append(text[s2:cend])
        end_of_line = not continues
    return empty


def scanned_instruction(text: str, lines: syntax._Lines, ls: int, ce: int, le: int, lead: int,
                      m: re.Match[str] | None, cont: re.Pattern[str], escape: str,
                      diags: list[syntax.Diagnostic]) -> syntax.Instruction:
    start_line = lines.line
    parts: list[str] = []
    if scanned_continuation(text, lines, ls, ce, le, lead, m, cont, None, parts):
        diags.append(syntax.Diagnostic(syntax.EMPTY_CONTINUATION, lines.line, 1,
                                "empty continuation line (BuildKit warns: "
                                "no-empty-continuation)", "warning"))
    line = parts[0] if len(parts) == 1 else "".join(parts)

    docs: list[syntax.Heredoc] = []
    error: syntax.Diagnostic | None = None
    if "<<" in line:
        try:
            meaning: syntax.bk.Meaning | None = syntax._interpret(line, escape)
        except syntax.bk.BuildKitError:
            meaning = None  # reported lazily by syntax.Instruction.error
        if meaning is not None and syntax._can_contain_heredoc(meaning):
            try:
                markers = syntax.bk.heredoc_markers(line)
            except syntax.bk.BuildKitError as exc:
                markers = []
                error = syntax.Diagnostic(syntax.REJECTED_INSTRUCTION, start_line, lead + 1,
                                          str(exc))
            error = syntax._read_heredocs(text, lines, markers, docs, start_line, lead) or error

    return syntax.Instruction(
        text=text[ls:lines.pos],
        start=ls,
        end=lines.pos,
        start_line=start_line,
        end_line=lines.line,
        original=line,
        escape=escape,
        heredoc_docs=tuple(docs),
        structural_error=error,
    )


def reference_parse(text: str) -> Dockerfile:
    """``syntax.parse`` as it was: the line walk through ``syntax._Lines.next``, every
    instruction read by the old ``_read_instruction``."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = syntax._Lines(text, len(bom))
    items: list[syntax.Node] = []
    diags: list[syntax.Diagnostic] = []
    directives = syntax._DirectiveState()
    escape = "\\"
    cont = syntax._CONTINUATION[escape]
    long_lines = len(text) > syntax._MAX_LINE_BYTES // 4

    while True:
        got = lines.next()
        if got is None:
            break
        ls, ce, le = got
        lineno = lines.line
        token = text[ls:ce]
        lead = syntax._lstrip_len(token) if token[:1] in syntax.bk.GO_SPACE else 0
        stripped = token[lead:] if lead else token
        if not directives.done:
            found = directives.check(stripped)
            if found is not None:
                escape, cont = syntax._directive(found, directives, escape, lineno, lead, diags)
                items.append(syntax.Directive(text[ls:le], ls, le, lineno, found[0], found[1]))
                continue
        if stripped[:1] == "#":
            items.append(syntax.Comment(text[ls:le], ls, le, lineno))
            continue
        m = cont.search(stripped)
        if m is None and not stripped:
            items.append(syntax.Blank(text[ls:le], ls, le, lineno))
            continue
        items.append(scanned_instruction(text, lines, ls, ce, le, lead, m, cont, escape, diags))

    if long_lines:
        syntax._check_lengths(text, diags)
    if not any(isinstance(i, syntax.Instruction) for i in items):
        diags.append(syntax.Diagnostic(syntax.NO_INSTRUCTIONS, lines.line or 1, 1,
                                "file with no instructions"))
    m2 = syntax._SURROGATE.search(text)
    if m2 is not None:
        off = m2.start()
        line = text.count("\n", 0, off) + 1
        diags.append(syntax.Diagnostic(syntax.INVALID_UTF8, line, off - text.rfind("\n", 0, off),
                                "invalid UTF-8 (bytes kept as they are)", "warning"))
    return Dockerfile(bom, tuple(items), escape, tuple(diags), text)


def parse_problems(text: str) -> list[str]:
    tree = parse(text)
    reference = reference_parse(text)
    problems = []
    if tree != reference or tree.diagnostics != reference.diagnostics:
        problems.append("parse")
    # The layouts (segments mode) are made outside the parse: compared with the
    # old loop's, for each instruction where it is.
    for ins in tree.instructions:
        lines = syntax._Lines(ins.text, 0, ins.start)
        got = lines.next()
        assert got is not None
        ls, ce, le = got
        token = ins.text[ls:ce]
        lead = len(token) - len(token.lstrip(GO_SPACE))
        cont = syntax._CONTINUATION[ins.escape]
        match = cont.search(token[lead:])
        lines.pos, lines.line = le, 1
        old_segs: list[syntax.Segment] = []
        old_parts: list[str] = []
        old_empty = scanned_continuation(ins.text, lines, ls, ce, le, lead, match, cont,
                                         old_segs, old_parts)
        old_end = (lines.pos, lines.line)
        lines.pos, lines.line = le, 1
        segs: list[syntax.Segment] = []
        empty = syntax._scan_continuation(ins.text, lines, ls, ce, le, lead, match, cont, segs)
        if (segs, empty, lines.pos, lines.line) != (old_segs, old_empty, *old_end):
            problems.append(f"segments of {ins.text!r}")
        # The parser's join: the old loop's logical pieces, from the same first piece.
        if match is not None:
            lines.pos, lines.line = le, 1
            parts = [ins.text[ls + lead:ls + lead + match.start()]]
            empty = syntax._join_continuation(ins.text, lines, ins.escape, parts)
            if (parts, empty, lines.pos, lines.line) != (old_parts, old_empty, *old_end):
                problems.append(f"pieces of {ins.text!r}")
    return problems


def tree_problems(text: str) -> list[str]:
    tree = parse(text)
    problems = parse_problems(text)
    if tree.has_errors != scanned_has_errors(tree):
        problems.append("has_errors")
    # Twice: the second reading comes from the memo.
    for _ in range(2):
        if edit.detect_style(tree) != scanned_style(tree):
            problems.append(f"style {edit.detect_style(tree)} != {scanned_style(tree)}")
    for ins in tree.instructions:
        src = ins.shell_source()
        if src is not None:
            problems += command_problems(src.text)
    return problems


def command_problems(script_text: str) -> list[str]:
    script = parse_shell(script_text)
    return [f"classify {cmd.text!r}" for cmd in script.commands
            if classify(cmd, 3) != classified(cmd, 3)]


# --- the tests ----------------------------------------------------------------------


def test_style_ties_and_operators() -> None:
    text = ("FROM x\nRUN a &&\\\n\tb \\\n  && c ;\\\n  d\n"
            "run e \\\n\t|| f\nRUN &&\\\n;\\\n  g\n")
    assert tree_problems(text) == []
    style = edit.detect_style(parse(text))
    # Two spaces thrice, a tab twice; more lines end with an operator than start with one.
    assert (style.indent, style.and_position) == ("  ", "trailing")
    # Equal counts and lengths: the indent seen first wins, in either order.
    for first, second in ((" \t", "\t "), ("\t ", " \t")):
        text = f"FROM x\nRUN a \\\n{first}&& b \\\n{second}|| c\n"
        assert tree_problems(text) == []
        style = edit.detect_style(parse(text))
        assert (style.indent, style.and_position) == (first, "leading")


def test_escape_right_after_the_previous_instruction() -> None:
    # The 8 characters before an escape on an instruction's first line reach into
    # the text before it: they can never hold an operator that decides the answer.
    for text in ("FROM x\nRUN a &&\n\\\nb\n", "\ufeff\\\nFROM x\n", "FROM x\nRUN a;\n;\\\nb\n",
                 "# c &&\n&&\\\nFROM x\n", "FROM x\r\nRUN a &&\r\n \\\r\n b\r\n"):
        assert tree_problems(text) == [], repr(text)


def test_shortcuts_on_random_texts() -> None:
    rng = random.Random(1515)
    parts = ["RUN", "run", "ENV", "COPY", "FROM x", "ONBUILD RUN", "BOGUS", " a", " b=c",
             " &&", "&&", " ||", ";", " \\", "\\", " `", "`", "\n", "\r\n", "  # c\n",
             "\n\n", " <<EOF\nx\nEOF\n", " [\"x\"]", "\t", "  ", " 'q", " $V", "\ufeff"]
    for _ in range(600):
        body = "".join(rng.choice(parts) for _ in range(rng.randint(1, 20)))
        prefix = rng.choice(["", "# escape=`\n", "\ufeff", "FROM x\n"])
        text = prefix + body + "\n" + body
        assert tree_problems(text) == [], repr(text)


def test_classify_on_random_commands() -> None:
    rng = random.Random(601)
    programs = ["npm", "yarn", "pnpm", "pip", "pip3", "pip3.12", "pip3.x", "python",
                "python3", "python3.11", "pythonx", "poetry", "pipenv", "uv", "go", "mvn",
                "./mvnw", "gradle", "/usr/bin/gradlew", "bundle", "bundler", "composer",
                "cargo", "apt-get", "sudo npm", "env A=1 pip", "$X", "\"npm\"", "np'm'"]
    words = ["install", "i", "ci", "sync", "-m", "pip", "-r", "req.txt", "-rreq.txt", ".",
             "-e", "./x", "-g", "--global", "--prefix", "dir", "--cwd", "-C", "mod",
             "download", "package", "build", "--only-root", "$V", "x", "--directory=d"]
    found = 0
    for _ in range(3000):
        text = " ".join([rng.choice(programs)]
                        + [rng.choice(words) for _ in range(rng.randint(0, 5))])
        assert command_problems(text) == [], text
        found += any(classified(c, 0) is not None for c in parse_shell(text).commands)
    assert found > 100  # the commands reach the installs, not only the rejections


@pytest.mark.corpus
def test_shortcuts_on_the_corpus(corpus_dockerfiles: list[Path]) -> None:
    problems: list[str] = []
    installs = 0
    for path in corpus_dockerfiles:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        problems += [f"{path}: {p}" for p in tree_problems(text)]
        for ins in parse(text).instructions:
            src = ins.shell_source()
            if src is not None:
                installs += sum(classified(c, 0) is not None
                                for c in parse_shell(src.text).commands)
    assert problems == []
    assert len(corpus_dockerfiles) > 1000 and installs > 100  # the corpus was read


def test_once_reads_like_cached_property() -> None:
    calls: list[int] = []

    class Node:
        def __init__(self, n: int) -> None:
            self.n = n

        @once
        def double(self) -> int:
            """Twice n."""
            calls.append(self.n)
            return 2 * self.n

        @cached_property
        def reference(self) -> int:
            return 2 * self.n

    a, b = Node(2), Node(5)
    assert (a.double, a.double, b.double) == (a.reference, a.reference, b.reference)
    assert calls == [2, 5]  # computed once per instance
    assert a.__dict__["double"] == 4 and "double" not in Node(1).__dict__
    assert isinstance(Node.__dict__["double"], once) and Node.double.__doc__ == "Twice n."
    # The tree's attributes: kept on the node after the first read.
    ins = parse("FROM x\nrun a\n").instructions[1]
    assert "keyword" not in ins.__dict__
    assert ins.keyword == "RUN" and ins.__dict__["keyword"] == "RUN"


def test_every_program_classify_reads_passes_its_name_check() -> None:
    """``classify`` rejects a command by its program before reading its arguments
    (``installs._TOOLS``): every program name its branches compare with must be in
    that set (or be ``pip3.N`` / ``pythonN``), or a tool added to a branch alone would
    never be seen."""
    import ast
    import inspect

    from dockopt.transforms.context.manifests import installs

    tree = ast.parse(inspect.getsource(installs.classify))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) \
                and node.left.id == "name":
            for right in node.comparators:
                for const in ast.walk(right):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str):
                        named.add(const.value)
    assert {"npm", "pip", "cargo", "gradlew"} <= named  # the walk found the branches
    assert named <= installs._TOOLS
