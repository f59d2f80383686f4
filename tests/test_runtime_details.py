"""DO512 pid1-without-init and DO513 version-label-missing
(transforms/instructions/runtime_details.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockopt.rewriter.config import Settings, settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Context, Finding, Safety, Transform
from dockopt.transforms.instructions.runtime_details import (
    Pid1WithoutInit,
    VersionLabelMissing,
)
from dockopt.transforms.split.common import apply_edits


def _run(rule: Transform, text: str, build: BuildContext | None = None) -> list[Finding]:
    return list(rule.check(Context(parse(text), Settings(), "Dockerfile", build)))


# --- DO512 -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ('FROM node:20\nCMD ["node", "server.js"]\n', "node runs as PID 1"),
    ('FROM node:20\nCMD ["npm", "start"]\n', "npm runs as PID 1"),
    ('FROM python:3.12\nCMD ["python", "app.py"]\n', "python runs as PID 1"),
    ('FROM debian:12\nCMD ["sh", "-c", "./prepare && ./serve"]\n', "a shell (`sh -c`)"),
    ("FROM debian:12\nCMD ./prepare && ./serve\n", "a shell (`sh -c`)"),
    # Inherited from the stage the final one is built on.
    ('FROM node:20 AS base\nCMD ["node", "a.js"]\nFROM base\nRUN true\n', "node runs"),
])
def test_pid1_reported(text: str, words: str) -> None:
    (f,) = _run(Pid1WithoutInit(), text)
    assert words in f.message and "docker run --init" in f.message
    assert f.level == "style"  # advice: `docker run --init` is invisible here


@pytest.mark.parametrize("text", [
    'FROM node:20\nENTRYPOINT ["tini", "--"]\nCMD ["node", "server.js"]\n',
    'FROM node:20\nENTRYPOINT ["/usr/bin/dumb-init", "--"]\nCMD ["node", "server.js"]\n',
    'FROM python:3.12\nCMD ["python", "-m", "gunicorn", "app:app"]\n',
    'FROM python:3.12\nCMD ["gunicorn", "app:app"]\n',
    'FROM golang:1.22\nCMD ["/app"]\n',
    'FROM eclipse-temurin:17-jre\nCMD ["java", "-jar", "app.jar"]\n',
    'FROM debian:12\nCMD ["sh", "-c", "exec ./serve --port $PORT"]\n',
    # A plain shell-form command: DO401 turns it into exec form first.
    "FROM node:20\nCMD node server.js\n",
    "FROM node:20\nRUN true\n",  # no command of its own
])
def test_pid1_not_reported(text: str) -> None:
    assert _run(Pid1WithoutInit(), text) == []


def test_script_judged_only_when_the_context_shows_it(tmp_path: Path) -> None:
    text = 'FROM debian:12\nCOPY entry.sh /\nENTRYPOINT ["/entry.sh"]\nCMD ["serve"]\n'
    (tmp_path / "entry.sh").write_text("#!/bin/sh\nset -e\n./migrate\nexec \"$@\"\n")
    assert _run(Pid1WithoutInit(), text, BuildContext(tmp_path)) == []
    (tmp_path / "entry.sh").write_text("#!/bin/sh\n./migrate\n./serve\n")
    (f,) = _run(Pid1WithoutInit(), text, BuildContext(tmp_path))
    assert "the shell script /entry.sh runs as PID 1 and does not `exec`" in f.message
    # Without the context (or for a script from the base image): not judged.
    assert _run(Pid1WithoutInit(), text) == []


_INSTALL = ("RUN apt-get update && apt-get install -y --no-install-recommends tini "
            "&& rm -rf /var/lib/apt/lists/*\n")


def test_tini_fix_is_unsafe_and_applied() -> None:
    text = 'FROM node:20-slim\nWORKDIR /app\nCMD ["node", "server.js"]\n'
    (f,) = _run(Pid1WithoutInit(), text)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "docker run --init" in f.fix.message
    assert "docker-entrypoint.sh) is replaced" in f.fix.message
    expected = ("FROM node:20-slim\n" + _INSTALL + "WORKDIR /app\n"
                'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["node", "server.js"]\n')
    assert apply_edits(text, f.fix.edits) == expected
    settings = settings_from_dict({"select": ["DO512"], "unsafe-fixes": True}, "t")
    assert fix(text, path="Dockerfile", settings=settings).text == expected
    # Without --unsafe-fixes nothing changes.
    assert fix(text, path="Dockerfile",
               settings=settings_from_dict({"select": ["DO512"]}, "t")).text == text


def test_tini_fix_goes_after_the_last_apt_run_before_user() -> None:
    text = ("FROM python:3.12-slim\nENV DEBIAN_FRONTEND=noninteractive\n"
            "RUN echo 'deb http://mirror/ bookworm main' > /etc/apt/sources.list\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 "
            "&& rm -rf /var/lib/apt/lists/*\nUSER nobody\nRUN apt-get --version\n"
            "COPY . /app\nCMD python /app/app.py --port $PORT\n")
    (f,) = _run(Pid1WithoutInit(), text)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "tini runs `/bin/sh -c ...`" in f.fix.message
    out = apply_edits(text, f.fix.edits)
    assert out.index(_INSTALL) == out.index("USER nobody")  - len(_INSTALL)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD python' in out
    # Without an apt RUN: after the ENV lines that follow FROM.
    text = "FROM debian:12\nENV http_proxy=http://proxy:3128\nCMD [\"sh\", \"-c\", \"a && b\"]\n"
    (f,) = _run(Pid1WithoutInit(), text)
    assert f.fix is not None
    assert apply_edits(text, f.fix.edits).startswith(
        "FROM debian:12\nENV http_proxy=http://proxy:3128\n" + _INSTALL)


def test_tini_fix_merges_into_an_exec_form_entrypoint() -> None:
    text = 'FROM ubuntu:22.04\nENTRYPOINT ["python3", "app.py"]\nCMD ["--serve"]'
    (f,) = _run(Pid1WithoutInit(), text)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "from jammy" in f.fix.message
    assert apply_edits(text, f.fix.edits) == (
        "FROM ubuntu:22.04\n" + _INSTALL +
        'ENTRYPOINT ["/usr/bin/tini", "--", "python3", "app.py"]\nCMD ["--serve"]')


@pytest.mark.parametrize(("text", "reason"), [
    # Releases whose mirror moved to the archive, or a tag that does not say.
    ('FROM node:18-bullseye\nCMD ["node", "s.js"]\n', "bullseye's mirror has moved"),
    ('FROM node:12\nCMD ["node", "s.js"]\n', "does not name its Debian release"),
    ('FROM ubuntu:23.10\nCMD ["python3", "s.py"]\n', "not an LTS release"),
    # The file pins every apt package: tini's version is the user's to choose.
    ("FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends "
     "curl=7.88.1-10+deb12u5 && rm -rf /var/lib/apt/lists/*\nCMD [\"sh\", \"-c\", \"a && b\"]\n",
     "pins every apt package"),
    ('FROM python:3.12-alpine\nENTRYPOINT ["python", "app.py"]\n', "no Alpine package"),
])
def test_tini_fix_only_shown(text: str, reason: str) -> None:
    (f,) = _run(Pid1WithoutInit(), text)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert reason in f.message and "not applied" in f.message


def test_tini_suggestion_alpine_and_entrypoint() -> None:
    text = 'FROM python:3.12-alpine\nENTRYPOINT ["python", "app.py"]\n'
    (f,) = _run(Pid1WithoutInit(), text)
    assert f.fix is not None
    assert apply_edits(text, f.fix.edits) == (
        "FROM python:3.12-alpine\nRUN apk add --no-cache tini\n"
        'ENTRYPOINT ["/sbin/tini", "--", "python", "app.py"]\n')


@pytest.mark.parametrize(("text", "reason"), [
    ('FROM registry.example.com/team/node:1\nCMD ["node", "server.js"]\n', "not known"),
    ("FROM node:20\nENTRYPOINT ./prepare.sh && node server.js\n", "shell form"),
    ('FROM node:20 AS base\nCMD ["node", "a.js"]\nFROM base\nRUN true\n', "another stage"),
    ('FROM node:20 AS base\nUSER node\nFROM base\nCMD ["node", "a.js"]\n', "another stage"),
    ('FROM gcr.io/distroless/nodejs20-debian12\nCMD ["node", "a.js"]\n', "no package manager"),
    ('FROM scratch\nCOPY app /\nCMD ["sh", "-c", "a && b"]\n', "no package manager"),
    ('FROM gcr.io/distroless/static-debian12:nonroot\nCMD ["sh", "-c", "a && b"]\n',
     "no package manager"),
    ('FROM eclipse-temurin:17\nCMD ["sh", "-c", "a && b"]\n', "__cacert_entrypoint.sh"),
    # An init the file installs, or a hint that the container runs with one.
    ('FROM node:20\nRUN apt-get update && apt-get install -y dumb-init\n'
     'CMD ["node", "a.js"]\n', "installs an init"),
    ('FROM node:20\n# run with: docker run --init app\nCMD ["node", "a.js"]\n',
     "comment mentions an init"),
    ('FROM node:20\nLABEL run="docker run --init"\nCMD ["node", "a.js"]\n',
     "label mentions an init"),
])
def test_no_tini_suggestion(text: str, reason: str) -> None:
    found = _run(Pid1WithoutInit(), text)
    assert found and all(f.fix is None for f in found)
    assert all(reason in f.message for f in found), [f.message for f in found]


def test_tini_fix_is_idempotent_and_clean_for_the_apt_rules() -> None:
    """A second pass adds no second tini, and the inserted RUN draws no DO2xx finding
    (only DO503's unpinned-package warning, as any unpinned install does)."""
    text = 'FROM node:20-slim\r\nCOPY . .\r\nCMD ["node", "server.js"]'
    once = fix(text, path="Dockerfile", settings=settings_from_dict(
        {"select": ["DO512"], "unsafe-fixes": True}, "t")).text
    assert once.count("tini") == 2 and "\r\nRUN apt-get update" in once
    assert once.endswith('CMD ["node", "server.js"]')
    again = fix(once, path="Dockerfile", settings=Settings(unsafe_fixes=True))
    assert again.text.count("apt-get install") == 1
    assert not [f for f in again.findings if f.code.startswith("DO2") or f.code == "DO512"]
    assert [f.code for f in again.findings if f.code == "DO503"] == ["DO503"]


# --- DO513 -------------------------------------------------------------------------------


def test_version_label_from_global_arg() -> None:
    text = "ARG VERSION\nFROM alpine:3.20\nRUN echo hi\n"
    (f,) = _run(VersionLabelMissing(), text)
    assert "VERSION reaches no OCI label" in f.message
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert apply_edits(text, f.fix.edits) == (
        text + "ARG VERSION\nLABEL org.opencontainers.image.version=$VERSION\n")


def test_stage_arg_is_not_declared_again() -> None:
    text = "FROM alpine:3.20\nARG GIT_SHA\nARG SOURCE_URL\nCMD [\"true\"]\n"
    (f,) = _run(VersionLabelMissing(), text)
    assert f.fix is not None
    assert apply_edits(text, f.fix.edits) == text + (
        "LABEL org.opencontainers.image.revision=$GIT_SHA "
        "org.opencontainers.image.source=$SOURCE_URL\n")


@pytest.mark.parametrize("text", [
    "FROM alpine:3.20\nRUN echo hi\n",  # no build arguments: nothing is invented
    "FROM alpine:3.20\nARG MY_VERSION\n",  # a name the table does not know
    "ARG VERSION\nFROM alpine:3.20\nLABEL org.opencontainers.image.version=$VERSION\n",
    "FROM alpine:3.20\nARG VERSION\nLABEL version=\"${VERSION}\"\n",  # labelled already
    # Declared in an earlier stage only: not available to the final one.
    "FROM alpine:3.20 AS b\nARG VERSION\nFROM alpine:3.20\nRUN true\n",
])
def test_version_label_not_reported(text: str) -> None:
    assert _run(VersionLabelMissing(), text) == []


def test_version_label_in_the_pipeline_is_idempotent() -> None:
    text = "ARG VERSION=dev\nFROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/a.py\"]"
    settings = settings_from_dict({"select": ["DO513"], "unsafe-fixes": True}, "t")
    out = fix(text, path="Dockerfile", settings=settings).text
    assert out.endswith("ARG VERSION\nLABEL org.opencontainers.image.version=$VERSION")
    assert fix(out, path="Dockerfile", settings=settings).text == out
