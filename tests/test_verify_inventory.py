"""verify's contents inventory on small, real image layouts (real tar layers, a real
sqlite rpm database): package databases, language packages, tools, shells, modes,
the user, and the before/after delta."""

from __future__ import annotations

import json
from pathlib import Path

from verify_layouts import oci_layout, rpm_sqlite

from dockopt.rewriter.verify import inventory
from dockopt.rewriter.verify import report as vreport
from dockopt.rewriter.verify.layerfs import walk_archive


def _dpkg(*packages: tuple[str, str, str]) -> bytes:
    return "\n".join(
        f"Package: {name}\nStatus: {status}\nPriority: optional\nVersion: {version}\n"
        f"Description: {name}\n a continuation line: Version: 9\n"
        for name, version, status in packages).encode()


OK = "install ok installed"
PASSWD = b"root:x:0:0:root:/root:/bin/bash\napp:x:10001:10001::/home/app:/sbin/nologin\n"


def _inventory(tmp_path: Path, layers: list[list[tuple[object, ...]]],
               user: str | None = None, name: str = "img") -> inventory.Inventory:
    walk = walk_archive(oci_layout(tmp_path / name, layers), inventory.capture)
    return inventory.build(walk, user)


def test_dpkg_python_node_tools_shells_and_modes(tmp_path: Path) -> None:
    base = [
        ("f", "var/lib/dpkg/status", _dpkg(("libc6", "2.36-9", OK), ("gcc-12", "12.2", OK),
                                           ("old", "1", "deinstall ok config-files"))),
        ("f", "etc/passwd", PASSWD),
        ("f", "usr/bin/gcc-12", b"elf", 0o755), ("l", "usr/bin/gcc", "gcc-12"),
        ("l", "usr/bin/cc", "/etc/alternatives/cc"), ("f", "usr/bin/make", b"elf", 0o755),
        ("f", "usr/bin/x86_64-linux-gnu-gcc-12", b"elf", 0o755),  # not counted twice
        ("f", "bin/bash", b"elf", 0o755), ("l", "bin/sh", "dash"), ("f", "bin/dash", b"e"),
        ("f", "usr/bin/passwd", b"elf", 0o4755), ("f", "usr/bin/wall", b"elf", 0o2755),
        ("d", "tmp", 0o1777), ("d", "srv/data", 0o777),
        ("d", "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info"),
        ("f", "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
         b"Name: requests\n"),
        ("f", "usr/lib/python3/dist-packages/psutil-5.9.0-py3.11.egg-info", b"x"),
        ("f", "app/node_modules/express/package.json",
         json.dumps({"name": "express", "version": "4.18.2"}).encode()),
        ("f", "app/node_modules/@types/node/package.json",
         json.dumps({"name": "@types/node", "version": "20.1.0"}).encode()),
        ("f", "app/node_modules/express/lib/package.json", b"{}"),  # not a package
        ("f", "usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
         b"js", 0o755),
    ]
    inv = _inventory(tmp_path, [base], "app")
    assert inv.os_format == "dpkg"
    assert inv.os_packages == {"libc6": "2.36-9", "gcc-12": "12.2"}
    assert inv.python_packages == {"requests": "2.31.0", "psutil": "5.9.0"}
    assert inv.node_packages == {"express": ["4.18.2"], "@types/node": ["20.1.0"]}
    assert sorted(inv.build_tools) == ["cc", "gcc", "gcc-12", "make", "node-gyp"]
    assert sorted(inv.shells) == ["bash", "dash", "sh"]
    assert inv.setuid_files == ["/usr/bin/passwd", "/usr/bin/wall"]
    assert inv.world_writable == ["/srv/data"]  # /tmp has the sticky bit
    assert inv.user == "app (uid 10001)"


