"""``ImageView.provider`` (which context file a RUN sees at an image path, and which
COPY put it there) answers from an index built once per stage and pass; these tests
hold it to the scan it replaced, which asked every copy before the RUN in order and
kept the last answer (issue 15: the scan was quadratic in RUNs x COPYs).

The reference below is that scan, kept verbatim in meaning. Every RUN of every case
is asked about every image path that any copy could produce (each destination, each
context file's name and tails joined to it) and a few that none can.
"""

from __future__ import annotations

import posixpath
import random
from pathlib import Path

import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.context import BuildContext, glob_matches
from dockopt.rewriter.syntax import Instruction, parse
from dockopt.transforms.base import Context
from dockopt.transforms.context.manifests.paths import (
    ImageView,
    Placed,
    _bind_mounts,
    ctx_join,
    ignore_matcher,
    join_path,
    walk,
    within,
)

FILES = ["package.json", "package-lock.json", "requirements.txt", "setup.py",
         "app/package.json", "app/yarn.lock", "app/src/index.js", "app/src/package.json",
         "lib/requirements.txt", "lib/setup.py", "lib/pyproject.toml", "docs/x.md",
         "docs/keep.md", "secret.env", "a.json", "b.json", "weird[1].json",
         "deep/a/b/c/package.json"]
IGNORE = "*.env\ndocs\n!docs/keep.md\napp/src/package.json\n"

FIXED = """\
FROM node:18 AS base
WORKDIR /srv
COPY package.json ./
RUN npm ci
COPY app /srv/app
COPY app/package.json app/yarn.lock /opt/
COPY *.json /glob/
COPY ["weird[1].json", "/w/"]
COPY weird[1].json /w2
COPY lib/requirements.txt /req.txt
COPY . /all
COPY . .
RUN npm ci
WORKDIR app
COPY app/ ./
ADD lib /
COPY --chown=1 secret.env docs/ /secret/
COPY docs /d
RUN --mount=type=bind,source=lib,target=/mnt/lib pip install -r /mnt/lib/requirements.txt
RUN --mount=type=bind,target=/srv/app/package.json,source=package.json npm ci
COPY a.json /srv/app/package.json
COPY missing.json /srv/app/package.json
COPY deep /
COPY deep/a /
RUN true
FROM base AS next
WORKDIR /
COPY requirements.txt /
COPY app/package.json /srv/app/package.json
RUN true
COPY --from=base /x /y
COPY <<EOF /srv/app/package.json
{}
EOF
RUN true
FROM next
COPY lib/ /srv/
RUN true
"""


def _old_provider(ctx: Context, build: BuildContext, stage_index: int, run: Instruction,
                  image_path: str) -> tuple[str, Instruction] | None:
    """The scan ``ImageView.provider`` did before it had an index."""
    stage = ctx.tree.stages[stage_index]
    cwd, placed = walk(ctx, stage, run)
    placed = list(placed) + [Placed(run, [m[0]], join_path(cwd, m[1]), False)
                             for m in _bind_mounts(run)]
    matcher = ignore_matcher(ctx, build)

    def ignored(rel: str) -> bool:
        return matcher is not None and matcher.excludes(rel)

    def one(src: str, p: Placed) -> str | None:
        if src == "." or src in build.dirs:
            rel = within(image_path, p.dest)
            if rel is None or rel == "":
                return None
            cand = ctx_join("" if src == "." else src, rel)
            return cand if build.is_file(cand) and not ignored(cand) else None
        for f in build.files:
            if not glob_matches(src, f) or ignored(f):
                continue
            name = f.rsplit("/", 1)[-1]
            if src != f and not (any(c in src for c in "*?[")):
                continue
            targets = {posixpath.join(p.dest, name)}
            if not p.dir_dest:
                targets.add(p.dest)
            if image_path in targets:
                return f
        return None

    found: tuple[str, Instruction] | None = None
    for p in placed:
        for src in p.sources:
            got = one(src, p)
            if got is not None:
                found = (got, p.ins)
    return found


