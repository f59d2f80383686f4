"""What the final image does at run time that a build never shows: the process that
runs as PID 1 (DO512) and the version metadata its labels carry (DO513)."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.syntax import Comment, Dockerfile, Instruction, Stage
from dockopt.transforms import shellfix
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.images import facts_for, parse_image_ref
from dockopt.transforms.instructions import tini
from dockopt.transforms.packages import apt


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
        becomes
        ```dockerfile
        FROM node:20-slim
        RUN apt-get update && apt-get install -y --no-install-recommends tini \\
            && rm -rf /var/lib/apt/lists/*
        ENTRYPOINT ["/usr/bin/tini", "--"]
        CMD ["node", "server.js"]
        ```

    Fix safety:
        Level style (below the default failure threshold): `docker run --init`
        (compose `init: true`) does the same without changing the image, and the
        file cannot show whether the container is started that way. So the fix is
        unsafe, and applied only where it provably works:
        - the final stage is built on a Debian or Ubuntu image of the images table
          (debian, ubuntu, and the official language images built on them, not
          `-alpine`) whose release has the `tini` package (/usr/bin/tini): Debian
          bookworm and later, Ubuntu 20.04, 22.04, 24.04 and 26.04; a language
          image's tag must name the release or a version whose default image is on
          current Debian (node 18+, python 3.8+, ...); bullseye and buster only
          where the stage already runs `apt-get update` (their mirrors moved to
          the archive);
        - the stage runs as root where the install goes: after the stage's last
          apt RUN (or after the FROM and its ARG/ENV/SHELL lines), before any USER
          and before the command;
        - nothing hints at an init already: no tini, dumb-init or `--init` in a
          comment, a label or a RUN/COPY of the stage;
        - the file does not pin every apt package (then tini's version, which
          differs by release and architecture, is the user's to choose).
        The RUN is the form DO201, DO202, DO203 and DO204 expect, so none of them
        fires on it; DO503 reports the unpinned tini as it reports any unpinned
        package. tini goes in front of an exec-form ENTRYPOINT (one list), or as
        a new ENTRYPOINT before the CMD; a shell-form CMD stays, and tini then
        runs `/bin/sh -c ...` (the fix's message says so). An inherited
        ENTRYPOINT is replaced only where it just runs its arguments (node's
        `docker-entrypoint.sh`, php's `docker-php-entrypoint`); eclipse-temurin's
        CA-importing one is kept, so no fix. On Alpine (`apk add tini`,
        /sbin/tini) the fix is shown, not applied: no Alpine package could be
        tested here. Distroless, scratch and busybox images, a shell-form
        ENTRYPOINT and a command inherited from an earlier stage get the finding
        with the reason and no fix.

    References:
        https://github.com/krallin/tini;
        https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md#handling-kernel-signals;
        https://docs.docker.com/reference/cli/docker/container/run/#init
    """

    code = "DO512"
    name = "pid1-without-init"
    fix_title = "Run the command under tini (or start the container with `docker run --init`)"
    level = "style"
    default_safety = Safety.UNSAFE
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
        fix, reason = self._suggestion(ctx, lineage, entry, cmd)
        if reason is not None:
            message += f". The tini fix is not applied: {reason}"
        yield self.finding(ctx, head, message, fix=fix)

    def _suggestion(self, ctx: Context, lineage: list[Stage], entry: Instruction | None,
                    cmd: Instruction | None) -> tuple[Fix | None, str | None]:
        """The tini fix and, when it is not applied (or not offered), why."""
        final = lineage[0]
        if len(lineage) > 1:
            return None, "the final stage is built on another stage of this file"
        if entry is not None and not entry.is_json:
            return None, "the ENTRYPOINT is in shell form"
        ref = parse_image_ref(final.base)
        facts = facts_for(ref) if ref is not None else None
        if facts is None:
            return None, f"the distribution of `{final.base}` is not known"
        if facts.family in ("distroless", "scratch", "busybox"):
            return None, f"`{final.base}` has no package manager to install tini with"
        if facts.family not in ("debian", "ubuntu", "alpine"):
            return None, f"`{final.base}` is not a Debian, Ubuntu or Alpine image"
        if not facts.runs_as_root:
            return None, f"`{final.base}` does not run as root, so nothing can install tini"
        held = _init_already(ctx, final)
        if held is not None:
            return None, held
        if entry is None and facts.repository in tini.KEPT_ENTRYPOINTS:
            return None, (f"a new ENTRYPOINT would replace the base image's "
                          f"{tini.KEPT_ENTRYPOINTS[facts.repository]}")
        head = entry if entry is not None else cmd
        assert head is not None
        anchor = _install_point(ctx, final, head)
        if facts.family == "alpine":
            shown = self._edits(ctx, anchor, entry, cmd, tini.TINI_APK,
                                "apk add --no-cache tini", Safety.DISPLAY_ONLY,
                                "Shown only: no Alpine package could be tested here, and "
                                "`docker run --init` does the same without changing the "
                                "image.")
            return shown, ("no Alpine package could be tested here, so `apk add tini` "
                           "(/sbin/tini) is only shown")
        install = ("apt-get update && apt-get install -y --no-install-recommends tini "
                   "&& rm -rf /var/lib/apt/lists/*")
        release = tini.release_of(facts)
        reason: str | None = None
        if isinstance(release, str):
            reason = release
        elif not release.current and not _runs_apt_update(ctx, final):
            reason = (f"{release.name}'s mirror has moved to the archive, and no RUN of the "
                      "stage shows that `apt-get update` still works there")
        elif _pins_every_apt_package(ctx):
            reason = ("the file pins every apt package, and tini's version differs by "
                      "release and architecture (0.19.0-1+b3 on bookworm amd64): pin it "
                      "yourself")
        notes = ""
        if entry is None and facts.repository in tini.REPLACEABLE_ENTRYPOINTS:
            notes += (f" The base image's ENTRYPOINT "
                      f"({tini.REPLACEABLE_ENTRYPOINTS[facts.repository]}) is replaced: it "
                      "only runs the command it is given.")
        if cmd is not None and not cmd.is_json and (entry is None or not entry.is_json):
            notes += (" The CMD stays in shell form: tini runs `/bin/sh -c ...`, so the "
                      "shell, not the program, gets SIGTERM unless the command `exec`s it.")
        if reason is not None or isinstance(release, str):
            reason = reason or "the release is not known"
            fix = self._edits(ctx, anchor, entry, cmd, tini.TINI_APT, install,
                              Safety.DISPLAY_ONLY,
                              f"Shown only: {reason}. `docker run --init` does the same "
                              "without changing the image." + notes)
            return fix, reason
        return self._edits(ctx, anchor, entry, cmd, tini.TINI_APT, install, Safety.UNSAFE,
                           f"Install the distribution's tini ({tini.TINI_APT}, from "
                           f"{release.name}) and run the command under it as PID 1. Unsafe: "
                           "the image gets a new package (unpinned: DO503 reports it) and "
                           "a new ENTRYPOINT; `docker run --init` (compose `init: true`) does "
                           "the same without changing the image, so leave this change out if "
                           "the container is started that way." + notes), None

    def _edits(self, ctx: Context, anchor: Instruction, entry: Instruction | None,
               cmd: Instruction | None, tini_path: str, install: str, safety: Safety,
               explanation: str) -> Fix:
        style = ctx.style
        edits = [Edit(anchor.end, anchor.end, style.instruction("RUN", install))]
        if entry is not None:
            text = style.instruction("ENTRYPOINT", json.dumps([tini_path, "--", *entry.value]))
            if not entry.text.endswith("\n"):
                text = text.rstrip("\r\n")  # keep a missing final newline missing
            edits.append(Edit(entry.start, entry.end, text))
        else:
            assert cmd is not None
            edits.append(Edit(cmd.start, cmd.start, style.instruction(
                "ENTRYPOINT", json.dumps([tini_path, "--"]))))
        return Fix(tuple(edits), safety, explanation)


