"""The rpm family: yum, dnf and zypper installs without their clean (DO206-DO208)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Finding, Fix, Safety, Transform
from dockopt.transforms.packages.apt import (
    editable_runs,
    mount_covers,
    mount_overlaps,
    removes_path,
    runs_as_root,
    word_span,
    wrapper_prefix,
)
from dockopt.transforms.shellfix import RunShell

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
            # (Asked only of a RUN that installs: reading every RUN's mounts first was
            # most of these rules' time on a file of many apt RUNs.)
            if any(mount_covers(run.ins, d) for d in self.cache_dirs):
                continue  # the cache never reaches the layer
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
    a mount covers `/var/cache/yum`. When the RUN ends in `exit` or `exec PROGRAM`,
    the clean goes right before it, joined the same way (`...; yum clean all; exit 0`):
    after it, it would never run.

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
    Safe: only caches are removed. Same limits as `yum-clean`, and the same place
    before a trailing `exit`/`exec`.

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
    Before a trailing `exit`/`exec` the clean goes right before it, as in `yum-clean`.

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


