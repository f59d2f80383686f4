"""apk, yum/dnf/zypper and pip transforms (DO205-DO209), and the unpinned-package
findings (DO503-DO505).  Shared helpers live in ``transforms/packages/apt.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.rewriter.syntax import Instruction
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Finding, Fix, Safety, Transform
from dockopt.transforms.packages.apt import (
    APT_VALUE,
    apt_calls,
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

APK_VALUE = frozenset({"-t", "--virtual", "-X", "--repository", "-p", "--root",
                       "--cache-dir", "--keys-dir", "--repositories-file", "--arch"})


def _apk_adds(run: RunShell) -> Iterator[tuple[SimpleCommand, Word]]:
    for cmd in run.script.find("apk"):
        sub = shellfix.subcommand(cmd, APK_VALUE)
        if sub is not None and sub.value == "add":
            yield cmd, sub


class ApkCache(Transform):
    """`apk add` without `--no-cache` keeps the package index in the layer.

    ## What it does
    Inserts `--no-cache` right after `add` in `apk add` (also behind `sudo`/`env`).
    Nothing is reported when a mount sits on `/var/cache/apk` or `/etc/apk/cache`.

    ## Why
    Without `--no-cache`, `apk add` after `apk update` leaves the index under
    `/var/cache/apk` in the image. `--no-cache` fetches a fresh index and keeps nothing.

    ## Example
    ```dockerfile
    RUN apk add curl
    ```
    becomes
    ```dockerfile
    RUN apk add --no-cache curl
    ```
    With `cache = "mount"` this rule still adds `--no-cache`: apk caches packages only
    when `/etc/apk/cache` is a link to a cache directory, and creating that link would
    outlive the RUN and make later `apk add`s without the mount fill the image.

    ## Fix safety
    Safe: the same packages are installed from a freshly fetched index. Not offered
    with `--no-network` (then apk needs the local index).

    ## References
    - hadolint DL3019
    - https://wiki.alpinelinux.org/wiki/Local_APK_cache
    """

    code = "DO205"
    name = "apk-cache"
    fix_title = "Add --no-cache"
    upstream = ("hadolint:DL3019",)
    level = "info"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            if mount_overlaps(run.ins, "/var/cache/apk") or \
                    mount_overlaps(run.ins, "/etc/apk/cache"):
                continue
            for cmd, sub in _apk_adds(run):
                if shellfix.has_flag(cmd, "--no-cache", takes_value=APK_VALUE):
                    continue
                fix = None
                if not shellfix.has_flag(cmd, "--no-network", takes_value=APK_VALUE):
                    fix = Fix((shellfix.insert_at(run, sub.end, " --no-cache"),), Safety.SAFE,
                              "Added --no-cache: apk fetches the index and keeps no copy")
                yield self.finding(ctx, run.ins, "`apk add` without `--no-cache` leaves "
                                   "the package index in the layer", fix=fix,
                                   span=word_span(sub, run))


# --------------------------------------------------------------------------- rpm family

_RPM_VALUE = frozenset({"-c", "--config", "--installroot", "--releasever", "-R",
                        "--randomwait", "-d", "--debuglevel", "-e", "--errorlevel",
                        "--enablerepo", "--disablerepo", "-x", "--exclude", "--setopt",
                        "--repo", "--repoid", "--forcearch", "--downloaddir", "--destdir"})
_ZYPPER_VALUE = frozenset({"--root", "-R", "--reposd-path", "-D", "--cache-dir", "-C",
                           "--config", "-c", "--raw-cache-dir", "--solv-cache-dir",
                           "--pkg-cache-dir", "--userdata"})
_ROOTED = ("--installroot", "--root", "-R", "--cache-dir", "-C", "--pkg-cache-dir",
           "--raw-cache-dir", "--setopt", "--destdir", "--downloaddir")


class _PackageClean(Transform):
    """Shared logic: an install without the manager's clean command after it."""

    programs: ClassVar[tuple[str, ...]]
    installs: ClassVar[frozenset[str]]
    cleans: ClassVar[frozenset[str]]
    clean_all: ClassVar[bool] = True  # `yum clean all` vs `zypper clean`
    cache_dirs: ClassVar[tuple[str, ...]]
    takes_value: ClassVar[frozenset[str]] = _RPM_VALUE
    level = "warning"
    default_safety = Safety.SAFE
    semantic_scope = "run"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            if any(mount_covers(run.ins, d) for d in self.cache_dirs):
                continue  # the cache never reaches the layer
            last_install: tuple[int, SimpleCommand, Word] | None = None
            last_clean = -1
            for i, cmd in enumerate(run.script.commands):
                if cmd.resolved_name not in self.programs:
                    continue
                sub = shellfix.subcommand(cmd, self.takes_value)
                if sub is None or sub.value is None:
                    continue
                if sub.value in self.installs:
                    last_install = (i, cmd, sub)
                elif sub.value in self.cleans and (not self.clean_all or any(
                        w.value == "all" for w in cmd.resolved_args)):
                    last_clean = i
            if last_install is None:
                continue
            index, cmd, sub = last_install
            if last_clean > index or any(removes_path(run, d) for d in self.cache_dirs):
                continue
            program = cmd.resolved_name or self.programs[0]
            clean = f"{program} clean all" if self.clean_all else f"{program} clean"
            yield self.finding(ctx, run.ins, f"`{program} {sub.value}` without `{clean}` "
                               "keeps the package cache in the layer",
                               fix=self._fix(ctx, run, cmd, clean),
                               span=word_span(sub, run))

    def _fix(self, ctx: Context, run: RunShell, cmd: SimpleCommand, clean: str) -> Fix | None:
        prefix = wrapper_prefix(cmd)
        if prefix is None or (prefix == "" and not runs_as_root(ctx, run.ins)):
            return None
        if any(mount_overlaps(run.ins, d) for d in self.cache_dirs):
            return None
        if any(w.value is None or w.value.split("=", 1)[0] in _ROOTED
               for w in cmd.resolved_args if (w.value or "-").startswith("-")):
            return None  # another root or cache dir: a plain clean would miss it
        edit = shellfix.append_commands(ctx, run, [prefix + clean])
        if edit is None:
            return None
        return Fix((edit,), Safety.SAFE, f"Appended `{clean}` so the downloaded metadata "
                   "and packages do not stay in the layer")


