"""MAINTAINER becomes an OCI authors LABEL (DO403, hadolint DL4000)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.syntax import Instruction
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.instructions.keywords import args_range, keyword_edit

# --------------------------------------------------------------------------- DL4000

AUTHORS = "org.opencontainers.image.authors"

# LABEL's syntax written after MAINTAINER: one `key=value` pair.
_PAIR = lazy(r"([A-Za-z][A-Za-z0-9_.-]*)=(.*)", re.DOTALL)
# `"Name" <email>`: quotes around the name only.
_QUOTED_NAME = lazy(r"""(["'])([^"'<>]+)\1([ \t]+<[^<>]*>)""")


def _unquote(word: str) -> str | None:
    """The inside of a word wholly in one pair of quotes (no such quote inside)."""
    if len(word) >= 3 and word[0] == word[-1] and word[0] in "\"'" \
            and word[0] not in word[1:-1] and word[1:-1].strip():
        return word[1:-1]
    return None


def author_value(raw: str) -> tuple[str, str]:
    """The authors label value for a MAINTAINER value, and what was dropped from it.

    BuildKit keeps MAINTAINER's rest of line as it is (quotes included) in the
    image's Author field. Quotes around the whole value or around the name of
    `"Name" <email>`, and LABEL's `key=` written before the value, are syntax the
    author thought MAINTAINER needed, not part of the name: they are dropped. Any
    other text stays as written (a `#` after the value is not a comment: it stays).
    """
    pair = _PAIR.fullmatch(raw)
    if pair is not None:
        rest = pair.group(2)
        inner = _unquote(rest)
        if inner is not None:
            return inner, f"`{pair.group(1)}=` and the quotes"
        if rest and not any(c.isspace() or c in "\"'" for c in rest):
            return rest, f"`{pair.group(1)}=`"
        return raw, ""
    inner = _unquote(raw)
    if inner is not None:
        return inner, "the quotes"
    named = _QUOTED_NAME.fullmatch(raw)
    if named is not None:
        return named.group(2) + named.group(3), "the quotes around the name"
    return raw, ""


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
        expands variables, MAINTAINER does not). MAINTAINER's whole rest of line
        is its value (a `#` in it is not a comment), but quotes around the whole
        value (`MAINTAINER "jane@example.com"`) or around the name
        (`"Jane Doe" <jane@example.com>`), and LABEL's `key=` written before it
        (`MAINTAINER authors="Jane <jane@example.com>"`) are syntax, not part of
        the name: the label holds what is inside them. Note that the deprecated `Author`
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
        value, dropped = author_value(ins.value[0])
        quoted = label_quote(value, ctx.tree.escape)
        # One edit from the keyword to the end of the value: what lies between them
        # is whitespace or a continuation (MAINTAINER has no flags).
        edit = Edit(kw.start, span[1], f"{kw.content} {AUTHORS}={quoted}")
        safety = Safety.UNSAFE if has_label else Safety.SAFE
        same = f"its value without {dropped}" if dropped else "the same value"
        return Fix((edit,), safety,
                   f"MAINTAINER became LABEL {AUTHORS} with {same}; the image "
                   "config's deprecated Author field is no longer set.")
