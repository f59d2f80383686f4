"""Findings with no automatic fix: the right change needs a human decision."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.shell import Step
from dockopt.rewriter.syntax import Dockerfile, Instruction
from dockopt.transforms.base import Context, Finding, Transform
from dockopt.transforms.shellfix import shell_runs


class MissingHealthcheck(Transform):
    """The final stage has no HEALTHCHECK.

    What it does:
        Reports when the stage that becomes the image (the last one) has no
        HEALTHCHECK instruction, neither its own nor one inherited from an earlier
        stage of this file. `HEALTHCHECK NONE` counts as a decision.

    Why:
        Without a health check, Docker and orchestrators only know whether the
        process runs, not whether it works.

    Example:
        ```dockerfile
        FROM nginx:1.27
        HEALTHCHECK CMD curl -f http://localhost/ || exit 1
        ```

    Fix safety:
        No fix: the right probe depends on the application. A base image from a
        registry may define one; this rule cannot see it, and many images rightly
        have none (command-line tools, batch jobs, pods probed by Kubernetes): level
        style, below the default failure threshold.

    References:
        https://docs.docker.com/reference/dockerfile/#healthcheck
    """

    code = "DO501"
    name = "missing-healthcheck"
    level = "style"

    def check(self, ctx: Context) -> Iterator[Finding]:
        stages = ctx.tree.stages
        if not stages:
            return
        by_name = {s.name: s for s in stages if s.name}
        stage = stages[-1]
        seen: set[int] = set()
        while stage.index not in seen:
            seen.add(stage.index)
            if any(ins.keyword == "HEALTHCHECK" for ins in stage.body):
                return
            parent = by_name.get(stage.base.lower())
            if parent is None or parent.index >= stage.index:
                break
            stage = parent
        final = stages[-1].from_instruction
        yield self.finding(ctx, final, "The final stage has no HEALTHCHECK")


_ARG_REF = lazy(r"\$(?:\{(\w+)\}|(\w+))")


def global_arg_defaults(tree: Dockerfile) -> dict[str, str | None]:
    """The global ARGs (before the first FROM) and their defaults (None: no default)."""
    defaults: dict[str, str | None] = {}
    for arg in tree.global_args:
        for item in arg.value:
            key, eq, value = item.partition("=")
            defaults[key] = value.strip("\"'") if eq else None
    return defaults


class LatestBaseImage(Transform):
    """A base image without a tag, or tagged `latest`.

    What it does:
        Reports FROM lines whose image has no tag (hadolint DL3006) or the tag
        `latest` (DL3007). Skips `scratch`, earlier stage names, digests and images
        named by a build argument without a default; a global `ARG` default is
        resolved (`ARG BASE=node` then `FROM $BASE`).

    Why:
        `latest` moves: the same Dockerfile builds a different image tomorrow, and
        a rebuild can break without any change in the repository.

    Example:
        `FROM python` → `FROM python:3.12-slim` (or pin a digest).

    Fix safety:
        No fix: choosing a version is a decision about what the image contains.

    References:
        hadolint DL3006, DL3007
    """

    code = "DO502"
    name = "latest-base-image"
    upstream = ("hadolint:DL3006", "hadolint:DL3007")

    def check(self, ctx: Context) -> Iterator[Finding]:
        tree = ctx.tree
        defaults = global_arg_defaults(tree)
        names: set[str] = set()
        for stage in tree.stages:
            image = self.resolve(stage.base, defaults)
            if image is not None and "@" not in image:
                low = image.lower()
                if low != "scratch" and low not in names:
                    last = image.rsplit("/", 1)[-1]
                    tag = last.split(":", 1)[1] if ":" in last else None
                    if tag is None:
                        yield self.finding(ctx, stage.from_instruction,
                                           f"Base image {image} has no tag: pin a version")
                    elif tag == "latest":
                        yield self.finding(ctx, stage.from_instruction,
                                           f"Base image {image} uses the moving tag latest: "
                                           "pin a version")
            if stage.name:
                names.add(stage.name)

    @staticmethod
    def resolve(image: str, defaults: dict[str, str | None]) -> str | None:
        missing = False

        def sub(m: re.Match[str]) -> str:
            nonlocal missing
            value = defaults.get(m.group(1) or m.group(2))
            if value is None:
                missing = True
                return ""
            return value

        out = _ARG_REF.sub(sub, image)
        if missing or "$" in out or not out:
            return None
        return out


class UntrustedRegistry(Transform):
    """A base image from a registry outside the trusted ones.

    What it does:
        When trusted registries are configured (`trusted-registries` in dockopt's
        config, or `trustedRegistries` in `.hadolint.yaml`), reports FROM lines whose
        image comes from another registry. Images without a registry come from Docker
        Hub, `docker.io`. Entries may use shell wildcards (`*.gcr.io`). Skips
        `scratch`, earlier stage names, and images named by a build argument without
        a default. Without the setting the rule is off.

    Why:
        A base image runs with the whole build's trust; an organisation that mirrors
        and scans its images wants every build to pull from its own registry.

    Example:
        With `trusted-registries = ["registry.example.com"]`, `FROM python:3.12` is
        reported (Docker Hub); `FROM registry.example.com/python:3.12` is not.

    Fix safety:
        No fix: the mirror's name for an image is the organisation's to choose.

    References:
        hadolint DL3026
    """

    code = "DO509"
    name = "untrusted-registry"
    upstream = ("hadolint:DL3026",)
    level = "error"

    def check(self, ctx: Context) -> Iterator[Finding]:
        trusted = ctx.settings.trusted_registries
        if not trusted:
            return
        import fnmatch

        from dockopt.transforms.images import parse_image_ref

        tree = ctx.tree
        defaults = global_arg_defaults(tree)
        names: set[str] = set()
        for stage in tree.stages:
            image = LatestBaseImage.resolve(stage.base, defaults)
            if image is not None and image.lower() != "scratch" \
                    and image.lower() not in names:
                ref = parse_image_ref(image)
                registry = (ref.registry if ref is not None and ref.registry else "docker.io")
                if not any(fnmatch.fnmatchcase(registry, pattern) for pattern in trusted):
                    yield self.finding(ctx, stage.from_instruction,
                                       f"Base image {image} comes from {registry}, not a "
                                       f"trusted registry ({', '.join(trusted)})")
            if stage.name:
                names.add(stage.name.lower())


class Sudo(Transform):
    """`sudo` in a RUN.

    What it does:
        Reports RUN commands that run `sudo` (hadolint DL3004).

    Why:
        Build steps run as the current USER; `sudo` needs a TTY or a sudoers
        entry, behaves differently across images and hides privilege changes.
        Switch with `USER root` ... `USER app`, or use `gosu`/`su-exec` at runtime.

    Example:
        `RUN sudo apt-get install -y curl` → `USER root` + `RUN apt-get ...`.

    Fix safety:
        No fix: where to switch users back is a decision about the image.

    References:
        hadolint DL3004
    """

    code = "DO506"
    name = "sudo"
    upstream = ("hadolint:DL3004",)

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in shell_runs(ctx):
            for cmd in run.script.commands:
                name = cmd.name
                if name is not None and name.rsplit("/", 1)[-1] == "sudo":
                    yield self.finding(ctx, run.ins, "Do not use sudo in RUN: switch "
                                       "with USER, or use gosu at runtime")
                    break


_FETCHERS = frozenset({"curl", "wget"})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})
_SUBST_FETCH = lazy(r"(?:\$\(|<\(|`)\s*(?:curl|wget)\b")


class CurlPipeShell(Transform):
    """A downloaded script piped straight into a shell.

    What it does:
        Reports RUN commands like `curl -fsSL https://x/install.sh | sh`,
        `wget -qO- ... | bash`, or `sh -c "$(curl ...)"`.

    Why:
        The script is run without a check: whatever the server returns today
        ends up in the image, and the build is not reproducible.

    Example:
        Download to a file, verify it (`sha256sum -c`), then run it.

    Fix safety:
        No fix: the checksum has to come from the user.

    References:
        https://docs.docker.com/build/building/best-practices/
    """

    code = "DO507"
    name = "curl-pipe-shell"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for run in shell_runs(ctx):
            if self._pipes_to_shell(run.script.top_level) or any(
                    c.resolved_name in _SHELLS and any(_SUBST_FETCH.match(w.text)
                                                       for w in c.resolved_args)
                    for c in run.script.commands):
                yield self.finding(ctx, run.ins, "A downloaded script is piped into a "
                                   "shell: download, verify a checksum, then run it")

    @staticmethod
    def _pipes_to_shell(steps: tuple[Step, ...]) -> bool:
        fetching = False
        for step in steps:
            op = step.operator_before
            name = step.command.resolved_name if step.command is not None else None
            if op in ("|", "|&") and fetching and name in _SHELLS:
                return True
            piped = op in ("|", "|&")
            fetching = (fetching and piped) or name in _FETCHERS
        return False


_SECRET_NAME = lazy(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASS|SECRET|SECRETS|TOKEN|API_?KEY|ACCESS_?KEY|"
    r"PRIVATE_?KEY|SECRET_?KEY|CLIENT_SECRET|CREDENTIALS?|AUTH)(?:_|$)",
    re.IGNORECASE,
)
# Names that hold where a secret is, or something about it, not the secret.
_NOT_SECRET_SUFFIX = lazy(
    r"_(?:FILE|PATH|DIR|URL|URI|HOST|PORT|USER|USERNAME|NAME|TYPE|LENGTH|HEADER|"
    r"ENDPOINT|ENABLED|MODE|METHOD|REGION|VERSION|ID)$",
    re.IGNORECASE,
)
_SECRET_VALUE = lazy(
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{22,}|glpat-[\w-]{20}|"
    r"xox[abprs]-[\w-]{10,}|sk-[A-Za-z0-9_-]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY"
)


def _pairs(ins: Instruction) -> list[tuple[str, str | None]]:
    if ins.keyword == "ENV":
        v = ins.value
        return [(v[i], v[i + 1] if i + 1 < len(v) else "") for i in range(0, len(v), 2)]
    out: list[tuple[str, str | None]] = []
    for item in ins.value:
        key, eq, value = item.partition("=")
        out.append((key, value if eq else None))
    return out


class SecretInEnv(Transform):
    """A secret passed through ENV or ARG.

    What it does:
        Reports ENV and ARG names that say they hold a secret (`*PASSWORD*`,
        `*SECRET*`, `*TOKEN*`, `*API_KEY*`, `AWS_SECRET_ACCESS_KEY`, ...) and values
        that look like a known key format (AWS, GitHub, GitLab, Slack, OpenAI,
        PEM private keys). Names that point at a secret (`*_FILE`, `*_PATH`,
        `*_URL`, ...) and ENV with an empty value are not reported.

    Why:
        ENV values are stored in the image config, and build arguments used by a
        RUN are recorded in the image history: anyone who can pull the image can
        read them. `RUN --mount=type=secret,id=token` hands a secret to one
        command without storing it.

    Example:
        ```dockerfile
        ARG NPM_TOKEN
        RUN npm ci
        ```
        →
        ```dockerfile
        RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci
        ```

    Fix safety:
        No fix: the build command has to pass the secret (`--secret id=...`).

    References:
        https://docs.docker.com/build/building/secrets/
    """

    code = "DO508"
    name = "secret-in-env"

    def check(self, ctx: Context) -> Iterator[Finding]:
        for ins in ctx.tree.instructions:
            if ins.keyword not in ("ENV", "ARG") or ins.passthrough:
                continue
            for key, value in _pairs(ins):
                if value is not None and _SECRET_VALUE.search(value):
                    yield self.finding(ctx, ins, f"{ins.keyword} {key} holds what looks "
                                       "like a credential: use RUN --mount=type=secret")
                    break
                named = _SECRET_NAME.search(key) and not _NOT_SECRET_SUFFIX.search(key)
                empty = value is not None and value.strip("\"'") == ""
                if named and not (ins.keyword == "ENV" and empty):
                    yield self.finding(ctx, ins, f"{ins.keyword} {key} looks like a "
                                       "secret; ENV and build arguments are kept in the "
                                       "image: use RUN --mount=type=secret")
                    break
