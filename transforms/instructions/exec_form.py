"""Instruction rewrites: exec-form CMD/ENTRYPOINT (DL3025), ADD → COPY (DL3020),
MAINTAINER → LABEL (DL4000).

Each edit replaces only the bytes that change (a keyword, or an instruction's
arguments), so flags, comments and the rest of the line stay as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Literal

from dockopt.rewriter.syntax import Dockerfile, Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.shellfix import current_shell, posix_shell, windows_file

# --------------------------------------------------------------------------- helpers


def keyword_edit(ins: Instruction, new: str) -> Edit | None:
    """Replace the instruction keyword with ``new`` in the keyword's own case."""
    m = ins.meaning
    if m is None:
        return None
    a, b = m.keyword_span
    logical = ins.logical
    start, end = logical.to_physical(a), logical.to_physical_end(b)
    raw = ins.raw_keyword
    if end - start != len(raw):
        return None
    if raw.isupper():
        new = new.upper()
    elif raw.islower():
        new = new.lower()
    elif raw[:1].isupper() and raw[1:].islower():
        new = new.capitalize()
    else:
        return None
    return Edit(start, end, new)


def args_range(ins: Instruction) -> tuple[int, int] | None:
    """Physical range of the arguments, None if a comment line sits inside it."""
    args = ins.args
    if not args.text:
        return None
    start, end = args.to_physical(0), args.to_physical_end(len(args.text))
    if any(s.kind in ("comment", "empty") and start <= s.start < end for s in ins.segments):
        return None
    return start, end


def stages_with_workdir(tree: Dockerfile) -> Callable[[Stage, Instruction], bool]:
    """Whether a WORKDIR is set before an instruction, in its stage or a parent stage."""
    by_name: dict[str, Stage] = {}
    ancestors: dict[int, bool] = {}
    for stage in tree.stages:
        parent = by_name.get(stage.base.lower())
        inherited = parent is not None and (
            ancestors.get(parent.index, False)
            or any(i.keyword == "WORKDIR" for i in parent.body))
        ancestors[stage.index] = inherited
        if stage.name:
            by_name[stage.name] = stage

    def has(stage: Stage, ins: Instruction) -> bool:
        return ancestors[stage.index] or any(
            i.keyword == "WORKDIR" and i.start < ins.start for i in stage.body)
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


# --------------------------------------------------------------------------- DL3025

# Characters that mean the same to /bin/sh as to an argv: no quoting, expansion,
# globbing, redirection, operators, comments or escapes.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:,@%+=-]+")
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
        For ENTRYPOINT the fix is always unsafe: an exec-form ENTRYPOINT receives the
        CMD and `docker run` arguments, which the shell form ignored.
        The explicit-shell form is always safe: the image config does not change.
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
        for stage in ctx.tree.stages:
            for ins in stage.body:
                if ins.keyword not in ("CMD", "ENTRYPOINT") or ins.passthrough or ins.is_json:
                    continue
                src = ins.shell_source()
                if src is None:
                    continue
                fix = self._fix(ctx, ins, src.text, entrypoints[stage.index])
                yield self.finding(ctx, ins, f"Use the JSON (exec) form for {ins.keyword} "
                                   "so the program gets signals as PID 1", fix=fix)

    def _fix(self, ctx: Context, ins: Instruction, command: str,
             entrypoint: EntryPoint) -> Fix | None:
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
            return Fix((edit,), Safety.UNSAFE,
                       "ENTRYPOINT now runs the program directly; in exec form it also "
                       "receives CMD and `docker run` arguments, which the shell form "
                       "ignored.")
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
                        span: tuple[int, int]) -> Fix | None:
        """Shell syntax: write the shell BuildKit would use as an explicit JSON array.

        BuildKit turns a shell-form ``CMD x`` into ``["/bin/sh", "-c", "x"]`` (or the
        stage's SHELL plus ``x``), so the image config is byte-for-byte the same.
        """
        if any(c in command for c in "\r\n") or "\x00" in command:
            return None
        shell = current_shell(ctx, ins)
        new = "[" + ", ".join(json.dumps(w, ensure_ascii=False)
                              for w in (*shell, command)) + "]"
        return Fix((Edit(span[0], span[1], new),), Safety.SAFE,
                   f"{ins.keyword} uses shell syntax, so it keeps its shell, now written "
                   f"out: the image config is identical ({json.dumps(list(shell))} + the "
                   "command). For signals to reach the program, start it with `exec`.")


