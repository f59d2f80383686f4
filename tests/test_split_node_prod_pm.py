"""DO101 for yarn and pnpm without a build step (transforms/split/node_prod.py): as for
npm, a production install in the builder (`yarn install --production`, `pnpm install
--prod`, Yarn 2+'s `yarn workspaces focus --all --production` after the install) and
on node:X-slim the production node_modules plus the app's files; yarn/pnpm again in
the runtime only when its CMD runs them. Where it holds back, the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from splitcase import check_golden_case, checked_output, write_context
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "single-stage-build"

YARN = """\
FROM node:18
WORKDIR /usr/src/app
COPY . .
RUN yarn install --frozen-lockfile
EXPOSE 8080
CMD ["node", "server.js"]
"""
PNPM = """\
FROM node:18
WORKDIR /app
RUN npm install -g pnpm@8.15.9
COPY . .
RUN pnpm install --frozen-lockfile
CMD ["node", "server.js"]
"""
BERRY = """\
FROM node:20
WORKDIR /app
COPY . .
RUN corepack enable && yarn install --immutable
CMD ["node", "server.js"]
"""
PKG: dict[str, object] = {
    "name": "svc", "main": "server.js", "scripts": {"start": "node server.js"},
    "dependencies": {"ms": "2.1.3"}, "devDependencies": {"prettier": "3.3.3"}}
SERVER = "require('http').createServer().listen(8080)\n"
LOCKS = {"yarn": ("yarn.lock", "# yarn lockfile v1\n"),
         "pnpm": ("pnpm-lock.yaml", "lockfileVersion: '6.0'\n"),
         "berry": ("yarn.lock", "__metadata:\n  version: 8\n")}


def _ctx(tmp_path: Path, pm: str = "yarn", pkg: dict[str, object] | None = None,
         extra: dict[str, str] | None = None) -> BuildContext:
    lock, text = LOCKS[pm]
    files = {"package.json": json.dumps(PKG if pkg is None else pkg), "server.js": SERVER,
             lock: text}
    if pm == "berry":
        files[".yarnrc.yml"] = "nodeLinker: node-modules\n"
        files["package.json"] = json.dumps({**(PKG if pkg is None else pkg),
                                            "packageManager": "yarn@4.5.3"})
    return write_context(tmp_path, {**files, **(extra or {})})


# --- splits ---------------------------------------------------------------------------


def test_yarn_classic_installs_production_dependencies_in_the_builder(tmp_path: Path) -> None:
    build = _ctx(tmp_path)
    f = _only(YARN, build)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "yarn toolchain" in f.message
    assert "installed with `--production` in the builder" in f.fix.message
    assert _split(YARN, build) == """\
FROM node:18 AS build
WORKDIR /usr/src/app
COPY . .
RUN yarn install --production --frozen-lockfile

