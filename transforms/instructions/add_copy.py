"""ADD of a local file or folder becomes COPY (DO402, hadolint DL3020), unless ADD's
own behaviour (URLs, archive extraction, ADD-only flags) is in use.

ADD decides by *content*, not by name: BuildKit unpacks a local source when it is a
regular file (a symlink is followed) from which Go's ``archive/tar`` reads a first
header, after undoing gzip, bzip2, xz or zstd compression (``isArchivePath`` in
BuildKit's ``solver/llbsolver/file/unpack.go``, ``archiveutil.DecompressStream``).
A folder is copied, never unpacked, and nothing inside it is. So a source is proven
to be copied alike by ADD and COPY only by reading it in the build context; its
name alone proves nothing. And a source written with a variable is whatever the
variable holds: its default, unless a ``--build-arg`` says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from dockopt.rewriter.context import BadPattern, Pattern, go_clean
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Dockerfile, Instruction, Stage
from dockopt.transforms.base import Context, Finding, Fix, Safety, Transform
from dockopt.transforms.instructions.exec_form import stages_with_workdir
from dockopt.transforms.instructions.keywords import keyword_edit

# --------------------------------------------------------------------------- DL3020

_URL = lazy(r"^(?:https?|git|ssh)://|^git@", re.IGNORECASE)
# Names of tar archives (plain, gzip, bzip2, xz, zstd, ...): hadolint's list plus the
# compound forms, case-insensitive. A source so named is taken to be an archive (ADD
# used for what it is for); the reverse never holds: the content decides.
_ARCHIVE = lazy(
    r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tb2|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tlz|"
    r"tar\.z|tz|tpz|gz|bz2|xz|zst|lz|lzma|z)$", re.IGNORECASE)
_ADD_ONLY_FLAGS = ("--checksum", "--keep-git-dir", "--unpack")
_COPY_FLAGS = ("--chown", "--chmod", "--link", "--exclude")
_GLOB = lazy(r"[*?\[]")
_NAME = lazy(r"[A-Za-z_][A-Za-z0-9_]*")
_OCTAL = re.compile(rb"[0-7]+")

# How much of a compressed source is read to decompress its first tar header.
_COMPRESSED_HEAD = 1 << 20
_BLOCK = 512


def _flag_name(flag: str) -> str:
    return flag.split("=", 1)[0].lower()


# --------------------------------------------------------------------------- content

Sniff = Literal["archive", "plain", "unknown"]


def is_tar_header(data: bytes) -> bool:
    """Whether Go's ``tar.Reader.Next`` accepts ``data`` as a first header block.

    Go reads 512 bytes (fewer: an error); a zero block ends the archive (an error for
    ``Next``: no entry); otherwise the header checksum (octal, the field counted as
    spaces, signed or unsigned sum) decides: V7 archives carry no ``ustar`` magic.
    A valid checksum is counted as an archive even if a later field would fail.
    """
    if len(data) < _BLOCK:
        return False
    block = data[:_BLOCK]
    if block == bytes(_BLOCK):
        return False
    field = block[148:156].strip(b" \x00")
    field = field.split(b"\x00", 1)[0]
    if field and not _OCTAL.fullmatch(field):
        return False
    value = int(field, 8) if field else 0
    unsigned = sum(block[:148]) + sum(block[156:]) + 8 * 0x20
    signed = sum(b - 256 if b > 127 else b for b in (*block[:148], *block[156:])) + 8 * 0x20
    return value in (unsigned, signed)


def _is_zstd(head: bytes) -> bool:
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return True
    # A skippable frame: magic 0x184D2A50..0x184D2A5F, little-endian.
    return len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50


def sniff_archive(head: bytes, complete: bool) -> Sniff:
    """Would BuildKit's ADD unpack a file that starts with ``head``?

    ``complete``: ``head`` is the whole file. "unknown" when the answer needs more
    than was read or a decompressor Python lacks (zstd before 3.14).
    """
    # The decompressors are imported here, not at start-up: every `dockopt` run would
    # pay ~1 ms for modules only a compressed ADD source needs.
    import bz2
    import lzma
    import zlib

    decompressor: Any
    if head.startswith(b"BZh"):
        decompressor = bz2.BZ2Decompressor()
    elif head.startswith(b"\xfd7zXZ\x00"):
        decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    elif head.startswith(b"\x1f\x8b\x08"):
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    elif _is_zstd(head):
        return "unknown"
    else:
        if len(head) < _BLOCK and not complete:
            return "unknown"
        return "archive" if is_tar_header(head) else "plain"
    try:
        data = decompressor.decompress(head, _BLOCK)
        ended = decompressor.eof
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return "unknown"  # Go's reader may see it differently; do not guess
    if len(data) >= _BLOCK:
        return "archive" if is_tar_header(data) else "plain"
    # Fewer than 512 bytes came out: the end of the stream (a short file, no tar)
    # only if the whole file was read and a single stream ended there.
    if complete and ended and not getattr(decompressor, "unused_data", b""):
        return "plain"
    return "unknown"


# --------------------------------------------------------------------------- variables


@dataclass(frozen=True, slots=True)
class Var:
    """A variable in scope: its value (None: an ARG with no default) and whether a
    ``--build-arg`` can change it."""

    value: str | None
    from_arg: bool
    why: str = ""  # why the value is not known, when it was set from one that is not


@dataclass(frozen=True, slots=True)
class Expanded:
    """A word after BuildKit's word processing, as far as the file tells."""

    text: str | None  # None: not known (``why`` says why)
    from_arg: bool = False
    why: str = ""


