"""Lockfile-honest JavaScript installs (DO602).

Which lockfile an install sees is decided with the image-path model of
``transforms/context/manifests/rule.py``: the COPY/ADD (or bind mount) that put a lockfile at the
install's working directory, after ``.dockerignore``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.context.manifests.installs import Install, install_cwd, installs
from dockopt.transforms.context.manifests.paths import ImageView, stage_chain
from dockopt.transforms.packages.apt import editable_runs
from dockopt.transforms.shellfix import RunShell, insert_at, replace_span

_NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
_NO_LOCK_FLAGS = ("--no-package-lock", "--package-lock=false", "--package-lock-only",
                  "--no-shrinkwrap", "--lockfile-version")
_NODE_MAJOR = re.compile(r"(?:^|/)node:(\d+)")


class LockfileIgnored(Transform):
    """A JavaScript install does not hold to the lockfile the image has.

    ## What it does
    - `npm install` (no package arguments) becomes `npm ci` when a
      `package-lock.json` or `npm-shrinkwrap.json` sits in the install's folder
      (copied there by a COPY/ADD or bind-mounted, and not dockerignored);
    - `--only=production` / `--only=prod` / `--production` become `--omit=dev`
      (npm 8 and later; left alone on `node:` images older than 16);
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
    `RUN npm install --production` with `COPY package*.json ./` and a
    `package-lock.json` in the context becomes `RUN npm ci --omit=dev`.

    ## Fix safety
    Unsafe: `npm ci` deletes an existing `node_modules` and fails when the lockfile
    is out of sync with `package.json`; the frozen flags fail in the same case.

    ## References
    - npm docs: `npm ci`, `--omit`
    - Yarn classic `--frozen-lockfile`, Yarn Berry `--immutable`, pnpm
      `--frozen-lockfile`
    """

    code = "DO602"
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
        sub = inst.sub
        if sub is None:
            return None
        if any(a.startswith(_NO_LOCK_FLAGS) for a in inst.args):
            return None
        got = lock(_NPM_LOCKS[1]) or lock(_NPM_LOCKS[0])
        if sub.value in ("install", "i") and got is not None:
            edit = replace_span(run, sub.start, sub.end, "ci")
            if edit is not None and not _npmrc_disables_lock(build, got[0]):
                edits.append(edit)
                parts.append(f"`npm {sub.value}` → `npm ci`: {_origin(got)} pins the tree")
        prod = [w for w in inst.cmd.resolved_args
                if w.value in ("--production", "--only=production", "--only=prod",
                               "--production=true")]
        if prod and not _old_node(ctx, stage):
            if any(w.value is not None and w.value.startswith("--omit") for w in
                   inst.cmd.resolved_args):
                return None
            for w in prod[:1]:
                edit = replace_span(run, w.start, w.end, "--omit=dev")
                if edit is None:
                    return None
                edits.append(edit)
            for w in prod[1:]:
                edit = replace_span(run, w.start - 1, w.end, "")
                if edit is None or run.src.text[w.start - 1] != " ":
                    return None
                edits.append(edit)
            parts.append(f"`{prod[0].value}` → `--omit=dev` (deprecated since npm 7)")
        if not edits:
            return None
        msg = "; ".join(parts)
        return self.finding(ctx, run.ins, f"npm install does not hold to the lockfile: {msg}"
                            if got else f"deprecated npm flag: {msg}",
                            fix=Fix(tuple(edits), Safety.UNSAFE, msg), span=span)


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


def _old_node(ctx: Context, stage: Stage) -> bool:
    """The stage's base is a `node:` image older than 16 (npm < 8: no --omit)."""
    root = stage_chain(ctx, stage)[0]
    m = _NODE_MAJOR.search(root.base.lower())
    return m is not None and int(m.group(1)) < 16
