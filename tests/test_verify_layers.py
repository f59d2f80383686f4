"""verify's layer readers on small, real image layouts built in the test (real tar
files): the archive formats, dive's wasted-space measure, the final filesystem
(whiteouts, opaque folders, hard links, overwrites), and the layer table."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from verify_layouts import dir_layout, docker_archive, layer_tar, oci_layout, tar_folder

from dockopt.rewriter.verify import history as vhistory
from dockopt.rewriter.verify import report as vreport
from dockopt.rewriter.verify.archive import ArchiveError, ImageArchive
from dockopt.rewriter.verify.layerfs import walk_archive

BASE = [("d", "etc"), ("f", "etc/os-release", b"ID=test\n"), ("d", "var"),
        ("d", "var/lib"), ("d", "var/lib/apt"), ("d", "var/lib/apt/lists")]


def _files(walk: object) -> dict[str, str]:
    from dockopt.rewriter.verify.layerfs import LayerWalk

    assert isinstance(walk, LayerWalk)
    return {path: node.kind for path, node in walk.entries()}


def test_a_file_removed_in_a_later_layer_is_wasted(tmp_path: Path) -> None:
    # apt lists written by one RUN and removed by the next: dive's classic case.
    lists = [("f", "var/lib/apt/lists/main_Packages", b"p" * 5000),
             ("f", "var/lib/apt/lists/sec_Packages", b"s" * 1000)]
    layout = oci_layout(tmp_path / "img", [
        BASE, [("d", "var/lib/apt/lists"), *lists],
        [("d", "var/lib/apt/lists"), ("wh", "var/lib/apt/lists/main_Packages"),
         ("wh", "var/lib/apt/lists/sec_Packages")]])
    walk = walk_archive(layout)
    w = walk.waste
    # Each list occurs twice (added, whited out; a file's whiteout weighs 0).
    assert w.wasted_bytes == 6000
    assert [(p.path, p.bytes, p.layers) for p in w.paths if p.bytes] == [
        ("var/lib/apt/lists/main_Packages", 5000, [1, 2]),
        ("var/lib/apt/lists/sec_Packages", 1000, [1, 2])]
    assert w.hidden_bytes == 6000 and w.total_bytes == 6000 + len(b"ID=test\n")
    # Score: smallest occurrences (8 + 0 + 0) over all occurrences (8 + 6000).
    assert w.efficiency == pytest.approx(8 / 6008)
    assert "var/lib/apt/lists/main_Packages" not in _files(walk)
    assert _files(walk)["var/lib/apt/lists"] == "d"


def test_an_overwritten_file_counts_every_copy(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [
        [("f", "app/big.bin", b"a" * 300)], [("f", "app/big.bin", b"b" * 100)]])
    walk = walk_archive(layout)
    # dive's wasted bytes include the copy that stays; hidden_bytes only the old one.
    assert walk.waste.wasted_bytes == 400 and walk.waste.hidden_bytes == 300
    assert walk.waste.efficiency == pytest.approx(100 / 400)
    node = walk.get("app/big.bin")
    assert node is not None and node.size == 100 and node.layer == 1


def test_a_removed_folder_and_an_opaque_folder(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [
        [("d", "build"), ("f", "build/a.o", b"x" * 30), ("f", "build/b.o", b"y" * 50),
         ("d", "cache"), ("f", "cache/old", b"z" * 70), ("f", "keep", b"k")],
        [("wh", "build"),
         ("d", "cache"), ("opq", "cache"), ("f", "cache/new", b"n" * 5)]])
    walk = walk_archive(layout)
    files = _files(walk)
    assert "build" not in files and "build/a.o" not in files
    assert "cache/old" not in files and files["cache/new"] == "f" and files["keep"] == "f"
    # As dive computes it: the folder's whiteout is an occurrence of "build" (sized by
    # what it removed, 80), but "build" held files in its first layer, so it was not a
    # leaf there: one occurrence, not wasted. The opaque marker is no occurrence.
    assert walk.waste.wasted_bytes == 0
    # The stricter figure sees both.
    assert walk.waste.hidden_bytes == 30 + 50 + 70


def test_an_empty_folder_removed_later_is_an_occurrence(tmp_path: Path) -> None:
    # A folder with nothing in it is a leaf: its whiteout makes two occurrences.
    layout = oci_layout(tmp_path / "img", [
        [("d", "tmp/empty"), ("f", "tmp/f", b"q" * 9)],
        [("wh", "tmp/empty"), ("wh", "tmp/f")]])
    walk = walk_archive(layout)
    assert {p.path for p in walk.waste.paths} == {"tmp/empty", "tmp/f"}
    assert walk.waste.wasted_bytes == 9


def test_hard_links_symlinks_and_modes_reach_the_final_tree(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [
        [("d", "usr/bin"), ("f", "usr/bin/passwd", b"\x7fELF", 0o4755),
         ("h", "usr/bin/passwd2", "usr/bin/passwd"), ("l", "usr/bin/sh", "dash"),
         ("d", "srv", 0o777), ("f", "usr/bin/big", b"b" * 101)]], gzip_layers=True)
    walk = walk_archive(layout, capture=lambda p: 100 if p.startswith("usr/bin/") else 0)
    big = walk.get("usr/bin/big")  # over the capture limit: left unread
    assert big is not None and big.size == 101 and big.data is None
    passwd = walk.get("usr/bin/passwd")
    assert passwd is not None and passwd.mode == 0o4755 and passwd.data == b"\x7fELF"
    link = walk.get("/usr/bin/passwd2")
    assert link is not None and link.kind == "h" and link.link == "usr/bin/passwd"
    sym = walk.get("usr/bin/sh")
    assert sym is not None and sym.kind == "l" and sym.link == "dash"
    srv = walk.get("srv")
    assert srv is not None and srv.mode == 0o777
    implied = walk.get("usr")  # no tar entry of its own
    assert implied is not None and implied.kind == "d" and implied.mode is None


def test_oci_archive_tar_docker_archive_and_dir_read_alike(tmp_path: Path) -> None:
    layers = [[("f", "a", b"1" * 10)], [("wh", "a"), ("f", "b", b"2" * 4)]]
    folder = oci_layout(tmp_path / "oci", layers)
    as_tar = tar_folder(folder, tmp_path / "oci.tar")
    docker = docker_archive(tmp_path / "docker", layers)
    docker_tar = tar_folder(docker, tmp_path / "docker.tar")
    plain_dir = dir_layout(tmp_path / "dir", layers)
    results = [walk_archive(p) for p in (folder, as_tar, docker, docker_tar, plain_dir)]
    for walk in results:
        assert _files(walk) == {"b": "f"}
        assert walk.waste.wasted_bytes == 10 and walk.layers == 2
    with ImageArchive(as_tar) as archive:
        assert archive.config["rootfs"]["type"] == "layers"
        assert [layer.media_type for layer in archive.layers] == [
            "application/vnd.oci.image.layer.v1.tar"] * 2


def test_bad_archives_say_which_file_and_why(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveError, match="neither an OCI layout"):
        ImageArchive(tmp_path / "empty")
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ArchiveError, match=r"junk\.tar"):
        ImageArchive(tmp_path / "junk.tar")
    layout = oci_layout(tmp_path / "img", [[("f", "a", b"1")]])
    blob = next(p for p in (layout / "blobs" / "sha256").iterdir()
                if p.read_bytes() == layer_tar([("f", "a", b"1")]))
    blob.write_bytes(gzip.compress(b"truncated")[:10])
    with pytest.raises(ArchiveError, match=r"img: layer "):
        walk_archive(layout)


def test_instructions_read_like_a_dockerfile() -> None:
    assert vhistory.instruction("/bin/sh -c apt-get update") == "RUN apt-get update"
    assert vhistory.instruction(
        "/bin/sh -c #(nop) COPY file:" + "ab" * 32 + " in /a.txt ") == \
        "COPY file:abababababab in /a.txt"
    assert vhistory.instruction("RUN /bin/sh -c npm ci # buildkit") == "RUN npm ci"
    assert vhistory.instruction("|2 A=1 B=2 /bin/sh -c make") == "RUN make"
    assert vhistory.instruction("COPY . . # buildkit") == "COPY . ."
    assert vhistory.instruction("workdir /app") == "WORKDIR /app"


def test_history_maps_onto_layers_and_marks_the_base() -> None:
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:x in /", "empty_layer": True},
        {"created_by": "/bin/sh -c #(nop) LABEL a=b"},  # a squashed base: 1 layer
        {"created_by": "/bin/sh -c apt-get update", "comment": "FROM debian:12"},
        {"created_by": "/bin/sh -c #(nop) ENV X=1", "empty_layer": True},
        {"created_by": "/bin/sh -c rm -rf /var/lib/apt/lists/*"},
    ]
    layers = vhistory.layers_from_history(history, [100, 50, 2], ["d0", "d1", "d2"])
    assert [(la.instruction, la.size_bytes, la.base) for la in layers] == [
        ("LABEL a=b", 100, True), ("RUN apt-get update", 50, False),
        ("RUN rm -rf /var/lib/apt/lists/*", 2, False)]
    # More layers than history entries: the last entries own the last layers.
    layers = vhistory.layers_from_history(history[2:], [7, 50, 2], ["a", "b", "c"])
    assert [(la.instruction, la.base) for la in layers] == [
        ("(base image)", True), ("RUN apt-get update", False),
        ("RUN rm -rf /var/lib/apt/lists/*", False)]


def _layer(i: int, text: str, size: int, digest: str = "", base: bool = False
           ) -> vhistory.Layer:
    return vhistory.Layer(i, digest, size, text, base)


def test_layer_table_pairs_shrunk_vanished_and_new_layers() -> None:
    before = [_layer(0, "FROM debian", 120_000_000, "sha256:base", True),
              _layer(1, "RUN apt-get update", 50_000_000),
              _layer(2, "RUN apt-get install -y gcc", 300_000_000),
              _layer(3, "COPY . .", 2_000_000)]
    after = [_layer(0, "FROM debian", 120_000_000, "sha256:base", True),
             _layer(1, "RUN apt-get update && apt-get install -y --no-install-recommends "
                       "gcc && rm -rf /var/lib/apt/lists/*", 180_000_000),
             _layer(2, "COPY . .", 1_000_000)]
    rows = vhistory.compare_layers(before, after)
    assert [(r.instruction[:22], r.before_bytes, r.after_bytes, r.status) for r in rows] == [
        ("RUN apt-get install -y", 300_000_000, None, "gone"),
        ("RUN apt-get update && ", None, 180_000_000, "new"),
        ("FROM debian", 120_000_000, 120_000_000, "same"),
        ("RUN apt-get update", 50_000_000, None, "gone"),
        ("COPY . .", 2_000_000, 1_000_000, "shrunk"),
    ]
    assert rows[2].base and rows[4].delta_bytes == -1_000_000


def test_report_shows_the_layer_table_and_the_waste(tmp_path: Path) -> None:
    layout = oci_layout(tmp_path / "img", [
        [("f", "var/lib/apt/lists/Packages", b"p" * 3_000_000)],
        [("wh", "var/lib/apt/lists/Packages")]])
    waste = walk_archive(layout).waste
    clean = walk_archive(oci_layout(tmp_path / "img2", [[("f", "x", b"1")]])).waste
    o = vreport.Measurement("original", built=True, size_bytes=3_000_000, layers=2,
                            layer_history=[_layer(0, "RUN apt-get update", 3_000_000),
                                           _layer(1, "RUN rm -rf /var/lib/apt/lists/*", 0)],
                            waste=waste)
    r = vreport.Measurement("rewritten", built=True, size_bytes=1, layers=1,
                            layer_history=[_layer(0, "RUN true", 1)], waste=clean)
    report = vreport.VerifyReport("Dockerfile", "buildah", True, ["DO204"], o, r)
    text = vreport.format_text(report)
    assert "layers, biggest first" in text
    assert "RUN apt-get update" in text and "gone" in text and "new" in text
    assert "original: 3.0 MB wasted, efficiency 0.0%" in text
    assert "/var/lib/apt/lists/Packages (layers 1, 2)" in text
    assert "rewritten: 0.0 MB wasted, efficiency 100.0%" in text
    data = report.to_dict()
    assert data["original"]["waste"]["wasted_bytes"] == 3_000_000
    assert data["layer_table"][0]["status"] == "gone"
    assert data["original"]["layer_history"][0]["instruction"] == "RUN apt-get update"
    # The fields verify had before stay as they were.
    assert data["original"]["size_bytes"] == 3_000_000 and data["original"]["layers"] == 2


def test_docker_history_becomes_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`docker history --format '{{json .}}'` rows (newest first; size 0 for steps
    that made no layer) paired with the image's diff ids."""
    import json

    from dockopt.rewriter.verify import engines

    rows = [{"CreatedBy": "CMD [\"node\" \"server.js\"]", "Size": "0"},
            {"CreatedBy": "RUN /bin/sh -c npm ci # buildkit", "Size": "41000000"},
            {"CreatedBy": "COPY package*.json ./ # buildkit", "Size": "120000"},
            {"CreatedBy": "/bin/sh -c #(nop) ADD file:abc in / ", "Size": "80000000"}]
    inspect = [{"Size": 121120000, "RootFS": {"Layers": ["sha256:a", "sha256:b", "sha256:c"]},
                "Config": {"User": "node"}}]

    def fake_run(argv: list[str], **kw: object) -> tuple[int, str, bool]:
        if argv[1] == "history":
            return 0, "\n".join(json.dumps(r) for r in rows) + "\n", False
        return 0, json.dumps(inspect), False

    monkeypatch.setattr(engines, "_run", fake_run)
    facts = engines.DockerEngine("docker").inspect("img")
    assert [(la.digest, la.size_bytes, la.instruction) for la in facts.history] == [
        ("sha256:a", 80_000_000, "ADD file:abc in /"),
        ("sha256:b", 120_000, "COPY package*.json ./"),
        ("sha256:c", 41_000_000, "RUN npm ci")]
    # A history docker cannot place (a real layer of size 0) gives no table, not a
    # wrong one.
    rows[2]["Size"] = "0"
    assert engines.DockerEngine("docker").inspect("img").history == []