def expand_word(word: str, scope: Mapping[str, Var], escape: str) -> Expanded:
    """Quote removal and ``$NAME``/``${NAME}`` expansion of one ADD/COPY word.

    Anything else the lexer knows (escapes, ``${NAME:-x}`` and other modifiers,
    special parameters) makes the value unknown rather than guessed.
    """
    out: list[str] = []
    from_arg = False
    i, n = 0, len(word)
    quote = ""
    while i < n:
        ch = word[i]
        if ch == escape:
            return Expanded(None, from_arg, f"`{word}` holds an escape character")
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
            i += 1
            continue
        if ch in "'\"" and (not quote or ch == quote):
            quote = "" if quote else ch
            i += 1
            continue
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        # $NAME or ${NAME}
        braced = word.startswith("{", i + 1)
        m = _NAME.match(word, i + 2 if braced else i + 1)
        if m is None:
            if braced or (i + 1 < n and word[i + 1] not in " \t\"'"):
                return Expanded(None, from_arg, f"dockopt does not expand `{word}`")
            out.append("$")
            i += 1
            continue
        end = m.end()
        if braced:
            if not word.startswith("}", end):
                return Expanded(None, from_arg, f"dockopt does not expand `{word}`")
            end += 1
        name = m.group(0)
        var = scope.get(name)
        if var is None:
            return Expanded(None, from_arg,
                            f"`${name}` is not set in this file; the base image may set "
                            "it")
        if var.value is None:
            return Expanded(None, True, var.why or f"`${name}` is an ARG with no default; only "
                            "`--build-arg` sets it")
        from_arg = from_arg or var.from_arg
        out.append(var.value)
        i = end
    if quote:
        return Expanded(None, from_arg, f"`{word}` has an unterminated quote")
    return Expanded("".join(out), from_arg)


def _arg_words(ins: Instruction, scope: dict[str, Var], globals_: Mapping[str, Var],
               escape: str) -> None:
    for word in ins.value:
        name, eq, default = word.partition("=")
        if not _NAME.fullmatch(name):
            continue
        if eq:
            value = expand_word(default, scope, escape)
            scope[name] = Var(value.text, True, value.why)
        else:
            known = globals_.get(name)
            scope[name] = Var(known.value, True) if known is not None else Var(None, True)


def _env_words(ins: Instruction, view: Mapping[str, Var], env: dict[str, Var],
               escape: str) -> None:
    """The pairs of one ENV into ``env``; its words see ``view``, the values before it."""
    values = list(ins.value)
    for name, raw in zip(values[0::2], values[1::2], strict=False):
        value = expand_word(raw, view, escape)
        # An ENV can't be overridden at build time, but a value built from an ARG can.
        env[name] = Var(value.text, value.from_arg, value.why)


