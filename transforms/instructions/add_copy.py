"""ADD of a local file or folder becomes COPY (DO402, hadolint DL3020), unless ADD's
own behaviour (URLs, archive extraction, ADD-only flags) is in use."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockopt.rewriter.syntax import Instruction
from dockopt.transforms.base import Context, Finding, Fix, Safety, Transform
from dockopt.transforms.instructions.exec_form import stages_with_workdir
from dockopt.transforms.instructions.keywords import keyword_edit

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

