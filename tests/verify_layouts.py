"""Build small, real image layouts for the layer-reader tests: layer tars written with
tarfile (files, folders, symlinks, hard links, whiteouts, opaque markers), put in an
OCI layout (a folder or an oci-archive tar, layers plain or gzip) or a docker-archive.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# An entry: ("f", path, bytes[, mode]) file, ("d", path[, mode]) folder,
# ("l", path, target) symlink, ("h", path, target) hard link,
# ("wh", path) whiteout of path, ("opq", folder) opaque marker.
Entry = tuple[Any, ...]


def layer_tar(entries: Sequence[Entry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            kind, path = entry[0], entry[1]
            if kind == "wh":
                folder, _, name = path.rpartition("/")
                info = tarfile.TarInfo(f"{folder}/.wh.{name}" if folder else f".wh.{name}")
                tar.addfile(info, io.BytesIO(b""))
                continue
            if kind == "opq":
                tar.addfile(tarfile.TarInfo(f"{path}/.wh..wh..opq"), io.BytesIO(b""))
                continue
            info = tarfile.TarInfo(path)
            if kind == "f":
                data = entry[2]
                info.size = len(data)
                info.mode = entry[3] if len(entry) > 3 else 0o644
                tar.addfile(info, io.BytesIO(data))
            elif kind == "d":
                info.type = tarfile.DIRTYPE
                info.mode = entry[2] if len(entry) > 2 else 0o755
                tar.addfile(info)
            elif kind == "l":
                info.type = tarfile.SYMTYPE
                info.linkname = entry[2]
                tar.addfile(info)
            elif kind == "h":
                info.type = tarfile.LNKTYPE
                info.linkname = entry[2]
                tar.addfile(info)
            else:
                raise ValueError(kind)
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_layout(root: Path, layers: Sequence[Sequence[Entry]], *, gzip_layers: bool = False,
               history: list[dict[str, Any]] | None = None,
               config: dict[str, Any] | None = None) -> Path:
    """Write an OCI image layout folder at ``root``; returns ``root``."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = _digest(data)
        (blobs / digest.split(":", 1)[1]).write_bytes(data)
        return digest

    descs = []
    diff_ids = []
    for entries in layers:
        raw = layer_tar(entries)
        diff_ids.append(_digest(raw))
        data = gzip.compress(raw) if gzip_layers else raw
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzip_layers else "")
        descs.append({"mediaType": media, "digest": put(data), "size": len(data)})
    cfg = {"architecture": "amd64", "os": "linux", "config": config or {},
           "rootfs": {"type": "layers", "diff_ids": diff_ids},
           "history": history or [{"created_by": f"step {i}"} for i in range(len(layers))]}
    cfg_data = json.dumps(cfg).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put(cfg_data), "size": len(cfg_data)},
                "layers": descs}
    man_data = json.dumps(manifest).encode()
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": put(man_data), "size": len(man_data)}]}
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def tar_folder(folder: Path, dest: Path) -> Path:
    """The folder's files as an uncompressed tar (an oci-archive / docker-archive)."""
    with tarfile.open(dest, "w") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return dest


def docker_archive(root: Path, layers: Sequence[Sequence[Entry]]) -> Path:
    """A classic docker-archive folder (manifest.json naming <id>/layer.tar files)."""
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i, entries in enumerate(layers):
        (root / f"layer{i}").mkdir()
        (root / f"layer{i}" / "layer.tar").write_bytes(layer_tar(entries))
        names.append(f"layer{i}/layer.tar")
    (root / "config.json").write_text(json.dumps({"config": {}, "history": []}))
    (root / "manifest.json").write_text(json.dumps(
        [{"Config": "config.json", "RepoTags": ["x:1"], "Layers": names}]))
    return root


def rpm_header_blob(tags: dict[int, str | int]) -> bytes:
    """An rpm header blob as rpm's sqlite database stores it (no magic): index
    count, data length, 16-byte index entries (tag, type, offset, count), data."""
    import struct

    index = b""
    store = b""
    for tag, value in sorted(tags.items()):
        if isinstance(value, int):
            while len(store) % 4:
                store += b"\0"
            index += struct.pack(">iIiI", tag, 4, len(store), 1)
            store += struct.pack(">i", value)
        else:
            index += struct.pack(">iIiI", tag, 6, len(store), 1)
            store += value.encode() + b"\0"
    return struct.pack(">II", len(tags), len(store)) + index + store


def rpm_sqlite(path: Path, packages: Sequence[dict[int, str | int]]) -> bytes:
    """A real sqlite file with rpm's Packages(hnum, blob) table; returns its bytes."""
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, "
               "blob BLOB NOT NULL)")
    db.executemany("INSERT INTO Packages (blob) VALUES (?)",
                   [(rpm_header_blob(tags),) for tags in packages])
    db.commit()
    db.close()
    return path.read_bytes()


def dir_layout(root: Path, layers: Sequence[Sequence[Entry]]) -> Path:
    """containers/image's dir: layout (``buildah push -D IMAGE dir:ROOT``): the
    manifest as manifest.json, every blob at the top named by its hex digest."""
    oci = oci_layout(root.with_name(root.name + "-oci"), layers)
    root.mkdir(parents=True)
    index = json.loads((oci / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    for blob in (oci / "blobs" / "sha256").iterdir():
        target = "manifest.json" if blob.name == digest else blob.name
        (root / target).write_bytes(blob.read_bytes())
    (root / "version").write_text("Directory Transport Version: 1.1\n")
    return root
