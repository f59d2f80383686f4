"""DO101 for Next.js (transforms/split/nextjs.py): the standalone server with its
static assets, or a production install with .next, on node:X-slim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from splitcase import check_golden_case, write_context
from splitcase import only as _only
from splitcase import split as _split

from dockopt.rewriter.context import BuildContext
from dockopt.transforms.base import Safety

NEXT = """\
FROM node:20
WORKDIR /app
COPY . .
RUN npm ci
RUN npm run build
EXPOSE 3000
CMD ["npm", "start"]
"""
PKG = {"name": "web", "scripts": {"build": "next build", "start": "next start"},
       "dependencies": {"next": "14.2.5", "react": "18.3.1", "react-dom": "18.3.1"}}
STANDALONE = 'module.exports = {\n  output: "standalone", // for Docker\n};\n'


def _ctx(tmp_path: Path, config: str = STANDALONE, pkg: dict[str, object] | None = None,
         extra: dict[str, str] | None = None) -> BuildContext:
    files = {"package.json": json.dumps(pkg or PKG), "package-lock.json": "{}",
             "next.config.js": config, "app/page.js": "export default () => 1\n",
             "public/robots.txt": "x\n", **(extra or {})}
    return write_context(tmp_path, files)


def _runtime(out: str) -> str:
    return "FROM " + out.split("\n\nFROM ", 1)[1]


def test_standalone(tmp_path: Path) -> None:
    f = _only(NEXT, _ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "ships the Next.js toolchain" in f.message
    assert _runtime(_split(NEXT, _ctx(tmp_path))) == (
        "FROM node:20-slim\nWORKDIR /app\n"
        "COPY --from=build /app/.next/standalone ./\n"
        "COPY --from=build /app/.next/static ./.next/static\n"
        "COPY --from=build /app/public ./public\n"
        "EXPOSE 3000\nENV HOSTNAME=0.0.0.0\n"
        'CMD ["node", "server.js"]\n')
    assert "which Docker sets to the container id" in f.fix.message


@pytest.mark.parametrize(("start", "env"), [
    ("next start -p 8080", "ENV HOSTNAME=0.0.0.0 PORT=8080\n"),
    ("next start --port=8080 -H 127.0.0.1", "ENV HOSTNAME=127.0.0.1 PORT=8080\n"),
])
def test_standalone_start_flags_become_env(tmp_path: Path, start: str, env: str) -> None:
    pkg = {**PKG, "scripts": {"build": "next build", "start": start}}
    assert env in _runtime(_split(NEXT, _ctx(tmp_path, pkg=pkg)))


def test_production_install_without_standalone(tmp_path: Path) -> None:
    build = _ctx(tmp_path, config="module.exports = { reactStrictMode: true };\n")
    assert _runtime(_split(NEXT, build)) == (
        "FROM node:20-slim\nWORKDIR /app\nENV NODE_ENV=production\n"
        "COPY package.json package-lock.json ./\nRUN npm ci --omit=dev\n"
        "COPY --from=build /app/.next ./.next\n"
        "COPY --from=build /app/next.config.js ./next.config.js\n"
        "COPY --from=build /app/public ./public\n"
        "EXPOSE 3000\n"
        'CMD ["npm", "start"]\n')


def test_no_public_folder(tmp_path: Path) -> None:
    build = write_context(tmp_path, {"package.json": json.dumps(PKG),
                                     "package-lock.json": "{}",
                                     "next.config.mjs": "export default {output: 'standalone'}\n"})
    runtime = _runtime(_split(NEXT, build))
    assert "public" not in runtime and "COPY --from=build /app/.next/static" in runtime


@pytest.mark.parametrize(("config", "pkg", "text", "reason"), [
    ('module.exports = { output: "export" };\n', None, NEXT, 'output: "export"'),
    ("module.exports = { output: process.env.OUT };\n", None, NEXT, "from an expression"),
    ('module.exports = { output: "standalone", distDir: "build" };\n', None, NEXT,
     "distDir"),
    (STANDALONE, {**PKG, "scripts": {"build": "next build", "start": "node server.js"}},
     NEXT, "does not run `next start`"),
    (STANDALONE, {**PKG, "scripts": {"build": "webpack", "start": "next start"}}, NEXT,
     "does not run `next build`"),
    (STANDALONE, {**PKG, "scripts": {"build": "next build",
                                     "start": "next start --keepAliveTimeout 5000"}},
     NEXT, "--keepAliveTimeout"),
    ("module.exports = {};\n", {**PKG, "dependencies": {},
                                "devDependencies": PKG["dependencies"]}, NEXT,
     "next is not a production dependency"),
    (STANDALONE, None, NEXT.replace("COPY . .", "COPY app ./app\nCOPY package.json ./"),
     "not copied whole"),
])
def test_held_back_with_the_reason(tmp_path: Path, config: str,
                                   pkg: dict[str, object] | None, text: str,
                                   reason: str) -> None:
    f = _only(text, _ctx(tmp_path, config=config, pkg=pkg))
    assert f.fix is None, f.fix and f.fix.message
    assert "ships the Next.js toolchain" in f.message and reason in f.message, f.message


def test_without_next_config_other_families_decide(tmp_path: Path) -> None:
    build = write_context(tmp_path, {"package.json": json.dumps(PKG),
                                     "package-lock.json": "{}"})
    f = _only(NEXT, build)
    assert "Next.js" not in f.message


# --- the golden cases -------------------------------------------------------------------

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "single-stage-build"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.name.startswith("nextjs-"))


def test_golden_cases_cover_standalone_and_production_installs() -> None:
    assert {"nextjs-standalone", "nextjs-production-npm", "nextjs-production-yarn",
            "nextjs-export"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden_cases_are_checked_splits(case: str) -> None:
    """Each golden split parses (ours and BuildKit's), adds one stage and is idempotent;
    the held-back cases are suggestions."""
    check_golden_case(GOLDEN / case)
