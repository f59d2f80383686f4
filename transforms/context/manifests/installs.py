"""Dependency installs in a RUN: which tool, which flags, in which folder."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import field

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.transforms import shellfix
from dockopt.transforms.context.manifests.paths import join_path
from dockopt.transforms.shellfix import RunShell

NODE_TOOLS = ("npm", "yarn", "pnpm")
_PY = lazy(r"python(\d+(\.\d+)?)?\Z")
_NPM_VALUE = frozenset({"--prefix", "-C", "--workspace", "-w", "--registry", "--cache", "--cwd",
                        "--userconfig", "--loglevel", "--omit", "--include", "--only"})
_PIP_VALUE = frozenset({"-r", "--requirement", "-c", "--constraint", "-i", "--index-url",
                        "--extra-index-url", "-f", "--find-links", "--target", "-t",
                        "--prefix", "--root", "--cache-dir", "--trusted-host",
                        "--platform", "--python-version", "--implementation", "--abi",
                        "--only-binary", "--no-binary", "--progress-bar", "--src",
                        "--upgrade-strategy", "--log", "--timeout", "--retries",
                        "--proxy", "--config-settings", "-C"})

# The programs ``classify`` reads, besides ``pip3.N`` and ``pythonN -m pip``.
_TOOLS = frozenset({"npm", "yarn", "pnpm", "pip", "pip3", "poetry", "pipenv", "uv", "go",
                    "mvn", "mvnw", "gradle", "gradlew", "bundle", "bundler", "composer",
                    "cargo"})


@dataclass
class Install:
    """A dependency install inside a RUN."""

    tool: str  # npm yarn pnpm pip poetry pipenv uv go-mod maven gradle bundler composer cargo
    cmd: SimpleCommand
    step: int  # index in the RUN's top-level chain
    sub: Word | None
    args: list[str] = field(default_factory=list)  # static argument values after argv[0]
    cwd: str | None = None  # explicit working dir (--prefix, --working-dir), as written


def _values(cmd: SimpleCommand) -> list[str] | None:
    vals = [w.value for w in cmd.resolved_args]
    if any(v is None for v in vals):
        return None
    return [v for v in vals if v is not None]


def _opt(args: Sequence[str], *names: str) -> str | None:
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if n.startswith("--") and a.startswith(n + "="):
                return a[len(n) + 1:]
    return None


def classify(cmd: SimpleCommand, step: int) -> Install | None:
    """The install a simple command runs, or None."""
    name = cmd.resolved_name
    # Most commands run none of the tools below: rejected by name, before their
    # arguments are read (13,911 commands in the official images, a handful installs).
    if name is None or (name not in _TOOLS and not name.startswith(("pip3.", "python"))):
        return None
    args = _values(cmd)
    if args is None:
        return None
    sub = shellfix.subcommand(cmd, _NPM_VALUE)
    subv = sub.value if sub is not None else None
    if name == "npm" and subv in ("install", "i", "ci"):
        if "-g" in args or "--global" in args or any(a.startswith("--global=") for a in args):
            return None
        ops = shellfix.operands(cmd, sub, _NPM_VALUE) if sub else []
        if ops:
            return None
        return Install("npm", cmd, step, sub, args, _opt(args, "--prefix", "-C"))
    if name == "yarn" and (subv is None or subv == "install"):
        if subv is None and any(not a.startswith("-") for a in args):
            return None
        return Install("yarn", cmd, step, sub, args, _opt(args, "--cwd"))
    if name == "pnpm" and subv in ("install", "i"):
        if sub is not None and shellfix.operands(cmd, sub, _NPM_VALUE):
            return None
        if "-g" in args or "--global" in args:
            return None
        return Install("pnpm", cmd, step, sub, args, _opt(args, "--dir", "-C"))
    pip_args: list[str] | None = None
    if name in ("pip", "pip3") or re.fullmatch(r"pip3\.\d+", name):
        pip_args = args
    elif _PY.match(name) and args[:2] == ["-m", "pip"]:
        pip_args = args[2:]
    if pip_args is not None:
        if pip_args[:1] != ["install"]:
            return None
        local = any(a in (".", "-e", "--editable") or a.startswith(("./", "-e.", ".["))
                    for a in pip_args)
        if _opt(pip_args, "-r", "--requirement") is None and not local and \
                not any(a.startswith("-r") and len(a) > 2 for a in pip_args):
            return None
        return Install("pip", cmd, step, sub, pip_args)
    if name == "poetry" and subv == "install" and "--only-root" not in args:
        return Install("poetry", cmd, step, sub, args, _opt(args, "--directory", "-C"))
    if name == "pipenv" and subv in ("install", "sync"):
        if sub is not None and shellfix.operands(cmd, sub):
            return None
        return Install("pipenv", cmd, step, sub, args)
    if name == "uv" and subv == "sync":
        return Install("uv", cmd, step, sub, args, _opt(args, "--directory", "--project"))
    if name == "go" and args[:2] == ["mod", "download"]:
        return Install("go-mod", cmd, step, sub, args)
    if name in ("mvn", "mvnw") and any(a in ("package", "install", "verify", "compile",
                                             "dependency:go-offline", "dependency:resolve")
                                       for a in args):
        return Install("maven", cmd, step, sub, args)
    if name in ("gradle", "gradlew") and any(a in ("build", "assemble", "installDist",
                                                   "bootJar", "shadowJar") for a in args):
        return Install("gradle", cmd, step, sub, args)
    if name in ("bundle", "bundler") and subv == "install":
        return Install("bundler", cmd, step, sub, args, _opt(args, "--gemfile"))
    if name == "composer" and subv == "install":
        return Install("composer", cmd, step, sub, args, _opt(args, "--working-dir", "-d"))
    if name == "cargo" and subv in ("build", "install"):
        return Install("cargo", cmd, step, sub, args)
    return None


def installs(run: RunShell) -> Iterator[Install]:
    for i, step in enumerate(run.script.top_level):
        if step.command is None:
            continue
        got = classify(step.command, i)
        if got is not None:
            yield got


def cd_target(run: RunShell, step: int) -> str | None:
    """The directory a top-level ``cd X`` at ``step`` goes to, else None."""
    cmd = run.script.top_level[step].command
    if cmd is None or cmd.name != "cd" or len(cmd.words) != 2:
        return None
    return cmd.words[1].value


def install_cwd(run: RunShell, inst: Install, cwd: str) -> str | None:
    """The image directory the install runs in (after ``cd`` steps before it)."""
    # A heredoc body's lines are separate commands (no implicit `set -e`): a failed
    # `cd` there would not stop the install, so its folder is not certain.
    separators = (None, "&&", "\n") if run.heredoc else (None, "&&")
    for i in range(inst.step):
        step = run.script.top_level[i]
        if step.operator_before not in separators:
            return None
        target = cd_target(run, i)
        if target is not None:
            if run.heredoc or target.startswith("-") or "$" in target:
                return None
            cwd = join_path(cwd, target)
        elif step.command is not None and step.command.name in shellfix.STATEFUL:
            return None
    if inst.cwd is not None:
        if "$" in inst.cwd:
            return None
        cwd = join_path(cwd, inst.cwd)
    return cwd

