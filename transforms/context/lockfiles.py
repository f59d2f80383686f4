"""Lockfile-honest JavaScript installs (DO602).

Which lockfile an install sees is decided with the image-path model of
``transforms/context/manifests/rule.py``: the COPY/ADD (or bind mount) that put a lockfile at the
install's working directory, after ``.dockerignore``.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator, Mapping
from typing import ClassVar

from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.context.manifests.installs import Install, install_cwd, installs
from dockopt.transforms.context.manifests.paths import ImageView, stage_chain
from dockopt.transforms.images import parse_image_ref
from dockopt.transforms.packages.apt import editable_runs
from dockopt.transforms.shellfix import RunShell, insert_at, replace_span

_NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
_NO_LOCK_FLAGS = ("--no-package-lock", "--package-lock=false", "--package-lock-only",
                  "--no-shrinkwrap", "--lockfile-version")


class LockfileIgnored(Transform):
    """A JavaScript install does not hold to the lockfile the image has.

    ## What it does
    - `npm install` (no package arguments) becomes `npm ci` when a
      `package-lock.json` or `npm-shrinkwrap.json` sits in the install's folder
      (copied there by a COPY/ADD or bind-mounted, and not dockerignored) and the
      npm that runs it is known to read that lockfile (npm 7+, or npm 6 with a
      lockfileVersion 1 or 2 file);
    - `--only=production` / `--only=prod` / `--production` become `--omit=dev`
      only when npm is known to be 7 or later: npm 6 and older ignore `--omit`
      and would install the devDependencies.

    The npm version comes from the stage's base image (`node:<tag>` with ARG
    defaults resolved, LTS codenames, floating tags such as `lts`), then from the
    RUN steps before the install, the last one winning: NodeSource
    (`setup_14.x`, `node_20.x`), distribution `nodejs`/`npm` packages (unknown
    version), nvm/n/fnm/volta (unknown), `npm install -g npm@X`. Any other base
    image is unknown. When it is unknown, nothing is rewritten and the finding
    says why.
    - `yarn` / `yarn install` gets `--frozen-lockfile` with a classic `yarn.lock`,
      `--immutable` with a Berry one (a lockfile with `__metadata`);
    - `pnpm install` gets `--frozen-lockfile` when `pnpm-lock.yaml` is there.

    `npm install <pkg>`, global installs, installs that disable the lockfile and
    `pip --require-hashes` are left alone. Each message names the lockfile, the
    context path it comes from and the line that copied it.

    ## Why
    `npm install` and plain `yarn` resolve version ranges again and may rewrite the
    lockfile, so two builds of the same commit can ship different dependencies.
    `npm ci`, `--frozen-lockfile` and `--immutable` install exactly what the lockfile
    pins, and fail loudly when it is out of date.

    ## Example
    `RUN npm install --production` on `node:20` with `COPY package*.json ./` and a
    `package-lock.json` in the context becomes `RUN npm ci --omit=dev`; on
    `node:14` (npm 6) with a lockfileVersion 1 file it becomes
    `RUN npm ci --production`.

    ## Fix safety
    Unsafe: `npm ci` deletes an existing `node_modules` and fails when the lockfile
    is out of sync with `package.json`; the frozen flags fail in the same case.

    ## References
    - npm docs: `npm ci`, `--omit`
    - Yarn classic `--frozen-lockfile`, Yarn Berry `--immutable`, pnpm
      `--frozen-lockfile`
    """

    code = "DO602"
    reads_context = True
    name = "lockfile-ignored"
    fix_title = "Install exactly what the lockfile pins"
    default_safety = Safety.UNSAFE
    semantic_scope: ClassVar[str] = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        build = ctx.build
        if not isinstance(build, BuildContext) or ctx.tree.has_errors:
            return
        for stage in ctx.tree.stages:
            for run in editable_runs(ctx, stage):
                found = list(installs(run))
                if not any(i.tool in ("npm", "yarn", "pnpm") for i in found):
                    continue
                view = ImageView(ctx, build, stage, run.ins)
                for inst in found:
                    got = self._one(ctx, build, stage, run, view, inst)
                    if got is not None:
                        yield got

    def _one(self, ctx: Context, build: BuildContext, stage: Stage, run: RunShell,
             view: ImageView, inst: Install) -> Finding | None:
        cwd = install_cwd(run, inst, view.cwd)
        if cwd is None:
            return None

        def lock(name: str) -> tuple[str, Instruction] | None:
            return view.provider(cwd.rstrip("/") + "/" + name)

        span = (run.src.to_physical(inst.cmd.start), run.src.to_physical_end(inst.cmd.end))
        if inst.tool == "npm":
            return self._npm(ctx, build, stage, run, inst, lock, span)
        if inst.tool == "yarn":
            got = lock("yarn.lock")
            if got is None or _has(inst, "--frozen-lockfile", "--immutable", "--pure-lockfile"):
                return None
            head = (build.read_text(got[0]) or "")[:4096]
            flag = "--immutable" if "__metadata:" in head else "--frozen-lockfile"
            kind = "Berry" if flag == "--immutable" else "classic"
            edit = insert_at(run, _end_of_args(inst), " " + flag)
            msg = f"add {flag}: {_origin(got)} is a {kind} yarn lockfile"
            return self.finding(ctx, run.ins, f"yarn may re-resolve dependencies; {msg}",
                                fix=Fix((edit,), Safety.UNSAFE, msg), span=span)
        if inst.tool == "pnpm":
            got = lock("pnpm-lock.yaml")
            if got is None or _has(inst, "--frozen-lockfile", "--no-frozen-lockfile",
                                   "--frozen-lockfile=false"):
                return None
            edit = insert_at(run, _end_of_args(inst), " --frozen-lockfile")
            msg = f"add --frozen-lockfile: {_origin(got)} pins the dependencies"
            return self.finding(ctx, run.ins, f"pnpm may update the lockfile; {msg}",
                                fix=Fix((edit,), Safety.UNSAFE, msg), span=span)
        return None

    def _npm(self, ctx: Context, build: BuildContext, stage: Stage, run: RunShell,
             inst: Install, lock: object, span: tuple[int, int]) -> Finding | None:
        assert callable(lock)
        edits: list[Edit] = []
        parts: list[str] = []
        held: list[str] = []
        sub = inst.sub
        if sub is None:
            return None
        if any(a.startswith(_NO_LOCK_FLAGS) for a in inst.args):
            return None
        npm = npm_version(ctx, stage, run, inst)
        got = lock(_NPM_LOCKS[1]) or lock(_NPM_LOCKS[0])
        did_ci = False
        if sub.value in ("install", "i") and got is not None:
            edit = replace_span(run, sub.start, sub.end, "ci")
            why = _ci_blocker(npm, build.read_text(got[0]))
            if why is not None:
                held.append(f"{_origin(got)} pins the tree, but `npm ci` is not written: {why}")
            elif edit is not None and not _npmrc_disables_lock(build, got[0]):
                edits.append(edit)
                did_ci = True
                parts.append(f"`npm {sub.value}` → `npm ci`: {_origin(got)} pins the tree")
        prod = [w for w in inst.cmd.resolved_args
                if w.value in ("--production", "--only=production", "--only=prod",
                               "--production=true")]
        if prod and any(w.value is not None and w.value.startswith("--omit") for w in
                        inst.cmd.resolved_args):
            prod = []  # --omit is there already: leave the flags as they are
        if prod and npm.major is not None and npm.major < 7:
            prod = []  # npm 6 and older: --omit does not exist, the flag is current
        if prod and npm.major is None:
            held.append(f"`{prod[0].value}` is deprecated since npm 7, but it is kept: "
                        f"{npm.source}, and npm 6 and older ignore `--omit=dev` (they "
                        "would install the devDependencies)")
            prod = []
        flag_edits: list[Edit] = []
        for w in prod[:1]:
            edit = replace_span(run, w.start, w.end, "--omit=dev")
            if edit is None:
                return None
            flag_edits.append(edit)
        for w in prod[1:]:
            edit = replace_span(run, w.start - 1, w.end, "")
            if edit is None or run.src.text[w.start - 1] != " ":
                return None
            flag_edits.append(edit)
        if flag_edits:
            edits += flag_edits
            parts.append(f"`{prod[0].value}` → `--omit=dev` (deprecated since npm 7; "
                         f"{npm.source})")
        if not edits:
            if not held:
                return None
            return self.finding(ctx, run.ins, "npm install: " + "; ".join(held), span=span)
        msg = "; ".join(parts + held)
        if did_ci:
            title = "Install exactly what the lockfile pins"
            if flag_edits:
                title += "; replace deprecated npm flags"
            text = f"npm install does not hold to the lockfile: {msg}"
        else:
            title = "Replace deprecated npm flags"
            text = f"deprecated npm flag: {msg}"
        return self.finding(ctx, run.ins, text,
                            fix=Fix(tuple(edits), Safety.UNSAFE, msg, title=title), span=span)


def _has(inst: Install, *flags: str) -> bool:
    return any(a in flags or (a.split("=", 1)[0] in flags and "=" in a
                              and not a.endswith("=false")) for a in inst.args)


def _end_of_args(inst: Install) -> int:
    """Logical offset just after the command's last argument word."""
    words = inst.cmd.words
    return words[-1].end if words else inst.cmd.end


