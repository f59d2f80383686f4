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
