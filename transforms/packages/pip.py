"""pip: ``pip install`` without ``--no-cache-dir`` keeps its download cache (DO209).
Shared helpers (runs as root, cache mounts) live in ``packages/apt.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Finding, Fix, Safety, Transform
from dockopt.transforms.packages.apt import (
    editable_runs,
    mount_covers,
    mount_flag_edit,
    mount_overlaps,
    removes_path,
    runs_as_root,
    stage_of,
    syntax_edit,
    word_span,
    wrapper_prefix,
)
from dockopt.transforms.shellfix import RunShell

# --------------------------------------------------------------------------- pip

PIP_VALUE = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable",
                       "-t", "--target", "--platform", "--python-version",
                       "--implementation", "--abi", "--root", "--prefix", "--src",
                       "--upgrade-strategy", "-i", "--index-url", "--extra-index-url",
                       "-f", "--find-links", "--trusted-host", "--proxy", "--cache-dir",
                       "--progress-bar", "--no-binary", "--only-binary", "--log",
                       "--timeout", "--retries", "--exists-action", "--cert",
                       "--client-cert", "--python", "--report", "--config-settings",
                       "-C", "--global-option", "--build", "-b"})
PIP_CACHE = "/root/.cache/pip"
PIP_MOUNT = f"--mount=type=cache,target={PIP_CACHE}"


def pip_install(cmd: SimpleCommand) -> Word | None:
    """The ``install`` word of ``pip install``/``pip3 install``/``python -m pip install``."""
    name = cmd.resolved_name or ""
    if not name.startswith("p"):
        return None  # neither pip* nor python* (asked of every command by two rules)
    args = cmd.resolved_args
    if name.startswith("pip") and not name.startswith(("pipx", "pipenv")):
        sub = shellfix.subcommand(cmd, PIP_VALUE)
        return sub if sub is not None and sub.value == "install" else None
    if name.startswith("python"):
        values = [w.value for w in args]
        for i in range(len(values) - 2):
            if values[i] == "-m" and values[i + 1] == "pip" and values[i + 2] == "install":
                return args[i + 2]
            if values[i] == "-mpip" and values[i + 1] == "install":
                return args[i + 1]
    return None


def _pip_env_set(ctx: Context, ins: Instruction, names: tuple[str, ...]) -> bool:
    """ENV/ARG before ``ins`` in its stage (or the global ARGs) set one of ``names``."""
    stage = stage_of(ctx, ins)
    # The first setting ENV/ARG of the stage, found once per stage, names and pass (a
    # scan per RUN was quadratic in the number of RUNs).
    memo: dict[tuple[int, tuple[str, ...]], int | None] = ctx.memo.setdefault("pip.env", {})
    key = (stage.index if stage is not None else -1, names)
    if key not in memo:
        scope = list(ctx.tree.global_args) + (list(stage.body) if stage is not None else [])
        pattern = re.compile(r"(?<![\w])(" + "|".join(names) + r")\s*=?")
        memo[key] = next((other.start for other in scope if other.keyword in ("ENV", "ARG")
                          and pattern.search(other.text)), None)
    first = memo[key]
    return first is not None and first < ins.start


def _pip_mount_ok(ctx: Context, run: RunShell, cmds: list[SimpleCommand]) -> bool:
    ins = run.ins
    if mount_overlaps(ins, "/root/.cache") or removes_path(run, "/root/.cache"):
        return False  # a mount on a path the RUN deletes: "Device or resource busy"
    if not runs_as_root(ctx, ins) or any(wrapper_prefix(c) != "" for c in cmds):
        return False  # the cache is $HOME/.cache/pip of another user
    if _pip_env_set(ctx, ins, ("PIP_CACHE_DIR", "XDG_CACHE_HOME", "HOME")):
        return False
    if re.search(r"\b(PIP_CACHE_DIR|XDG_CACHE_HOME|HOME)=", run.src.text):
        return False
    return not any(shellfix.has_flag(c, "--cache-dir", takes_value=PIP_VALUE) for c in cmds)


class PipNoCacheDir(Transform):
    """`pip install` without `--no-cache-dir` keeps pip's download cache in the layer.

    ## What it does
    Inserts `--no-cache-dir` right after `install` in `pip install`, `pip3 install` and
    `python -m pip install`. As in hadolint, nothing is reported when `PIP_NO_CACHE_DIR`
    is set (by ENV/ARG earlier in the stage or in the RUN itself), for `pipx`/`pipenv`,
    and (as the issue asks) for `pip install --target`/`-t`. A mount on
    `/root/.cache/pip` (or `/root/.cache`) also silences it: the cache is not in the
    layer.

    With `cache = "mount"` the RUN gets `--mount=type=cache,target=/root/.cache/pip`
    right after `RUN` instead (and `# syntax=docker/dockerfile:1` when missing), unless
    the RUN deletes `/root/.cache`, runs as another user, or moves the cache
    (`--cache-dir`, `PIP_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME`); then `--no-cache-dir`.

    ## Why
    pip caches every wheel it downloads or builds under `~/.cache/pip`: dead weight in
    an image.

    ## Example
    ```dockerfile
    RUN pip install flask
    ```
    becomes
    ```dockerfile
    RUN pip install --no-cache-dir flask
    ```

    ## Fix safety
    `--no-cache-dir` is safe: the same packages are installed. The cache mount is
    unsafe: it needs BuildKit.

    ## References
    - hadolint DL3042
    - https://pip.pypa.io/en/stable/topics/caching/
    """

    code = "DO209"
    name = "pip-no-cache-dir"
    fix_title = "Add --no-cache-dir"
    upstream = ("hadolint:DL3042",)
    level = "warning"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            ins = run.ins
            found: list[tuple[SimpleCommand, Word]] = []
            for cmd in run.script.commands:
                word = pip_install(cmd)
                if word is None or any(w.value is not None and w.value.startswith(
                        "--no-cache-dir") for w in cmd.resolved_args):
                    continue
                if shellfix.has_flag(cmd, "--target", "-t", takes_value=PIP_VALUE - {
                        "-t", "--target"}):
                    continue
                found.append((cmd, word))
            if not found:
                continue
            # (The mounts and the ENVs are asked only for a RUN that installs with
            # pip: asking them of every RUN first was most of the rule's time.)
            if mount_covers(ins, PIP_CACHE) or "PIP_NO_CACHE_DIR" in run.src.text:
                continue
            if _pip_env_set(ctx, ins, ("PIP_NO_CACHE_DIR",)):
                continue
            if ctx.settings.cache == "mount" and _pip_mount_ok(ctx, run, [c for c, _ in found]):
                flag = mount_flag_edit(ins, [PIP_MOUNT])
                if flag is not None:
                    directive = syntax_edit(ctx)
                    edits = (directive, flag) if directive is not None else (flag,)
                    fix = Fix(edits, Safety.UNSAFE, "Cached pip downloads in a BuildKit "
                              "cache mount instead of the layer (needs BuildKit)")
                    yield self.finding(ctx, ins, "`pip install` keeps its cache in the "
                                       "layer", fix=fix)
                    continue
            for _cmd, word in found:
                fix = Fix((shellfix.insert_at(run, word.end, " --no-cache-dir"),),
                          Safety.SAFE, "Added --no-cache-dir: pip keeps no download cache")
                yield self.finding(ctx, ins, "`pip install` without `--no-cache-dir` keeps "
                                   "its cache in the layer", fix=fix,
                                   span=word_span(word, run))