def _origin(got: tuple[str, Instruction]) -> str:
    path, ins = got
    how = "bind-mounted" if ins.keyword == "RUN" else "copied"
    return f"{path} ({how} on line {ins.start_line})"


def _npmrc_disables_lock(build: BuildContext, lock_path: str) -> bool:
    folder = lock_path.rsplit("/", 1)[0] + "/" if "/" in lock_path else ""
    text = build.read_text(folder + ".npmrc") or ""
    return bool(re.search(r"^\s*package-lock\s*=\s*false", text, re.M))


@dataclass(frozen=True)
class NpmVersion:
    """The npm major version an install runs with, as far as the Dockerfile shows it."""

    major: int | None  # None: unknown
    source: str  # how it was decided, for messages ("node:14 ships npm 6")


# The npm each Node.js major ships (the oldest of its releases, to stay on the safe side).
_NPM_OF_NODE = {8: 5, 9: 5, 10: 6, 11: 6, 12: 6, 13: 6, 14: 6, 15: 7, 16: 7, 17: 8, 18: 8,
                19: 8, 20: 9, 21: 10}
# Node LTS codenames (node:hydrogen, node:iron-slim...).
_LTS_NAMES = {"argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12,
              "fermium": 14, "gallium": 16, "hydrogen": 18, "iron": 20, "jod": 22,
              "krypton": 24}
