"""Shared helpers for transforms that read or edit the shell inside RUN.

They turn positions in the *logical* command (what ``/bin/sh -c`` receives) into
byte-range edits of the file, so an inserted flag lands on the right physical line
and the user's ``&& \\`` layout, indentation and comments survive.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import LogicalText, ShellScript, SimpleCommand, Step, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit

# Commands whose effect outlives them in the shell: merging a RUN that runs one of
# these into the next RUN would change what the next one sees.
STATEFUL = frozenset({
    "cd", "pushd", "popd", "export", "unset", "set", "source", ".", "umask", "shopt",
    "alias", "unalias", "trap", "exec", "ulimit", "declare", "typeset", "readonly",
    "local", "eval", "exit", "return", "hash", "enable", "builtin", "shift", "getopts",
})


@dataclass(frozen=True, slots=True)
class RunShell:
    """A shell-form RUN with its logical text and parsed script."""

    ins: Instruction
    src: LogicalText
    script: ShellScript
    # The script is a `RUN <<EOF` heredoc body, not the RUN line: its text may only
    # be read, or the RUN moved whole (edits inside a body are not supported).
    heredoc: bool = False

    def word_text(self, word: Word) -> str:
        return self.src.text[word.start:word.end]


def shell_runs(ctx: Context, stage: Stage | None = None) -> Iterator[RunShell]:
    """Every RUN whose shell we can edit: shell form, no heredocs, parses cleanly.

    Computed once per pass for the whole file (many transforms ask, per stage).
    """
    runs = ctx.memo.get("shell_runs")
    if runs is None:
        runs = []
        for ins in ctx.tree.instructions:
            if ins.keyword != "RUN" or ins.passthrough or ins.heredoc_docs:
                continue
            src = ins.shell_source()
            script = ctx.shell(ins)
            if src is None or script is None or script.has_errors:
                continue
            runs.append(RunShell(ins, src, script))
        ctx.memo["shell_runs"] = runs
    yield from in_stage(runs, stage)


def in_stage(runs: list[RunShell], stage: Stage | None) -> Iterator[RunShell]:
    """The runs (in file order) inside ``stage``: found by bisection, since
    transforms ask per stage and a scan of every run per stage was quadratic."""
    if stage is None:
        yield from runs
        return
    first, last = stage.instructions[0].start, stage.instructions[-1].start
    lo = bisect.bisect_left(runs, first, key=_run_start)
    hi = bisect.bisect_right(runs, last, key=_run_start)
    yield from runs[lo:hi]


def _run_start(run: RunShell) -> int:
    return run.ins.start


def script_runs(ctx: Context, stage: Stage | None = None) -> Iterator[RunShell]:
    """Every RUN whose script we can read: the shell-form RUNs of :func:`shell_runs`,
    then `RUN <<EOF` heredocs run as a POSIX shell script (nothing but the marker on
    the RUN line, one body, no `<<-` tab stripping, no shebang other than sh/bash/dash),
    marked ``heredoc=True``. For transforms that move whole RUNs."""
    yield from shell_runs(ctx, stage)
    runs = ctx.memo.get("heredoc_runs")
    if runs is None:
        from dockopt.rewriter.shell import heredoc_interpreter, parse_shell

        runs = []
        for ins in ctx.tree.instructions:
            if ins.keyword != "RUN" or ins.passthrough or len(ins.heredoc_docs) != 1:
                continue
            doc = ins.heredoc_docs[0]
            src = ins.shell_source()
            if src is None or not _HEREDOC_ONLY.fullmatch(src.text):
                continue
            body = ctx.tree.text[doc.start:doc.start + len(doc.content)]
            if body != doc.content or not body:
                continue  # `<<-` stripped tabs: offsets would not map
            if heredoc_interpreter(src.text, body) not in ("sh", "bash", "dash"):
                continue
            script = parse_shell(body)
            if script.has_errors:
                continue
            runs.append(RunShell(ins, LogicalText.identity(body, doc.start), script, True))
        ctx.memo["heredoc_runs"] = runs
    yield from in_stage(runs, stage)


# A RUN line that is only a heredoc marker (`<<EOF`, `<<'EOF'`, `<<"EOF"`).
_HEREDOC_ONLY = lazy(r"\s*<<(?:'[A-Za-z_][\w.-]*'|\"[A-Za-z_][\w.-]*\"|[A-Za-z_][\w.-]*)\s*")


def current_shell(ctx: Context, ins: Instruction) -> tuple[str, ...]:
    """The SHELL in effect for ``ins`` (BuildKit's default: ``/bin/sh -c``)."""
    return ctx.tree.shell_for(ins)


def posix_shell(ctx: Context, ins: Instruction) -> bool:
    """Whether RUN ``ins`` runs under a POSIX shell (no SHELL switching to another)."""
    shell = current_shell(ctx, ins)
    name = shell[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
    return name in ("sh", "bash", "dash", "ash", "zsh", "ksh", "busybox")


# A Windows base image by its name (Microsoft's own tags and the common community ones).
_WINDOWS_BASE = lazy(r"windows|nanoserver|servercore|ltsc\d", re.I)
# A Windows shell named by SHELL (`pwsh` is left out: PowerShell also runs on Linux).
_WINDOWS_SHELLS = frozenset({"cmd", "cmd.exe", "powershell", "powershell.exe"})
# A drive-letter path (`C:\app`, `c:/tools`) in an instruction's arguments.
_DRIVE_PATH = lazy(r"(?<![\w/])[A-Za-z]:[\\/]")


def windows_file(ctx: Context) -> bool:
    """Whether the file builds a Windows image, so shell rewrites do not apply.

    The base image decides (a Windows tag), or a SHELL that is cmd/powershell. The
    `# escape=`` directive alone says nothing about the OS (it is also used on Linux to
    keep backslashes literal), so it counts only together with Windows paths.
    Computed once per file and pass: every shell rule asks.
    """
    known: bool | None = ctx.memo.get("shellfix.windows")
    if known is None:
        known = _windows(ctx)
        ctx.memo["shellfix.windows"] = known
    return known


def _windows(ctx: Context) -> bool:
    tree = ctx.tree
    if any(_WINDOWS_BASE.search(stage.base) for stage in tree.stages):
        return True
    for ins in tree.instructions:
        if ins.keyword == "SHELL" and ins.is_json and ins.value \
                and ins.value[0].rsplit("\\", 1)[-1].lower() in _WINDOWS_SHELLS:
            return True
    if tree.escape != "`":
        return False
    return any(ins.keyword in ("WORKDIR", "COPY", "ADD", "ENV", "RUN", "SHELL", "CMD",
                               "ENTRYPOINT", "VOLUME")
               and _DRIVE_PATH.search(ins.text) for ins in tree.instructions)


def insert_at(run: RunShell, logical: int, text: str, *, before_seam: bool = True) -> Edit:
    """Insert ``text`` at a logical offset.

    At the seam between two physical lines, ``before_seam`` puts it at the end of
    the earlier line (before its `` \\``), otherwise at the start of the next line.
    """
    pos = run.src.to_physical_end(logical) if before_seam else run.src.to_physical(logical)
    return Edit(pos, pos, text)


def replace_span(run: RunShell, start: int, end: int, text: str) -> Edit | None:
    """Replace logical ``[start, end)`` if it lies on one physical line, else None."""
    a = run.src.to_physical(start)
    b = run.src.to_physical_end(end)
    if b - a != end - start:
        return None  # spans a continuation: leave the user's layout alone
    return Edit(a, b, text)


def line_layout(ctx: Context, ins: Instruction) -> tuple[str, str]:
    """(indent, and_position) used by this RUN's continuation lines, else the file's.

    The indent is the most common one among lines that start a command (``&& x``
    lines in leading style), so a deeper-indented package list does not set it.
    """
    style = ctx.style
    indents: Counter[str] = Counter()
    chain_indents: Counter[str] = Counter()
    leading = trailing = 0
    segs = ins.relative_segments()  # offsets into ins.text
    text = ins.text
    for i, seg in enumerate(segs):
        if seg.kind == "code" and i > 0 and segs[i - 1].kind in ("eol", "comment", "empty"):
            line = text[seg.start:seg.end]
            body = line.lstrip(" \t")
            if body:
                indent = line[: len(line) - len(body)]
                indents[indent] += 1
                if body.startswith(("&&", "||")):
                    leading += 1
                    chain_indents[indent] += 1
        if seg.kind == "escape":
            before = text[max(0, seg.start - 6):seg.start].rstrip(" \t")
            if before.endswith(("&&", "||", ";", "|")):
                trailing += 1
    position = ("leading" if leading > trailing else "trailing") if leading or trailing \
        else style.and_position
    pool = chain_indents if position == "leading" and chain_indents else indents
    indent = pool.most_common(1)[0][0] if pool else ""
    return indent or style.indent, position


def multiline(ins: Instruction) -> bool:
    return any(seg.kind == "escape" for seg in ins.relative_segments())


def append_commands(ctx: Context, run: RunShell, commands: list[str]) -> Edit | None:
    """Append ``&& cmd`` for each command at the end of the RUN, in its layout.

    None when appending would be wrong: a trailing comment would swallow it, or the
    script ends in ``;``/``&`` or a newline-separated list we cannot extend safely.

    When the script ends in an unconditional ``exit`` or ``exec PROGRAM`` (joined by
    ``;`` or ``&&``), anything after it would never run (shellcheck SC2317): the
    commands go right before it instead, joined by the same operator, so
    ``a; exit 0`` becomes ``a; cleanup; exit 0`` (the exit status is still the
    ``exit``'s) and ``a && exec x`` becomes ``a && cleanup && exec x``. An ``exit``
    or ``exec`` earlier in the top-level chain (dead code after it) gives None.
    """
    script = run.script
    if script.trailing_comment_start is not None or script.trailing_operator is not None:
        return None
    if not run.src.text.strip():
        return None
    steps = script.top_level
    if any(step.operator_before == "\n" for step in steps):
        return None
    at, op = len(run.src.text), "&&"
    for i, step in enumerate(steps):
        if not _terminal(step):
            continue
        if i != len(steps) - 1 or i == 0 or step.operator_before not in ("&&", ";"):
            return None
        at, op = steps[i - 1].end, step.operator_before or "&&"
    style = ctx.style
    if multiline(run.ins):
        indent, position = line_layout(ctx, run.ins)
        cont = f" {ctx.tree.escape}{style.newline}"
        if position == "leading" and op == "&&":
            text = "".join(f"{cont}{indent}&& {c}" for c in commands)
        else:
            sep = " &&" if op == "&&" else ";"
            text = "".join(f"{sep}{cont}{indent}{c}" for c in commands)
    else:
        sep = " && " if op == "&&" else "; "
        text = "".join(f"{sep}{c}" for c in commands)
    return insert_at(run, at, text)


def _terminal(step: Step) -> bool:
    """A top-level ``exit`` or ``exec PROGRAM`` (not a pipeline member, not after
    ``||``): the shell never runs what follows it. ``exec >log`` only redirects."""
    cmd = step.command
    if cmd is None or step.operator_before in ("||", "|", "|&", "&"):
        return False
    if cmd.name == "exit":
        return True
    return cmd.name == "exec" and any(
        w.value is None or not w.value.startswith("-") for w in cmd.words[1:])


def errexit_before(ctx: Context, run: RunShell, logical: int) -> bool:
    """Whether ``set -e`` is in effect at a top-level position of the script: the RUN's
    SHELL passes ``-e`` (``-ec``, ``-o errexit``), or a top-level ``set`` before
    ``logical`` turns it on (and no later one turns it off)."""
    on = _errexit_flags([a for a in current_shell(ctx, run.ins)[1:]], False)
    for step in run.script.top_level:
        if step.start >= logical:
            break
        cmd = step.command
        if cmd is not None and cmd.name == "set":
            on = _errexit_flags([w.value or "" for w in cmd.words[1:]], on)
    return on


def _errexit_flags(args: list[str], on: bool) -> bool:
    for i, arg in enumerate(args):
        if arg in ("-o", "+o") and i + 1 < len(args) and args[i + 1] == "errexit":
            on = arg == "-o"
        elif re.fullmatch(r"[-+][a-zA-Z]+", arg) and "e" in arg[1:]:
            on = arg[0] == "-"
        elif arg == "--":
            break
    return on


_SHORT_OPTS = lazy(r"-[A-Za-z0-9]+")
_VALUED: dict[tuple[str, ...], tuple[str, ...]] = {}


def has_flag(cmd: SimpleCommand, *names: str, short: str | None = None,
             takes_value: frozenset[str] = frozenset()) -> bool:
    """Whether the command passes one of the long/short ``names``, or the single
    letter ``short`` inside a combined short-option word such as ``-qqy``."""
    # ``--name=value`` of a long name, the prefixes worked out once per set of names
    # (a generator per word was a tenth of the transforms' time on many apt RUNs).
    valued = _VALUED.get(names)
    if valued is None:
        valued = _VALUED[names] = tuple(n + "=" for n in names if n.startswith("--"))
    skip = False
    for word in cmd.resolved_args:
        value = word.value
        if skip:
            skip = False
            continue
        if value is None:
            continue
        if value in takes_value:
            skip = True
            continue
        if value in names or value.startswith(valued):
            return True
        if short and _SHORT_OPTS.fullmatch(value) and short in value[1:]:
            return True
    return False


def subcommand(cmd: SimpleCommand, takes_value: frozenset[str] = frozenset()) -> Word | None:
    """The first non-option argument (``install`` in ``apt-get -y install x``)."""
    skip = False
    for word in cmd.resolved_args:
        if skip:
            skip = False
            continue
        value = word.value
        if value is None:
            return word
        if value in takes_value:
            skip = True
            continue
        if value.startswith("-"):
            continue
        return word
    return None


def operands(cmd: SimpleCommand, after: Word,
             takes_value: frozenset[str] = frozenset()) -> list[Word]:
    """Non-option words after ``after`` (package names after ``install``)."""
    out: list[Word] = []
    skip = False
    seen = False
    for word in cmd.resolved_args:
        if word is after:
            seen = True
            continue
        if not seen:
            continue
        if skip:
            skip = False
            continue
        value = word.value
        if value is not None and value in takes_value:
            skip = True
            continue
        if value is not None and value.startswith("-"):
            continue
        out.append(word)
    return out


def top_level_stateful(script: ShellScript) -> bool:
    """Whether a top-level command changes shell state that would leak on a merge."""
    for step in script.top_level:
        cmd = step.command
        if step.kind != "command":
            if step.kind in ("function_definition",):
                return True
            continue
        if cmd is None:
            continue
        if not cmd.words and cmd.env:
            return True  # a bare FOO=1
        if cmd.name in STATEFUL:
            return True
    return False


def simple_chain(script: ShellScript) -> bool:
    """Only ``&&``/``|`` at the top level: safe to put after ``X &&``."""
    return all(step.operator_before in (None, "&&", "|", "|&") for step in script.top_level)
