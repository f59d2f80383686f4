"""DO101 for node without a build step (transforms/split/node.py, node-prod): a
production install on the full image, the production node_modules and the app's files
(copied again from the build context) on node:X-slim; and where it stays out of DO605's
way."""

from __future__ import annotations

import json
from pathlib import Path

import dockerfile
import pytest
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context

from dockopt.rewriter.config import Settings, settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Context, Finding, Safety
from dockopt.transforms.context.base_image import FullBaseImage
from dockopt.transforms.split.single_stage import apply_edits

APP = """\
FROM node:18
WORKDIR /usr/src/app
COPY . .
RUN npm install
EXPOSE 8080
CMD ["npm", "start"]
"""
PKG: dict[str, object] = {
    "name": "svc", "main": "server.js", "scripts": {"start": "node server.js"},
    "dependencies": {"ms": "2.1.3"}, "devDependencies": {"typescript": "5.6.2"}}
SERVER = "require('http').createServer().listen(8080)\n"


def _ctx(tmp_path: Path, pkg: dict[str, object] | None = None,
         extra: dict[str, str] | None = None) -> BuildContext:
    files = {"package.json": json.dumps(PKG if pkg is None else pkg), "server.js": SERVER,
             "package-lock.json": "{}"}
    return write_context(tmp_path, {**files, **(extra or {})})





def _settings(**extra: object) -> Settings:
    options: dict[str, object] = {"unsafe-fixes": True}
    options.update(extra)
    return settings_from_dict(options, "test")


# --- splits ---------------------------------------------------------------------------


def test_devdependencies_are_left_in_the_builder(tmp_path: Path) -> None:
    build = _ctx(tmp_path)
    f = _only(APP, build)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "npm toolchain" in f.message
    assert "--omit=dev" in f.fix.message and "node:18-slim" in f.fix.message
    out = apply_edits(APP, f.fix.edits)
    assert out == """\
FROM node:18 AS build
WORKDIR /usr/src/app
COPY . .
RUN npm install --omit=dev

FROM node:18-slim
WORKDIR /usr/src/app
COPY --from=build /usr/src/app/node_modules ./node_modules
COPY . .
EXPOSE 8080
CMD ["npm", "start"]
"""
    dockerfile.parse_string(out)
    assert _findings(out, build) == []


def test_manifests_first_layout_copies_sources_once(tmp_path: Path) -> None:
    text = ("FROM node:20-bookworm\nENV NODE_ENV=production\nWORKDIR /app\n"
            "# Dependencies first.\nCOPY package.json package-lock.json ./\n"
            "RUN npm ci && npm cache clean --force\n"
            "# The app.\nCOPY --chown=node:node . .\nUSER node\n"
            "HEALTHCHECK CMD [\"node\", \"server.js\", \"--check\"]\n"
            "CMD [\"node\", \"--enable-source-maps\", \"server.js\"]\n")
    # NODE_ENV=production: npm ci already leaves devDependencies out; the split pays
    # because of the native module (DO605 keeps the full image for it).
    build = _ctx(tmp_path, {**PKG, "dependencies": {"bcrypt": "5.1.1"}})
    f = _only(text, build)
    assert f.fix is not None and "bcrypt" in f.fix.message
    out = apply_edits(text, f.fix.edits)
    assert "RUN npm ci && npm cache clean --force\n" in out  # unchanged: no --omit needed
    runtime = parse(out).stages[-1]
    assert runtime.base == "node:20-bookworm-slim"
    body = [i.original for i in runtime.body]
    assert body == [
        "WORKDIR /app", "ENV NODE_ENV=production",
        "COPY --from=build /app/node_modules ./node_modules",
        # `COPY package.json package-lock.json ./` is copied over by `COPY . .`.
        "COPY --chown=node:node . .", "USER node",
        'HEALTHCHECK CMD ["node", "server.js", "--check"]',
        'CMD ["node", "--enable-source-maps", "server.js"]']
    assert "# The app.\nCOPY --chown=node:node . .\nUSER node" in out.split("\n\n")[-1]