def _context(tmp_path: Path, dockerfile: str) -> tuple[Context, BuildContext]:
    for rel in FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    (tmp_path / ".dockerignore").write_text(IGNORE)
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    build = BuildContext(tmp_path, dockerfile=str(path))
    return Context(parse(dockerfile), Settings(), str(path), build), build


def _paths(ctx: Context, build: BuildContext) -> list[str]:
    """Every image path a copy of the file could provide, and some none can."""
    out = {"/", "", "relative.json", "/nowhere/package.json", "<image>/package.json"}
    for stage in ctx.tree.stages:
        _, placed = walk(ctx, stage, stage.body[-1])
        dests = {p.dest for p in placed} | {"/mnt/lib", "/srv/app", "/"}
        for dest in dests:
            out |= {dest, dest + "/"}
            for f in build.files:
                parts = f.split("/")
                out |= {posixpath.join(dest, "/".join(parts[i:])) for i in range(len(parts))}
    return sorted(out)


def _compare(ctx: Context, build: BuildContext) -> int:
    paths = _paths(ctx, build)
    asked = answered = 0
    for stage in ctx.tree.stages:
        for ins in stage.body:
            if ins.keyword != "RUN":
                continue
            view = ImageView(ctx, build, stage, ins)
            for image_path in paths:
                want = _old_provider(ctx, build, stage.index, ins, image_path)
                got = view.provider(image_path)
                assert got == want, (ins.start_line, image_path, got, want)
                asked += 1
                answered += want is not None
    assert answered > 0 and asked > answered  # both kinds of answer were compared
    return answered


def test_provider_answers_as_the_scan_on_every_kind_of_copy(tmp_path: Path) -> None:
    ctx, build = _context(tmp_path, FIXED)
    answered = _compare(ctx, build)
    # Spot checks that the comparison covers what it means to: a folder copy, a glob,
    # a bind mount, a later copy overriding an earlier one, the ignore file.
    runs = [i for i in ctx.tree.instructions if i.keyword == "RUN"]
    base = ctx.tree.stages[0]
    first = ImageView(ctx, build, base, runs[0])
    got = first.provider("/srv/package.json")
    assert got is not None and got[0] == "package.json" and got[1].start_line == 3
    assert first.provider("/srv/app/package.json") is None  # not copied yet
    later = ImageView(ctx, build, base, runs[1])
    got = later.provider("/srv/app/package.json")
    assert got is not None and got[0] == "app/package.json" and got[1].start_line == 12
    assert later.provider("/glob/weird[1].json") is not None
    assert later.provider("/all/secret.env") is None  # dockerignored
    mount = ImageView(ctx, build, base, runs[3])
    got = mount.provider("/srv/app/package.json")
    assert got is not None and got == ("package.json", runs[3])
    after = ImageView(ctx, build, base, runs[4])
    got = after.provider("/srv/app/package.json")
    assert got is not None and got[0] == "a.json"  # missing.json provides nothing
    assert answered > 50


_BLOCKS = [
    "WORKDIR /srv", "WORKDIR app", "WORKDIR ..", "WORKDIR /", "COPY . .", "COPY . /all/",
    "COPY app ./", "COPY app/ /app", "COPY package.json ./", "COPY package.json /p.json",
    "COPY app/package.json app/yarn.lock ./", "COPY *.json ./", "COPY lib/*.txt /r/",
    "COPY lib .", "ADD docs /docs", "COPY deep/a /", "COPY secret.env .",
    "COPY missing ./", "COPY --from=0 /a /b", "RUN true", "RUN true", "RUN true",
    "RUN --mount=type=bind,target=/srv/package.json,source=a.json true",
    "RUN --mount=source=app,target=. true",
]


@pytest.mark.parametrize("seed", range(12))
def test_provider_answers_as_the_scan_on_random_files(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    lines = []
    for s in range(rnd.randint(1, 3)):
        lines.append(f"FROM {'s' + str(s - 1) if s and rnd.random() < 0.6 else 'node:18'}"
                     f" AS s{s}")
        lines += [rnd.choice(_BLOCKS) for _ in range(rnd.randint(5, 25))]
        lines.append("RUN true")
    ctx, build = _context(tmp_path, "\n".join(lines) + "\n")
    _compare(ctx, build)