# --------------------------------------------------------------------------- DL3020

_URL = re.compile(r"^(?:https?|git|ssh)://|^git@", re.IGNORECASE)
# ADD extracts local tar archives (plain, gzip, bzip2, xz, zstd); hadolint's list
# plus the compound forms.  Matching is case-insensitive: the content decides.
_ARCHIVE = re.compile(
    r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tb2|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tlz|"
    r"tar\.z|tz|tpz|gz|bz2|xz|zst|lz|lzma|z)$", re.IGNORECASE)
_ADD_ONLY_FLAGS = ("--checksum", "--keep-git-dir", "--unpack")
_COPY_FLAGS = ("--chown", "--chmod", "--link", "--exclude")
_DYNAMIC = re.compile(r"[$*?\[\]\"'\\`]")


def _flag_name(flag: str) -> str:
    return flag.split("=", 1)[0].lower()


class AddForLocalFile(Transform):
    """ADD used to copy local files.

    What it does:
        Finds ADD instructions with a local source that is neither a URL nor an
        archive (hadolint DL3020) and changes the keyword to COPY, keeping its case
        and everything else on the line.

    Why:
        ADD also downloads URLs and unpacks local tar archives. COPY only copies,
        so a reader (and the build) knows that nothing is fetched or extracted.

    Example:
        ```dockerfile
        ADD --chown=app requirements.txt /app/
        ```
        becomes
        ```dockerfile
        COPY --chown=app requirements.txt /app/
        ```

    Fix safety:
        Safe when every source is a plain path (no variable, glob or quoting) that
        does not end in an archive extension (`.tar`, `.tgz`, `.gz`, `.xz`, ...) and
        the flags are ones COPY accepts (`--chown`, `--chmod`, `--link`,
        `--exclude`). ADD unpacks a tar archive whatever its name, so a tar file
        named like a plain file would be copied instead of unpacked; such files are
        not met in practice. Unsafe when a source contains a variable, glob or
        quotes: it may name an archive. No fix when any source is a URL or an
        archive, for heredoc sources, or with ADD-only flags (`--checksum`,
        `--keep-git-dir`, `--unpack`). Also none where the COPY would trip a rule
        ADD does not (the finding stays, for a human): a relative destination with
        no WORKDIR set before it (hadolint DL3045), or several sources into a
        destination without a trailing `/` (DL3021).

    References:
        hadolint DL3020;
        https://docs.docker.com/build/building/best-practices/#add-or-copy
    """

    code = "DO402"
    name = "add-for-local-file"
    fix_title = "Use COPY instead of ADD"
    upstream = ("hadolint:DL3020",)
    level = "error"
    default_safety = Safety.SAFE
    semantic_scope = "keyword"

    def check(self, ctx: Context) -> Iterator[Finding]:
        workdir = stages_with_workdir(ctx.tree)
        for stage in ctx.tree.stages:
            for ins in stage.body:
                if ins.keyword == "ADD" and not ins.passthrough and len(ins.value) >= 2:
                    yield from self._check(ctx, ins, workdir(stage, ins))

    def _check(self, ctx: Context, ins: Instruction, has_workdir: bool) -> Iterator[Finding]:
        sources, dest = ins.value[:-1], ins.value[-1]
        kinds = [self._kind(s) for s in sources]
        if "local" not in kinds and "dynamic" not in kinds:
            return  # only URLs and archives: what ADD is for
        fix = None
        flags = {_flag_name(f) for f in ins.flags}
        # What hadolint asks of COPY (and not of ADD): a WORKDIR before a relative
        # destination (DL3045), a trailing `/` for several sources (DL3021).
        relative = not dest.strip("\"'").startswith(("/", "$")) \
            and not re.match(r"[A-Za-z]:[\\/]", dest.strip("\"'"))
        copy_ok = (has_workdir or not relative) and (len(sources) == 1 or dest.endswith("/"))
        edit = keyword_edit(ins, "COPY")
        if copy_ok and edit is not None and not ins.heredoc_docs \
                and all(k in ("local", "dynamic") for k in kinds) and flags <= set(_COPY_FLAGS):
            if "dynamic" in kinds:
                fix = Fix((edit,), Safety.UNSAFE,
                          "ADD became COPY; a source with a variable, glob or quotes might "
                          "name an archive (which ADD unpacked) or, through a variable, a URL.")
            else:
                fix = Fix((edit,), Safety.SAFE,
                          "ADD became COPY: the sources are local, non-archive paths, which "
                          "both copy the same way.")
        yield self.finding(ctx, ins, "Use COPY instead of ADD for files and folders", fix=fix)

    @staticmethod
    def _kind(source: str) -> str:
        bare = source.strip("\"'")
        if source.startswith("<<"):
            return "heredoc"
        if _URL.match(bare):
            return "url"
        if _ARCHIVE.search(bare):
            return "archive"
        if _DYNAMIC.search(source):
            return "dynamic"
        return "local"


