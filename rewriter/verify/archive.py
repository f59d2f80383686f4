"""An image as an engine exports it: an OCI layout (``buildah push IMAGE oci:DIR`` or
``oci-archive:FILE``), containers/image's ``dir:`` layout (``buildah push -D IMAGE
dir:DIR``: uncompressed layers, the cheapest export) or a docker-archive (``docker
save``, which since Docker 25 also holds an OCI layout). Gives the image config and
the layer blobs in order, each opened as a stream.

Only the small JSON documents (index, manifest, config) are read whole; a layer is
handed out as a file object over the blob, so callers can stream its tar members
(images can be GBs). A ``.tar`` archive is indexed once (tarfile reads the member
headers and seeks over the data) and its blobs are read in place, never extracted.
"""

from __future__ import annotations

import contextlib
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from dockopt.rewriter.records import dataclass

MANIFEST_TYPES = frozenset({
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
})
INDEX_TYPES = frozenset({
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
})


class ArchiveError(Exception):
    """The archive is not an image layout this module reads (says which file and why)."""


@dataclass(frozen=True)
class LayerBlob:
    """One layer: where its bytes are inside the archive, and how they are packed."""

    digest: str  # the blob's digest ("" when a docker-archive names a file only)
    media_type: str
    member: str  # path of the blob inside the layout
    size: int  # bytes of the blob as stored (compressed or not)


class ImageArchive:
    """Read an OCI layout or docker-archive, as a folder or as a tar file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if path.is_dir():
            pass
        elif path.is_file():
            try:
                # uncompressed outer tar: seekable, indexed once, closed by close()
                self._tar = tarfile.open(path, "r:")  # noqa: SIM115
            except tarfile.TarError as exc:
                raise ArchiveError(f"{path}: not a tar archive ({exc})") from exc
            for info in self._tar:
                self._members[_clean(info.name)] = info
        else:
            raise ArchiveError(f"{path}: no such file or folder")
        self.config, self.layers = self._read_layout()

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def __enter__(self) -> ImageArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- files inside the layout -------------------------------------------------------

    def _exists(self, member: str) -> bool:
        if self._tar is None:
            return (self.path / member).is_file()
        return member in self._members

    @contextlib.contextmanager
    def open_member(self, member: str) -> Iterator[IO[bytes]]:
        """A binary stream over one file of the layout."""
        if self._tar is None:
            with (self.path / member).open("rb") as plain:
                yield plain
            return
        info = self._members.get(member)
        if info is None:
            raise ArchiveError(f"{self.path}: {member} is missing")
        if info.issym() or info.islnk():  # docker-archive may link a repeated layer
            target = info.linkname if info.islnk() else \
                _clean(str(Path(member).parent / info.linkname))
            with self.open_member(_clean(target)) as linked:
                yield linked
            return
        inner = self._tar.extractfile(info)
        if inner is None:
            raise ArchiveError(f"{self.path}: {member} is not a regular file")
        with inner:
            yield inner

    def _json(self, member: str) -> Any:
        if not self._exists(member):
            raise ArchiveError(f"{self.path}: {member} is missing")
        with self.open_member(member) as handle:
            data = handle.read()
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ArchiveError(f"{self.path}: {member}: invalid JSON ({exc})") from exc

    def _blob(self, digest: str) -> str:
        algo, _, hexdigest = digest.partition(":")
        if not algo or not hexdigest or "/" in digest:
            raise ArchiveError(f"{self.path}: bad digest {digest!r}")
        return f"blobs/{algo}/{hexdigest}"

    # --- the layout ----------------------------------------------------------------------

    def _read_layout(self) -> tuple[dict[str, Any], list[LayerBlob]]:
        if self._exists("index.json"):
            return self._read_oci()
        if self._exists("manifest.json"):
            doc = self._json("manifest.json")
            if isinstance(doc, dict):  # dir: one manifest, blobs named by their hex
                return self._read_dir(doc)
            return self._read_docker_archive()
        raise ArchiveError(f"{self.path}: neither an OCI layout (index.json) nor a "
                           "docker-archive or dir: layout (manifest.json)")

    def _read_dir(self, doc: dict[str, Any]) -> tuple[dict[str, Any], list[LayerBlob]]:
        def member(digest: object) -> str:
            hexdigest = str(digest or "").partition(":")[2]
            if not hexdigest or "/" in hexdigest:
                raise ArchiveError(f"{self.path}: bad digest {digest!r}")
            return hexdigest

        config = self._json(member((doc.get("config") or {}).get("digest")))
        layers = [LayerBlob(str(d.get("digest", "")), str(d.get("mediaType", "")),
                            member(d.get("digest")), int(d.get("size") or 0))
                  for d in doc.get("layers") or []]
        return config, layers

    def _read_oci(self) -> tuple[dict[str, Any], list[LayerBlob]]:
        doc = self._json("index.json")
        # Follow nested indexes to the first image manifest (one image per export).
        for _ in range(8):
            manifests = doc.get("manifests") if isinstance(doc, dict) else None
            if not manifests:
                raise ArchiveError(f"{self.path}: index.json lists no manifest")
            desc = manifests[0]
            doc = self._json(self._blob(str(desc.get("digest", ""))))
            media = str(desc.get("mediaType") or doc.get("mediaType") or "")
            if media in MANIFEST_TYPES or "layers" in doc:
                break
            if media not in INDEX_TYPES and "manifests" not in doc:
                raise ArchiveError(f"{self.path}: unknown manifest type {media!r}")
        else:
            raise ArchiveError(f"{self.path}: index nesting too deep")
        config = self._json(self._blob(str((doc.get("config") or {}).get("digest", ""))))
        layers = [LayerBlob(str(d.get("digest", "")), str(d.get("mediaType", "")),
                            self._blob(str(d.get("digest", ""))), int(d.get("size") or 0))
                  for d in doc.get("layers") or []]
        return config, layers

    def _read_docker_archive(self) -> tuple[dict[str, Any], list[LayerBlob]]:
        doc = self._json("manifest.json")
        if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
            raise ArchiveError(f"{self.path}: manifest.json is not a docker-archive manifest")
        entry = doc[0]
        config = self._json(_clean(str(entry.get("Config", ""))))
        layers = []
        for member in entry.get("Layers") or []:
            member = _clean(str(member))
            digest = ""
            if member.startswith("blobs/"):
                _, algo, hexdigest = member.split("/", 2)
                digest = f"{algo}:{hexdigest}"
            layers.append(LayerBlob(digest, "application/vnd.docker.image.rootfs.diff.tar",
                                    member, 0))
        return config, layers

    @contextlib.contextmanager
    def open_layer(self, layer: LayerBlob) -> Iterator[tarfile.TarFile]:
        """The layer's tar, read as a stream (gzip is detected from its bytes)."""
        if "zstd" in layer.media_type:
            raise ArchiveError(f"{self.path}: layer {layer.digest or layer.member} is "
                               "zstd-compressed, which this Python cannot read "
                               "(export without compression)")
        with self.open_member(layer.member) as handle:
            try:
                tar = tarfile.open(fileobj=handle, mode="r|*")  # noqa: SIM115 (closed below)
            except tarfile.TarError as exc:
                raise ArchiveError(f"{self.path}: layer {layer.member}: {exc}") from exc
            with tar:
                yield tar


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")