_FLOATING = ("latest", "lts", "current", "alpine", "slim", "bookworm", "bullseye",
             "trixie", "buster")
_NEWEST = 99  # a floating tag or "npm@latest": a current npm
_NODESOURCE = lazy(r"(?:setup_|/node_)(\d+|lts|current)\.x")
_DISTRO_NODE = lazy(
    r"\b(?:apt-get|apt|apk|yum|dnf|microdnf|zypper)\b[^;&|\n]*?\s(?:nodejs|npm)(?:[=\s]|$)")
_VERSION_MANAGER = lazy(r"\b(?:nvm\s+(?:install|use)|fnm\s+(?:install|use)|"
                              r"volta\s+install|n\s+(?:\d|lts|latest|stable|current))")
_NPM_SELF = lazy(r"\bnpm\s+(?:i|install|update|up)\s+(?:[^;&|\n]*\s)?"
                       r"(?:-g|--global)(?:\s[^;&|\n]*)?\snpm(?:@(\S+))?(?=\s|$|[;&|])")


def _npm_of_node(node: int) -> int:
    if node <= 7:
        return 3
    return _NPM_OF_NODE.get(node, 10)


def _vars(ctx: Context, chain: list[Stage], before: int) -> Mapping[str, str]:
    """ARG defaults and ENV values in effect before offset ``before`` (best effort)."""
    return _history(ctx, chain).at(before)