def variables_before(tree: Dockerfile, stage: Stage, ins: Instruction) -> dict[str, Var]:
    """ARG and ENV values visible to ``ins``: global ARGs the stage re-declares, the
    stage's ARGs and ENVs before it and the ENVs of the earlier stages it is built
    on. An ENV wins over an ARG of the same name. Names absent are unknown (maybe set
    by the base image)."""
    escape = tree.escape
    globals_: dict[str, Var] = {}
    for g in tree.global_args:
        _arg_words(g, globals_, {}, escape)
    by_name = {s.name: s for s in tree.stages if s.name and s.index < stage.index}

    def env_of(st: Stage, upto: Instruction | None, depth: int = 0) -> tuple[
            dict[str, Var], dict[str, Var]]:
        parent = by_name.get(st.base.lower())
        env: dict[str, Var] = {}
        if parent is not None and parent.index < st.index and depth < 50:
            env = env_of(parent, None, depth + 1)[0]
        args: dict[str, Var] = {}
        for other in st.body:
            if upto is not None and other.start >= upto.start:
                break
            if other.passthrough:
                continue
            if other.keyword == "ARG":
                _arg_words(other, args, globals_, escape)
            elif other.keyword == "ENV":
                _env_words(other, {**args, **env}, env, escape)
        return env, args

    env, args = env_of(stage, ins)
    # A global ARG the stage does not re-declare is not in scope: say so.
    hidden = {name: Var(None, True, f"`${name}` is a global ARG this stage does not "
                        "re-declare (empty unless the base image sets it)")
              for name in globals_}
    return {**hidden, **args, **env}


# --------------------------------------------------------------------------- sources

Kind = Literal["heredoc", "url", "archive", "unresolved", "proven", "unproven"]


@dataclass(frozen=True, slots=True)
class Source:
    kind: Kind
    note: str = ""  # why unresolved / unproven
    from_arg: bool = False  # the value is an ARG's default


def _sniff_path(build: Any, rel: str) -> Sniff | Literal["unreadable"] | None:
    """What a context path is: None if absent; a folder is "plain"."""
    path = build.resolve(rel)
    if path is None or not path.exists():
        return None
    if path.is_dir():
        return "plain"
    head = build.read_head(rel, _COMPRESSED_HEAD)
    if head is None:
        return "unreadable"
    return sniff_archive(head, complete=len(head) < _COMPRESSED_HEAD)


def classify_local(build: Any, path: str) -> Source:
    """A local source (after expansion) read in the build context, if there is one."""
    shown = f"`{path}`"
    rel = go_clean(path.lstrip("/") or ".")
    if rel in (".", ".."):
        return Source("proven")  # the context root: a folder, copied
    if build is None:
        return Source("unproven", f"no build context was available to read {shown}")
    if _GLOB.search(rel):
        try:
            pattern = Pattern.compile(rel)
        except BadPattern:
            return Source("unproven", f"{shown} is not a pattern dockopt can match")
        matches = sorted(p for p in (*build.files, *build.dirs) if pattern.match(p))
        if not matches:
            return Source("unproven", f"{shown} matches nothing in the build context")
        worst: Source = Source("proven")
        for match in matches:
            one = _sniff_one(build, match, f"`{match}` (matched by {shown})")
            if one.kind == "archive":
                return one
            if one.kind == "unproven":
                worst = one
        return worst
    return _sniff_one(build, rel, shown)


