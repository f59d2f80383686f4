"""Unpinned packages: apt, apk and pip installs without versions (DO503-DO505;
findings only)."""

from __future__ import annotations

from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Finding, Transform
from dockopt.transforms.packages.apk import APK_VALUE, _apk_adds
from dockopt.transforms.packages.apt import APT_VALUE, apt_calls, editable_runs, word_span
from dockopt.transforms.packages.pip import PIP_VALUE, pip_install

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


_VCS = lazy(r"^(git|hg|svn|bzr)(\+[a-z-]+)?(:|$)")
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
