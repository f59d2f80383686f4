"""Walk an image's layers in order: the wasted space as dive computes it, and the final
filesystem the layers stack up to (with the few small files the inventory reads).

One pass, streaming every layer's tar members (never extracting); the work is linear
in the number of members (a path's depth aside): each node of the stacked tree is
created once and removed at most once, and a whiteout of a folder is sized from the
nodes it removes.

Wasted space follows dive's ``filetree.Efficiency`` (github.com/wagoodman/dive) so
the figures can be compared with it:

* each layer's tree is visited at its *leaves* only (a folder that holds entries in
  that layer is not visited; an empty folder entry is, with size 0);
* a path seen in two or more layers is inefficient; its cumulative size (the sizes
  of every occurrence, the copy that stays included) adds to the wasted bytes;
* a whiteout counts as an occurrence of the deleted path, sized 0 for a file and,
  for a folder, the sum of the sizes below it in the layers before;
* opaque-folder markers (``.wh..wh..opq``) are not occurrences (dive skips them);
* the efficiency score is the sum over all paths of the smallest occurrence divided
  by the sum of all occurrences (1.0 for an image with nothing in it).

dive's wasted bytes count the copy that stays, so a file written twice counts twice.
``hidden_bytes`` is the stricter figure: bytes in the layers that the final
filesystem does not show (removed or overwritten later). Opaque markers, ignored for
dive's figures, do hide the folder's lower contents in the final filesystem.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import field
from pathlib import Path

from dockopt.rewriter.records import dataclass
from dockopt.rewriter.verify.archive import ArchiveError, ImageArchive

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
TOP_PATHS = 50  # inefficient paths kept in the result, biggest first
# capture(path) -> the largest size of this regular file whose bytes the final tree
# keeps (0: never). A file over its limit is left unread (its node has no data).
CapturePredicate = Callable[[str], int]


class Node:
    """One path of the stacked filesystem."""

    __slots__ = ("children", "data", "kind", "layer", "link", "mode", "size")

    def __init__(self, kind: str, size: int, mode: int | None, layer: int,
                 link: str = "") -> None:
        self.kind = kind  # "f" file, "d" folder, "l" symlink, "h" hard link, "o" other
        self.size = size
        self.mode = mode  # None: a folder no tar entry described (implied by a child)
        self.layer = layer
        self.link = link
        self.children: dict[str, Node] | None = {} if kind == "d" else None
        self.data: bytes | None = None


@dataclass
class WastedPath:
    path: str
    bytes: int  # dive's cumulative size: every occurrence, the kept one included
    layers: list[int]  # 0-based layer indexes the path occurs in


@dataclass
class Waste:
    efficiency: float  # dive's score, 0..1
    wasted_bytes: int  # dive's "potential wasted space"
    hidden_bytes: int  # in the layers but not in the final filesystem
    total_bytes: int  # every layer's file bytes together
    paths: list[WastedPath] = field(default_factory=list)  # biggest first

    @property
    def wasted_mb(self) -> float:
        return self.wasted_bytes / 1e6


class _PathStats:
    __slots__ = ("count", "cumulative", "layers", "smallest")

    def __init__(self) -> None:
        self.cumulative = 0
        self.smallest = -1
        self.count = 0
        self.layers: list[int] = []


@dataclass
class LayerWalk:
    """The result of one walk: dive's waste figures and the final filesystem."""

    waste: Waste
    root: Node
    layers: int

    def entries(self) -> Iterator[tuple[str, Node]]:
        """Every path of the final filesystem (no leading slash), sorted, parents
        before their children."""
        stack: list[tuple[str, Iterator[tuple[str, Node]]]] = [
            ("", iter(sorted((self.root.children or {}).items())))]
        while stack:
            prefix, children = stack[-1]
            item = next(children, None)
            if item is None:
                stack.pop()
                continue
            name, child = item
            path = f"{prefix}/{name}" if prefix else name
            yield path, child
            if child.children is not None:
                stack.append((path, iter(sorted(child.children.items()))))

    def get(self, path: str) -> Node | None:
        node: Node | None = self.root
        for part in _clean(path).split("/"):
            if not part:
                continue
            if node is None or node.children is None:
                return None
            node = node.children.get(part)
        return node


class _Stack:
    """The stacked filesystem while the layers are applied."""

    def __init__(self) -> None:
        self.root = Node("d", 0, None, -1)

    def parent_of(self, path: str, layer: int) -> tuple[Node, str]:
        """The folder that holds ``path`` (created, as implied folders, if missing)."""
        parts = path.split("/")
        node = self.root
        for part in parts[:-1]:
            assert node.children is not None
            child = node.children.get(part)
            if child is None or child.children is None:  # missing, or a file in the way
                child = Node("d", 0, None, layer)
                node.children[part] = child
            node = child
        return node, parts[-1]

    def remove(self, path: str, layer: int) -> tuple[Node | None, int]:
        """Drop ``path``; (the node removed, the size of everything below it)."""
        folder, name = self.parent_of(path, layer)
        assert folder.children is not None
        node = folder.children.pop(name, None)
        return node, (_subtree_size(node) if node is not None else 0)

    def make_opaque(self, path: str, layer: int) -> None:
        """Hide what lower layers put below the folder ``path`` (this layer's stays)."""
        folder = self.parent_of(path + "/x", layer)[0] if path else self.root
        _drop_lower(folder, layer)