# A comment or label that says the container is started with an init already.
_INIT_HINT = lazy(r"--init\b|\binit:\s*true\b|\b(tini|dumb-init|catatonit)\b", re.I)


def _init_already(ctx: Context, final: Stage) -> str | None:
    """Why the file may already provide an init (then nothing is added), or None."""
    for item in ctx.tree.items:
        if isinstance(item, Comment) and _INIT_HINT.search(item.text):
            return f"a comment mentions an init on line {item.start_line}: `docker run --init` " \
                   "may be in use"
    for ins in final.body:
        if ins.keyword in ("LABEL", "RUN", "COPY", "ADD") and _INIT_HINT.search(ins.original):
            what = "a label mentions" if ins.keyword == "LABEL" else "the stage installs"
            return f"{what} an init on line {ins.start_line}: wire it up as the ENTRYPOINT yourself"
    return None


def _install_point(ctx: Context, final: Stage, head: Instruction) -> Instruction:
    """The instruction the tini RUN goes after: the stage's last apt RUN run as root
    (after any change to the apt sources), else the FROM and the ARG/ENV/SHELL lines
    right after it (proxies, DEBIAN_FRONTEND), never past a USER or the command."""
    anchor = final.from_instruction
    users = [u.start for u in final.body if u.keyword == "USER"]
    limit = min([head.start, *users])  # the install must run as root, before the command
    for ins in final.body:
        if ins.start >= limit or ins.keyword not in ("ARG", "ENV", "SHELL"):
            break
        anchor = ins
    for run in apt.editable_runs(ctx, final):
        if anchor.start < run.ins.start < limit and apt.apt_calls(run):
            anchor = run.ins
    return anchor


def _runs_apt_update(ctx: Context, final: Stage) -> bool:
    return any(call.action == "update" for run in apt.editable_runs(ctx, final)
               for call in apt.apt_calls(run))


def _pins_every_apt_package(ctx: Context) -> bool:
    """Every package of every apt install in the file has a version (DO503's view)."""
    names = [w.value for run in apt.editable_runs(ctx) for call in apt.apt_calls(run)
             if call.action == "install"
             for w in shellfix.operands(call.cmd, call.sub, apt.APT_VALUE)
             if w.value is not None and "/" not in w.value and not w.value.endswith(".deb")]
    return bool(names) and all("=" in n for n in names)


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
