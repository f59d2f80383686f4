"""BuildContext.resolve and real_path take a short cut for clean relative paths with
no symlink in them; every answer must equal the full ``Path.resolve`` one."""

from __future__ import annotations

import os
from pathlib import Path

from dockopt.rewriter.context import BuildContext


def _reference(build: BuildContext, rel: str) -> Path | None:
    candidate = (build.root / rel).resolve()
    if candidate != build.root and build.root not in candidate.parents:
        return None
    return candidate


def test_resolve_matches_path_resolve_with_links_inside_and_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    real = tmp_path / "real"
    (real / "app" / "src").mkdir(parents=True)
    (real / "app" / "src" / "main.py").write_text("print()")
    (real / "Dockerfile").write_text("FROM scratch\n")
    (real / "app" / "link-in").symlink_to(real / "app" / "src")
    (real / "link-out").symlink_to(outside)
    (real / "loop").symlink_to(real / "loop")
    # The context root itself reached through a symlink: resolved once, up front.
    (tmp_path / "ctx").symlink_to(real)
    build = BuildContext(tmp_path / "ctx", dockerfile=str(tmp_path / "ctx" / "Dockerfile"))
    rels = ["Dockerfile", "app", "app/src/main.py", "app/link-in/main.py", "app/link-in",
            "link-out/secret", "link-out", "missing", "missing/deeper", "Dockerfile/x",
            "app/./src", "app/../Dockerfile", "../outside/secret", "app//src", "/etc",
            ".", ""]
    for rel in rels:
        assert build.resolve(rel) == _reference(build, rel), rel
        assert build.real_path(rel) == os.path.realpath(build.root / rel), rel
    assert build.resolve("link-out/secret") is None
    assert build.resolve("app/link-in/main.py") == real / "app" / "src" / "main.py"
    assert build.read_text("app/link-in/main.py") == "print()"
    assert build.read_text("link-out/secret") is None


def test_dockerfile_ignore_rel_through_a_linked_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "ctx").symlink_to(real)
    same = BuildContext(real, dockerfile=str(real / "Dockerfile"))
    assert same.dockerfile_ignore_rel() == "Dockerfile.dockerignore"
    linked = BuildContext(real, dockerfile=str(tmp_path / "ctx" / "Dockerfile"))
    assert linked.dockerfile_ignore_rel() == "Dockerfile.dockerignore"
    elsewhere = BuildContext(real / "..", dockerfile=str(real / "sub" / "Dockerfile"))
    assert elsewhere.dockerfile_ignore_rel() == "real/sub/Dockerfile.dockerignore"


def test_discover_real_path_with_a_memo_matches_realpath(tmp_path: Path) -> None:
    """discover.real_path resolves a path from its folder's remembered answer (settings
    lookups and discovery's de-duplication use it): every answer, memo warm or
    cold, equals os.path.realpath, through links to files, folders, links, relative
    targets with .., loops, dangling links and a link followed by .."""
    from dockopt.rewriter.discover import real_path

    real = tmp_path / "real"
    (real / "a" / "b").mkdir(parents=True)
    (real / "a" / "b" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    (real / "to-b").symlink_to(real / "a" / "b")
    (real / "rel-up").symlink_to("a/b/../b")
    (real / "a" / "to-deep").symlink_to(tmp_path / "elsewhere" / "deep")
    (real / "link-to-link").symlink_to(real / "to-b")
    (real / "loop").symlink_to(real / "loop")
    (real / "dangling").symlink_to(real / "nothing")
    (real / "file-link").symlink_to(real / "a" / "b" / "Dockerfile")
    names = ["", "a", "a/b", "a/b/Dockerfile", "to-b", "to-b/Dockerfile", "rel-up/Dockerfile",
             "a/to-deep", "a/to-deep/..", "a/to-deep/../x", "link-to-link/Dockerfile",
             "loop", "loop/x", "dangling", "dangling/x", "file-link", "missing/deeper",
             "a/./b//Dockerfile", "to-b/..", "to-b/../a"]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        memo: dict[str, str] = {}
        for _ in range(2):  # the second pass asks a memo the first filled
            for name in names:
                for path in (str(real / name), os.path.relpath(real / name)):
                    assert real_path(path, memo) == os.path.realpath(path), path
                    assert real_path(path) == os.path.realpath(path), path
    finally:
        os.chdir(cwd)