def _subtree_size(node: Node) -> int:
    total = 0
    stack = [node]
    while stack:
        cur = stack.pop()
        total += cur.size
        if cur.children:
            stack.extend(cur.children.values())
    return total


def _drop_lower(folder: Node, layer: int) -> None:
    stack = [folder]
    while stack:
        cur = stack.pop()
        if not cur.children:
            continue
        for name in list(cur.children):
            child = cur.children[name]
            if child.layer < layer:
                del cur.children[name]
            else:
                stack.append(child)


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/")


def _kind(info: tarfile.TarInfo) -> str:
    if info.isdir():
        return "d"
    if info.issym():
        return "l"
    if info.islnk():
        return "h"
    if info.isreg():
        return "f"
    return "o"


def walk_layers(archive: ImageArchive, capture: CapturePredicate | None = None,
                top: int = TOP_PATHS) -> LayerWalk:
    """Stream every layer of ``archive`` in order; see the module docstring."""
    stack = _Stack()
    stats: dict[str, _PathStats] = {}
    total = 0
    for index, layer in enumerate(archive.layers):
        try:
            with archive.open_layer(layer) as tar:
                total += _apply_layer(tar, index, stack, stats, capture)
        except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(f"{archive.path}: layer {index + 1} "
                               f"({layer.digest or layer.member}): {exc}") from exc
    final = sum(node.size for _, node in LayerWalk(Waste(1.0, 0, 0, 0), stack.root, 0)
                .entries())
    smallest = sum(max(s.smallest, 0) for s in stats.values())
    cumulative = sum(s.cumulative for s in stats.values())
    inefficient = [WastedPath(path, s.cumulative, s.layers)
                   for path, s in stats.items() if s.count >= 2]
    waste = Waste(
        efficiency=1.0 if cumulative == 0 else smallest / cumulative,
        wasted_bytes=sum(p.bytes for p in inefficient),
        hidden_bytes=max(total - final, 0),
        total_bytes=total,
        paths=sorted(inefficient, key=lambda p: (-p.bytes, p.path))[:top],
    )
    return LayerWalk(waste, stack.root, len(archive.layers))


def _apply_layer(tar: tarfile.TarFile, layer: int, stack: _Stack,
                 stats: dict[str, _PathStats], capture: CapturePredicate | None) -> int:
    """Apply one layer's members; record its leaves in ``stats``; its file bytes."""
    # (path, size, whiteout) for dive's per-layer leaf visit, and the folders that
    # hold something in this layer (those are not leaves).
    occurrences: list[tuple[str, int, bool]] = []
    holders: set[str] = set()
    added = 0
    for info in tar:
        path = _clean(info.name)
        if not path:
            continue
        folder_path, _, name = path.rpartition("/")
        if name == OPAQUE:
            stack.make_opaque(folder_path, layer)
            continue  # dive does not add the marker: it makes its folder no holder
        _mark_holders(folder_path, holders)
        if name.startswith(WHITEOUT):
            target = f"{folder_path}/{name[len(WHITEOUT):]}" if folder_path \
                else name[len(WHITEOUT):]
            removed, below = stack.remove(target, layer)
            # dive sizes a whiteout by what it deletes only when that was a folder.
            size = below if removed is not None and removed.kind == "d" else 0
            occurrences.append((target, size, True))
            continue
        size = info.size if info.isreg() or info.islnk() else 0
        added += size
        occurrences.append((path, size, False))
        folder, base = stack.parent_of(path, layer)
        assert folder.children is not None
        kind = _kind(info)
        old = folder.children.get(base)
        link = info.linkname if kind in ("l", "h") else ""
        if old is not None and old.kind == "d" and kind == "d":
            old.mode, old.layer, old.size = info.mode, layer, 0  # keeps its children
            continue
        node = Node(kind, size, info.mode, layer, _clean(link) if kind == "h" else link)
        if kind == "f" and capture is not None and 0 < size <= capture(path):
            handle = tar.extractfile(info)
            node.data = handle.read() if handle is not None else None
        folder.children[base] = node
    for path, size, whiteout in occurrences:
        if not whiteout and path in holders:
            continue
        s = stats.get(path)
        if s is None:
            s = stats[path] = _PathStats()
        s.cumulative += size
        if s.smallest < 0 or size < s.smallest:
            s.smallest = size
        s.count += 1
        if not s.layers or s.layers[-1] != layer:
            s.layers.append(layer)
    return added


def _mark_holders(folder: str, holders: set[str]) -> None:
    """``folder`` and its parents hold something (stops at the first already known)."""
    while folder and folder not in holders:
        holders.add(folder)
        folder = folder.rpartition("/")[0]


def walk_archive(path: Path, capture: CapturePredicate | None = None) -> LayerWalk:
    with ImageArchive(path) as archive:
        return walk_layers(archive, capture)