def _sniff_one(build: Any, rel: str, shown: str) -> Source:
    kind = _sniff_path(build, rel)
    if kind is None:
        return Source("unproven", f"{shown} is not in the build context")
    if kind == "unreadable":
        return Source("unproven", f"{shown} could not be read")
    if kind in ("archive", "unknown"):
        # Compressed content dockopt cannot look inside (zstd, a stream it fails to
        # decompress) is most likely an archive: ADD stays, as for an archive name.
        return Source("archive")
    return Source("proven")


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
        ADD decides by content, not by name: it unpacks any local file that is a
        tar archive (plain, gzip, bzip2, xz or zstd), whatever it is called, and
        copies folders as they are. So the fix reads each source in the build
        context: it is safe when every source is a folder, or a file (every file a
        glob matches) whose first bytes are not a tar archive, and the flags are
        ones COPY accepts (`--chown`, `--chmod`, `--link`, `--exclude`). A source
        that is an archive keeps ADD, with no finding. When a source cannot be read
        (no build context, as with stdin; not in the context; a glob matching
        nothing; zstd, which dockopt cannot decompress) its name proves nothing,
        and the fix is unsafe; the message says which source was not read. The
        context root (`.`) is a folder and needs no reading.
        Variables in a source are resolved from the ARG and ENV defaults in scope
        (global ARGs the stage re-declares, the stage's ARGs and ENVs before the
        ADD, ENVs of an earlier stage it is built on). A value that is a URL or an
        archive keeps ADD, with no finding. A value taken from an ARG default is at
        best unsafe: `--build-arg` can set it to a URL or an archive. No fix when a
        value is not known: an ARG with no default, a name not set in the file (the
        base image may set it), an escape or a `${name:-...}` form.
        No fix either when any source is a URL or an archive, for heredoc sources,
        or with ADD-only flags (`--checksum`, `--keep-git-dir`, `--unpack`). Also
        none where the COPY would trip a rule ADD does not (the finding stays, for a
        human): a relative destination with no WORKDIR set before it (hadolint
        DL3045), or several sources into a destination without a trailing `/`
        (DL3021).

    References:
        hadolint DL3020;
        https://docs.docker.com/build/building/best-practices/#add-or-copy;
        https://docs.docker.com/reference/dockerfile/#add
    """

    code = "DO402"
    reads_context = True
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
                    yield from self._check(ctx, stage, ins, workdir(stage, ins))

    def _check(self, ctx: Context, stage: Stage, ins: Instruction,
               has_workdir: bool) -> Iterator[Finding]:
        sources, dest = ins.value[:-1], ins.value[-1]
        scope: dict[str, Var] | None = None
        found: list[Source] = []
        for word in sources:
            if word.startswith("<<"):
                found.append(Source("heredoc"))
                continue
            if "$" in word and scope is None:
                scope = variables_before(ctx.tree, stage, ins)
            found.append(self._source(ctx, word, scope or {}))
        kinds = {s.kind for s in found}
        if not kinds & {"proven", "unproven", "unresolved"}:
            return  # only URLs, archives (and heredocs): what ADD is for
        message = "Use COPY instead of ADD for files and folders"
        flags = {_flag_name(f) for f in ins.flags}
        # What hadolint asks of COPY (and not of ADD): a WORKDIR before a relative
        # destination (DL3045), a trailing `/` for several sources (DL3021).
        relative = not dest.strip("\"'").startswith(("/", "$")) \
            and not re.match(r"[A-Za-z]:[\\/]", dest.strip("\"'"))
        copy_ok = (has_workdir or not relative) and (len(sources) == 1 or dest.endswith("/"))
        edit = keyword_edit(ins, "COPY")
        unresolved = [s.note for s in found if s.kind == "unresolved"]
        if unresolved:
            message += ("; no fix: " + "; ".join(unresolved)
                        + ", so the source may name a URL or an archive")
            yield self.finding(ctx, ins, message)
            return
        fix = None
        if copy_ok and edit is not None and not ins.heredoc_docs \
                and kinds <= {"proven", "unproven"} and flags <= set(_COPY_FLAGS):
            reasons = [s.note for s in found if s.kind == "unproven"]
            if any(s.from_arg for s in found):
                reasons.append("a source comes from an ARG, and `--build-arg` can set it "
                               "to a URL or an archive")
            if reasons:
                fix = Fix((edit,), Safety.UNSAFE,
                          "ADD became COPY, but ADD unpacks a tar archive whatever its "
                          "name, and " + "; ".join(reasons) + ".")
            else:
                fix = Fix((edit,), Safety.SAFE,
                          "ADD became COPY: every source was read in the build context "
                          "and is a folder or a file that is not a tar archive, which "
                          "both copy the same way.")
        yield self.finding(ctx, ins, message, fix=fix)

    @staticmethod
    def _source(ctx: Context, word: str, scope: Mapping[str, Var]) -> Source:
        value = expand_word(word, scope, ctx.tree.escape)
        if value.text is None:
            return Source("unresolved", value.why, value.from_arg)
        text = value.text
        if _URL.match(text):
            return Source("url")
        if _ARCHIVE.search(text):
            return Source("archive")
        found = classify_local(ctx.build, text)
        return Source(found.kind, found.note, value.from_arg)