FROM node:18-slim
WORKDIR /usr/src/app
COPY --from=build /usr/src/app/node_modules ./node_modules
COPY . .
EXPOSE 8080
CMD ["node", "server.js"]
"""


def test_bare_yarn_gets_the_flag_after_its_name(tmp_path: Path) -> None:
    text = YARN.replace("yarn install --frozen-lockfile", "yarn")
    assert "RUN yarn --production\n" in _split(text, _ctx(tmp_path))


def test_pnpm_gets_prod_and_no_pnpm_in_a_runtime_that_runs_node(tmp_path: Path) -> None:
    build = _ctx(tmp_path, "pnpm")
    out = _split(PNPM, build)
    builder, runtime = out.split("\n\n")
    assert "RUN pnpm install --prod --frozen-lockfile" in builder
    assert "pnpm" not in runtime and "COPY --from=build /app/node_modules ./node_modules" \
        in runtime


@pytest.mark.parametrize(("pm", "cmd"), [("pnpm", "pnpm start"), ("pnpm", "pnpm run start"),
                                         ("yarn", "yarn start")])
def test_a_cmd_that_runs_the_package_manager_gets_it_installed_again(
        tmp_path: Path, pm: str, cmd: str) -> None:
    text = PNPM.replace("pnpm", pm).replace('["node", "server.js"]', json.dumps(cmd.split()))
    if pm == "yarn":
        text = text.replace("@8.15.9", "@1.22.22")
    runtime = _split(text, _ctx(tmp_path, pm)).split("\n\n")[1]
    assert f"RUN npm install -g {pm}@" in runtime
    assert runtime.index("RUN npm install -g") < runtime.index("COPY --from=build")


def test_yarn_start_without_an_install_takes_the_image_yarn(tmp_path: Path) -> None:
    text = YARN.replace('["node", "server.js"]', '["yarn", "start"]')
    f = _only(text, _ctx(tmp_path))
    assert f.fix is not None and "yarn from the image" in f.fix.message
    assert "RUN npm" not in checked_output(text, f, _ctx(tmp_path))


def test_yarn_berry_with_node_modules_relinks_for_production(tmp_path: Path) -> None:
    build = _ctx(tmp_path, "berry")
    f = _only(BERRY, build)
    assert f.fix is not None and "yarn workspaces focus --all --production" in f.fix.message
    out = checked_output(BERRY, f, build)
    assert out.split("\n\n")[0].endswith(
        "RUN corepack enable && yarn install --immutable\n"
        "RUN yarn workspaces focus --all --production")


def test_yarn_3_with_the_workspace_tools_plugin_relinks(tmp_path: Path) -> None:
    yarnrc = ("nodeLinker: node-modules\nplugins:\n  - path: .yarn/plugins/@yarnpkg/"
              "plugin-workspace-tools.cjs\n    spec: \"@yarnpkg/plugin-workspace-tools\"\n"
              "yarnPath: .yarn/releases/yarn-3.8.2.cjs\n")
    _ctx(tmp_path, "berry", extra={".yarnrc.yml": yarnrc})
    # packageManager (yarn@4.5.3 from _ctx) wins over the release's name: drop it.
    (tmp_path / "ctx" / "package.json").write_text(json.dumps(PKG))
    build = BuildContext(tmp_path / "ctx")
    assert "RUN yarn workspaces focus --all --production" in _split(BERRY, build)


def test_env_production_or_no_devdependencies_leave_it_to_do605(tmp_path: Path) -> None:
    # Nothing to drop: the split would give no more than DO605's switch to -slim.
    no_dev = {**PKG, "devDependencies": {}}
    assert _findings(YARN, _ctx(tmp_path, pkg=no_dev)) == []
    text = YARN.replace("COPY . .", "ENV NODE_ENV=production\nCOPY . .")
    assert _findings(text, _ctx(tmp_path)) == []
    settings = settings_from_dict({"unsafe-fixes": True}, "test")
    result = fix(YARN, path="Dockerfile", context=_ctx(tmp_path, pkg=no_dev),
                 settings=settings)
    assert len(parse(result.text).stages) == 1 and "FROM node:18-slim" in result.text


def test_without_the_build_context_the_split_is_shown_only() -> None:
    f = _only(YARN)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY


def test_full_pipeline_splits_once(tmp_path: Path) -> None:
    build = _ctx(tmp_path, "pnpm")
    settings = settings_from_dict({"unsafe-fixes": True}, "test")
    result = fix(PNPM, path="Dockerfile", context=build, settings=settings)
    tree = parse(result.text)
    assert [s.base for s in tree.stages] == ["node:18", "node:18-slim"]
    # DO601 copied the manifests first; the builder ends with the production install.
    assert tree.stages[0].body[-1].text.startswith("RUN pnpm install --prod")
    assert fix(result.text, path="Dockerfile", context=build,
               settings=settings).text == result.text


# --- suggestions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "pm", "pkg", "extra", "reason"), [
    (YARN, "yarn", {**PKG, "scripts": {"postinstall": "node gen.js"}}, {},
     "postinstall script, which yarn runs"),
    (PNPM, "pnpm", {**PKG, "scripts": {"prepare": "husky"}}, {}, "prepare script"),
    (YARN, "yarn", {**PKG, "workspaces": ["packages/*"]}, {}, "yarn workspaces"),
    (PNPM, "pnpm", None, {"pnpm-workspace.yaml": "packages: ['a']\n"}, "pnpm-workspace.yaml"),
    (PNPM, "pnpm", None, {".npmrc": "node-linker=pnp\n"}, ".npmrc sets node-linker=pnp"),
    (PNPM, "pnpm", None, {".npmrc": "virtual-store-dir=/pnpm/vstore\n"}, "virtual-store-dir"),
    # devDependencies at run time
    (YARN.replace('["node", "server.js"]', '["yarn", "start"]'), "yarn",
     {**PKG, "scripts": {"start": "nodemon server.js"}}, {}, "yarn start does not run"),
    (YARN.replace('["node", "server.js"]', '["node", "-r", "ts-node/register", "server.ts"]'),
     "yarn", None, {}, "ts-node/register, which is not a production dependency"),
    (YARN.replace('["node", "server.js"]', '["yarn", "start"]'), "yarn",
     {**PKG, "scripts": {}}, {}, "yarn start does not run"),
    (YARN.replace("--frozen-lockfile", "--production=false"), "yarn", None, {},
     "asks for devDependencies"),
    (YARN.replace("--frozen-lockfile", "--frozen-lockfile && yarn add left-pad"), "yarn",
     None, {}, "a RUN after the install"),
    (YARN.replace("yarn install --frozen-lockfile", "yarn config set registry x && yarn"),
     "yarn", None, {}, "`yarn config set` may make"),
    (PNPM.replace('["node", "server.js"]', '["pnpm", "start"]')
     .replace("npm install -g pnpm@8.15.9", "corepack enable"), "pnpm", None, {},
     "through corepack, which would download it"),
    (PNPM.replace('["node", "server.js"]', '["pnpm", "start"]')
     .replace("RUN npm install -g pnpm@8.15.9\n", ""), "pnpm", None, {},
     "which the stage does not install"),
    (BERRY, "berry", None, {".yarnrc.yml": "enableTelemetry: false\n"}, "Plug'n'Play"),
    (BERRY, "berry", None, {".yarnrc.yml": "nodeLinker: pnp\n"}, "Plug'n'Play"),
    (BERRY.replace("--immutable", "--immutable && yarn cache clean"), "berry", None, {},
     "after a Yarn 2+ install"),
    (BERRY.replace('["node", "server.js"]', '["yarn", "start"]'), "berry", None, {},
     "does not pin with yarnPath"),
    (BERRY.replace("--immutable", "--mode=update-lockfile"), "berry", None, {},
     "is not followed (Yarn 2+)"),
])
def test_blockers(tmp_path: Path, text: str, pm: str, pkg: dict[str, object] | None,
                  extra: dict[str, str], reason: str) -> None:
    found = _findings(text, _ctx(tmp_path, pm, pkg, extra))
    assert len(found) == 1, found
    f = found[0]
    assert f.fix is None and reason in f.message, f.message
    assert "Suggestion only" in f.message


def test_yarn_2_or_3_without_the_plugin_is_a_suggestion(tmp_path: Path) -> None:
    _ctx(tmp_path, "berry")
    (tmp_path / "ctx" / "package.json").write_text(json.dumps(
        {**PKG, "packageManager": "yarn@3.8.2"}))
    f = _only(BERRY, BuildContext(tmp_path / "ctx"))
    assert f.fix is None and "Yarn 3 (package.json names yarn@3.8.2) without `yarn " \
        "workspaces focus --all`" in f.message


def test_npm_stays_the_npm_family(tmp_path: Path) -> None:
    # `npm install -g yarn` alone installs the package manager, not the app: a stage
    # that also runs `npm install` stays npm's, with npm's reason.
    text = YARN.replace("yarn install --frozen-lockfile", "yarn --version && npm install")
    f = _only(text, _ctx(tmp_path))
    assert f.fix is None and "npm toolchain" in f.message and "yarn/pnpm" in f.message


# --- the golden cases -------------------------------------------------------------------

CASES = sorted(p.name for p in GOLDEN.iterdir() if p.name.startswith(("node-prod-yarn",
                                                                       "node-prod-pnpm")))


def test_there_are_golden_cases_for_each_manager() -> None:
    assert {"node-prod-yarn", "node-prod-pnpm-start", "node-prod-yarn-berry-node-modules",
            "node-prod-yarn-berry-pnp"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden_cases_are_checked_splits(case: str) -> None:
    """Each golden split parses (ours and BuildKit's), adds one stage and is idempotent;
    the held-back cases are suggestions."""
    check_golden_case(GOLDEN / case)
