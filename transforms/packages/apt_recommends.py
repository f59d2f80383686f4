"""DO201: `apt-get install` without `--no-install-recommends`, and the recommended
packages the file still needs next to the flag."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.packages.apt import (
    APT_VALUE,
    apt_calls,
    below,
    editable_runs,
    insert_after,
    option_is,
    stage_of,
    word_span,
)
from dockopt.transforms.shellfix import RunShell


def _earlier_disables_recommends(ctx: Context, ins: Instruction) -> bool:
    """An earlier RUN writes ``APT::Install-Recommends "false"`` (or "0") into apt.conf."""
    # The first such RUN of the file, found once per pass (a scan per install was
    # quadratic in the number of RUNs).
    if "apt.recommends_off" not in ctx.memo:
        pattern = re.compile(r"APT::Install-Recommends[\\\s\"'=]+(false|0|no)\b",
                             re.IGNORECASE)
        ctx.memo["apt.recommends_off"] = next(
            (other.start for other in ctx.tree.instructions
             if other.keyword == "RUN" and "/etc/apt/apt.conf" in other.text
             and pattern.search(other.text)), None)
    first: int | None = ctx.memo["apt.recommends_off"]
    return first is not None and first < ins.start


class AptInstallRecommends(Transform):
    """`apt-get install` without `--no-install-recommends`.

    ## What it does
    Finds `apt-get install` / `apt install` (also behind `sudo`, `env`, a path, or
    `DEBIAN_FRONTEND=...`) that does not pass `--no-install-recommends`, and adds the
    flag right after `install`.

    ## Why
    By default apt also installs every "recommended" package, which often doubles an
    image's size with documentation, X11 libraries and tools nobody calls.

    ## Example
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install --no-install-recommends -y curl
    ```
    Nothing is reported when the command passes `-o APT::Install-Recommends=false`
    (or `=0`), or when an earlier RUN writes `APT::Install-Recommends "false"` into
    `/etc/apt/apt.conf.d`.

    Recommended packages that the file evidently uses are added to the install
    (after the last package, on a line of its own when every package has one),
    from a table read from Debian's `Recommends:` fields:

    - `ca-certificates` next to HTTPS clients (curl, wget, git, gnupg, ...);
    - `libc6-dev` next to `gcc`/`gcc-N`: installing a C compiler means compiling,
      and without the C library headers nothing compiles (g++, clang and
      build-essential depend on it already);
    - `xauth` next to `xvfb`: `xvfb-run` needs it, and may be called from a script
      the Dockerfile does not show (xauth is small);
    - `gcc` and `make` (and so `libc6-dev`) next to `cmake`, whose builds need them;
    - `build-essential` and `python3-dev` next to `python3-pip`, only when a
      `pip install` follows (later in the RUN, in a later RUN of the stage or of a
      stage built on it) or CMD/ENTRYPOINT mentions pip: any package without a
      wheel for the image's Python is compiled. Without a `pip install` in the file,
      pip is not used to build anything we can see, and they are left out.

    A package is not added when the install, an earlier install in the RUN, or an
    earlier RUN already names it or one that provides it. When every package of the
    install is pinned (`name=version`), a package to add would be the one unpinned
    package (hadolint DL3008): then the finding has no fix and says which package
    to add, pinned, by hand.

    ## Fix safety
    Unsafe: the image gets fewer packages. Software that silently relied on a
    recommended package outside the table (`gnupg`, locales, fonts) may stop working.

    ## References
    - hadolint DL3015
    - https://docs.docker.com/build/building/best-practices/#apt-get
    """

    code = "DO201"
    name = "apt-install-recommends"
    fix_title = "Add --no-install-recommends"
    upstream = ("hadolint:DL3015",)
    level = "info"
    default_safety = Safety.UNSAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            for call in apt_calls(run):
                if call.action != "install":
                    continue
                cmd = call.cmd
                if shellfix.has_flag(cmd, "--no-install-recommends", takes_value=APT_VALUE):
                    continue
                if option_is(cmd, "APT::Install-Recommends", ("false", "0", "no", "off")):
                    continue
                if _earlier_disables_recommends(ctx, run.ins):
                    continue
                edits = [insert_after(run, call.sub, " --no-install-recommends")]
                message = ("Added --no-install-recommends: apt installs only the packages "
                           "named and their hard dependencies")
                finding = (f"`{cmd.resolved_name} install` without "
                           "`--no-install-recommends` also installs recommended packages")
                needs = _companions(ctx, run, cmd, call.sub)
                fix: Fix | None = None
                packages = shellfix.operands(cmd, call.sub, APT_VALUE)
                if needs and all("=" in (w.value or "") for w in packages):
                    added = ", ".join(n for n, _, _ in needs)
                    finding += (f"; not fixed: every package is pinned, and {added} "
                                "(recommended, and needed by this file) would be added "
                                "unpinned; add it pinned with the flag yourself")
                else:
                    if needs:
                        edits.append(_package_edit(ctx, run, packages,
                                                   " ".join(n for n, _, _ in needs)))
                        message += "".join(f"; added {n}, which {by} only recommends: {why}"
                                           for n, by, why in needs)
                    fix = Fix(tuple(edits), Safety.UNSAFE, message)
                yield self.finding(ctx, run.ins, finding, fix=fix,
                                   span=word_span(call.sub, run))


# Packages whose TLS use depends on ca-certificates, which they only *recommend*:
# with --no-install-recommends, `curl https://...` then fails certificate checks.
_RECOMMENDS_CA = frozenset({"curl", "wget", "git", "gnupg", "gnupg2", "dirmngr",
                            "openssh-client", "python3-pip", "python3-requests", "httpie",
                            "aria2", "lftp", "subversion", "mercurial"})

