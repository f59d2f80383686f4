"""DO101 for node apps built with yarn classic or pnpm (transforms/split/node_pm.py):
the builder as written, the runtime on node:X-slim with the build output and a
production install from the lockfile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety

YARN = """\
FROM node:18
WORKDIR /app
COPY . .
RUN yarn install --frozen-lockfile
RUN yarn build
EXPOSE 3000
CMD ["node", "dist/server.js"]
"""
PNPM = """\
FROM node:18
WORKDIR /app
RUN npm install -g pnpm@8.15.9
COPY package.json pnpm-lock.yaml ./
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm run build
CMD ["node", "dist/server.js"]
"""
PKG = {"name": "x", "main": "dist/server.js",
       "scripts": {"build": "tsc", "start": "node dist/server.js"},
       "dependencies": {"ms": "2.1.3"}, "devDependencies": {"typescript": "5.4.5"}}
LOCKS = {"yarn.lock": "# yarn lockfile v1\n\nms@2.1.3:\n  version \"2.1.3\"\n",
         "pnpm-lock.yaml": "lockfileVersion: '6.0'\n"}


def _ctx(tmp_path: Path, pkg: dict[str, object] | None = None,
         extra: dict[str, str] | None = None) -> BuildContext:
    files = {"package.json": json.dumps(pkg or PKG), "src/server.ts": "export {}\n", **LOCKS,
             **(extra or {})}
    return write_context(tmp_path, files)


def _runtime(out: str) -> str:
    return "FROM " + out.split("\n\nFROM ", 1)[1]


def test_yarn_split(tmp_path: Path) -> None:
    f = _only(YARN, _ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "ships the yarn toolchain" in f.message
    out = _split(YARN, _ctx(tmp_path))
    builder = out.split("\n\n", 1)[0] + "\n"
    # The builder is the stage as written, named, up to its last RUN.
    assert builder == YARN.replace("FROM node:18\n", "FROM node:18 AS build\n").replace(
        'EXPOSE 3000\nCMD ["node", "dist/server.js"]\n', "")
    assert _runtime(out) == (
        "FROM node:18-slim\nWORKDIR /app\nENV NODE_ENV=production\n"
        "COPY package.json yarn.lock ./\n"
        "RUN yarn install --frozen-lockfile --production && yarn cache clean\n"
        "COPY --from=build /app/dist ./dist\nEXPOSE 3000\n"
        'CMD ["node", "dist/server.js"]\n')
    msg = f.fix.message
    assert "yarn from the image (the -slim variant ships the same yarn" in msg
    assert "ENV NODE_ENV=production" in msg


def test_pnpm_split_repeats_the_pnpm_install(tmp_path: Path) -> None:
    out = _split(PNPM, _ctx(tmp_path))
    assert _runtime(out) == (
        "FROM node:18-slim\nWORKDIR /app\nENV NODE_ENV=production\n"
        "RUN npm install -g pnpm@8.15.9\n"
        "COPY package.json pnpm-lock.yaml ./\n"
        "RUN pnpm install --frozen-lockfile --prod\n"
        "COPY --from=build /app/dist ./dist\n"
        'CMD ["node", "dist/server.js"]\n')
    f = _only(PNPM, _ctx(tmp_path))
    assert f.fix is not None
    assert "pnpm itself, installed as the builder did (`npm install -g pnpm@8.15.9`)" \
        in f.fix.message


def test_corepack_and_start_script(tmp_path: Path) -> None:
    text = PNPM.replace("npm install -g pnpm@8.15.9",
                        "corepack enable && corepack prepare pnpm@8.15.9 --activate") \
        .replace('CMD ["node", "dist/server.js"]', 'CMD ["pnpm", "start"]')
    runtime = _runtime(_split(text, _ctx(tmp_path)))
    assert "RUN corepack enable && corepack prepare pnpm@8.15.9 --activate\n" in runtime
    assert runtime.endswith('CMD ["pnpm", "start"]\n')


def test_config_files_and_existing_node_env(tmp_path: Path) -> None:
    text = YARN.replace("WORKDIR /app\n", "WORKDIR /app\nENV NODE_ENV=staging\n")
    build = _ctx(tmp_path, extra={".yarnrc": "registry x\n", ".npmrc": "x=1\n"})
    runtime = _runtime(_split(text, build))
    assert "COPY package.json yarn.lock .yarnrc .npmrc ./\n" in runtime
    assert "ENV NODE_ENV=staging\n" in runtime and "NODE_ENV=production" not in runtime


def test_without_context_display_only() -> None:
    f = _only(YARN)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    settings = settings_from_dict({"select": ["DO101"], "unsafe-fixes": True}, "t")
    assert fix(YARN, path="Dockerfile", settings=settings).text == YARN


@pytest.mark.parametrize(("text", "pkg", "extra", "reason"), [
    (YARN, None, {".yarnrc.yml": "nodeLinker: pnp\n"}, ".yarnrc.yml: Yarn 2+"),
    (YARN, None, {"yarn.lock": "__metadata:\n  version: 6\n"}, "Yarn 2+ (berry) lockfile"),
    (YARN, {**PKG, "packageManager": "yarn@4.1.0"}, {}, "yarn@4.1.0 (Yarn 2+"),
    (YARN.replace("--frozen-lockfile", "--immutable"), None, {}, "--immutable` is Yarn 2+"),
    (PNPM, None, {"pnpm-workspace.yaml": "packages: []\n"}, "pnpm-workspace.yaml"),
    (PNPM.replace("RUN npm install -g pnpm@8.15.9\n", ""), None, {},
     "pnpm is not installed by the stage"),
    (YARN, {**PKG, "scripts": {"build": "tsc", "postinstall": "x"}}, {},
     "postinstall script"),
    (YARN, {**PKG, "workspaces": ["a"]}, {}, "workspaces"),
    (YARN, {**PKG, "dependencies": {"lib": "file:../lib"}}, {}, "local folder"),
    (YARN, {**PKG, "dependencies": {"bcrypt": "5"}}, {}, "native modules (bcrypt)"),
    (YARN, None, {".dockerignore": "yarn.lock\n"}, ".dockerignore leaves out yarn.lock"),
    (YARN, None, {"public/index.html": "x"}, "public/"),
    (YARN.replace("yarn install --frozen-lockfile", "yarn install --frozen-lockfile && "
                  "yarn add left-pad"), None, {},
     "may make or install"),
    (YARN.replace("yarn install --frozen-lockfile", "yarn install --frozen-lockfile && "
                  "yarn config set registry https://r.example"), None, {},
     "the runtime's install would not have the setting"),
    (YARN.replace("yarn install --frozen-lockfile", "yarn install --modules-folder /m"),
     None, {}, "--modules-folder` is not followed"),
    (YARN.replace("COPY . .", "COPY src ./src"), None, {}, "not copied from the build "
     "context's root"),
    (YARN.replace('["node", "dist/server.js"]', '["node", "server.js"]'), None, {},
     "not inside a build output folder"),
    (YARN.replace("EXPOSE", "RUN yarn test\nEXPOSE"), None, {}, "after the build"),
])
def test_held_back_with_the_reason(tmp_path: Path, text: str, pkg: dict[str, object] | None,
                                   extra: dict[str, str], reason: str) -> None:
    f = _only(text, _ctx(tmp_path, pkg, extra))
    assert f.fix is None, f.fix and f.fix.message
    assert "Suggestion only" in f.message and reason in f.message, f.message


def test_no_lockfile(tmp_path: Path) -> None:
    build = write_context(tmp_path, {"package.json": json.dumps(PKG)})
    f = _only(YARN, build)
    assert f.fix is None and "no yarn.lock in the build context" in f.message


@pytest.mark.parametrize("text", [
    # npm with a build step stays with the npm family (tests/test_stage_split.py).
    YARN.replace("yarn install --frozen-lockfile", "npm ci").replace("yarn build",
                                                                     "npm run build"),
    # Both package managers install: neither family takes it.
    YARN.replace("RUN yarn build", "RUN pnpm install && yarn build"),
])
def test_not_yarn_or_pnpm(tmp_path: Path, text: str) -> None:
    assert not any("ships the yarn" in f.message or "ships the pnpm" in f.message
                   for f in _findings(text, _ctx(tmp_path)))


def test_full_pipeline(tmp_path: Path) -> None:
    build = _ctx(tmp_path)
    settings = settings_from_dict({"unsafe-fixes": True}, "t")
    result = fix(PNPM, path="Dockerfile", settings=settings, context=build)
    assert "DO101" in {c.code for c in result.changes}
    tree = parse(result.text)
    assert not tree.has_errors and len(tree.stages) == 2
    assert tree.stages[-1].base == "node:18-slim"
    again = fix(result.text, path="Dockerfile", settings=settings, context=build)
    assert again.text == result.text


# --- NODE_ENV in the npm family's runtime install (split/node.py) ---------------------


NPM = YARN.replace("yarn install --frozen-lockfile", "npm ci").replace("yarn build",
                                                                      "npm run build")
NPM_LOCK = json.dumps({"lockfileVersion": 3, "packages": {
    "": {"name": "x"}, "node_modules/ms": {"version": "2.1.3"},
    "node_modules/typescript": {"version": "5.4.5", "dev": True}}})


def test_npm_runtime_install_sets_node_env(tmp_path: Path) -> None:
    build = _ctx(tmp_path, extra={"package-lock.json": NPM_LOCK})
    runtime = _runtime(_split(NPM, build))
    assert "ENV NODE_ENV=production\nCOPY package.json package-lock.json ./\n" \
        "RUN npm ci --omit=dev\n" in runtime
    text = NPM.replace("EXPOSE", "ENV NODE_ENV=production PORT=3000\nEXPOSE")
    runtime = _runtime(_split(text, _ctx(tmp_path / "b", extra={"package-lock.json":
                                                                  NPM_LOCK})))
    assert runtime.count("NODE_ENV=production") == 1  # the stage's own ENV, repeated


def test_npm_prune_path_leaves_node_env_alone(tmp_path: Path) -> None:
    # Without a lockfile the builder prunes and the runtime copies node_modules: no
    # install runs in the runtime, so NODE_ENV is left as the stage had it.
    build = write_context(tmp_path, {"package.json": json.dumps(PKG)})
    runtime = _runtime(_split(NPM, build))
    assert "NODE_ENV" not in runtime and "node_modules ./node_modules" in runtime


@pytest.mark.parametrize(("copy", "install", "expected"), [
    # A pattern and a second COPY bring the manifests.
    ("COPY package*.json ./\nCOPY yarn.lock ./\n", "yarn install --frozen-lockfile "
     "--production=false", "RUN yarn install --frozen-lockfile --production && yarn cache "
     "clean\n"),
    # --ignore-scripts in the builder stays in the runtime's install.
    ("COPY package.json yarn.lock ./\n", "yarn install --frozen-lockfile --ignore-scripts",
     "RUN yarn install --frozen-lockfile --production --ignore-scripts && yarn cache "
     "clean\n"),
])
def test_manifest_copies_and_install_flags(tmp_path: Path, copy: str, install: str,
                                          expected: str) -> None:
    text = YARN.replace("COPY . .\nRUN yarn install --frozen-lockfile\n",
                        f"{copy}RUN {install}\nCOPY . .\n")
    runtime = _runtime(_split(text, _ctx(tmp_path)))
    assert expected in runtime
