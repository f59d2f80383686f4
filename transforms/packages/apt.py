"""apt/apt-get transforms (DO201-DO204) and the helpers the package transforms share.

Detection reads the parsed shell of each shell-form RUN (``shellfix.shell_runs``), so
``sudo``/``env`` wrappers, paths (``/usr/bin/apt-get``), ``VAR=x`` prefixes, flags in
any order and installs inside ``set -eux; ...`` chains are all seen.  Every edit is
a byte-range insertion at a logical offset mapped back to the file, so the user's
continuation layout survives.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.shellfix import RunShell

APT = ("apt-get", "apt")
# apt-get options that take a separate value (`-o X`, `-t bookworm`).
APT_VALUE = frozenset({"-o", "-c", "-t", "-a", "-P", "--option", "--config-file",
                       "--target-release", "--default-release", "--host-architecture",
                       "--build-profiles"})
# Subcommands that read the package lists left by `apt-get update`.
APT_NEEDS_LISTS = frozenset({"install", "upgrade", "dist-upgrade", "full-upgrade",
                             "build-dep", "source", "download", "reinstall", "satisfy"})
APT_LISTS = "/var/lib/apt/lists"
SYNTAX_LINE = "# syntax=docker/dockerfile:1"
_ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})


# --------------------------------------------------------------------------- shared


@dataclass(frozen=True, slots=True)
class Mount:
    """One ``RUN --mount=...`` flag."""

    type: str
    target: str


def run_mounts(ins: Instruction) -> list[Mount]:
    """The ``--mount`` flags of a RUN (BuildKit's CSV syntax; type defaults to bind)."""
    out: list[Mount] = []
    for flag in ins.flags:
        if not flag.startswith("--mount="):
            continue
        kind, target = "bind", ""
        for field in flag[len("--mount="):].split(","):
            key, _, value = field.partition("=")
            key = key.strip().lower()
            if key == "type":
                kind = value.strip().lower()
            elif key in ("target", "dst", "destination"):
                target = value.strip()
        out.append(Mount(kind, _norm(target)))
    return out


def _norm(path: str) -> str:
    path = re.sub(r"/+", "/", path)
    return path.rstrip("/") or "/"


def _within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both normalised, absolute)."""
    return path == root or root == "/" or path.startswith(root + "/")


def mount_covers(ins: Instruction, path: str) -> bool:
    """A mount of any type sits on ``path`` or on a directory above it."""
    return any(m.target and _within(path, m.target) for m in run_mounts(ins))


def mount_overlaps(ins: Instruction, path: str) -> bool:
    """A mount sits on, above or below ``path``."""
    return any(m.target and (_within(path, m.target) or _within(m.target, path))
               for m in run_mounts(ins))


def removes_path(run: RunShell, root: str) -> bool:
    """Some ``rm`` in the script deletes ``root``, its contents, or something below it.

    ``rm -rf /var/lib/apt/lists/*`` and ``rm -rf /var/lib/apt/lists`` both count for
    ``/var/lib/apt/lists``; so does ``rm -rf /var/lib/apt`` (a directory above it).
    """
    for cmd in run.script.find("rm"):
        for word in cmd.resolved_args:
            value = word.value
            if value is None or value.startswith("-") or not value.startswith("/"):
                continue
            path = _norm(value[:-2] if value.endswith("/*") else value)
            if _within(path, root) or _within(root, path):
                return True
    return False


def syntax_edit(ctx: Context) -> Edit | None:
    """Insert ``# syntax=docker/dockerfile:1`` as the first line when no directive names
    a frontend (BuildKit reads ``--mount`` only with the dockerfile:1 syntax or newer)."""
    if ctx.tree.directive("syntax") is not None:
        return None
    at = len(ctx.tree.bom)
    return Edit(at, at, SYNTAX_LINE + ctx.style.newline)


def mount_flag_edit(ins: Instruction, flags: list[str]) -> Edit | None:
    """Insert ``flags`` right after the RUN keyword, before any existing flags."""
    meaning = ins.meaning
    if meaning is None:
        return None
    pos = ins.logical.to_physical_end(meaning.keyword_span[1])
    return Edit(pos, pos, "".join(f" {f}" for f in flags))


# Facts about a whole stage (which stage holds an instruction, the stages built on
# it, the USERs, the RUNs that read the apt lists) are computed once per pass and kept
# in ctx.memo: asking them per RUN made a file with many RUNs quadratic (issue 15).


def stage_of(ctx: Context, ins: Instruction) -> Stage | None:
    index: dict[int, Stage] | None = ctx.memo.get("apt.stage_by_start")
    if index is None:
        index = {i.start: stage for stage in ctx.tree.stages for i in stage.instructions}
        ctx.memo["apt.stage_by_start"] = index
    return index.get(ins.start)


def descendants(ctx: Context, stage: Stage) -> list[Stage]:
    """``stage`` and every stage built ``FROM`` it (transitively), in file order."""
    memo: dict[int, list[Stage]] = ctx.memo.setdefault("apt.descendants", {})
    if stage.index in memo:
        return memo[stage.index]
    names = {stage.name.lower()} if stage.name else set()
    out = [stage]
    for other in ctx.tree.stages[stage.index + 1:]:
        if other.base.lower() in names:
            out.append(other)
            if other.name:
                names.add(other.name.lower())
    memo[stage.index] = out
    return out


def runs_as_root(ctx: Context, ins: Instruction) -> bool:
    """No ``USER`` switching to someone other than root before ``ins`` in its stage.

    (A stage built FROM another may inherit a USER; we only see literal values.)
    """
    stage = stage_of(ctx, ins)
    if stage is None:
        return False
    memo: dict[int, tuple[list[int], list[str]]] = ctx.memo.setdefault("apt.users", {})
    if stage.index not in memo:
        starts: list[int] = []
        users: list[str] = []
        for other in stage.body:
            if other.keyword == "USER" and other.value:
                starts.append(other.start)
                users.append(other.value[0].strip())
        memo[stage.index] = (starts, users)
    starts, users = memo[stage.index]
    i = bisect.bisect_left(starts, ins.start)  # USERs strictly before ins
    user = users[i - 1] if i > 0 else "root"
    return user in _ROOT_USERS


def wrapper_prefix(cmd: SimpleCommand) -> str | None:
    """What to put before an added cleanup so it runs with the same privileges.

    ``""`` for a plain command, ``"sudo "`` when it ran through plain ``sudo``, None
    for anything else (``sudo -u x``, ``doas``): we would guess, so we do not fix.
    """
    idx = cmd.resolved_index
    if idx is None:
        return None
    wrappers = [w.value for w in cmd.words[:idx]]
    if not wrappers:
        return ""
    if all(w is not None and (w == "env" or w.rsplit("/", 1)[-1] == "env" or "=" in w)
           for w in wrappers):
        return ""
    if wrappers and wrappers[0] is not None and wrappers[0].rsplit("/", 1)[-1] == "sudo" \
            and all(w is not None and (not w.startswith("-") or w == "-E") for w in wrappers[1:]):
        return "sudo "
    return None


def editable_runs(ctx: Context, stage: Stage | None = None) -> Iterator[RunShell]:
    """shell_runs, minus Windows files and RUNs under a non-POSIX SHELL."""
    if shellfix.windows_file(ctx):
        return
    for run in shellfix.shell_runs(ctx, stage):
        if shellfix.posix_shell(ctx, run.ins):
            yield run


def word_span(word: Word, run: RunShell) -> tuple[int, int]:
    """Absolute file span of a word, for a finding's location."""
    return run.src.to_physical(word.start), run.src.to_physical_end(word.end)


# --------------------------------------------------------------------------- apt


@dataclass(frozen=True, slots=True)
class AptCall:
    cmd: SimpleCommand
    sub: Word  # the subcommand word: install, update, ...

    @property
    def action(self) -> str:
        return self.sub.value or ""


def apt_calls(run: RunShell) -> list[AptCall]:
    out: list[AptCall] = []
    for cmd in run.script.commands:
        if cmd.resolved_name in APT:
            sub = shellfix.subcommand(cmd, APT_VALUE)
            if sub is not None and sub.value is not None:
                out.append(AptCall(cmd, sub))
    return out


def apt_options(cmd: SimpleCommand) -> list[str]:
    """Values given with ``-o``/``--option`` (``-o X``, ``-oX``, ``--option=X``)."""
    out: list[str] = []
    words = [w.value for w in cmd.resolved_args]
    for i, value in enumerate(words):
        if value is None:
            continue
        if value in ("-o", "--option") and i + 1 < len(words):
            nxt = words[i + 1]
            if nxt is not None:
                out.append(nxt)
        elif value.startswith("--option="):
            out.append(value[len("--option="):])
        elif value.startswith("-o") and len(value) > 2 and not value.startswith("--"):
            out.append(value[2:])
    return out


def _option_is(cmd: SimpleCommand, key: str, values: tuple[str, ...]) -> bool:
    for opt in apt_options(cmd):
        k, _, v = opt.partition("=")
        if k.strip().lower() == key.lower() and v.strip().strip("\"'").lower() in values:
            return True
    return False


def _insert_after(run: RunShell, word: Word, text: str) -> Edit:
    return shellfix.insert_at(run, word.end, text)


# What reads the package lists, measured on Debian 12 (apt 2.6) by running each
# command with `-o Dir::State::Lists=<empty dir> -o Dir::Cache::pkgcache=` against
# a package that is not installed: `apt-get remove/purge x` and `apt-get autoremove x`
# exit 100 ("Unable to locate package") where with lists they exit 0 ("not
# installed"); `apt-cache show/depends` exit 100, `apt-cache policy/madison/search`
# exit 0 but print nothing (a script reading a version from them changes);
# `apt-mark hold x` exits 100. Without package names, `autoremove`, `check`, `clean`
# and `apt-mark auto/manual/show*` work on dpkg's status alone.
_APT_READS = APT_NEEDS_LISTS | frozenset({
    "remove", "purge", "markauto", "unmarkauto", "changelog", "show", "list", "search",
    "policy", "depends", "rdepends", "showsrc", "showpkg", "madison"})
_APT_READS_WITH_NAMES = frozenset({"autoremove", "autopurge"})
_APT_MARK_READS = frozenset({"hold", "unhold", "install", "deinstall", "purge"})
_APTITUDE_KEEPS = frozenset({"clean", "autoclean", "forget-new"})


def lists_use(cmd: SimpleCommand) -> str | None:
    """``"update"`` when the command refreshes apt's package lists, ``"read"`` when it
    needs them (it fails or prints something else without them), else None.

    apt-get/apt/aptitude subcommands, every apt-cache query, and apt-mark on named
    packages (``hold``, ...). A package-name-taking command without names reads
    nothing; a name we cannot resolve (``$PKGS``) counts as a name.
    """
    name = cmd.resolved_name
    if name not in ("apt-get", "apt", "aptitude", "apt-cache", "apt-mark"):
        return None
    sub = shellfix.subcommand(cmd, APT_VALUE)
    if sub is None:
        return None
    action = sub.value
    if action is None:
        return "read"  # `apt-get $ACTION ...`: we cannot tell, so assume the worst
    if action == "update" and name != "apt-mark":
        return "update"
    if name == "apt-cache":
        return "read"
    named = bool(shellfix.operands(cmd, sub, APT_VALUE))
    if name == "apt-mark":
        return "read" if action in _APT_MARK_READS and named else None
    if name == "aptitude":
        return None if action in _APTITUDE_KEEPS else "read"
    if action in ("remove", "purge", "markauto", "unmarkauto"):
        return "read" if named else None
    if action in _APT_READS or (action in _APT_READS_WITH_NAMES and named):
        return "read"
    return None


_APT_TEXT = re.compile(r"\bapt(-get|-cache|-mark|itude)?\b")


def later_runs_need_lists(ctx: Context, run: RunShell) -> bool:
    """Whether a later RUN (this stage or one built FROM it) reads the apt lists
    without refreshing them first (see :func:`lists_use`: installs, but also
    `apt-get purge` of a package that may not be installed, `apt-cache policy`...):
    removing or caching away the lists here would make it fail ("Unable to locate
    package") or print nothing."""
    stage = stage_of(ctx, run.ins)
    if stage is None:
        return True
    starts, suffix = _list_readers(ctx, stage)
    i = bisect.bisect_right(starts, run.ins.start)
    if i < len(starts) and suffix[i]:
        return True
    for st in descendants(ctx, stage)[1:]:
        _, st_suffix = _list_readers(ctx, st)
        if st_suffix and st_suffix[0]:
            return True
    return False


def _reads_lists(ctx: Context, ins: Instruction) -> bool:
    """Whether this RUN reads the apt lists before it refreshes them."""
    if ins.heredoc_docs or ins.is_json:
        return _APT_TEXT.search(ins.text) is not None
    script = ctx.shell(ins)
    if script is None:
        return False
    for cmd in script.commands:
        use = lists_use(cmd)
        if use == "update":
            return False
        if use == "read":
            return True
    return False


def _list_readers(ctx: Context, stage: Stage) -> tuple[list[int], list[bool]]:
    """The stage's RUNs (their starts, in order) and, for each, whether it or a later
    RUN of the stage reads the apt lists first: computed once per stage and pass."""
    memo: dict[int, tuple[list[int], list[bool]]] = ctx.memo.setdefault("apt.readers", {})
    if stage.index not in memo:
        runs = [ins for ins in stage.body if ins.keyword == "RUN"]
        suffix = [False] * len(runs)
        later = False
        for k in range(len(runs) - 1, -1, -1):
            later = later or _reads_lists(ctx, runs[k])
            suffix[k] = later
        memo[stage.index] = ([ins.start for ins in runs], suffix)
    return memo[stage.index]


def _refresh_later_readers(ctx: Context, run: RunShell) -> list[Edit] | None:
    """Edits putting `apt-get update && ` before the first later command that reads
    the lists without refreshing them, in each later RUN (this stage and stages
    built on it).

    Under `set -e`, a command left of `&&` does not stop the script when it fails:
    there the update is joined with `;` when the reader starts its own list
    (`set -e; apt-get update; apt-get purge ...`), so a failed update still stops
    the build. None when one of them cannot take the prefix without changing what
    runs: it is not editable, or it is nested (in `if`, a subshell...), joined by
    `||`/`|` (`a || update && install` would group differently), joined by `&&`
    under `set -e` with more commands after its list, or run under a wrapper other
    than plain `sudo`.
    """
    stage = stage_of(ctx, run.ins)
    if stage is None:
        return None
    edits: list[Edit] = []
    for st in descendants(ctx, stage):
        editable = {r.ins.start: r for r in shellfix.shell_runs(ctx, st)}
        for ins in st.body:
            if ins.start <= run.ins.start or ins.keyword != "RUN":
                continue
            later = editable.get(ins.start)
            if later is None:
                # Not editable (heredoc, JSON, shell errors): if it may run apt, we
                # cannot make it refresh the lists, so the lists must stay.
                if _APT_TEXT.search(ins.text):
                    return None
                continue
            for cmd in later.script.commands:
                use = lists_use(cmd)
                if use == "update":
                    break
                if use != "read":
                    continue
                edit = _refresh_edit(ctx, later, cmd)
                if edit is None:
                    return None
                edits.append(edit)
                break
    return edits or None


def _refresh_edit(ctx: Context, run: RunShell, cmd: SimpleCommand) -> Edit | None:
    prefix = wrapper_prefix(cmd)
    steps = run.script.top_level
    index = next((i for i, x in enumerate(steps) if x.command is cmd), None)
    if prefix is None or index is None:
        return None
    op = steps[index].operator_before
    if op not in (None, "&&", ";", "\n"):
        return None
    joiner = "&&"
    if shellfix.errexit_before(ctx, run, cmd.start):
        if op == "&&":
            if any(x.operator_before in (";", "\n", "&") for x in steps[index + 1:]):
                return None
        else:
            joiner = ";"
    text = f"{prefix}apt-get update && " if joiner == "&&" else f"{prefix}apt-get update; "
    return shellfix.insert_at(run, cmd.start, text, before_seam=False)


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
                if _option_is(cmd, "APT::Install-Recommends", ("false", "0", "no", "off")):
                    continue
                if _earlier_disables_recommends(ctx, run.ins):
                    continue
                edits = [_insert_after(run, call.sub, " --no-install-recommends")]
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
_GCC = re.compile(r"gcc(-[\d.]+)?")


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
    earlier = [other.original for other in ctx.tree.instructions
               if other.start < run.ins.start and other.keyword == "RUN"]
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
        bounded = re.compile(r"(?<![\w.+-])(?:" + pattern.pattern + r")(?![\w.+-])")
        if any(bounded.search(text) for text in earlier):
            continue
        out.append((need, by, why))
    return out


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
    for st in descendants(ctx, stage):
        for ins in st.body:
            if ins.start <= run.ins.start:
                continue
            if ins.keyword in ("CMD", "ENTRYPOINT") and re.search(r"\bpip", ins.text):
                return True
            if ins.keyword != "RUN":
                continue
            script = ctx.shell(ins)
            if script is None or ins.heredoc_docs or ins.is_json:
                if re.search(r"\bpip[\d.]*\s+install\b|-m\s*pip\b", ins.text):
                    return True
                continue
            if any(pip_install(c) is not None for c in script.commands):
                return True
    return False


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
        return _insert_after(run, last, "".join(f" {n}" for n in text.split()))
    indent = starts[-1][1]
    nl = "\r\n" if tree_text[:starts[-1][0]].endswith("\r\n") else "\n"
    esc = ctx.tree.escape
    return _insert_after(run, last, "".join(f" {esc}{nl}{indent}{n}" for n in text.split()))


def _assumes_yes(run: RunShell, cmd: SimpleCommand) -> bool:
    if shellfix.has_flag(cmd, "-y", "--yes", "--assume-yes", short="y", takes_value=APT_VALUE):
        return True
    quiet = 0
    for word in cmd.resolved_args:
        value = word.value or ""
        if re.fullmatch(r"-[A-Za-z]+", value):
            quiet += value.count("q")
        elif value in ("--quiet", "--silent"):
            quiet += 1
        elif re.fullmatch(r"(-q|--quiet)=\d+", value):
            quiet += int(value.split("=", 1)[1])
    if quiet >= 2:  # -qq implies -y (apt-get(8))
        return True
    if _option_is(cmd, "APT::Get::Assume-Yes", ("true", "1", "yes", "on")):
        return True
    # `yes | apt-get install x`
    steps = run.script.top_level
    for i, step in enumerate(steps):
        if step.command is cmd and i > 0 and step.operator_before in ("|", "|&"):
            prev = steps[i - 1].command
            if prev is not None and prev.resolved_name == "yes":
                return True
    return False


class AptMissingYes(Transform):
    """`apt-get install` that would stop at the "Do you want to continue?" prompt.

    ## What it does
    Adds `-y` after `install` when the command passes none of `-y`, `--yes`,
    `--assume-yes`, a combined short option holding `y` (`-qy`), `-qq` (which implies
    `-y`) or `-o APT::Get::Assume-Yes=true`, and is not fed by `yes |`.

    ## Why
    A build has no terminal: when apt needs to confirm (any extra dependency), it reads
    end-of-file and aborts, and the build fails.

    ## Example
    ```dockerfile
    RUN apt-get update && apt-get install curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```

    ## Fix safety
    Safe: where apt would have asked, the build failed; where it would not have asked,
    `-y` changes nothing. (hadolint also accepts a single `-q`; we add `-y` there,
    because `-q` alone does not answer the prompt.)

    ## References
    - hadolint DL3014
    - apt-get(8), options `-y` and `-q`
    """

    code = "DO203"
    name = "apt-missing-yes"
    fix_title = "Add -y"
    upstream = ("hadolint:DL3014",)
    level = "warning"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            for call in apt_calls(run):
                if call.action != "install" or _assumes_yes(run, call.cmd):
                    continue
                fix = Fix((_insert_after(run, call.sub, " -y"),), Safety.SAFE,
                          "Added -y so apt does not wait for an answer no one can give")
                yield self.finding(ctx, run.ins, f"`{call.cmd.resolved_name} install` "
                                   "without `-y` aborts when it needs confirmation",
                                   fix=fix, span=word_span(call.sub, run))


_UPDATE_FLAGS = frozenset({"-q", "-qq", "-y", "-qy", "-yq", "-qqy", "-yqq", "--quiet",
                           "--yes", "--assume-yes"})


def _update_only(run: RunShell) -> SimpleCommand | None:
    """The RUN's only command, when it is `apt-get update` with harmless flags."""
    script = run.script
    if len(script.top_level) != 1 or script.trailing_comment_start is not None \
            or script.trailing_operator is not None:
        return None
    cmd = script.top_level[0].command
    if cmd is None or cmd.resolved_name not in APT or cmd.redirects:
        return None
    args = [w.value for w in cmd.resolved_args]
    if "update" not in args or any(a != "update" and a not in _UPDATE_FLAGS for a in args):
        return None
    return cmd


class AptUpdateSeparate(Transform):
    """`apt-get update` in its own RUN, before the RUN that installs.

    ## What it does
    When a RUN does nothing but `apt-get update` and the next instruction (only
    comments or blank lines between) is a RUN with the same flags that runs
    `apt-get install`, the update RUN is removed and its command is put in front of
    the install: `apt-get update && apt-get install ...`, in the file's `&& \\` layout.
    Comments above the update RUN stay where they are.

    ## Why
    Docker caches each layer. When the package list changes later, the cached
    `RUN apt-get update` layer is reused and the install asks for versions that the
    mirrors no longer have ("404 Not Found"), or installs stale packages.

    ## Example
    ```dockerfile
    RUN apt-get update
    RUN apt-get install -y curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```

    ## Fix safety
    Safe when the install RUN's top level is a plain `&&`/`|` chain: then prefixing
    `apt-get update && ` runs exactly what ran before, in one layer. Otherwise (a
    `set -e; ...` script, `;` or `||` lists) the finding is reported without a fix.

    ## References
    - hadolint DL3009 (related), Docker best practices "apt-get"
    - https://docs.docker.com/build/building/best-practices/#apt-get
    """

    code = "DO202"
    name = "apt-update-separate"
    fix_title = "Merge apt-get update into the install RUN"
    upstream = ()
    level = "warning"
    default_safety = Safety.SAFE
    semantic_scope = "merge"

    def check(self, ctx: Context) -> Iterator[Finding]:
        runs = {r.ins.start: r for r in editable_runs(ctx)}
        items = ctx.tree.items
        for i, item in enumerate(items):
            if not isinstance(item, Instruction) or item.start not in runs:
                continue
            first = runs[item.start]
            update = _update_only(first)
            if update is None:
                continue
            nxt = next((it for it in items[i + 1:] if isinstance(it, Instruction)), None)
            if nxt is None or nxt.start not in runs:
                continue
            second = runs[nxt.start]
            if nxt.flags != item.flags:
                continue
            actions = [c.action for c in apt_calls(second)]
            if "install" not in actions or ("update" in actions
                                            and actions.index("update") < actions.index("install")):
                continue
            fix = None
            if shellfix.simple_chain(second.script):
                fix = self._merge(ctx, first, second)
            yield self.finding(ctx, item, "`apt-get update` in its own RUN: a cached layer "
                               "keeps a stale package index for the install in line "
                               f"{nxt.start_line}", fix=fix)

    def _merge(self, ctx: Context, first: RunShell, second: RunShell) -> Fix | None:
        command = first.src.text[first.script.top_level[0].start:
                                 first.script.top_level[0].end].strip()
        if not command or "\n" in command:
            return None
        nl = ctx.style.newline
        if shellfix.multiline(second.ins):
            indent, position = shellfix.line_layout(ctx, second.ins)
            esc = ctx.tree.escape
            if position == "leading":
                prefix = f"{command} {esc}{nl}{indent}&& "
            else:
                prefix = f"{command} && {esc}{nl}{indent}"
        else:
            prefix = f"{command} && "
        start = second.src.to_physical(0)
        return Fix((Edit(first.ins.start, first.ins.end, ""), Edit(start, start, prefix)),
                   Safety.SAFE, "Moved `apt-get update` into the RUN that installs, so the "
                   "package index is never older than the install")


# --------------------------------------------------------------------------- lists

APT_MOUNTS = ["--mount=type=cache,target=/var/cache/apt,sharing=locked",
              "--mount=type=cache,target=/var/lib/apt,sharing=locked"]
DOCKER_CLEAN = "rm -f /etc/apt/apt.conf.d/docker-clean; "


def reported_stage(ctx: Context, ins: Instruction) -> bool:
    """hadolint DL3009 reports only the final stage and stages another FROM builds on."""
    stage = stage_of(ctx, ins)
    stages = ctx.tree.stages
    if stage is None or stage.index == len(stages) - 1:
        return True
    bases: set[str] | None = ctx.memo.get("apt.bases")
    if bases is None:  # once per pass: per RUN it made many-stage files quadratic
        bases = {s.base.lower() for s in stages}
        ctx.memo["apt.bases"] = bases
    return bool(stage.name) and (stage.name or "").lower() in bases


def _apt_cleanup(run: RunShell) -> bool:
    """The RUN already empties apt's lists or caches (a cleanup a mount must not meet)."""
    if removes_path(run, APT_LISTS) or removes_path(run, "/var/cache/apt"):
        return True
    return any(c.action in ("clean", "autoclean") for c in apt_calls(run))


def apt_mount_blocker(ctx: Context, run: RunShell, update: SimpleCommand) -> str | None:
    """Why the apt cache mounts cannot go on this RUN, or None."""
    ins = run.ins
    if mount_overlaps(ins, "/var/cache/apt") or mount_overlaps(ins, "/var/lib/apt"):
        return "a mount already sits on apt's directories"
    if _apt_cleanup(run):
        return "the RUN cleans apt's directories, which a cache mount would keep"
    if wrapper_prefix(update) != "" or not runs_as_root(ctx, ins):
        return "apt does not run as root directly"
    if later_runs_need_lists(ctx, run):
        return "a later RUN installs without `apt-get update` and needs the lists"
    return None


# Commands that cannot install packages: after the last `apt-get update`, a RUN
# running only these (and apt commands that read no lists) installs nothing.
_NO_INSTALL = frozenset({"echo", "printf", "true", ":", "rm", "mkdir", "ln", "touch",
                         "chmod", "chown", "cat", "tee", "sed", "ls", "set", "export",
                         "apt-key", "gpg", "cp", "mv", "sleep", "exit"})


def _only_refreshes(run: RunShell) -> bool:
    """The RUN's only apt work is refreshing the lists: nothing after its first
    `apt-get update` reads them, and everything after it is an apt command or one
    of `_NO_INSTALL` (an unknown script might install)."""
    seen = False
    for cmd in run.script.commands:
        use = lists_use(cmd)
        if use == "update":
            seen = True
            continue
        if not seen:
            continue
        if use == "read":
            return False
        if use is None and cmd.resolved_name not in (*APT, "apt-mark", "apt-cache", "aptitude") \
                and cmd.resolved_name not in _NO_INSTALL:
            return False
    return seen


class AptListsNotCleaned(Transform):
    """`apt-get update` leaves the package lists in the layer.

    ## What it does
    A RUN that runs `apt-get update` and does not remove `/var/lib/apt/lists`
    afterwards gets `&& rm -rf /var/lib/apt/lists/*` appended, in the file's `&& \\`
    layout. As in hadolint, only the final stage and stages that another `FROM`
    builds on are reported; nothing is reported when a cache mount covers the lists.

    With `cache = "mount"` the RUN instead gets BuildKit cache mounts,
    `--mount=type=cache,target=/var/cache/apt,sharing=locked
    --mount=type=cache,target=/var/lib/apt,sharing=locked`, right after `RUN`; its
    command is prefixed with `rm -f /etc/apt/apt.conf.d/docker-clean; `, and
    `# syntax=docker/dockerfile:1` becomes the first line when no syntax directive
    exists. The hook is removed with `;`, not `&&`: `rm -f` of a missing file
    succeeds, and `;` runs the original script exactly as before whatever its
    operators (`set -e; ...`, `a || b`), so the prefix is correct whether or not
    the hook exists and whichever RUN comes first. Mounts are added only when every
    later apt RUN of the stage can get them too, so no RUN without the cache leaves
    `.deb` files behind once the hook is gone.

    ## Why
    The lists weigh tens of megabytes and are stale the moment the layer is built.

    ## Example
    ```dockerfile
    RUN apt-get update && apt-get install -y curl
    ```
    becomes
    ```dockerfile
    RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
    ```

    When the RUN ends in `exit` or `exec PROGRAM`, the cleanup goes right before it
    (after it, it would never run): `...; exit 0` becomes
    `...; rm -rf /var/lib/apt/lists/*; exit 0`.

    A RUN whose only apt work is `apt-get update` (nothing after it installs or
    reads the lists, e.g. a lone `RUN apt-get update`) is reported without a fix:
    removing the lists it just downloaded would leave a layer that does nothing.

    ## Fix safety
    The cleanup is safe when no later RUN of the stage (or of a stage built on it)
    reads the lists without its own `apt-get update`. Reading them is not only
    installing: `apt-get remove`/`purge` or `autoremove` of named packages fails
    without the lists when a package is not installed ("Unable to locate package"),
    `apt-cache show`/`depends` fail and `apt-cache policy`/`madison`/`search` print
    nothing, `apt-mark hold` of a package fails. When such a RUN exists, the fix
    also puts `apt-get update && ` before its first such command; that fix is unsafe,
    since the later RUN then reads fresh lists and may get newer versions. Under
    `set -e` (a `set -e`/`-o errexit` earlier in the script or `-e` in SHELL) the
    update is joined with `;` instead when the command starts its own list
    (`set -e; apt-get update; apt-get purge ...`): a command left of `&&` does not
    stop a `set -e` script when it fails. Either way the RUN must end in
    no comment or `;`/`&`, and apt must run as root (or through plain `sudo`, which
    the cleanup then uses too). Mounts are unsafe: they need BuildKit. No cleanup is
    added on a mounted path, and no mount next to a cleanup.

    ## References
    - hadolint DL3009
    - https://docs.docker.com/build/cache/optimize/#use-cache-mounts
    """

    code = "DO204"
    name = "apt-lists-not-cleaned"
    fix_title = "Remove the apt lists in the same RUN"
    upstream = ("hadolint:DL3009",)
    level = "info"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            ins = run.ins
            updates = [c for c in apt_calls(run) if c.action == "update"]
            if not updates or removes_path(run, APT_LISTS):
                continue
            if mount_covers(ins, APT_LISTS) or not reported_stage(ctx, ins):
                continue
            update = updates[0].cmd
            message = "`apt-get update` leaves /var/lib/apt/lists in the layer"
            if _only_refreshes(run):
                yield self.finding(ctx, ins, message + ": this RUN installs nothing, so "
                                   "removing the lists here would leave a layer that does "
                                   "nothing (and break later RUNs that read them); move "
                                   "the update into the RUN that installs (DO202)")
                continue
            if ctx.settings.cache == "mount":
                fix = self._mount_fix(ctx, run, update)
                if fix is not None:
                    yield self.finding(ctx, ins, message, fix=fix)
                    continue
            yield self.finding(ctx, ins, message, fix=self._clean_fix(ctx, run, update))

    def _clean_fix(self, ctx: Context, run: RunShell, update: SimpleCommand) -> Fix | None:
        prefix = wrapper_prefix(update)
        if prefix is None or (prefix == "" and not runs_as_root(ctx, run.ins)):
            return None
        if mount_overlaps(run.ins, APT_LISTS):
            return None
        edit = shellfix.append_commands(ctx, run, [f"{prefix}rm -rf /var/lib/apt/lists/*"])
        if edit is None:
            return None
        if not later_runs_need_lists(ctx, run):
            return Fix((edit,), Safety.SAFE, "Removed the apt lists at the end of the RUN "
                       "that downloads them, so they never reach a layer")
        refresh = _refresh_later_readers(ctx, run)
        if refresh is None:
            return None
        return Fix((edit, *refresh), Safety.UNSAFE,
                   "Removed the apt lists at the end of the RUN that downloads them, and "
                   f"added `apt-get update` before {len(refresh)} later install(s) that "
                   "relied on those lists. Unsafe: the later installs now read fresh lists, "
                   "so they may get newer package versions")

    def _mount_fix(self, ctx: Context, run: RunShell, update: SimpleCommand) -> Fix | None:
        if apt_mount_blocker(ctx, run, update) is not None:
            return None
        stage = stage_of(ctx, run.ins)
        if stage is None:
            return None
        # The hook goes for good: every later apt RUN must be able to get the mounts.
        for st in descendants(ctx, stage):
            for later in editable_runs(ctx, st):
                if later.ins.start <= run.ins.start:
                    continue
                calls = apt_calls(later)
                if not any(c.action in APT_NEEDS_LISTS for c in calls):
                    continue
                if mount_covers(later.ins, "/var/cache/apt"):
                    continue
                ups = [c.cmd for c in calls if c.action == "update"]
                if not ups or apt_mount_blocker(ctx, later, ups[0]) is not None:
                    return None
        flags = mount_flag_edit(run.ins, APT_MOUNTS)
        if flags is None:
            return None
        edits = [flags, Edit(run.src.to_physical(0), run.src.to_physical(0), DOCKER_CLEAN)]
        directive = syntax_edit(ctx)
        if directive is not None:
            edits.insert(0, directive)
        return Fix(tuple(edits), Safety.UNSAFE, "Cached apt's downloads and lists in "
                   "BuildKit cache mounts instead of the layer (needs BuildKit)")
