"""apk: ``apk add`` without ``--no-cache`` keeps the package index (DO205)."""

from __future__ import annotations

from collections.abc import Iterator

from dockopt.rewriter.shell import SimpleCommand, Word
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Finding, Fix, Safety, Transform
from dockopt.transforms.packages.apt import editable_runs, mount_overlaps, word_span
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
            adds = list(_apk_adds(run))
            # (The mounts are read only for a RUN that adds packages: reading every
            # RUN's first cost more than the rest of the rule on a file of many RUNs.)
            if not adds or mount_overlaps(run.ins, "/var/cache/apk") or \
                    mount_overlaps(run.ins, "/etc/apk/cache"):
                continue
            for cmd, sub in adds:
                if shellfix.has_flag(cmd, "--no-cache", takes_value=APK_VALUE):
                    continue
                fix = None
                if not shellfix.has_flag(cmd, "--no-network", takes_value=APK_VALUE):
                    fix = Fix((shellfix.insert_at(run, sub.end, " --no-cache"),), Safety.SAFE,
                              "Added --no-cache: apk fetches the index and keeps no copy")
                yield self.finding(ctx, run.ins, "`apk add` without `--no-cache` leaves "
                                   "the package index in the layer", fix=fix,
                                   span=word_span(sub, run))