def test_build_tools_installed_for_node_gyp(tmp_path: Path) -> None:
    text = ("FROM node:18\nRUN apt-get update && apt-get install -y python3 make g++ tini "
            "&& rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY package*.json ./\n"
            "RUN npm ci --omit=dev\nCOPY server.js lib/ ./\n"
            "ENTRYPOINT [\"tini\", \"--\"]\nCMD [\"node\", \"server.js\"]\n")
    f = _only(text, _ctx(tmp_path, {**PKG, "devDependencies": {}}))
    assert f.fix is not None, f.message
    out = apply_edits(text, f.fix.edits)
    runtime = parse(out).stages[-1]
    install = [i for i in runtime.body if i.keyword == "RUN"]
    # The compilers stay in the builder; tini (used by the ENTRYPOINT) is installed.
    assert len(install) == 1 and "--no-install-recommends tini" in install[0].original
    assert "g++" not in install[0].original and "python3" not in install[0].original
    copies = [i.original for i in runtime.body if i.keyword == "COPY"]
    assert copies == ["COPY --from=build /app/node_modules ./node_modules",
                      "COPY package*.json ./", "COPY server.js lib/ ./"]


def test_copy_before_workdir_with_absolute_destination(tmp_path: Path) -> None:
    text = ("FROM node:18\nRUN mkdir -p /usr/src/app\nCOPY . /usr/src/app\n"
            "WORKDIR /usr/src/app\nRUN npm install\nCMD [\"node\", \"server\"]\n")
    out = _split(text, _ctx(tmp_path))
    assert out.endswith("WORKDIR /usr/src/app\nCOPY --from=build /usr/src/app/node_modules "
                        "./node_modules\nCOPY . /usr/src/app\nCMD [\"node\", \"server\"]\n")


def test_old_node_uses_production_flag(tmp_path: Path) -> None:
    out = _split(APP.replace("node:18", "node:14"), _ctx(tmp_path))
    assert "RUN npm install --production\n" in out and "FROM node:14-slim\n" in out


def test_alpine_keeps_its_image(tmp_path: Path) -> None:
    out = _split(APP.replace("node:18", "node:18-alpine"), _ctx(tmp_path))
    assert "\nFROM node:18-alpine\nWORKDIR" in out


def test_args_redeclared_and_crlf_lowercase(tmp_path: Path) -> None:
    text = APP.replace("EXPOSE 8080", "ARG PORT=8080\nENV PORT=$PORT\nEXPOSE $PORT")
    text = text.lower().replace("node:18", "node:18").replace("\n", "\r\n")
    out = _split(text, _ctx(tmp_path))
    assert out.count("\n") == out.count("\r\n")
    runtime = out.split("\r\n\r\n")[-1]
    assert runtime.startswith("from node:18-slim\r\narg port=8080\r\nworkdir /usr/src/app\r\n"
                              "env port=$port\r\ncopy --from=build")


def test_without_context_it_is_display_only() -> None:
    f = _only(APP.replace('["npm", "start"]', '["node", "server.js"]'))
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert "Shown only" in f.fix.message
    # npm start's script is in package.json, which cannot be read: only a suggestion.
    f = _only(APP)
    assert f.fix is None and "npm start: package.json cannot be read" in f.message
    assert fix(APP, path="Dockerfile", settings=_settings(select=["DO101"])).text == APP


# --- DO605 and DO101 do not fight ----------------------------------------------------------


def _do605(text: str, build: BuildContext | None) -> list[Finding]:
    ctx = Context(parse(text), Settings(), "Dockerfile", build)
    return list(FullBaseImage().check(ctx))


def test_no_split_where_slim_alone_does_it(tmp_path: Path) -> None:
    text = APP.replace("RUN npm install", "RUN npm ci --omit=dev")
    build = _ctx(tmp_path, {**PKG, "devDependencies": {}})
    assert _findings(text, build) == []
    f = _do605(text, build)
    assert len(f) == 1 and f[0].fix is not None  # node:18 -> node:18-slim
    result = fix(text, path="Dockerfile", context=build, settings=_settings())
    assert len(parse(result.text).stages) == 1 and "FROM node:18-slim" in result.text


def test_full_pipeline_splits_once_and_slims_only_the_runtime(tmp_path: Path) -> None:
    build = _ctx(tmp_path)
    result = fix(APP, path="Dockerfile", context=build, settings=_settings())
    assert not result.errors
    tree = parse(result.text)
    assert [s.base for s in tree.stages] == ["node:18", "node:18-slim"]
    assert {c.code for c in result.changes} >= {"DO101"}
    assert [i.keyword for i in tree.stages[-1].body].count("USER") == 1
    # DO601 moved the manifests up first, so the builder ends with the install: its
    # `COPY . .` (now after the install) is left to the runtime.
    builder = tree.stages[0]
    assert builder.body[-1].keyword == "RUN" and "npm" in builder.body[-1].text
    assert [i.value for i in builder.body if i.keyword == "COPY"] == [
        ("package.json", "package-lock.json", "./")]
    again = fix(result.text, path="Dockerfile", context=build, settings=_settings())
    assert again.text == result.text


