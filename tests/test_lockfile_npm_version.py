"""DO602's model of the npm an install runs with, and DO605's manifest evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import check, fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Context
from dockopt.transforms.context.base_image import _named_packages
from dockopt.transforms.context.lockfiles import expand, npm_version
from dockopt.transforms.context.manifests.installs import installs
from dockopt.transforms.shellfix import shell_runs

SETTINGS = settings_from_dict({"select": ["DO602"], "unsafe-fixes": True}, "<test>")


def _npm(text: str) -> tuple[int | None, str]:
    tree = parse(text)
    ctx = Context(tree, SETTINGS)
    stage = tree.stages[-1]
    for run in shell_runs(ctx, stage):
        for inst in installs(run):
            if inst.tool == "npm":
                got = npm_version(ctx, stage, run, inst)
                return got.major, got.source
    raise AssertionError("no npm install")


@pytest.mark.parametrize(("text", "major"), [
    ("FROM node:14\nRUN npm install\n", 6),
    ("FROM node:8.17-alpine\nRUN npm install\n", 5),
    ("FROM node:20-bookworm-slim\nRUN npm install\n", 9),
    ("FROM node\nRUN npm install\n", 99),
    ("FROM node:lts-alpine\nRUN npm install\n", 99),
    ("FROM node:gallium\nRUN npm install\n", 7),
    ("ARG NODE_VERSION=12\nFROM node:${NODE_VERSION}\nRUN npm install\n", 6),
    ("ARG NODE_VERSION=18\nFROM node:$NODE_VERSION-alpine AS b\nFROM b\nRUN npm install\n", 8),
    ("ARG V\nFROM node:${V:-12}\nRUN npm install\n", 6),
    ("ARG V\nFROM node:${V}\nRUN npm install\n", None),
    ("FROM ubuntu:22.04\nRUN apt-get install -y nodejs npm\nRUN npm install\n", None),
    ("FROM debian:buster\nRUN curl -sL https://deb.nodesource.com/setup_14.x | bash - "
     "&& apt-get install -y nodejs\nRUN npm install\n", 6),
    ("FROM debian:bookworm\nENV NODE_MAJOR=20\nRUN echo \"deb https://deb.nodesource.com/"
     "node_$NODE_MAJOR.x nodistro main\" > /etc/apt/sources.list.d/n.list "
     "&& apt-get install -y nodejs\nRUN npm install\n", 9),
    ("FROM node:12\nRUN npm install -g npm@latest\nRUN npm install\n", 99),
    ("FROM node:20\nRUN npm i -g npm@6.14.18 && npm install\n", 6),
    ("FROM node:20\nRUN npm install && npm i -g npm@6\n", 9),  # after the install
    ("FROM node:20\nRUN nvm install 12\nRUN npm install\n", None),
    ("FROM mhart/alpine-node:12\nRUN npm install\n", None),
    ("FROM circleci/node:14-browsers\nRUN npm install\n", 6),
    ("FROM mycorp/base:1\nRUN npm install\n", None),
])
def test_npm_version(text: str, major: int | None) -> None:
    assert _npm(text)[0] == major


def test_expand() -> None:
    env = {"A": "1", "E": ""}
    assert expand("x${A}y$A", env) == "x1y1"
    assert expand("${B:-7}", env) == "7"
    assert expand("${E:-7}", env) == "7"
    assert expand("${B}", env) is None


def _ctx(tmp_path: Path, files: dict[str, str]) -> BuildContext:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return BuildContext(tmp_path)


LOCK_V3 = '{"name": "a", "lockfileVersion": 3, "packages": {}}'
LOCK_V1 = '{"name": "a", "lockfileVersion": 1, "dependencies": {}}'


@pytest.mark.parametrize(("base", "lock", "out"), [
    ("node:20", LOCK_V3, "RUN npm ci --omit=dev\n"),
    ("node:14", LOCK_V3, "RUN npm install --production\n"),  # npm 6 cannot read v3
    ("node:14", LOCK_V1, "RUN npm ci --production\n"),
    ("node:8.9", LOCK_V1, "RUN npm install --production\n"),  # npm 5.5: no `npm ci`
    ("corp/node-base:1", LOCK_V1, "RUN npm install --production\n"),
])
def test_ci_and_flag_follow_npm(tmp_path: Path, base: str, lock: str, out: str) -> None:
    build = _ctx(tmp_path, {"package.json": "{}", "package-lock.json": lock})
    text = f"FROM {base}\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install --production\n"
    got = fix(text, path="Dockerfile", context=build, settings=SETTINGS)
    assert got.text.endswith(out)


def test_title_says_what_the_fix_does(tmp_path: Path) -> None:
    build = _ctx(tmp_path, {"package.json": "{}"})
    text = "FROM node:20\nWORKDIR /app\nCOPY package.json ./\nRUN npm install --production\n"
    got = fix(text, path="Dockerfile", context=build, settings=SETTINGS)
    assert got.text.endswith("RUN npm install --omit=dev\n")
    assert [c.title for c in got.changes] == ["Replace deprecated npm flags"]
    build = _ctx(tmp_path, {"package-lock.json": LOCK_V3})
    text = text.replace("COPY package.json", "COPY package*.json")
    got = fix(text, path="Dockerfile", context=build, settings=SETTINGS)
    assert [c.title for c in got.changes] == [
        "Install exactly what the lockfile pins; replace deprecated npm flags"]


def test_unknown_npm_is_a_finding_that_says_why(tmp_path: Path) -> None:
    build = _ctx(tmp_path, {"package.json": "{}"})
    text = "FROM corp/node:x\nCOPY package.json ./\nRUN npm install --production\n"
    found, _ = check(text, path="Dockerfile", context=build, settings=SETTINGS)
    assert len(found) == 1 and found[0].fix is None
    assert "kept" in found[0].message and "corp/node:x" in found[0].message


@pytest.mark.parametrize(("name", "args", "names"), [
    ("npm", ["install", "-g", "@scope/pkg@1.2", "bcrypt"], ["@scope/pkg", "bcrypt"]),
    ("pip", ["install", "--no-cache-dir", "psycopg2==2.9", "flask[async]"],
     ["psycopg2", "flask"]),
    ("python3", ["-m", "pip", "install", "-r", "req.txt", "uwsgi"], ["uwsgi"]),
    ("pip", ["install", "-r", "requirements.txt"], []),
    ("yarn", ["add", "sharp"], ["sharp"]),
])
def test_named_packages(name: str, args: list[str], names: list[str]) -> None:
    assert _named_packages(name, args) == names
