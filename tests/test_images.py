"""The image-reference parser and the table of image facts (transforms/images.py)."""

from __future__ import annotations

import pytest

from dockopt.rewriter.syntax import parse
from dockopt.transforms.images import (
    facts_for,
    family_from_tag,
    parse_image_ref,
    resolve_stage_base,
    slim_tag,
)


@pytest.mark.parametrize(("text", "registry", "path", "tag", "digest", "repo"), [
    ("node", None, "library/node", None, None, "node"),
    ("node:20", None, "library/node", "20", None, "node"),
    ("docker.io/library/node:20-slim", None, "library/node", "20-slim", None, "node"),
    ("index.docker.io/library/python:3.12", None, "library/python", "3.12", None, "python"),
    ("bitnami/redis:7", None, "bitnami/redis", "7", None, "bitnami/redis"),
    ("localhost:5000/app:1", "localhost:5000", "app", "1", None, "localhost:5000/app"),
    ("gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12",
     "nonroot", None, "gcr.io/distroless/static-debian12"),
    ("mcr.microsoft.com/dotnet/aspnet:8.0", "mcr.microsoft.com", "dotnet/aspnet", "8.0", None,
     "mcr.microsoft.com/dotnet/aspnet"),
    ("node:20@sha256:" + "a" * 64, None, "library/node", "20", "sha256:" + "a" * 64, "node"),
    ("node@sha256:" + "b" * 64, None, "library/node", None, "sha256:" + "b" * 64, "node"),
])
def test_parse_image_ref(text: str, registry: str | None, path: str, tag: str | None,
                         digest: str | None, repo: str) -> None:
    ref = parse_image_ref(text)
    assert ref is not None
    assert (ref.registry, ref.path, ref.tag, ref.digest, ref.repository) == \
        (registry, path, tag, digest, repo)
    if ref.tag is not None and ref.tag_start is not None:
        assert text[ref.tag_start:ref.tag_start + len(ref.tag)] == ref.tag
    assert text[:ref.name_end].endswith(ref.name)


@pytest.mark.parametrize("text", ["", "${BASE}", "node:$V", "Node:20", "node:20@sha256:xyz",
                                  "a b", "node:-bad"])
def test_parse_image_ref_rejects(text: str) -> None:
    assert parse_image_ref(text) is None


@pytest.mark.parametrize(("tag", "default", "family"), [
    (None, "debian", "debian"),
    ("20-alpine3.19", "debian", "alpine"),
    ("3.12-slim", "debian", "debian"),
    ("20-bookworm", "debian", "debian"),
    ("17-jre-jammy", "ubuntu", "ubuntu"),
    ("3.12-windowsservercore-ltsc2022", "debian", "windows"),
    ("8.0-nanoserver-1809", "debian", "windows"),
    ("17-ubi9-minimal", "ubuntu", "unknown"),
    ("3-amazoncorretto-17", "ubuntu", "unknown"),
    ("8.0-jammy-chiseled", "debian", "distroless"),
])
def test_family_from_tag(tag: str | None, default: str, family: str) -> None:
    assert family_from_tag(tag, default) == family  # type: ignore[arg-type]


@pytest.mark.parametrize(("tag", "style", "repo", "slim"), [
    ("20", "suffix", "node", "20-slim"),
    ("18.19.1-bookworm", "suffix", "node", "18.19.1-bookworm-slim"),
    ("lts", "suffix", "node", "lts-slim"),
    (None, "suffix", "node", "slim"),
    ("latest", "infix", "python", "slim"),
    ("3.11", "infix", "python", "3.11-slim"),
    ("3.12-bookworm", "infix", "python", "3.12-slim-bookworm"),
    ("bookworm", "infix", "python", "slim-bookworm"),
    ("bookworm", "suffix", "debian", "bookworm-slim"),
    ("12.5", "suffix", "debian", "12.5-slim"),
    (None, "suffix", "debian", None),
    ("20-slim", "suffix", "node", None),
    ("3.12-slim-bookworm", "infix", "python", None),
    ("20-alpine", "suffix", "node", None),
    ("3.12-windowsservercore", "infix", "python", None),
])
def test_slim_tag(tag: str | None, style: str, repo: str, slim: str | None) -> None:
    assert slim_tag(tag, style, repo) == slim  # type: ignore[arg-type]


def _facts(text: str):  # type: ignore[no-untyped-def]
    ref = parse_image_ref(text)
    assert ref is not None
    return facts_for(ref)


def test_facts_table() -> None:
    node = _facts("node:20")
    assert node is not None
    assert (node.family, node.user, node.uid, node.kind, node.slim_tag) == \
        ("debian", "node", 1000, "sdk", "20-slim")
    assert node.runs_as_root and node.full_mb and node.slim_mb
    alpine_node = _facts("node:20-alpine")
    assert alpine_node is not None and alpine_node.family == "alpine"
    assert alpine_node.user == "node" and alpine_node.slim_tag is None
    py = _facts("python:3.12")
    assert py is not None and py.user is None and py.slim_tag == "3.12-slim"
    assert _facts("golang:1.22").slim_tag is None  # type: ignore[union-attr]
    distroless = _facts("gcr.io/distroless/base-debian12")
    assert distroless is not None
    assert (distroless.family, distroless.user, distroless.uid) == ("distroless", "nonroot",
                                                                    65532)
    assert distroless.runs_as_root
    assert not _facts("gcr.io/distroless/static:nonroot").runs_as_root  # type: ignore[union-attr]
    assert not _facts("cgr.dev/chainguard/node:latest").runs_as_root  # type: ignore[union-attr]
    assert _facts("scratch").family == "scratch"  # type: ignore[union-attr]
    assert _facts("busybox:1.36").family == "busybox"  # type: ignore[union-attr]
    assert _facts("postgres:16").drops_privileges  # type: ignore[union-attr]
    assert _facts("nginx:1.27").privileged_port == 80  # type: ignore[union-attr]
    assert _facts("mysql:8").family == "unknown"  # type: ignore[union-attr]
    assert _facts("eclipse-temurin:21-jre").family == "ubuntu"  # type: ignore[union-attr]
    dotnet8 = _facts("mcr.microsoft.com/dotnet/aspnet:8.0")
    assert dotnet8 is not None and (dotnet8.user, dotnet8.uid) == ("app", 1654)
    assert _facts("mcr.microsoft.com/dotnet/aspnet:6.0").user is None  # type: ignore[union-attr]
    assert _facts("docker.io/library/python:3.12-windowsservercore").family == \
        "windows"  # type: ignore[union-attr]
    assert _facts("example.com/team/app:1") is None


def test_resolve_stage_base_follows_stage_references() -> None:
    tree = parse("FROM python:3.12-alpine AS base\nFROM base AS deps\nRUN true\n"
                 "FROM deps\nCMD [\"x\"]\n")
    final = tree.stages[-1]
    got = resolve_stage_base(tree, final)
    assert got.ref is not None and got.ref.repository == "python"
    assert got.facts is not None and got.facts.family == "alpine"
    assert [s.index for s in got.chain] == [0, 1, 2]
    arg = parse("ARG B=node\nFROM ${B}\n")
    got = resolve_stage_base(arg, arg.stages[-1])
    assert got.ref is None and got.facts is None