# --------------------------------------------------------------------------- DL4000

AUTHORS = "org.opencontainers.image.authors"


def label_quote(value: str, escape: str) -> str:
    """``value`` as a double-quoted LABEL value BuildKit reads back exactly.

    Inside double quotes BuildKit's word processing removes the escape character
    before ``"``, ``$`` and itself and keeps it before anything else; ``$`` must be
    escaped because LABEL expands variables (MAINTAINER does not).
    """
    out = []
    for ch in value:
        if ch in ('"', "$", escape):
            out.append(escape)
        out.append(ch)
    return '"' + "".join(out) + '"'


class MaintainerDeprecated(Transform):
    """MAINTAINER, deprecated since Docker 1.13.

    What it does:
        Replaces `MAINTAINER <name>` (hadolint DL4000) with
        `LABEL org.opencontainers.image.authors="<name>"`, the OCI annotation
        for the same information.

    Why:
        MAINTAINER is deprecated; BuildKit warns about it (MaintainerDeprecated).
        Labels are what registries, scanners and `docker inspect` users read.

    Example:
        ```dockerfile
        MAINTAINER Jane Doe <jane@example.com>
        ```
        becomes
        ```dockerfile
        LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"
        ```

    Fix safety:
        Safe: it changes image metadata only, never the filesystem or how the
        container runs. The value is quoted so that the label holds exactly the
        MAINTAINER text (`"`, `$` and the escape character are escaped; LABEL
        expands variables, MAINTAINER does not). Note that the deprecated `Author`
        field of the image config is no longer set; the label carries the value
        instead. Unsafe when the stage already sets this label: the order of the
        two then decides which value wins.

    References:
        hadolint DL4000;
        https://docs.docker.com/reference/dockerfile/#maintainer-deprecated
    """

    code = "DO403"
    name = "maintainer-deprecated"
    fix_title = "Replace MAINTAINER with an authors LABEL"
    upstream = ("hadolint:DL4000",)
    level = "error"
    default_safety = Safety.SAFE
    semantic_scope = "keyword"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for stage in ctx.tree.stages:
            has_label = any(
                ins.keyword == "LABEL" and AUTHORS in ins.value[0::2] for ins in stage.body)
            for ins in stage.body:
                if ins.keyword != "MAINTAINER" or ins.passthrough:
                    continue
                fix = self._fix(ctx, ins, has_label)
                yield self.finding(ctx, ins, "MAINTAINER is deprecated: use "
                                   f"LABEL {AUTHORS}=...", fix=fix)

    def _fix(self, ctx: Context, ins: Instruction, has_label: bool) -> Fix | None:
        m = ins.meaning
        if m is None or not ins.value or not ins.value[0]:
            return None
        span = args_range(ins)
        kw = keyword_edit(ins, "LABEL")
        if span is None or kw is None:
            return None
        if any(s.kind in ("comment", "empty") and kw.start <= s.start < span[1]
               for s in ins.segments):
            return None
        quoted = label_quote(ins.value[0], ctx.tree.escape)
        # One edit from the keyword to the end of the value: what lies between them
        # is whitespace or a continuation (MAINTAINER has no flags).
        edit = Edit(kw.start, span[1], f"{kw.content} {AUTHORS}={quoted}")
        safety = Safety.UNSAFE if has_label else Safety.SAFE
        return Fix((edit,), safety,
                   f"MAINTAINER became LABEL {AUTHORS} with the same value; the image "
                   "config's deprecated Author field is no longer set.")