def test_later_layers_change_what_the_inventory_sees(tmp_path: Path) -> None:
    first = [("f", "var/lib/dpkg/status", _dpkg(("gcc-12", "12.2", OK), ("make", "4.3", OK),
                                                ("libc6", "2.36", OK))),
             ("f", "usr/bin/make", b"elf", 0o755),
             ("f", "app/node_modules/left-pad/package.json", b'{"version": "1.3.0"}')]
    # The purge rewrites the status file and removes the binary and the package.
    second = [("f", "var/lib/dpkg/status", _dpkg(("libc6", "2.36", OK))),
              ("wh", "usr/bin/make"), ("wh", "app/node_modules/left-pad")]
    before = _inventory(tmp_path, [first], None, "a")
    after = _inventory(tmp_path, [first, second], "10001", "b")
    assert after.os_packages == {"libc6": "2.36"} and not after.build_tools
    assert not after.node_packages and before.node_packages == {"left-pad": ["1.3.0"]}
    assert after.user == "10001 (uid 10001, not in /etc/passwd)"
    assert before.user == "root (not in /etc/passwd)"
    lines = [inventory.format_delta(d) for d in inventory.compare(before, after)]
    assert lines[0] == "OS packages 3 -> 1 (-2; removed: gcc-12, make)"
    assert "node packages 1 -> 0 (-1; removed: left-pad)" in lines
    assert "build tools 1 -> 0 (-1; removed: make)" in lines
    assert lines[-1] == ("user root (not in /etc/passwd) -> "
                         "10001 (uid 10001, not in /etc/passwd)")


def test_distroless_status_d_apk_and_rpm_sqlite(tmp_path: Path) -> None:
    distroless = [("f", "var/lib/dpkg/status.d/base-files",
                   b"Package: base-files\nVersion: 12.4\n"),
                  ("f", "var/lib/dpkg/status.d/tzdata", b"Package: tzdata\nVersion: 2024a\n")]
    assert _inventory(tmp_path, [distroless], name="d").os_packages == {
        "base-files": "12.4", "tzdata": "2024a"}
    apk = [("f", "lib/apk/db/installed",
            b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36.1-r5\n")]
    inv = _inventory(tmp_path, [apk], name="apk")
    assert inv.os_format == "apk" and inv.os_packages == {"musl": "1.2.4-r2",
                                                          "busybox": "1.36.1-r5"}
    db = rpm_sqlite(tmp_path / "rpmdb.sqlite", [
        {1000: "bash", 1001: "5.1.8", 1002: "6.el9"},
        {1000: "openssl-libs", 1001: "3.0.7", 1002: "27.el9", 1003: 1},
        {1000: "gpg-pubkey", 1001: "fd431d51", 1002: "4ae0493b"},
    ])
    inv = _inventory(tmp_path, [[("f", "var/lib/rpm/rpmdb.sqlite", db)]], name="rpm")
    assert inv.os_format == "rpm"
    assert inv.os_packages == {"bash": "5.1.8-6.el9", "openssl-libs": "1:3.0.7-27.el9"}
    bdb = [("f", "var/lib/rpm/Packages", b"\0" * 64)]
    inv = _inventory(tmp_path, [bdb], name="bdb")
    assert inv.os_packages == {} and "BerkeleyDB" in inv.notes[0]


def test_a_broken_rpm_database_is_a_note(tmp_path: Path) -> None:
    inv = _inventory(tmp_path, [[("f", "usr/lib/sysimage/rpm/rpmdb.sqlite", b"junk" * 9)]])
    assert inv.os_packages == {} and inv.notes and "rpmdb.sqlite: not read" in inv.notes[0]


def test_report_carries_the_inventory_delta(tmp_path: Path) -> None:
    before = _inventory(tmp_path, [[("f", "var/lib/dpkg/status",
                                     _dpkg(("gcc-12", "12.2", OK), ("libc6", "2.36", OK)))]],
                        name="a")
    after = _inventory(tmp_path, [[("f", "var/lib/dpkg/status",
                                    _dpkg(("libc6", "2.37", OK)))]], "app", name="b")
    o = vreport.Measurement("original", built=True, inventory=before)
    r = vreport.Measurement("rewritten", built=True, inventory=after)
    report = vreport.VerifyReport("Dockerfile", "buildah", True, ["DO101"], o, r)
    text = vreport.format_text(report)
    assert ("OS packages 2 -> 1 (-1; removed: gcc-12; changed: libc6 2.36 -> 2.37)"
            in text)
    data = report.to_dict()
    assert data["inventory_delta"][0]["removed"] == ["gcc-12"]
    assert data["original"]["inventory"]["os_packages"] == {"gcc-12": "12.2",
                                                           "libc6": "2.36"}
