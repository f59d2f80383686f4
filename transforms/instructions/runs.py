"""RUN-level rewrites: merging consecutive RUNs (DL3059) and ``cd`` → WORKDIR (DL3003).

Both change how commands are grouped into shell invocations, so both must prove that
no shell state crosses the boundary they move: a ``cd``, ``export`` or assignment in
one RUN is invisible to the next RUN but visible after an ``&&`` in the same shell.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from dockopt.rewriter.edit import after
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import ShellScript, SimpleCommand
from dockopt.rewriter.syntax import Blank, Comment, Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.shellfix import (
    STATEFUL,
    line_layout,
    multiline,
    posix_shell,
    simple_chain,
    top_level_stateful,
    windows_file,
)

# POSIX special built-ins: an assignment prefix (``FOO=1 :``) outlives the command
# in a POSIX shell (dash), so such a command leaks state like a bare assignment.
_SPECIAL_BUILTINS = frozenset({
    ":", ".", "break", "continue", "eval", "exec", "exit", "export", "readonly",
    "return", "set", "shift", "times", "trap", "unset",
})
# Expansions that assign in the current shell: ${X:=y}, ${X=y}, $((x=1)), ((x++)).
_ASSIGNING_EXPANSION = lazy(r"\$\{[^}]*?:?=|\(\(")
# Special parameters whose value depends on what ran before in the same shell.
_HISTORY_PARAMS = lazy(r"\$\{?[_!](?!\w)")
_PRAGMA = lazy(r"^\s*#\s*(?:dockopt|hadolint)\b", re.IGNORECASE)
# A path that means the same to the shell, to WORKDIR and in a Dockerfile line.
_PLAIN_PATH = lazy(r"[A-Za-z0-9_./@%+,:=-]+")


def command_count(ctx: Context, ins: Instruction) -> int | None:
    """How many commands hadolint counts in a RUN (DL3059); None when unknown."""
    if ins.is_json:
        return 1
    if ins.heredoc_docs:
        return None
    script = ctx.shell(ins)
    if script is None or script.has_errors:
        return None
    return sum(1 for c in script.commands if c.words)


def _leaks(cmd: SimpleCommand) -> bool:
    names = {cmd.name, cmd.resolved_name}
    if not cmd.words:
        return bool(cmd.env)  # a bare FOO=1
    if names & STATEFUL:
        return True
    return bool(cmd.env) and bool(names & _SPECIAL_BUILTINS)


def leaks_state(script: ShellScript) -> bool:
    """Whether running ``script`` can change what a later command in the same shell sees.

    Stricter than :func:`shellfix.top_level_stateful`: only plain commands and
    subshells may appear at the top level (``{ cd x; }``, loops and ``if`` run in the
    current shell), and expansions that assign (``${X:=1}``) count as state.
    """
    if top_level_stateful(script) or _ASSIGNING_EXPANSION.search(script.text):
        return True
    for step in script.top_level:
        if step.kind == "subshell":
            continue
        if step.kind != "command" or step.command is None or _leaks(step.command):
            return True
    return False


def _mount_options(flags: tuple[str, ...]) -> Iterator[dict[str, str]]:
    for flag in flags:
        if flag.startswith("--mount="):
            opts: dict[str, str] = {}
            for part in flag[len("--mount="):].split(","):
                key, _, value = part.partition("=")
                opts[key.strip().lower()] = value.strip()
            yield opts


def _private_mount(flags: tuple[str, ...]) -> bool:
    """A mount whose writes are private to one RUN (tmpfs, read-write bind)."""
    for opts in _mount_options(flags):
        kind = opts.get("type", "bind")
        if kind == "tmpfs":
            return True
        if kind == "bind" and ("rw" in opts or "readwrite" in opts):
            return True
    return False


class ConsecutiveRun(Transform):
    """Consecutive RUN instructions that could be one.

    What it does:
        Finds two RUN instructions in a row (only comment and blank lines between
        them, same flags) where each runs a single command, as hadolint's DL3059
        does, and joins the second onto the first with `` && \\``.

    Why:
        Every RUN makes a layer. Files a later RUN deletes still take space in the
        earlier layer, and each layer costs time to build, push and pull.

    Example:
        ```dockerfile
        RUN apt-get update
        # the compiler
        RUN apt-get install -y gcc
        ```
        becomes
        ```dockerfile
        RUN apt-get update && \\
        # the compiler
            apt-get install -y gcc
        ```
        Comment lines move into the continuation (BuildKit ignores them there);
        blank lines between the two are dropped. The file's own `&&` layout
        (trailing or leading) and continuation indent are used.

    Fix safety:
        Safe when the merged command provably does what the two did: both RUNs are
        shell form without heredocs under a POSIX shell, with identical flags and no
        mount whose writes are private to one RUN (tmpfs, read-write bind); the first
        changes no shell state (no ``cd``, ``export``, ``set``, ``source``, ``umask``,
        ``exit``, assignments, functions, ``{ ...; }`` groups or loops at the top
        level), has no trailing comment and does not end in ``;`` or ``&``; the
        second is a plain ``&&``/``|`` chain that does not read ``$_`` or ``$!``.
        Then ``A && B`` fails exactly when the two RUNs would have failed, and B
        sees the same files, environment and working directory. Otherwise (and for
        exec-form RUNs, Windows files or a suppression comment between them) the
        finding is reported without a fix.

    References:
        hadolint DL3059; https://docs.docker.com/build/building/best-practices/#run
    """

    code = "DO301"
    name = "consecutive-run"
    fix_title = "Merge consecutive RUN instructions"
    upstream = ("hadolint:DL3059",)
    level = "info"
    default_safety = Safety.SAFE
    semantic_scope = "merge"

    def check(self, ctx: Context) -> Iterator[Finding]:
        prev: Instruction | None = None
        between: list[Comment | Blank] = []
        for item in ctx.tree.items:
            if isinstance(item, Comment | Blank):
                between.append(item)
                continue
            if not isinstance(item, Instruction):
                continue
            run = item if item.keyword == "RUN" and not item.passthrough else None
            if run is not None and prev is not None and prev.flags == run.flags:
                first, second = command_count(ctx, prev), command_count(ctx, run)
                if first is not None and second is not None and first <= 1 and second <= 1:
                    fix = self._fix(ctx, prev, run, between)
                    yield self.finding(ctx, run, "Multiple consecutive RUN instructions: "
                                       "merge them into one", fix=fix)
            prev = run
            between = []

    def _fix(self, ctx: Context, a: Instruction, b: Instruction,
             between: list[Comment | Blank]) -> Fix | None:
        if windows_file(ctx) or not posix_shell(ctx, a) or _private_mount(a.flags):
            return None
        if any(isinstance(c, Comment) and _PRAGMA.match(c.text) for c in between):
            return None  # a suppression comment must stay an own-line comment
        sa, sb = ctx.shell(a), ctx.shell(b)
        src_a, src_b = a.shell_source(), b.shell_source()
        if a.heredoc_docs or b.heredoc_docs or sa is None or sb is None \
                or src_a is None or src_b is None or sa.has_errors or sb.has_errors:
            return None
        if sa.trailing_comment_start is not None or sa.trailing_operator is not None \
                or leaks_state(sa):
            return None
        if not simple_chain(sb) or sb.trailing_operator == "&" \
                or _HISTORY_PARAMS.search(sb.text):
            return None
        text = ctx.text
        start = src_a.to_physical_end(len(src_a.text))
        if text[start:a.end].strip(" \t\r\n"):
            return None
        end = src_b.to_physical(0)
        if any(s.kind in ("comment", "empty") and s.start < end for s in b.segments):
            return None  # a comment between B's flags and its command would be lost
        eol = text[start:a.end].lstrip(" \t") or ctx.style.newline
        if multiline(a):
            indent, position = line_layout(ctx, a)
        elif multiline(b):
            indent, position = line_layout(ctx, b)
        else:
            indent, position = ctx.style.indent, ctx.style.and_position
        comments = "".join(c.text for c in between if isinstance(c, Comment))
        esc = ctx.tree.escape
        if position == "leading":
            join = f" {esc}{eol}{comments}{indent}&& "
        else:
            join = f" && {esc}{eol}{comments}{indent}"
        return Fix((Edit(start, end, join),), Safety.SAFE,
                   f"Merged the RUN on line {b.start_line} into the RUN on line "
                   f"{a.start_line} with `&&`: one layer instead of two; the first "
                   f"command changes no shell state, so the second sees the same "
                   f"environment and working directory as before.")


# --------------------------------------------------------------------------- DL3003


class StageWorkdirs:
    """The working directory before each instruction of one stage and at its end,
    and where the stage last depends on it: one walk of the stage, so asking per
    RUN costs nothing (a walk per RUN made files of many `cd` RUNs quadratic).

    A directory is known only when it comes from WORKDIR instructions with plain
    paths in this stage, or from an earlier stage of this file used as the base; an
    image from a registry may set any WORKDIR.
    """

    def __init__(self, stage: Stage, by_name: dict[str, int],
                 finals: dict[int, str | None]) -> None:
        parent = by_name.get(stage.base.lower())
        cwd: str | None = finals.get(parent) if parent is not None else None
        self._before: dict[int, str | None] = {}
        self._last_use = -1  # start of the last instruction that depends on the directory
        for other in stage.body:
            self._before[other.start] = cwd
            if _uses_cwd(other):
                self._last_use = other.start
            if other.keyword != "WORKDIR" or other.passthrough:
                continue
            value = other.value[0] if other.value else ""
            if not _PLAIN_PATH.fullmatch(value):
                cwd = None
            elif value.startswith("/"):
                cwd = value
            elif cwd is not None:
                cwd = posixpath.normpath(posixpath.join(cwd, value))
        self.final = cwd

    def before(self, ins: Instruction) -> str | None:
        """The working directory in effect before ``ins``."""
        return self._before.get(ins.start)

    def used_after(self, ins: Instruction) -> bool:
        """Whether a later instruction of the stage depends on the working directory."""
        return self._last_use > ins.start


_CWD_FREE = frozenset({"ENV", "ARG", "LABEL", "EXPOSE", "USER", "STOPSIGNAL", "MAINTAINER",
                       "SHELL", "VOLUME"})


def _uses_cwd(other: Instruction) -> bool:
    kw = other.keyword
    if kw == "FROM" or kw in _CWD_FREE:
        return False
    if kw in ("COPY", "ADD") and other.value and other.value[-1].startswith("/"):
        return False
    return not (kw == "WORKDIR" and other.value and other.value[0].startswith("/"))


class CdInsteadOfWorkdir(Transform):
    """`cd` in a RUN to switch the directory for the rest of the command.

    What it does:
        Finds RUN instructions that use `cd` (hadolint DL3003). When the RUN starts
        with `cd /absolute/dir &&`, it moves the directory change into a WORKDIR
        instruction before the RUN and restores the previous WORKDIR after it.

    Why:
        WORKDIR states the directory once, for every tool that reads the
        Dockerfile, and keeps the RUN about what it does. A `cd` is easy to miss
        and does not carry over to the next RUN, which surprises readers.

    Example:
        ```dockerfile
        WORKDIR /app
        RUN cd /src && make
        ```
        becomes
        ```dockerfile
        WORKDIR /app
        WORKDIR /src
        RUN make
        WORKDIR /app
        ```

    Fix safety:
        Safe when the previous working directory is known (a WORKDIR with a plain
        path earlier in the stage, or inherited from an earlier stage of this file),
        the target is a plain absolute path, the `cd` is the first command and only
        `&&` or pipes follow it, and no `--mount` target is relative. Then the rest
        of the command runs in the same directory, and every later instruction and
        the image's working directory are as before. One difference remains: WORKDIR
        creates a missing directory where `cd` failed the build, so only a build
        that used to fail behaves differently.
        Unsafe when the previous directory is unknown (it comes from the base image)
        and nothing later in the stage depends on the working directory: no WORKDIR
        restore is written, so the image's default working directory changes.
        Otherwise there is no fix.

    References:
        hadolint DL3003;
        https://docs.docker.com/reference/dockerfile/#workdir
    """

    code = "DO302"
    name = "cd-instead-of-workdir"
    fix_title = "Use WORKDIR instead of cd"
    upstream = ("hadolint:DL3003",)
    default_safety = Safety.SAFE
    semantic_scope = "workdir"

    def check(self, ctx: Context) -> Iterator[Finding]:
        tree = ctx.tree
        by_name: dict[str, int] = {}
        finals: dict[int, str | None] = {}
        for stage in tree.stages:
            dirs = StageWorkdirs(stage, by_name, finals)
            for ins in stage.body:
                if ins.keyword != "RUN" or ins.passthrough:
                    continue
                script = ctx.shell(ins)
                if script is None or not any(c.name == "cd" for c in script.commands):
                    continue
                fix = self._fix(ctx, ins, script, dirs)
                yield self.finding(ctx, ins, "Use WORKDIR to switch to a directory, "
                                   "not cd in RUN", fix=fix)
            finals[stage.index] = dirs.final
            if stage.name:
                by_name[stage.name] = stage.index

    def _fix(self, ctx: Context, ins: Instruction, script: ShellScript,
             dirs: StageWorkdirs) -> Fix | None:
        src = ins.shell_source()
        if src is None or ins.heredoc_docs or script.has_errors or windows_file(ctx) \
                or not posix_shell(ctx, ins):
            return None
        steps = script.top_level
        if len(steps) < 2 or steps[0].command is None or steps[1].operator_before != "&&":
            return None
        if not all(s.operator_before in ("&&", "|", "|&") for s in steps[1:]):
            return None
        if script.trailing_operator == "&":
            return None
        cd = steps[0].command
        if cd.name != "cd" or len(cd.words) != 2 or cd.env or cd.redirects:
            return None
        target = cd.words[1].value
        if target is None or not target.startswith("/") or not _PLAIN_PATH.fullmatch(target):
            return None
        for opts in _mount_options(ins.flags):
            dest = opts.get("target") or opts.get("dst") or opts.get("destination") or "/"
            if not dest.startswith("/"):
                return None
        text = ctx.text
        cut_start, cut_end = src.to_physical(cd.start), src.to_physical(steps[1].start)
        if any(s.kind in ("comment", "empty") and cut_start <= s.start < cut_end
               for s in ins.segments):
            return None
        prev = dirs.before(ins)
        if prev is None and dirs.used_after(ins):
            return None
        if prev is not None and posixpath.normpath(prev) == posixpath.normpath(target):
            return Fix((Edit(cut_start, cut_end, ""),), Safety.SAFE,
                       f"Removed `cd {target}`: the working directory already is {target}.")
        kw = _keyword_like(ctx, ins, "WORKDIR")
        lead = text[ins.start:ins.start + len(ins.text) - len(ins.text.lstrip(" \t"))]
        eol = ctx.style.newline
        if ins.text.endswith("\n"):
            eol = "\r\n" if ins.text.endswith("\r\n") else "\n"
        comments = ctx.tree.owned_comments(ins)
        at = comments[0].start if comments else ins.start
        edits = [Edit(at, at, f"{lead}{kw} {target}{eol}"), Edit(cut_start, cut_end, "")]
        if prev is not None:
            restore = f"{lead}{kw} {prev}"
            where = after(ctx.tree, ins, restore)
            if where is None:
                return None
            edits.append(Edit(*where))
            return Fix(tuple(edits), Safety.SAFE,
                       f"`cd {target}` became `WORKDIR {target}` before the RUN, and "
                       f"`WORKDIR {prev}` after it restores the previous directory, so "
                       f"later instructions run where they did before.")
        return Fix(tuple(edits), Safety.UNSAFE,
                   f"`cd {target}` became `WORKDIR {target}`. The previous working "
                   f"directory comes from the base image and is unknown, so it is not "
                   f"restored: the image's default working directory is now {target}.")


def _keyword_like(ctx: Context, ins: Instruction, keyword: str) -> str:
    """``keyword`` in the case ``ins`` is written in (else the file's style)."""
    raw = ins.raw_keyword
    if raw.isupper():
        return keyword.upper()
    if raw.islower():
        return keyword.lower()
    return ctx.style.keyword(keyword)
