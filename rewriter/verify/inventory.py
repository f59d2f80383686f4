"""What an image contains, read from the final filesystem the layers stack up to:
OS packages (dpkg, apk, rpm's sqlite database), Python and node packages, compilers
and build tools, shells, setuid/setgid files, world-writable folders and the user;
and the before/after delta a reviewer reads ("OS packages 431 -> 97 (-334; removed:
gcc-12, make, ...)").

The walk captures only the small files named by ``capture`` (package databases,
``/etc/passwd``, node ``package.json`` files); everything else comes from paths and
modes. One pass over the final tree: linear in the number of files.

Not read: rpm's BerkeleyDB (``/var/lib/rpm/Packages``, RHEL/CentOS 7 and older) and
ndb (``Packages.db``, SUSE) databases; an image with one says so in ``notes``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import struct
import tempfile
from dataclasses import field
from typing import TYPE_CHECKING

from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.verify.layerfs import LayerWalk

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_D = "var/lib/dpkg/status.d/"  # distroless: one file per package
APK_INSTALLED = "lib/apk/db/installed"
RPM_SQLITE = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
RPM_UNREAD = ("var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages",
              "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db")
PASSWD = "etc/passwd"
_NODE_PACKAGE = re.compile(r"(?:^|/)node_modules/((?:@[^/]+/)?[^/@.][^/]*)/package\.json$")
_PY_DIST = re.compile(r"(?:^|/)(?:site|dist)-packages/([^/]+)\.(dist-info|egg-info)$")
_TOOL = re.compile(r"^(gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(-\d+(?:\.\d+)*)?$|"
                   r"^(make|gmake|cmake|go|javac|node-gyp|rustc|cargo)$")
_TOOL_DIRS = frozenset({"bin", "sbin", "node-gyp-bin"})
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"})


DATABASE_LIMIT = 64 * 1024 * 1024  # a package database bigger than this is not read
PACKAGE_JSON_LIMIT = 1024 * 1024  # node_modules can hold thousands: keep memory small


def capture(path: str) -> int:
    """How much of a file the inventory reads (0: nothing); the walk keeps its bytes."""
    if (path in (DPKG_STATUS, APK_INSTALLED, PASSWD) or path in RPM_SQLITE
            or path.startswith(DPKG_STATUS_D)):
        return DATABASE_LIMIT
    return PACKAGE_JSON_LIMIT if _NODE_PACKAGE.search(path) is not None else 0


@dataclass
class Inventory:
    os_format: str  # "dpkg", "apk", "rpm", "dpkg+rpm", ... or "" (none found)
    os_packages: dict[str, str] = field(default_factory=dict)  # name -> version
    python_packages: dict[str, str] = field(default_factory=dict)  # name -> version
    node_packages: dict[str, list[str]] = field(default_factory=dict)  # name -> versions
    build_tools: dict[str, str] = field(default_factory=dict)  # name -> first path
    shells: dict[str, str] = field(default_factory=dict)  # name -> first path
    setuid_files: list[str] = field(default_factory=list)  # setuid or setgid
    world_writable: list[str] = field(default_factory=list)  # folders, no sticky bit
    user: str = ""  # "app (uid 10001)"
    notes: list[str] = field(default_factory=list)  # what could not be read


def build(walk: LayerWalk, user: str | None) -> Inventory:
    inv = Inventory("")
    formats: list[str] = []
    status_d: list[bytes] = []
    for path, node in walk.entries():
        if node.data is not None and path.startswith(DPKG_STATUS_D):
            status_d.append(node.data)
        elif node.data is not None:
            match = _NODE_PACKAGE.search(path)
            if match:
                name, version = _node_package(node.data, match.group(1))
                versions = inv.node_packages.setdefault(name, [])
                if version not in versions:
                    versions.append(version)
        folder, _, base = path.rpartition("/")
        if node.kind == "d":
            dist = _PY_DIST.search(path)
            if dist:
                _python_package(dist.group(1), inv.python_packages)
            if node.mode is not None and node.mode & 0o002 and not node.mode & 0o1000:
                inv.world_writable.append("/" + path)
            continue
        if node.kind == "f" and base.endswith(".egg-info"):  # a one-file egg-info
            dist = _PY_DIST.search(path)
            if dist:
                _python_package(dist.group(1), inv.python_packages)
        if node.kind in ("f", "h") and node.mode is not None and node.mode & 0o6000:
            inv.setuid_files.append("/" + path)
        if folder.rpartition("/")[2] in _TOOL_DIRS and node.kind in ("f", "l", "h"):
            tool = base[:-3] if base == "node-gyp.js" else base
            if _TOOL.match(tool):
                inv.build_tools.setdefault(tool, "/" + path)
            elif base in SHELLS:
                inv.shells.setdefault(base, "/" + path)
    status = walk.get(DPKG_STATUS)
    if status is not None and status.data is not None:
        _dpkg(status.data, inv.os_packages, require_status=True)
        formats.append("dpkg")
    if status_d:
        for data in status_d:
            _dpkg(data, inv.os_packages, require_status=False)
        if "dpkg" not in formats:
            formats.append("dpkg")
    apk = walk.get(APK_INSTALLED)
    if apk is not None and apk.data is not None:
        _apk(apk.data, inv.os_packages)
        formats.append("apk")
    for rpm_path in RPM_SQLITE:
        rpm = walk.get(rpm_path)
        if rpm is not None and rpm.data is not None:
            try:
                _rpm_sqlite(rpm.data, inv.os_packages)
                formats.append("rpm")
            except (sqlite3.Error, struct.error, ValueError) as exc:
                inv.notes.append(f"/{rpm_path}: not read ({exc})")
            break
    else:
        for rpm_path in RPM_UNREAD:
            if walk.get(rpm_path) is not None:
                inv.notes.append(f"/{rpm_path}: rpm database in BerkeleyDB/ndb format, "
                                 "not read (only rpm's sqlite database is)")
                break
    inv.os_format = "+".join(formats)
    inv.user = _user(user, walk)
    return inv


# --- package databases ------------------------------------------------------------------


def _paragraphs(data: bytes) -> list[dict[str, str]]:
    """RFC 822-style stanzas (dpkg status, apk's installed db: "K:value" lines)."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for raw in data.decode("utf-8", "replace").splitlines():
        if not raw.strip():
            if cur:
                out.append(cur)
                cur = {}
            continue
        if raw[0] in " \t":
            continue  # a continuation line (Description, Conffiles)
        key, sep, value = raw.partition(":")
        if sep:
            cur.setdefault(key, value.strip())
    if cur:
        out.append(cur)
    return out


def _dpkg(data: bytes, into: dict[str, str], *, require_status: bool) -> None:
    for para in _paragraphs(data):
        name = para.get("Package")
        if not name:
            continue
        status = para.get("Status", "")
        if require_status and not status.endswith(" installed"):
            continue
        into[name] = para.get("Version", "")


def _apk(data: bytes, into: dict[str, str]) -> None:
    for para in _paragraphs(data):
        if para.get("P"):
            into[para["P"]] = para.get("V", "")


# rpm header tags and types (rpm's lib/rpmtag.h): NAME, VERSION, RELEASE, EPOCH.
_RPM_NAME, _RPM_VERSION, _RPM_RELEASE, _RPM_EPOCH = 1000, 1001, 1002, 1003
_RPM_INT32, _RPM_STRING = 4, 6


def _rpm_sqlite(data: bytes, into: dict[str, str]) -> None:
    """rpm >= 4.16's sqlite database: table Packages(hnum, blob), each blob an rpm
    header without its magic (index count, data length, 16-byte index entries, data)."""
    fd, path = tempfile.mkstemp(prefix="dockopt-rpmdb-", suffix=".sqlite")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            for (blob,) in db.execute("SELECT blob FROM Packages"):
                tags = rpm_header_tags(bytes(blob))
                name = tags.get(_RPM_NAME)
                if not isinstance(name, str) or name == "gpg-pubkey":
                    continue
                version = f"{tags.get(_RPM_VERSION, '')}-{tags.get(_RPM_RELEASE, '')}"
                epoch = tags.get(_RPM_EPOCH)
                into[name] = f"{epoch}:{version}" if isinstance(epoch, int) else version
    finally:
        os.unlink(path)


def rpm_header_tags(blob: bytes) -> dict[int, str | int]:
    """The string and int32 tags of one rpm header blob."""
    count, size = struct.unpack_from(">II", blob, 0)
    store = 8 + 16 * count
    if store + size > len(blob):
        raise ValueError("rpm header blob is truncated")
    tags: dict[int, str | int] = {}
    for i in range(count):
        tag, kind, offset, _n = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if not 0 <= offset < size:
            continue
        at = store + offset
        if kind == _RPM_STRING:
            end = blob.find(b"\0", at, store + size)
            tags[tag] = blob[at:end if end >= 0 else store + size].decode("utf-8", "replace")
        elif kind == _RPM_INT32 and at + 4 <= store + size:
            tags[tag] = struct.unpack_from(">i", blob, at)[0]
    return tags


def _node_package(data: bytes, path_name: str) -> tuple[str, str]:
    try:
        doc = json.loads(data)
    except ValueError:
        return path_name, "?"
    if not isinstance(doc, dict):
        return path_name, "?"
    name = doc.get("name") if isinstance(doc.get("name"), str) else path_name
    version = doc.get("version") if isinstance(doc.get("version"), str) else "?"
    return str(name), str(version)


def _python_package(stem: str, into: dict[str, str]) -> None:
    # "requests-2.31.0" (dist-info), "psutil-5.9.0-py3.11" (egg-info)
    stem = re.sub(r"-py\d+(?:\.\d+)*$", "", stem)
    name, sep, version = stem.partition("-")
    into[re.sub(r"[-_.]+", "-", name).lower()] = version if sep else ""


def _user(user: str | None, walk: LayerWalk) -> str:
    """The image's user with its uid (or name) from /etc/passwd."""
    spec = (user or "").strip() or "root"
    who = spec.split(":", 1)[0]
    node = walk.get(PASSWD)
    entries: list[list[str]] = []
    if node is not None and node.data is not None:
        entries = [line.split(":") for line in node.data.decode("utf-8", "replace")
                   .splitlines() if line.count(":") >= 3]
    for fields in entries:
        if who in (fields[0], fields[2]):
            return f"{fields[0]} (uid {fields[2]})"
    if who.isdigit():
        return f"{spec} (uid {who}, not in /etc/passwd)"
    return f"{spec} (not in /etc/passwd)"


# --- the delta ------------------------------------------------------------------------------


@dataclass
class Delta:
    """One line of the inventory delta."""

    label: str
    before: int
    after: int
    removed: list[str]
    added: list[str]
    changed: list[str] = field(default_factory=list)  # "name 1.0 -> 2.0"

    @property
    def difference(self) -> int:
        return self.after - self.before


def _names_delta(label: str, before: dict[str, object], after: dict[str, object],
                 versions: bool = True) -> Delta:
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    changed = sorted(f"{n} {before[n]} -> {after[n]}" for n in set(before) & set(after)
                     if versions and before[n] != after[n])
    return Delta(label, len(before), len(after), removed, added, changed)


def compare(before: Inventory, after: Inventory) -> list[Delta]:
    def listed(items: list[str]) -> dict[str, object]:
        return dict.fromkeys(items, "")

    node_before = {n: ", ".join(v) for n, v in before.node_packages.items()}
    node_after = {n: ", ".join(v) for n, v in after.node_packages.items()}
    user = Delta("user", 1, 1, [before.user], [after.user]) if before.user != after.user \
        else Delta("user", 1, 1, [], [])
    return [
        _names_delta("OS packages", dict(before.os_packages), dict(after.os_packages)),
        _names_delta("Python packages", dict(before.python_packages),
                     dict(after.python_packages)),
        _names_delta("node packages", dict(node_before), dict(node_after)),
        _names_delta("build tools", dict(before.build_tools), dict(after.build_tools), False),
        _names_delta("shells", dict(before.shells), dict(after.shells), False),
        _names_delta("setuid/setgid files", listed(before.setuid_files),
                     listed(after.setuid_files), False),
        _names_delta("world-writable folders", listed(before.world_writable),
                     listed(after.world_writable), False),
        user,
    ]


def format_delta(delta: Delta, limit: int = 8) -> str:
    """ "OS packages 431 -> 97 (-334; removed: gcc-12, make, ...)" """
    if delta.label == "user":
        if not delta.removed:
            return "user unchanged"
        return f"user {delta.removed[0]} -> {delta.added[0]}"

    def names(items: list[str]) -> str:
        shown = ", ".join(items[:limit])
        return shown + (f", ... {len(items) - limit} more" if len(items) > limit else "")

    parts = [f"{delta.difference:+d}"] if delta.difference else []
    if delta.removed:
        parts.append(f"removed: {names(delta.removed)}")
    if delta.added:
        parts.append(f"added: {names(delta.added)}")
    if delta.changed:
        parts.append(f"changed: {names(delta.changed)}")
    detail = f" ({'; '.join(parts)})" if parts else " (unchanged)"
    return f"{delta.label} {delta.before} -> {delta.after}{detail}"