class YumClean(_PackageClean):
    """`yum install` without `yum clean all` in the same RUN.

    ## What it does
    Appends `&& yum clean all` to a RUN whose last `yum install` is not followed by
    `yum clean all` (an `rm -rf /var/cache/yum` counts too). Nothing is reported when
    a mount covers `/var/cache/yum`.

    ## Why
    yum keeps repository metadata and packages under `/var/cache/yum`: often 100 MB+.

    ## Example
    ```dockerfile
    RUN yum install -y httpd
    ```
    becomes
    ```dockerfile
    RUN yum install -y httpd && yum clean all
    ```

    ## Fix safety
    Safe: only caches are removed; a later `yum install` fetches them again. Not
    offered when the RUN ends in a comment or `;`, runs under a non-root USER or a
    wrapper other than plain `sudo`, or uses `--installroot`/`--setopt`.

    ## References
    - hadolint DL3032
    """

    code = "DO206"
    name = "yum-clean"
    fix_title = "Append yum clean all"
    upstream = ("hadolint:DL3032",)
    programs = ("yum",)
    installs = frozenset({"install", "groupinstall", "localinstall", "reinstall",
                          "update", "upgrade"})
    cleans = frozenset({"clean"})
    cache_dirs = ("/var/cache/yum",)


class DnfClean(_PackageClean):
    """`dnf install` (or `microdnf install`) without `dnf clean all` in the same RUN.

    ## What it does
    Appends `&& dnf clean all` (`microdnf clean all` for microdnf) when the RUN's last
    install is not followed by a clean. `rm -rf /var/cache/dnf` or `/var/cache/yum`
    counts as a clean; a mount on those paths silences the rule.

    ## Why
    dnf keeps repository metadata under `/var/cache/dnf`, often 100 MB+.

    ## Example
    ```dockerfile
    RUN dnf install -y httpd
    ```
    becomes
    ```dockerfile
    RUN dnf install -y httpd && dnf clean all
    ```

    ## Fix safety
    Safe: only caches are removed. Same limits as `yum-clean`.

    ## References
    - hadolint DL3040
    """

    code = "DO207"
    name = "dnf-clean"
    fix_title = "Append dnf clean all"
    upstream = ("hadolint:DL3040",)
    programs = ("dnf", "microdnf", "dnf5")
    installs = frozenset({"install", "groupinstall", "reinstall", "update", "upgrade"})
    cleans = frozenset({"clean"})
    cache_dirs = ("/var/cache/dnf", "/var/cache/yum", "/var/cache/libdnf5")


class ZypperClean(_PackageClean):
    """`zypper install` without `zypper clean` in the same RUN.

    ## What it does
    Appends `&& zypper clean` (hadolint also accepts `zypper cc`) when the RUN's last
    `zypper install`/`in` is not followed by a clean. A mount on `/var/cache/zypp`
    silences the rule.

    ## Why
    zypper keeps metadata and packages under `/var/cache/zypp`.

    ## Example
    ```dockerfile
    RUN zypper install -y curl
    ```
    becomes
    ```dockerfile
    RUN zypper install -y curl && zypper clean
    ```

    ## Fix safety
    Safe: only caches are removed. Not offered with `--root` or another cache dir.

    ## References
    - hadolint DL3036
    """

    code = "DO208"
    name = "zypper-clean"
    fix_title = "Append zypper clean"
    upstream = ("hadolint:DL3036",)
    programs = ("zypper",)
    installs = frozenset({"install", "in", "update", "up", "dist-upgrade", "dup", "patch"})
    cleans = frozenset({"clean", "cc"})
    clean_all = False
    cache_dirs = ("/var/cache/zypp",)
    takes_value = _ZYPPER_VALUE


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
    scope = list(ctx.tree.global_args) + (list(stage.body) if stage is not None else [])
    pattern = re.compile(r"(?<![\w])(" + "|".join(names) + r")\s*=?")
    for other in scope:
        if other.start >= ins.start:
            break
        if other.keyword in ("ENV", "ARG") and pattern.search(other.text):
            return True
    return False


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
            if mount_covers(ins, PIP_CACHE) or "PIP_NO_CACHE_DIR" in run.src.text:
                continue
            if _pip_env_set(ctx, ins, ("PIP_NO_CACHE_DIR",)):
                continue
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


