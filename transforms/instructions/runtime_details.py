"""What the final image does at run time that a build never shows: the process that
runs as PID 1 (DO512) and the version metadata its labels carry (DO513)."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.syntax import Dockerfile, Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.images import facts_for, parse_image_ref


def _lineage(tree: Dockerfile) -> list[Stage]:
    """The final stage and the earlier stages it is built on, nearest first."""
    stages = tree.stages
    if not stages:
        return []
    by_name = {s.name: s for s in stages if s.name}
    out = [stages[-1]]
    while True:
        parent = by_name.get(out[-1].base.lower())
        # Indices strictly fall along the chain, so it cannot loop; `parent in out`
        # compared whole stages against the list: quadratic on a long FROM chain.
        if parent is None or parent.index >= out[-1].index:
            return out
        out.append(parent)


def _last(lineage: list[Stage], keyword: str) -> Instruction | None:
    for stage in lineage:
        found = [i for i in stage.body if i.keyword == keyword]
        if found:
            return found[-1]
    return None


# --- DO512 -----------------------------------------------------------------------------

# Programs that run as PID 1 on purpose: they reap zombies and pass signals on.
_INITS = frozenset({"tini", "tini-static", "dumb-init", "catatonit", "docker-init",
                    "s6-svscan", "init", "runsvdir", "supervisord", "systemd"})
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
_NODE = frozenset({"node", "nodejs", "npm", "npx", "yarn", "pnpm"})
# Python servers that install their own SIGTERM handlers (graceful shutdown).
_PY_SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "daphne", "celery", "waitress",
                         "granian", "uwsgi"})
_PYTHON = lazy(r"python(\d+(\.\d+)?)?")
_PLAIN = lazy(r"[\w./:=@,+%-]+( [\w./:=@,+%-]+)*")
# Where each distribution's `tini` package puts the binary.
_TINI = {"debian": ("/usr/bin/tini", "apt"), "ubuntu": ("/usr/bin/tini", "apt"),
         "alpine": ("/sbin/tini", "apk")}


def _argv(ins: Instruction) -> list[str]:
    if ins.is_json:
        return list(ins.value)
    return ["/bin/sh", "-c", ins.args.text.strip()]


def _problem(argv: list[str], ctx: Context, shell_form: bool) -> str | None:
    """Why ``argv`` as PID 1 handles signals badly, or None."""
    if not argv:
        return None
    prog = posixpath.basename(argv[0])
    if prog in _INITS:
        return None
    if prog in _SHELLS:
        if argv[1:2] == ["-c"]:
            text = " ".join(argv[2:]).strip()
            if text.startswith("exec ") or (shell_form and _PLAIN.fullmatch(text)):
                # `exec` replaces the shell; a plain shell-form command is DO401's to
                # turn into exec form (which then gets looked at again).
                return None
            return ("a shell (`sh -c`) runs as PID 1 and does not pass SIGTERM on to the "
                    "program it starts (`exec` in front of the last command hands PID 1 to "
                    "it)")
        scripts = [a for a in argv[1:] if not a.startswith("-")]
        if scripts:
            return _script_problem(scripts[0], ctx)
        return None
    if prog.endswith(".sh"):
        return _script_problem(argv[0], ctx)
    if prog in _NODE:
        if prog == "node" or prog == "nodejs":
            return ("node runs as PID 1: unless the app handles SIGTERM itself, the kernel "
                    "ignores it for PID 1, so `docker stop` waits its timeout and kills it")
        return (f"{prog} runs as PID 1 and starts the app as a child process: it does not "
                "reap zombies, and the app may never see SIGTERM")
    if _PYTHON.fullmatch(prog):
        if argv[1:2] == ["-m"] and argv[2:3] and argv[2].split(".")[0] in _PY_SERVERS:
            return None
        return ("python runs as PID 1: unless the app handles SIGTERM itself, the kernel "
                "ignores it for PID 1, so `docker stop` waits its timeout and kills it")
    return None


def _script_problem(path: str, ctx: Context) -> str | None:
    """Only a script the build context shows is judged: most entrypoint scripts end
    in `exec "$@"` (every official image's does), so one that cannot be read (from
    the base image, or without the context) is given the benefit of the doubt."""
    text = None
    name = posixpath.basename(path)
    for rel in dict.fromkeys([path.removeprefix("./").lstrip("/"), name]):
        text = ctx.read_context_file(rel) if rel else None
        if text is not None:
            break
    if text is None:
        return None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and
             not ln.strip().startswith("#")]
    if not lines or any(ln.startswith("exec ") for ln in lines[-3:]):
        return None  # the script hands PID 1 to the program
    return (f"the shell script {path} runs as PID 1 and does not `exec` its program, so "
            "its shell stays PID 1 and does not pass SIGTERM on")


class Pid1WithoutInit(Transform):
    """The final image's command runs as PID 1 without an init process.

    What it does:
        Looks at what the final stage runs (the last ENTRYPOINT and CMD, also
        those of the earlier stages it is built on) and reports when PID 1 is a
        shell (`sh -c "..."` whose command does not start with `exec`, a `*.sh`
        script in the build context that does not `exec` its program; a script the
        context does not show is not judged), node, npm/yarn/pnpm, or python
        running an app script
        (not gunicorn, uvicorn and other servers that handle SIGTERM). tini,
        dumb-init and other inits are fine.

    Why:
        PID 1 is special: the kernel does not apply the default action of a signal
        it has no handler for, so a process that never installs a SIGTERM handler
        (a node or python script) ignores `docker stop` and is killed after the
        timeout (10 s by default), and nothing reaps the zombies of the processes
        it starts. A shell in between keeps SIGTERM from the app. `docker run
        --init` (compose `init: true`, Kubernetes has no equivalent) or tini as the
        ENTRYPOINT fixes both.

    Example:
        ```dockerfile
        FROM node:20-slim
        CMD ["node", "server.js"]
        ```
        with the suggestion
        ```dockerfile
        FROM node:20-slim
        RUN apt-get update && apt-get install -y --no-install-recommends tini \
            && rm -rf /var/lib/apt/lists/*
        ENTRYPOINT ["/usr/bin/tini", "--"]
        CMD ["node", "server.js"]
        ```

    Fix safety:
        Level style (below the default failure threshold): `docker run --init` or
        an orchestrator's init may already be in place, which the file cannot show.
        Display-only: where the base image is a Debian, Ubuntu or Alpine one (the
        images table) that runs as root, the suggestion installs the distribution's
        `tini` package and makes it the ENTRYPOINT (in front of an exec-form
        ENTRYPOINT, or before the CMD; an inherited ENTRYPOINT such as the node
        image's `docker-entrypoint.sh` is replaced). It is not applied: `docker run
        --init` needs no change to the image, and the install adds an unpinned
        package the user should choose to take.

    References:
        https://github.com/krallin/tini;
        https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md#handling-kernel-signals;
        https://docs.docker.com/reference/cli/docker/container/run/#init
    """

    code = "DO512"
    name = "pid1-without-init"
    fix_title = "Run the command under tini"
    level = "style"
    default_safety = Safety.DISPLAY_ONLY
    semantic_scope = "none"
    reads_context = True  # the entrypoint script, when the context has it

    def check(self, ctx: Context) -> Iterator[Finding]:
        tree = ctx.tree
        if tree.has_errors:
            return
        lineage = _lineage(tree)
        if not lineage:
            return
        entry, cmd = _last(lineage, "ENTRYPOINT"), _last(lineage, "CMD")
        head = entry if entry is not None else cmd
        if head is None:
            return
        argv = _argv(head)
        if entry is not None and cmd is not None and entry.is_json:
            argv = argv + _argv(cmd)
        problem = _problem(argv, ctx, not head.is_json)
        if problem is None:
            return
        message = (f"{problem}. Run it under an init: `docker run --init` (compose "
                   "`init: true`), or tini as the ENTRYPOINT")
        yield self.finding(ctx, head, message, fix=self._suggestion(ctx, lineage, entry, cmd))

    def _suggestion(self, ctx: Context, lineage: list[Stage], entry: Instruction | None,
                    cmd: Instruction | None) -> Fix | None:
        final = lineage[0]
        if len(lineage) > 1 or (entry is not None and not entry.is_json):
            return None
        if entry is not None and entry not in final.body:
            return None
        if entry is None and (cmd is None or cmd not in final.body):
            return None
        ref = parse_image_ref(final.base)
        facts = facts_for(ref) if ref is not None else None
        if facts is None or facts.family not in _TINI or not facts.runs_as_root:
            return None
        head = entry if entry is not None else cmd
        assert head is not None
        if any(i.keyword == "USER" for i in final.body if i.start < head.start):
            return None  # the install would need root
        tini, manager = _TINI[facts.family]
        style = ctx.style
        if manager == "apt":
            install = ("apt-get update && apt-get install -y --no-install-recommends tini "
                       "&& rm -rf /var/lib/apt/lists/*")
        else:
            install = "apk add --no-cache tini"
        frm = final.from_instruction
        at = frm.end if ctx.text[frm.start:frm.end].endswith("\n") else None
        if at is None:
            return None
        edits = [Edit(at, at, style.instruction("RUN", install))]
        if entry is not None:
            if not entry.text.endswith("\n"):
                return None
            edits.append(Edit(entry.start, entry.end, style.instruction(
                "ENTRYPOINT", json.dumps([tini, "--", *entry.value]))))
        else:
            assert cmd is not None
            edits.append(Edit(cmd.start, cmd.start, style.instruction(
                "ENTRYPOINT", json.dumps([tini, "--"]))))
        return Fix(tuple(edits), Safety.DISPLAY_ONLY,
                   f"Install the distribution's tini ({tini}) and run the command under it. "
                   "Shown only: `docker run --init` does the same without changing the "
                   "image.")


# --- DO513 -----------------------------------------------------------------------------

# Build-argument names that carry each OCI annotation, exactly as written (a name
# not listed here is never taken for one: no value is invented).
_LABEL_ARGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("org.opencontainers.image.version", ("VERSION", "APP_VERSION", "BUILD_VERSION",
                                          "RELEASE_VERSION", "IMAGE_VERSION")),
    ("org.opencontainers.image.revision", ("GIT_COMMIT", "GIT_SHA", "COMMIT_SHA",
                                           "SOURCE_COMMIT", "VCS_REF", "REVISION",
                                           "GIT_REVISION", "BUILD_COMMIT")),
    ("org.opencontainers.image.source", ("SOURCE_URL", "VCS_URL", "REPO_URL", "GIT_URL",
                                         "SOURCE_REPOSITORY")),
)


def _arg_names(ins: Instruction) -> list[str]:
    return [item.split("=", 1)[0] for item in ins.value]


class VersionLabelMissing(Transform):
    """Build arguments carry the version, commit or source, but no label records them.

    What it does:
        When the file declares a build argument for the version (`VERSION`,
        `APP_VERSION`, ...), the commit (`GIT_COMMIT`, `GIT_SHA`, `VCS_REF`, ...) or
        the source repository (`SOURCE_URL`, `VCS_URL`, ...), globally or in the
        final stage, and the final stage has no `org.opencontainers.image.version`/
        `revision`/`source` label and no label that uses the argument, it adds
        `LABEL org.opencontainers.image.version=$VERSION` (and the others) at the
        end of the final stage, with `ARG VERSION` before it when the final stage
        does not declare the argument itself.

    Why:
        `docker inspect`, registries and scanners read these OCI annotations to
        tell which release and commit an image is. The value must come from the
        build (`--build-arg VERSION=1.2.3`), so the rule acts only where the file
        already takes it as an argument: it never invents one.

    Example:
        ```dockerfile
        ARG VERSION
        FROM alpine:3.20
        RUN echo "$VERSION" > /etc/app-version
        ```
        becomes
        ```dockerfile
        ARG VERSION
        FROM alpine:3.20
        RUN echo "$VERSION" > /etc/app-version
        ARG VERSION
        LABEL org.opencontainers.image.version=$VERSION
        ```

    Fix safety:
        Level style: metadata advice. Unsafe: it changes the image's metadata.
        The lines go at the end of the stage because a declared ARG makes every
        later RUN's cache depend on its value: nothing that ran before runs again
        when the version changes.

    References:
        https://github.com/opencontainers/image-spec/blob/main/annotations.md;
        https://docs.docker.com/reference/dockerfile/#arg
    """

    code = "DO513"
    name = "version-label-missing"
    fix_title = "Label the image with its version build arguments"
    level = "style"
    default_safety = Safety.UNSAFE
    semantic_scope = "none"

    def check(self, ctx: Context) -> Iterator[Finding]:
        tree = ctx.tree
        if tree.has_errors or not tree.stages:
            return
        final = tree.stages[-1]
        lineage = _lineage(tree)
        in_stage = [n for s in lineage for i in s.body if i.keyword == "ARG"
                    for n in _arg_names(i)]
        global_names = [n for i in tree.global_args for n in _arg_names(i)]
        labels = [i for s in lineage for i in s.body if i.keyword == "LABEL"]
        keys = {k.strip("\"'") for i in labels for k in i.value[::2]}
        label_text = " ".join(" ".join(i.value[1::2]) for i in labels)
        add: list[tuple[str, str]] = []
        for key, names in _LABEL_ARGS:
            if key in keys:
                continue
            name = next((n for n in names if n in in_stage or n in global_names), None)
            if name is None or re.search(rf"\$\{{?{name}\b", label_text):
                continue
            add.append((key, name))
        if not add:
            return
        style = ctx.style
        last = final.instructions[-1]
        declare = [n for _, n in add if n not in in_stage]
        text = "".join(style.instruction("ARG", n) for n in declare)
        text += style.instruction("LABEL", " ".join(f"{k}=${n}" for k, n in add))
        at = last.end
        if not ctx.text[last.start:last.end].endswith("\n"):
            text = style.newline + text.rstrip("\r\n")
        shown = ", ".join(f"{k}=${n}" for k, n in add)
        fix = Fix((Edit(at, at, text),), Safety.UNSAFE,
                  f"Add LABEL {shown} at the end of the final stage"
                  + (f", with ARG {', '.join(declare)} (declared only before the first FROM"
                     " or in no stage of the image)" if declare else "")
                  + ". Unsafe: the image's labels change.")
        listed = ", ".join(n for _, n in add)
        verb = "reach" if len(add) > 1 else "reaches"
        yield self.finding(ctx, final.from_instruction,
                           f"The build argument{'s' if len(add) > 1 else ''} {listed} "
                           f"{verb} no OCI label: the image does not record its "
                           + ", ".join(k.rsplit(".", 1)[1] for k, _ in add), fix=fix)
