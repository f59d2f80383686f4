"""The layer table: each layer's size and the instruction that made it (the image
history), and the before/after table that pairs the original's layers with the
rewrite's.

History entries marked ``empty_layer`` (ENV, CMD, USER, ...) make no layer; the
others map, in order, onto the image's layers. When the counts disagree (a squashed
base image), the last entries are matched with the last layers: the layers the
Dockerfile's own steps made are the ones a reviewer compares, and the leading,
unmatched ones are shown as the base image's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from dockopt.rewriter.records import dataclass

# "/bin/sh -c #(nop) " (docker's classic builder, buildah), BuildKit's " # buildkit",
# buildah's "|2 A=1 B=2 " prefix for build args, the shell of a RUN.
_NOP = re.compile(r"^(?:/bin/)?sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^(?:/bin/)?(?:ba)?sh -c\s+")
_ARGS = re.compile(r"^\|\d+(?: [A-Za-z_][A-Za-z0-9_]*=\S*)*\s+")
_BUILDKIT = re.compile(r"\s*# buildkit$")
_DIGEST = re.compile(r"\b(file|dir|multi):([0-9a-f]{12})[0-9a-f]{52}\b")
_KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})


@dataclass
class Layer:
    """One layer of an image, oldest first."""

    index: int
    digest: str  # the layer's diff id or blob digest ("" when unknown)
    size_bytes: int
    instruction: str  # what made it, as a Dockerfile instruction where that is known
    base: bool = False  # from the base image (before the final stage's own steps)

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


def instruction(created_by: str) -> str:
    """A history entry's ``created_by`` as the instruction a reader recognises."""
    text = " ".join(created_by.split())
    text = _BUILDKIT.sub("", text)
    text = _ARGS.sub("", text)
    if _NOP.match(text):
        text = _NOP.sub("", text)
    elif _SHELL.match(text):
        text = "RUN " + _SHELL.sub("", text)
    elif text.startswith("RUN "):
        text = "RUN " + _SHELL.sub("", text[4:])
    text = _DIGEST.sub(lambda m: f"{m.group(1)}:{m.group(2)}", text)
    word = text.split(" ", 1)[0]
    if word.upper() in _KEYWORDS and word != word.upper():
        text = word.upper() + text[len(word):]
    return text or "(no history)"


def layers_from_history(history: Sequence[dict[str, Any]], sizes: Sequence[int],
                        digests: Sequence[str]) -> list[Layer]:
    """Pair an OCI config's ``history`` with the layers' sizes and digests."""
    made = [h for h in history if not h.get("empty_layer")]
    # buildah marks the first step of the final stage with comment "FROM <base>".
    own_start = next((i for i, h in enumerate(history)
                      if str(h.get("comment") or "").startswith("FROM ")), None)
    own_entries = {id(h) for h in history[own_start:]} if own_start is not None else None
    count = len(sizes)
    # Align the ends: the last history entries made the last layers.
    offset = len(made) - count
    layers: list[Layer] = []
    for i in range(count):
        entry = made[i + offset] if 0 <= i + offset < len(made) else None
        text = instruction(str(entry.get("created_by") or "")) if entry else "(base image)"
        base = entry is None or (own_entries is not None and id(entry) not in own_entries)
        layers.append(Layer(i, digests[i] if i < len(digests) else "", int(sizes[i]), text,
                            base))
    return layers


@dataclass
class LayerRow:
    """One line of the before/after layer table."""

    instruction: str
    before_bytes: int | None  # None: no such layer in the original
    after_bytes: int | None  # None: no such layer in the rewrite
    status: str  # "same", "shrunk", "grew", "gone", "new"
    base: bool = False

    @property
    def delta_bytes(self) -> int:
        return (self.after_bytes or 0) - (self.before_bytes or 0)


def compare_layers(before: Sequence[Layer], after: Sequence[Layer]) -> list[LayerRow]:
    """Pair the layers (same digest first, then the same instruction, in order); the
    rest vanished or are new. Biggest first (by the larger side)."""
    rows: list[LayerRow] = []
    left = list(before)
    right = list(after)
    for key in (lambda layer: layer.digest, lambda layer: (layer.instruction, layer.base)):
        waiting: dict[object, list[Layer]] = {}
        for layer in right:
            k = key(layer)
            if k:
                waiting.setdefault(k, []).append(layer)
        unmatched: list[Layer] = []
        taken: set[int] = set()
        for layer in left:
            k = key(layer)
            candidates = waiting.get(k) if k else None
            if not candidates:
                unmatched.append(layer)
                continue
            other = candidates.pop(0)
            taken.add(id(other))
            rows.append(_row(layer, other))
        left = unmatched
        right = [layer for layer in right if id(layer) not in taken]
    rows += [LayerRow(layer.instruction, layer.size_bytes, None, "gone", layer.base)
             for layer in left]
    rows += [LayerRow(layer.instruction, None, layer.size_bytes, "new", layer.base)
             for layer in right]
    rows.sort(key=lambda r: -max(r.before_bytes or 0, r.after_bytes or 0))
    return rows


def _row(before: Layer, after: Layer) -> LayerRow:
    # Two builds of one step differ by a few bytes (timestamps, caches): within 1%
    # (or 4 KiB) it is the same layer for a reviewer.
    delta = after.size_bytes - before.size_bytes
    slack = max(4096, before.size_bytes // 100)
    status = "same" if abs(delta) <= slack else ("shrunk" if delta < 0 else "grew")
    return LayerRow(after.instruction, before.size_bytes, after.size_bytes, status,
                    before.base and after.base)