# Recommends that the package's own use needs. Source: the `Recommends:` fields of
# Debian 12 "bookworm" (and 13 "trixie", identical for these), read with
# `apt-get update && apt-cache show gcc gcc-12 gcc-14 xvfb python3-pip cmake`:
#   gcc, gcc-N:  Recommends: libc6-dev | libc-dev   (no libc headers: nothing compiles)
#   xvfb:        Recommends: xauth                  (`xvfb-run` calls xauth)
#   python3-pip: Recommends: build-essential, python3-dev  (pip builds C extensions)
#   cmake:       Recommends: gcc, make              (the default generator and compiler)
# (g++, clang and build-essential *depend* on libc6-dev; they need nothing here.)
# Each entry: the package and the name patterns that already provide it.
_NEEDED_RECOMMENDS: dict[str, tuple[str, ...]] = {
    "gcc": ("libc6-dev",),
    "xvfb": ("xauth",),
    "python3-pip": ("build-essential", "python3-dev"),
    "cmake": ("gcc", "make"),
}
_PROVIDED_BY: dict[str, re.Pattern[str]] = {
    "libc6-dev": re.compile(r"libc6?-dev|build-essential|g\+\+(-[\d.]+)?|clang(-[\d.]+)?"
                            r"|libstdc\+\+-[\d.]+-dev"),
    "xauth": re.compile(r"xauth"),
    "build-essential": re.compile(r"build-essential"),
    "python3-dev": re.compile(r"python3(\.\d+)?-dev|python-dev-is-python3"),
    "gcc": re.compile(r"gcc(-[\d.]+)?|build-essential|g\+\+(-[\d.]+)?|clang(-[\d.]+)?"),
    "make": re.compile(r"make|build-essential"),
    # An earlier `update-ca-certificates` ran the package's own script.
    "ca-certificates": re.compile(r"(update-)?ca-certificates"),
}
_GCC = lazy(r"gcc(-[\d.]+)?")


def _recommends_key(name: str) -> str | None:
    if _GCC.fullmatch(name):
        return "gcc"
    return name if name in _NEEDED_RECOMMENDS else None


def _companions(ctx: Context, run: RunShell, cmd: SimpleCommand,
                sub: Word) -> list[tuple[str, str, str]]:
    """Recommended packages that must be installed next to ``--no-install-recommends``
    so the packages named keep working: (package, the one that recommends it, why).

    ca-certificates for the HTTPS clients of `_RECOMMENDS_CA`; libc6-dev for gcc;
    xauth for xvfb; gcc and make for cmake (and libc6-dev for that gcc); and
    build-essential with python3-dev for python3-pip, but only when a `pip install`
    follows in the stage (or a stage built on it) or CMD/ENTRYPOINT mentions pip.
    Nothing is added that this install or an earlier one in the RUN installs, or an
    earlier RUN names (or that a package named provides, e.g. g++ brings libc6-dev).
    """
    packages = shellfix.operands(cmd, sub, APT_VALUE)
    if not packages or any(w.value is None for w in packages):
        return []  # a variable may already name them
    names = [(w.value or "").split("=", 1)[0] for w in packages]
    wanted: list[tuple[str, str, str]] = []
    wanting = next((n for n in names if n in _RECOMMENDS_CA), None)
    if wanting is not None:
        wanted.append(("ca-certificates", wanting, "without it HTTPS downloads fail"))
    queue = list(names)
    while queue:
        name = queue.pop(0)
        key = _recommends_key(name)
        if key is None:
            continue
        if key == "python3-pip" and not _pip_used_later(ctx, run, cmd):
            continue
        for need in _NEEDED_RECOMMENDS[key]:
            if any(w[0] == need for w in wanted):
                continue
            wanted.append((need, name, _WHY[need]))
            queue.append(need)
    if not wanted:
        return []
    # Packages this RUN installs up to this install (not its other text:
    # `cmake .. && make` uses make, it does not install it; and not a later install,
    # which commands in between could not use).
    here = [(w.value or "").split("=", 1)[0] for c in apt_calls(run)
            if c.action == "install" and c.cmd.start <= cmd.start
            for w in shellfix.operands(c.cmd, c.sub, APT_VALUE)]
    out = []
    for need, by, why in wanted:
        pattern = _PROVIDED_BY[need]
        if any(pattern.fullmatch(n) for n in here + names):
            continue
        first = _first_run_naming(ctx, need)
        if first is not None and first < run.ins.start:
            continue  # an earlier RUN names it
        out.append((need, by, why))
    return out


