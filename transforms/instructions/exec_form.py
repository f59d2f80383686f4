"""Exec-form CMD/ENTRYPOINT (DO401, hadolint DL3025).

Like the other instruction rewrites (``add_copy``, ``maintainer``), each edit
replaces only the bytes that change (a keyword, or an instruction's arguments), so
flags, comments and the rest of the line stay as written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Literal

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.syntax import Dockerfile, Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.instructions.keywords import args_range
from dockopt.transforms.shellfix import current_shell, posix_shell, windows_file


def stages_with_workdir(tree: Dockerfile) -> Callable[[Stage, Instruction], bool]:
    """Whether a WORKDIR is set before an instruction, in its stage or a parent stage."""
    by_name: dict[str, Stage] = {}
    ancestors: dict[int, bool] = {}
    # Where each stage's first WORKDIR starts (-1: none), so asking costs no walk of
    # the stage per instruction.
    first: dict[int, int] = {}
    for stage in tree.stages:
        first[stage.index] = next((i.start for i in stage.body if i.keyword == "WORKDIR"), -1)
        parent = by_name.get(stage.base.lower())
        inherited = parent is not None and (
            ancestors.get(parent.index, False)
            or first[parent.index] >= 0)
        ancestors[stage.index] = inherited
        if stage.name:
            by_name[stage.name] = stage

    def has(stage: Stage, ins: Instruction) -> bool:
        return ancestors[stage.index] or -1 < first[stage.index] < ins.start
    return has


EntryPoint = Literal["none", "shell", "exec", "unknown"]


def stage_entrypoints(tree: Dockerfile) -> dict[int, EntryPoint]:
    """The ENTRYPOINT each stage ends with: none, shell form, exec form or unknown.

    A stage without its own ENTRYPOINT inherits its base's: known for ``scratch`` and
    for earlier stages of this file, unknown for an image from a registry.
    """
    by_name: dict[str, int] = {}
    out: dict[int, EntryPoint] = {}
    for stage in tree.stages:
        out[stage.index] = _entrypoint(stage, by_name, out)
        if stage.name:
            by_name[stage.name] = stage.index
    return out


def _entrypoint(stage: Stage, by_name: dict[str, int], done: dict[int, EntryPoint]
                ) -> EntryPoint:
    last: Instruction | None = None
    for ins in stage.body:
        if ins.keyword == "ENTRYPOINT" and not ins.passthrough:
            last = ins
    if last is not None:
        if not last.is_json:
            return "shell"
        return "exec" if last.value else "none"
    base = stage.base.lower()
    if base == "scratch":
        return "none"
    parent = by_name.get(base)
    return done.get(parent, "unknown") if parent is not None else "unknown"


def _cmd_in(stage: Stage) -> Instruction | None:
    """A CMD of the stage that gives arguments (``CMD []`` gives none)."""
    for ins in stage.body:
        if ins.keyword == "CMD" and not ins.passthrough and not (ins.is_json and not ins.value):
            return ins
    return None


def cmds_reaching_entrypoint(tree: Dockerfile) -> dict[int, Instruction | None]:
    """Per stage, a CMD of this file that may be passed to the stage's ENTRYPOINT.

    BuildKit's ENTRYPOINT clears the CMD inherited from the base image unless the
    stage itself sets a CMD (``dispatchEntrypoint``: ``if !d.cmdSet``). So the CMDs
    that can reach an ENTRYPOINT are the stage's own (before or after it), those of
    the earlier stages it is built on (counted, in case a CMD set there survives),
    and those of later stages built on it, which inherit the ENTRYPOINT.
    """
    by_name: dict[str, Stage] = {}
    parent: dict[int, Stage | None] = {}
    for stage in tree.stages:
        up = by_name.get(stage.base.lower())
        parent[stage.index] = up if up is not None and up.index < stage.index else None
        if stage.name:
            by_name[stage.name] = stage
    # The first later stage (file order) built on each stage that has a CMD: each
    # CMD stage marks its ancestors that have none yet; an ancestor already marked
    # has its own ancestors marked too, so each stage is visited once (a search of the
    # later stages per stage was quadratic in the number of stages).
    from_below: dict[int, Instruction] = {}
    for later in tree.stages:
        cmd = _cmd_in(later)
        if cmd is None:
            continue
        st = parent[later.index]
        while st is not None and st.index not in from_below:
            from_below[st.index] = cmd
            st = parent[st.index]
    # Own CMD, else the nearest ancestor's: parents come first in file order, so each
    # stage reads its parent's answer (no walk up the chain per stage).
    from_above: dict[int, Instruction | None] = {}
    out: dict[int, Instruction | None] = {}
    for stage in tree.stages:
        up = parent[stage.index]
        found = _cmd_in(stage)
        if found is None and up is not None:
            found = from_above[up.index]
        from_above[stage.index] = found
        out[stage.index] = found if found is not None else from_below.get(stage.index)
    return out


# --------------------------------------------------------------------------- DL3025

# Characters that mean the same to /bin/sh as to an argv: no quoting, expansion,
# globbing, redirection, operators, comments or escapes.
_PLAIN_WORD = lazy(r"[A-Za-z0-9_./:,@%+=-]+")
# Commands that only exist inside a shell: as argv[0] of an exec form they fail.
_SHELL_ONLY = frozenset({
    ":", ".", "alias", "bg", "break", "builtin", "case", "cd", "command", "continue",
    "declare", "do", "done", "elif", "else", "esac", "eval", "exec", "exit", "export",
    "fc", "fg", "fi", "for", "function", "getopts", "hash", "if", "in", "jobs", "let",
    "local", "read", "readonly", "return", "select", "set", "shift", "source", "then",
    "time", "times", "trap", "type", "typeset", "ulimit", "umask", "unalias", "unset",
    "until", "wait", "while",
})


def exec_form_words(text: str) -> list[str] | None:
    """The argv of a shell command made only of plain words, else None."""
    words = text.split()
    if not words or any(not _PLAIN_WORD.fullmatch(w) for w in words):
        return None
    if text.strip(" \t") != text or any(c not in " \t" and c.isspace() for c in text):
        return None
    first = words[0]
    if "=" in first or first.startswith("-") or first in _SHELL_ONLY:
        return None
    return words


class ShellFormCmd(Transform):
    """CMD or ENTRYPOINT in shell form.

    What it does:
        Finds CMD and ENTRYPOINT written as a plain command line (hadolint
        DL3025). When the command uses no shell syntax at all (only plain words:
        no variables, quotes, globs, `~`, redirections, operators, comments or
        escapes), rewrites it as a JSON array: `CMD nginx -g daemon` becomes
        `CMD ["nginx", "-g", "daemon"]`. When it does use shell syntax, writes the
        shell out: `CMD node app.js > /log` becomes
        `CMD ["/bin/sh", "-c", "node app.js > /log"]` (the stage's SHELL if set),
        which is exactly what BuildKit stores for the shell form.

    Why:
        In shell form the container runs `/bin/sh -c "..."`: the shell is PID 1,
        may not pass on SIGTERM, and `docker stop` then waits and kills the
        program. In exec form the program itself receives the signals.

    Example:
        ```dockerfile
        CMD gunicorn --bind 0.0.0.0:8000 app:app
        ```
        becomes
        ```dockerfile
        CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]
        ```

    Fix safety:
        The program and its arguments are the same; what changes is that no shell
        wraps it. For CMD this is safe when the stage's ENTRYPOINT is known to be
        absent (set empty, inherited from `scratch` or from an earlier stage without
        one) or is in shell form (which ignores CMD). It is unsafe when an ENTRYPOINT
        may exist (exec form, or inherited from an image in a registry, such as a
        `docker-entrypoint.sh`): the CMD becomes its arguments, and the entrypoint
        then sees `gunicorn ...` instead of `/bin/sh -c "gunicorn ..."`.
        For ENTRYPOINT, an exec form receives the CMD and `docker run` arguments as
        its own, which the shell form ignored. When a CMD of this file may reach it
        (one in the stage, in an earlier stage it is built on, or in a later stage
        built on it), the program would get the CMD as arguments, so the fix writes
        the shell out instead (safe, as below). A CMD inherited from a registry
        image cannot reach it: BuildKit clears the base image's CMD when a stage
        sets ENTRYPOINT without a CMD of its own. Otherwise the exec form is
        unsafe: `docker run` arguments (or a compose `command:`) now reach the
        program.
        The explicit-shell form is always safe: the image config does not change
        (it is the array BuildKit stores for the shell form, and a CMD after it
        still only sets the shell's `$0`, `$1`, ...).
        No fix under a non-POSIX SHELL, in Windows files, or when a comment line
        sits inside the instruction (it would be lost).

    References:
        hadolint DL3025;
        https://docs.docker.com/reference/dockerfile/#shell-and-exec-form
    """

    code = "DO401"
    name = "shell-form-cmd"
    fix_title = "Use the exec (JSON) form"
    upstream = ("hadolint:DL3025",)
    default_safety = Safety.SAFE
    semantic_scope = "form"

    def check(self, ctx: Context) -> Iterator[Finding]:
        entrypoints = stage_entrypoints(ctx.tree)
        cmds = cmds_reaching_entrypoint(ctx.tree)
        for stage in ctx.tree.stages:
            for ins in stage.body:
                if ins.keyword not in ("CMD", "ENTRYPOINT") or ins.passthrough or ins.is_json:
                    continue
                src = ins.shell_source()
                if src is None:
                    continue
                fix = self._fix(ctx, ins, src.text, entrypoints[stage.index],
                                cmds[stage.index])
                yield self.finding(ctx, ins, f"Use the JSON (exec) form for {ins.keyword} "
                                   "so the program gets signals as PID 1", fix=fix)

    def _fix(self, ctx: Context, ins: Instruction, command: str,
             entrypoint: EntryPoint, cmd: Instruction | None) -> Fix | None:
        if windows_file(ctx) or not posix_shell(ctx, ins):
            return None
        span = args_range(ins)
        if span is None:
            return None
        words = exec_form_words(command)
        if words is None:
            return self._explicit_shell(ctx, ins, command, span)
        new = "[" + ", ".join(json.dumps(w, ensure_ascii=False) for w in words) + "]"
        edit = Edit(span[0], span[1], new)
        if ins.keyword == "ENTRYPOINT":
            if cmd is not None:
                # In exec form the CMD would become the program's arguments; the
                # written-out shell ignores them exactly as the shell form did.
                return self._explicit_shell(
                    ctx, ins, command, span,
                    why=f"in exec form it would receive the CMD of line {cmd.start_line} "
                        "as arguments, which the shell form ignores")
            return Fix((edit,), Safety.UNSAFE,
                       "ENTRYPOINT now runs the program directly. No CMD of this file "
                       "reaches it (an ENTRYPOINT clears the base image's CMD), but "
                       "arguments given to `docker run` (or a compose `command:`) now "
                       "reach it, which the shell form ignored.")
        if entrypoint in ("none", "shell"):
            return Fix((edit,), Safety.SAFE,
                       "CMD now runs the program directly instead of through /bin/sh, "
                       "with the same arguments; the program is PID 1 and gets "
                       "SIGTERM on `docker stop`.")
        return Fix((edit,), Safety.UNSAFE,
                   "CMD now runs the program directly; an ENTRYPOINT (here or in the "
                   "base image) receives these words as its arguments instead of "
                   "`/bin/sh -c ...`.")

    @staticmethod
    def _explicit_shell(ctx: Context, ins: Instruction, command: str,
                        span: tuple[int, int], why: str = "") -> Fix | None:
        """Shell syntax: write the shell BuildKit would use as an explicit JSON array.

        BuildKit turns a shell-form ``CMD x`` into ``["/bin/sh", "-c", "x"]`` (or the
        stage's SHELL plus ``x``), so the image config is byte-for-byte the same.
        """
        if any(c in command for c in "\r\n") or "\x00" in command:
            return None
        shell = current_shell(ctx, ins)
        new = "[" + ", ".join(json.dumps(w, ensure_ascii=False)
                              for w in (*shell, command)) + "]"
        reason = why or "it uses shell syntax"
        return Fix((Edit(span[0], span[1], new),), Safety.SAFE,
                   f"{ins.keyword} keeps its shell ({reason}), now written out: the "
                   f"image config is identical ({json.dumps(list(shell))} + the "
                   "command). For signals to reach the program, start it with `exec`.")