class _EnvHistory:
    """Every value each ARG default / ENV name takes along a stage chain, by offset:
    built once per pass and chain, asked at any offset by bisection (building the
    scope again for every line of every earlier RUN was cubic in the RUNs)."""

    def __init__(self, ctx: Context, chain: list[Stage]) -> None:
        self.values: dict[str, tuple[list[int], list[str]]] = {}
        scope = list(ctx.tree.global_args) + [i for st in chain for i in st.body]
        for ins in scope:
            if ins.keyword == "ARG":
                for item in ins.value:
                    key, eq, value = item.partition("=")
                    if eq:
                        self._set(key, ins.start, value.strip("\"'"))
            elif ins.keyword == "ENV" and len(ins.value) % 2 == 0:
                for key, value in zip(ins.value[::2], ins.value[1::2], strict=True):
                    self._set(key, ins.start, value.strip("\"'"))

    def _set(self, key: str, start: int, value: str) -> None:
        starts, values = self.values.setdefault(key, ([], []))
        starts.append(start)
        values.append(value)

    def at(self, before: int) -> Mapping[str, str]:
        return _EnvAt(self, before)


class _EnvAt(Mapping[str, str]):
    """The values of an _EnvHistory before one offset."""

    def __init__(self, history: _EnvHistory, before: int) -> None:
        self.history, self.before = history, before

    def __getitem__(self, key: str) -> str:
        starts, values = self.history.values.get(key, ((), ()))
        at = bisect.bisect_left(starts, self.before)  # offsets rise along the scope
        if at == 0:
            raise KeyError(key)
        return values[at - 1]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.history.values if k in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _history(ctx: Context, chain: list[Stage]) -> _EnvHistory:
    key = "lockfiles.env." + ",".join(str(st.index) for st in chain)
    found: _EnvHistory | None = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = _EnvHistory(ctx, chain)
    return found


def expand(text: str, env: Mapping[str, str]) -> str | None:
    """``$NAME``, ``${NAME}``, ``${NAME:-default}`` substituted; None if one is unknown."""
    unknown = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unknown
        name = m.group(1) or m.group(2)
        if name in env and env[name] != "":
            return env[name]
        if m.group(3) is not None:
            return m.group(3)
        unknown = True
        return ""

    out = re.sub(r"\$(?:([A-Za-z_]\w*)|\{([A-Za-z_]\w*)(?::?-([^}]*))?\})", sub, text)
    return None if unknown else out


def _from_image(base: str, env: Mapping[str, str]) -> NpmVersion:
    text = expand(base, env)
    if text is None:
        return NpmVersion(None, f"the base image `{base}` depends on a build argument "
                          "with no default")
    ref = parse_image_ref(text)
    if ref is None or ref.name != "node":
        return NpmVersion(None, f"npm comes from the base image `{text}`, whose npm "
                          "version is not known")
    tag = (ref.tag or "latest").lower()
    m = re.match(r"(\d+)", tag)
    if m is not None:
        node = int(m.group(1))
        return NpmVersion(_npm_of_node(node), f"`{text}` is Node.js {node} (npm "
                          f"{_npm_of_node(node)})")
    first = tag.split("-", 1)[0]
    if ref.official and first in _LTS_NAMES:
        node = _LTS_NAMES[first]
        return NpmVersion(_npm_of_node(node), f"`{text}` is Node.js {node}")
    if ref.official and first in _FLOATING:
        return NpmVersion(_NEWEST, f"`{text}` is a current Node.js")
    return NpmVersion(None, f"the Node.js version of `{text}` is not known")