def test_native_modules_block_do605_and_split_pays(tmp_path: Path) -> None:
    text = APP.replace("RUN npm install", "RUN npm ci --omit=dev")
    build = _ctx(tmp_path, {**PKG, "dependencies": {"better-sqlite3": "11"},
                            "devDependencies": {}})
    assert _do605(text, build)[0].fix is None
    f = _only(text, build)
    assert f.fix is not None and "better-sqlite3 compiled on the full image" in f.fix.message


# --- suggestions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "pkg", "extra", "reason"), [
    (("RUN npm install", "RUN npm install\nRUN npm test"), None, {}, "a RUN after the install"),
    (("RUN npm install", "RUN npm install && npm run lint"), None, {},
     "a RUN after the install"),
    (None, {**PKG, "scripts": {"postinstall": "node gen.js"}}, {}, "postinstall script"),
    (None, None, {"node_modules/ms/index.js": ""}, "node_modules/ (not in .dockerignore)"),
    (None, {**PKG, "dependencies": {"canvas": "2"}}, {}, "canvas links cairo"),
    (None, None, {"binding.gyp": "{}"}, "binding.gyp"),
    (None, {**PKG, "workspaces": ["packages/*"]}, {}, "workspaces"),
    (None, {**PKG, "scripts": {"start": "nodemon server.js"}}, {}, "npm start does not run"),
    (('["npm", "start"]', '["npx", "nodemon", "server.js"]'), None, {},
     "does not run `node <file>`"),
    (('["npm", "start"]', '["node", "-r", "ts-node/register", "server.ts"]'), None, {},
     "ts-node/register, which is not a production dependency"),
    (('["npm", "start"]', '["node", "missing.js"]'), None, {}, "no COPY brings"),
    (("COPY . .", "COPY package.json ."), None, {}, "no COPY brings"),
    (("RUN npm install", "RUN npm install -g pm2 && npm install"), None, {},
     "names packages outside package.json"),
    (("RUN npm install", "RUN npm install --include=dev"), None, {},
     "asks for devDependencies"),
    # yarn alone: the yarn family's (tests/test_split_node_prod_pm.py)
    (("EXPOSE", "USER app\nEXPOSE"), None, {}, "USER app"),
    (("COPY . .", "COPY --chown=app:app . ."), None, {}, "--chown=app"),
    (("COPY . .", "COPY . .\nCOPY nginx.conf /etc/nginx/"), None, {"nginx.conf": ""},
     "outside the app's folder"),
    (("RUN npm install", "RUN mkdir /data && npm install"), None, {}, "mkdir /data"),
    (("RUN npm install", "RUN curl -o x.tgz https://x && npm install"), None, {},
     "`curl -o x.tgz` may make"),
    (("EXPOSE", "HEALTHCHECK CMD curl -f http://localhost:8080/\nEXPOSE"), None, {},
     "curl, which node:-slim lacks"),
    (("WORKDIR /usr/src/app\nCOPY . .\nRUN npm install",
      "WORKDIR /usr/src/app\nCOPY . .\nRUN npm install\nWORKDIR /usr/src/app/lib"), None, {},
     "not in the final WORKDIR"),
])
def test_blockers(tmp_path: Path, change: tuple[str, str] | None,
                  pkg: dict[str, object] | None, extra: dict[str, str],
                  reason: str) -> None:
    text = APP.replace(*change) if change else APP
    found = _findings(text, _ctx(tmp_path, pkg, extra))
    assert len(found) == 1, found
    f = found[0]
    assert f.fix is None and reason in f.message, f.message
    assert "npm toolchain" in f.message and "Suggestion only" in f.message


@pytest.mark.parametrize("text", [
    "# escape=`\n" + APP,
    # A build step: the node-with-build family's (it comes first).
    APP.replace("RUN npm install", "RUN npm install && npm run build"),
    # Already slim and production-only.
    APP.replace("node:18", "node:18-slim").replace("npm install", "npm ci --omit=dev"),
])
def test_negatives(tmp_path: Path, text: str) -> None:
    found = _findings(text, _ctx(tmp_path, {**PKG, "devDependencies": {}}))
    assert all("npm toolchain" not in f.message for f in found), found