def _first_run_naming(ctx: Context, need: str) -> int | None:
    """Where the file's first RUN naming the package ``need`` (as a whole word)
    starts: once per pass and package, where a search of every earlier RUN per
    install was quadratic in the file."""
    memo: dict[str, int | None] = ctx.memo.setdefault("apt.first_naming", {})
    if need not in memo:
        bounded = re.compile(r"(?<![\w.+-])(?:" + _PROVIDED_BY[need].pattern + r")(?![\w.+-])")
        memo[need] = next((ins.start for ins in ctx.tree.instructions
                           if ins.keyword == "RUN" and bounded.search(ins.original)), None)
    return memo[need]


_WHY = {
    "libc6-dev": "without the C library headers nothing compiles",
    "xauth": "`xvfb-run` needs it",
    "build-essential": "`pip install` of a package without a wheel compiles it",
    "python3-dev": "`pip install` of a package without a wheel needs the Python headers",
    "gcc": "cmake's builds need a compiler",
    "make": "cmake's default generator writes Makefiles",
}


def _pip_used_later(ctx: Context, run: RunShell, cmd: SimpleCommand) -> bool:
    """A ``pip install`` after ``cmd`` in its RUN, in a later RUN of the stage or of a
    stage built on it, or pip named in a CMD/ENTRYPOINT there (may install at run time)."""
    from dockopt.transforms.packages.pip import pip_install  # pip.py imports this module

    if any(c.start > cmd.start and pip_install(c) is not None for c in run.script.commands):
        return True
    stage = stage_of(ctx, run.ins)
    if stage is None:
        return True
    # Per stage, once per pass: where pip is used; per question, a bisection (a walk
    # of every later instruction per apt command was quadratic in the file).
    users = _pip_users(ctx, stage)
    if bisect.bisect_right(users, run.ins.start) < len(users):
        return True
    return below(ctx, "apt.pip_below", lambda st: bool(_pip_users(ctx, st)))[stage.index]


def _pip_users(ctx: Context, stage: Stage) -> list[int]:
    """The starts of the stage's instructions that use pip: a RUN running `pip
    install`, or pip named in a CMD/ENTRYPOINT (it may install at run time)."""
    from dockopt.transforms.packages.pip import pip_install  # pip.py imports this module

    memo: dict[int, list[int]] = ctx.memo.setdefault("apt.pip_users", {})
    if stage.index in memo:
        return memo[stage.index]
    out: list[int] = []
    for ins in stage.body:
        if ins.keyword in ("CMD", "ENTRYPOINT") and re.search(r"\bpip", ins.text):
            out.append(ins.start)
            continue
        if ins.keyword != "RUN":
            continue
        script = ctx.shell(ins)
        if script is None or ins.heredoc_docs or ins.is_json:
            if re.search(r"\bpip[\d.]*\s+install\b|-m\s*pip\b", ins.text):
                out.append(ins.start)
            continue
        if any(pip_install(c) is not None for c in script.commands):
            out.append(ins.start)
    memo[stage.index] = out
    return out


def _package_edit(ctx: Context, run: RunShell, packages: list[Word], text: str) -> Edit:
    """Insert package names after the last one, in the list's layout: on a line of
    their own (same indent) when every package already sits on its own line."""
    last = packages[-1]
    tree_text = ctx.tree.text
    starts = []
    for word in packages:
        pos = run.src.to_physical(word.start)
        line_start = tree_text.rfind("\n", 0, pos) + 1
        starts.append((line_start, tree_text[line_start:pos]))
    # Each package on a line of its own (the first may share the `install` line:
    # `install -y curl \` / `    wget`); a lone package counts when it has its line.
    own_lines = len({s for s, _ in starts}) == len(packages) and all(
        not prefix.strip() for _, prefix in (starts[1:] if len(packages) > 1 else starts))
    if not own_lines:
        return insert_after(run, last, "".join(f" {n}" for n in text.split()))
    indent = starts[-1][1]
    nl = "\r\n" if tree_text.endswith("\r\n", 0, starts[-1][0]) else "\n"
    esc = ctx.tree.escape
    return insert_after(run, last, "".join(f" {esc}{nl}{indent}{n}" for n in text.split()))