def npm_version(ctx: Context, stage: Stage, run: RunShell, inst: Install) -> NpmVersion:
    """The npm an install runs with: the base image (ARG defaults resolved), then what
    RUN steps before it change (NodeSource setup, distro nodejs/npm packages, version
    managers, ``npm install -g npm@X``), the last one winning."""
    chain = stage_chain(ctx, stage)
    starts, after = _npm_fold(ctx, chain)
    # The state after every RUN of the chain before this one, then this RUN's own
    # text up to the install.
    got, nodesource = after[bisect.bisect_left(starts, run.ins.start)]
    return _npm_step(ctx, chain, (got, nodesource), run.ins.start,
                     run.src.text[: inst.cmd.start])[0]


def _npm_fold(ctx: Context, chain: list[Stage]) -> tuple[
        list[int], list[tuple[NpmVersion, bool]]]:
    """Each RUN of the chain read once per pass: the npm state after the first i RUNs
    (reading every earlier RUN again for each install was quadratic in the RUNs)."""
    key = "lockfiles.npm." + ",".join(str(st.index) for st in chain)
    found: tuple[list[int], list[tuple[NpmVersion, bool]]] | None = ctx.memo.get(key)
    if found is not None:
        return found
    root = chain[0]
    state = (_from_image(root.base, _vars(ctx, [], root.from_instruction.start)), False)
    starts: list[int] = []
    after = [state]
    for st in chain:
        for ins in st.body:
            if ins.keyword != "RUN":
                continue
            body = ins.original + "\n" + "\n".join(h.content for h in ins.heredoc_docs)
            state = _npm_step(ctx, chain, state, ins.start, body)
            starts.append(ins.start)
            after.append(state)
    ctx.memo[key] = (starts, after)
    return starts, after


def _npm_step(ctx: Context, chain: list[Stage], state: tuple[NpmVersion, bool], where: int,
              text: str) -> tuple[NpmVersion, bool]:
    """The npm state after one RUN's text (at offset ``where``)."""
    got, nodesource = state
    for m in re.finditer(r"(?m)[^\n]+", text):
        line = m.group()
        ns = _NODESOURCE.search(line) or _NODESOURCE.search(
            expand(line, _vars(ctx, chain, where)) or "")
        if ns is not None:
            nodesource = True
            v = ns.group(1)
            node = int(v) if v.isdigit() else None
            got = NpmVersion(_npm_of_node(node) if node else _NEWEST,
                             f"NodeSource installs Node.js {v} (line "
                             f"{ctx.tree.line_col(where)[0]})")
        elif "nodesource" in line and "setup" in line:
            nodesource = True
            got = NpmVersion(None, "a NodeSource setup script installs a Node.js "
                             "version that cannot be read")
        if _DISTRO_NODE.search(line) and not nodesource:
            line_no = ctx.tree.line_col(where)[0]
            got = NpmVersion(None, "nodejs/npm come from the distribution's packages "
                             f"(line {line_no}), whose npm may be older than 7")
        if _VERSION_MANAGER.search(line):
            got = NpmVersion(None, "a Node.js version manager (nvm, n, fnm, volta) "
                             "picks the Node.js version")
        for self_up in _NPM_SELF.finditer(line):
            tag = self_up.group(1) or "latest"
            d = re.match(r"[\^~=v]*(\d+)", tag)
            got = NpmVersion(int(d.group(1)) if d else (
                _NEWEST if tag in ("latest", "next") else None),
                f"`npm install -g npm@{tag}` sets the npm version")
    return got, nodesource


def _ci_blocker(npm: NpmVersion, lock_text: str | None) -> str | None:
    """Why ``npm ci`` cannot be written for this npm and lockfile, or None."""
    if npm.major is None:
        return f"{npm.source}, and `npm ci` needs npm 5.7 or later"
    if npm.major < 6:
        return f"{npm.source}, and `npm ci` needs npm 5.7 or later"
    if npm.major < 7:
        try:
            version = json.loads(lock_text or "").get("lockfileVersion")
        except (ValueError, AttributeError):
            version = None
        if not isinstance(version, int) or version >= 3:
            return (f"{npm.source}, which cannot read lockfileVersion "
                    f"{version if isinstance(version, int) else 'unknown'} (npm 7+ only)")
    return None
