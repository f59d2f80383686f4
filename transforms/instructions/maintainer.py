"""MAINTAINER becomes an OCI authors LABEL (DO403, hadolint DL4000)."""

from __future__ import annotations

from collections.abc import Iterator

from dockopt.rewriter.syntax import Instruction
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.instructions.keywords import args_range, keyword_edit

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
