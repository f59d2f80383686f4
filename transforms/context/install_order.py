"""DO606 packages-after-source: system packages installed after the source is copied.

A RUN that only installs OS packages does not read the build context, so it belongs
above the COPY of the sources: then a source change no longer re-runs it. The move is
allowed only when nothing it passes over can change what the RUN does or sees.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.shellfix import RunShell, posix_shell, script_runs, windows_file

# Package-manager subcommands that read only the package index and the network.
_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "apt-get": frozenset({"update", "install", "upgrade", "dist-upgrade", "clean",
                          "autoclean", "autoremove", "purge", "remove"}),
    "apt": frozenset({"update", "install", "upgrade", "full-upgrade", "clean", "autoclean",
                      "autoremove", "purge", "remove"}),
    "apk": frozenset({"add", "update", "upgrade", "del", "cache"}),
    "yum": frozenset({"install", "update", "upgrade", "clean", "makecache", "remove"}),
    "dnf": frozenset({"install", "update", "upgrade", "clean", "makecache", "remove"}),
    "microdnf": frozenset({"install", "update", "upgrade", "clean", "remove"}),
    "zypper": frozenset({"install", "in", "refresh", "ref", "clean", "cc", "remove", "rm",
                         "update", "up"}),
}
# Options whose value names a file (a local repository, a config, a package list).
_FILE_OPTIONS = lazy(r"^(-c|--config|-o|--option|--repository|-X|--repositories-file|"
                           r"--keys-dir|--root|-p|--allow-untrusted|--config-file|"
                           r"--setopt|--repofrompath|--installroot)(=|$)")
# Cache folders a cleanup may remove (never where a COPY may put files).
_CACHE_DIRS = ("/var/lib/apt/lists", "/var/cache/apt", "/var/cache/apk", "/var/cache/yum",
               "/var/cache/dnf", "/var/cache/zypp", "/var/cache/debconf", "/var/log/apt",
               "/var/log/dpkg.log")
# Image folders a package manager reads or writes: a COPY into them may configure
# the manager (sources.list, keys, repos) or be overwritten by it.
_SYSTEM_DIRS = ("/etc", "/usr", "/var", "/lib", "/lib64", "/bin", "/sbin", "/opt/conda",
                "/root", "/run", "/tmp", "/proc", "/sys", "/dev", "/boot", "/srv")
# Instructions a package RUN may move above: they neither change its environment nor
# the files it touches (COPY/ADD destinations are checked one by one).
_PASSABLE = frozenset({"COPY", "ADD", "LABEL", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "CMD",
                       "ENTRYPOINT", "WORKDIR", "MAINTAINER"})
_PLAIN_ARG = lazy(r"[A-Za-z0-9_.+:=~^*<>@,-]+")


class PackagesAfterSource(Transform):
    """OS packages are installed after the source is copied, so source changes reinstall.

    ## What it does
    Finds a RUN that only installs or cleans OS packages (`apt-get update/install`,
    `apk add`, `yum/dnf/microdnf/zypper install`, cache cleanup such as
    `rm -rf /var/lib/apt/lists/*`) placed after a COPY or ADD of build-context files
    in the same stage, and moves it, with the comments above it, to just before the
    first such COPY:

    - every command must be one of those, with literal package names only (no
      variables, command substitutions, local `.deb`/`.rpm`/`.apk` files, or options
      that name a file such as `-o`, `--repository`, `--setopt`);
    - the instructions passed over may only be COPY/ADD, WORKDIR, LABEL, EXPOSE,
      STOPSIGNAL, HEALTHCHECK, CMD, ENTRYPOINT: an ARG, ENV, USER, SHELL, VOLUME,
      ONBUILD or another RUN in between stops the move (the RUN would see a different
      environment or user, or its effect would land in a volume);
    - no COPY/ADD passed over may write into a system folder (`/`, `/etc`, `/usr`,
      `/var`, `/tmp`, ...): it could configure the package manager (sources, keys,
      repositories) or be overwritten by a package;
    - shell-form RUNs and `RUN <<EOF` heredoc scripts; a RUN with another SHELL, or on
      Windows, is left alone.

    ## Why
    Docker reuses a layer only when everything before it is unchanged. A package
    install after `COPY . .` runs again on every source change: `apt-get update` and
    the downloads cost seconds to minutes per build. Above the COPY it is cached until
    the package list itself changes.

    ## Example
    ```dockerfile
    FROM debian:bookworm-slim
    WORKDIR /app
    COPY . .
    RUN apt-get update && apt-get install -y --no-install-recommends jq \\
        && rm -rf /var/lib/apt/lists/*
    CMD ["./run.sh"]
    ```
    becomes
    ```dockerfile
    FROM debian:bookworm-slim
    WORKDIR /app
    RUN apt-get update && apt-get install -y --no-install-recommends jq \\
        && rm -rf /var/lib/apt/lists/*
    COPY . .
    CMD ["./run.sh"]
    ```

    ## Fix safety
    Safe: the RUN reads no build-context file, and nothing it moves above changes its
    environment, its user or the files it touches; the image holds the same files.
    Only the layer order (and so the cache) changes.

    ## References
    - Docker documentation: "Optimize cache usage in builds" (order your layers)
    - hadolint DL3009/DL3015 discussions on apt layers
    """

    code = "DO606"
    name = "packages-after-source"
    fix_title = "Install system packages before copying the source"
    default_safety = Safety.SAFE
    semantic_scope = "order"

    def check(self, ctx: Context) -> Iterator[Finding]:
        tree = ctx.tree
        if tree.has_errors or windows_file(ctx):
            return
        runs = {r.ins.start: r for r in script_runs(ctx)}
        for stage in tree.stages:
            found = self._stage(ctx, stage, runs)
            if found is not None:
                yield found
                return  # one move per pass: the edit changes the layout

    def _stage(self, ctx: Context, stage: Stage, runs: dict[int, RunShell]) -> Finding | None:
        body = stage.body
        workdir = "/"  # unknown base WORKDIR: treat relative destinations as "/"-based
        copies: list[int] = []  # indexes of context COPY/ADDs in the passable block
        for i, ins in enumerate(body):
            kw = ins.keyword
            if kw == "RUN":
                if copies and self._movable(ctx, ins, runs):
                    # Take the consecutive package RUNs together (`apt-get update` then
                    # `apt-get install`), so they stay next to each other.
                    group = [ins]
                    for nxt in body[i + 1:]:
                        if nxt.keyword != "RUN" or not self._movable(ctx, nxt, runs):
                            break
                        group.append(nxt)
                    if any(_installs(c.command) for g in group
                           for c in runs[g.start].script.top_level if c.command):
                        return self._move(ctx, body, copies[0], group)
                copies = []
                continue
            if kw == "WORKDIR" and ins.value:
                workdir = posixpath.normpath(posixpath.join(workdir, ins.value[0]))
            if kw not in _PASSABLE or ins.passthrough:
                copies = []
                continue
            if kw in ("COPY", "ADD"):
                if not _safe_destination(ins, workdir):
                    copies = []
                    continue
                if not any(f.lower().startswith("--from") for f in ins.flags):
                    copies.append(i)
        return None

    @staticmethod
    def _movable(ctx: Context, ins: Instruction, runs: dict[int, RunShell]) -> bool:
        run = runs.get(ins.start)
        return run is not None and not ins.passthrough and _packages_only(run) and \
            posix_shell(ctx, ins)

    def _move(self, ctx: Context, body: Sequence[Instruction], first_copy: int,
              group: list[Instruction]) -> Finding | None:
        tree, text = ctx.tree, ctx.text
        run, last = group[0], group[-1]
        if not last.text.endswith("\n") or last.open_escape is not None:
            # Last line without a newline, or a continuation left open at the end of
            # the file: the moved text would need one, or swallow what follows it.
            return None
        target = body[first_copy]
        above = tree.owned_comments(target)
        at = above[0].start if above else target.start
        comments = tree.owned_comments(run)
        start = comments[0].start if comments else run.start
        moved = text[start:last.end]
        edits = (Edit(at, at, moved), Edit(start, last.end, ""))
        where = f"`{_first_line(target)}` (line {target.start_line})"
        fix = Fix(edits, Safety.SAFE, f"Move the package install above {where}")
        return self.finding(ctx, run, "System packages are installed after "
                            f"{where}: every source change reinstalls them", fix=fix)


def _first_line(ins: Instruction) -> str:
    line = ins.text.split("\n", 1)[0].rstrip("\\ \r")
    return line if len(line) <= 60 else line[:57] + "..."


def _safe_destination(ins: Instruction, workdir: str) -> bool:
    """A COPY/ADD whose destination is certainly outside every system folder."""
    if ins.heredoc_docs and ins.keyword == "ADD":
        return False
    if len(ins.value) < 2:
        return False
    dest = ins.value[-1]
    if "$" in dest or "\\" in dest:
        return False
    full = posixpath.normpath(posixpath.join(workdir, dest))
    if full == "/" or full.startswith("//"):
        return False
    return not any(full == d or full.startswith(d + "/") for d in _SYSTEM_DIRS)


def _packages_only(run: RunShell) -> bool:
    """Every command of the RUN is a package-manager step with literal arguments."""
    steps = run.script.top_level
    if not steps:
        return False
    allowed_ops = (None, "&&", ";", "\n")
    for step in steps:
        if step.kind != "command" or step.command is None or \
                step.operator_before not in allowed_ops:
            return False
        if not _package_command(step.command):
            return False
    return True


def _values(cmd: SimpleCommand) -> list[str] | None:
    if cmd.resolved_index is None or cmd.redirects:
        return None
    words = [cmd.resolved_name, *(w.value for w in cmd.resolved_args)]
    if any(w is None for w in words):
        return None
    return [w for w in words if w is not None]


def _package_command(cmd: SimpleCommand) -> bool:
    for env in cmd.env:
        if "$" in env.text or "`" in env.text:
            return False
    words = _values(cmd)
    if words is None:
        return False
    name, args = words[0], words[1:]
    if name in ("set", "true", ":"):
        return all(a.startswith(("-", "+")) for a in args)
    if name == "export":
        return all("=" in a and _PLAIN_ARG.fullmatch(a) for a in args)
    if name == "rm":
        paths = [a for a in args if not a.startswith("-")]
        return bool(paths) and all(_cache_path(p) for p in paths)
    subs = _SUBCOMMANDS.get(name)
    if subs is None:
        return False
    operands = [a for a in args if not a.startswith("-")]
    if not operands or operands[0] not in subs:
        return False
    for a in args:
        if _FILE_OPTIONS.match(a) or (not _PLAIN_ARG.fullmatch(a.lstrip("-")) and a != "--"):
            return False
        if "/" in a or a.endswith((".deb", ".rpm", ".apk")):
            return False
    return True


def _installs(cmd: SimpleCommand) -> bool:
    words = _values(cmd) or []
    operands = [a for a in words[1:] if not a.startswith("-")]
    return words[:1] != ["rm"] and bool(operands) and operands[0] in ("install", "in", "add")


def _cache_path(path: str) -> bool:
    p = path.rstrip("*").rstrip("/")
    return any(p == d or p.startswith(d + "/") or path.startswith(d + "/")
               for d in _CACHE_DIRS)