# --------------------------------------------------------------------------- findings


def _names(words: list[str]) -> str:
    shown = ", ".join(f"`{w}`" for w in words[:5])
    return shown + (f" and {len(words) - 5} more" if len(words) > 5 else "")


class AptUnpinned(Transform):
    """`apt-get install` of packages without a version.

    ## What it does
    Reports packages in `apt-get install`/`apt install` written without `=version`
    (a path or a `.deb` file counts as pinned, as in hadolint).

    ## Why
    Unpinned packages make rebuilds install whatever is current: builds are not
    reproducible and may break without a change to the Dockerfile.

    ## Example
    `RUN apt-get install -y curl` → `RUN apt-get install -y curl=7.88.1-10+deb12u5`

    ## Fix safety
    No automatic fix: only the user knows which version to pin.

    ## References
    - hadolint DL3008
    """

    code = "DO503"
    name = "apt-unpinned"
    upstream = ("hadolint:DL3008",)
    level = "warning"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            for call in apt_calls(run):
                if call.action != "install":
                    continue
                names = [w.value for w in shellfix.operands(call.cmd, call.sub, APT_VALUE)
                         if w.value is not None and "=" not in w.value
                         and "/" not in w.value and not w.value.endswith(".deb")]
                if names:
                    yield self.finding(ctx, run.ins, f"Pin versions in apt install: "
                                       f"{_names(names)} (`name=version`)",
                                       span=word_span(call.sub, run))


class ApkUnpinned(Transform):
    """`apk add` of packages without a version.

    ## What it does
    Reports packages in `apk add` written without `=version` or `~version` (`.apk`
    files count as pinned; the values of `--virtual`/`-t` and `--repository`/`-X` are
    not packages).

    ## Why
    Unpinned packages make rebuilds non-reproducible.

    ## Example
    `RUN apk add --no-cache curl` → `RUN apk add --no-cache curl=8.5.0-r0`

    ## Fix safety
    No automatic fix.

    ## References
    - hadolint DL3018
    """

    code = "DO504"
    name = "apk-unpinned"
    upstream = ("hadolint:DL3018",)
    level = "warning"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            for cmd, sub in _apk_adds(run):
                names = [w.value for w in shellfix.operands(cmd, sub, APK_VALUE)
                         if w.value is not None and "=" not in w.value and "~" not in w.value
                         and not w.value.endswith(".apk")]
                if names:
                    yield self.finding(ctx, run.ins, f"Pin versions in apk add: "
                                       f"{_names(names)} (`name=version`)",
                                       span=word_span(sub, run))


_VCS = re.compile(r"^(git|hg|svn|bzr)(\+[a-z-]+)?(:|$)")
_VERSION_OPS = ("==", ">=", "<=", ">", "<", "!=", "~=", "===")


def _pip_pinned(pkg: str) -> bool:
    if any(op in pkg for op in _VERSION_OPS):
        return True
    if _VCS.match(pkg):
        return "@" in pkg
    return pkg.endswith((".whl", ".tar.gz")) or "/" in pkg or pkg.startswith(".")


def _from_file(value: str) -> bool:
    """``-r``/``--requirement``, ``-c``/``--constraint`` (any spelling) or ``.``."""
    if value in (".", "-r", "-c", "--requirement", "--constraint"):
        return True
    if value.startswith(("--requirement=", "--constraint=")):
        return True
    return value.startswith(("-r", "-c")) and not value.startswith("--")


class PipUnpinned(Transform):
    """`pip install` of packages without a version.

    ## What it does
    Reports packages in `pip install` without a version specifier (`==`, `>=`, `~=`,
    ...). As in hadolint, installs from a requirements file (`-r`), of `.`, with
    constraints (`-c`), of local paths, wheels, sdists and VCS URLs with `@ref` are
    not reported.

    ## Why
    Unpinned packages make rebuilds non-reproducible.

    ## Example
    `RUN pip install flask` → `RUN pip install flask==3.0.3`

    ## Fix safety
    No automatic fix.

    ## References
    - hadolint DL3013
    """

    code = "DO505"
    name = "pip-unpinned"
    upstream = ("hadolint:DL3013",)
    level = "warning"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in editable_runs(ctx):
            for cmd in run.script.commands:
                word = pip_install(cmd)
                if word is None:
                    continue
                if any(_from_file(w.value or "") for w in cmd.resolved_args):
                    continue
                names = [w.value for w in shellfix.operands(cmd, word, PIP_VALUE)
                         if w.value is not None and not _pip_pinned(w.value)]
                if names:
                    yield self.finding(ctx, run.ins, f"Pin versions in pip install: "
                                       f"{_names(names)} (`name==version`)",
                                       span=word_span(word, run))
