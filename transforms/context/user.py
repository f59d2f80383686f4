"""DO604 root-user: run the final image as a non-root user that really exists."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.images import Family, StageBase, resolve_stage_base
from dockopt.transforms.shellfix import posix_shell, windows_file

ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
UID = 10001
APP = "app"
# Programs that start as root and switch users themselves: adding USER breaks them.
_DROP_TOOLS = re.compile(
    r"(?<![\w.-])(gosu|su-exec|setpriv|runuser|s6-setuidgid|setuidgid|chpst\s+-u|"
    r"chroot\s+--userspec|su\s[^;&|]*?-c)(?![\w.-])")
# Ways a command line names a port to listen on: `--port 80`, `-p=80`, `:80`.
_PORT_ARG = re.compile(
    r"(?:(?<![\w-])(?:--?(?:port|p|listen|bind|b|http-port|server\.port))[= ](?:\S*:)?"
    r"|(?<![A-Za-z_/]):)(\d{1,5})(?!\d)")
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9_.@+-]+(?:/[A-Za-z0-9_.@+-]+)*")
# Directories that must never be chowned to the app user.
_SYSTEM_DIRS = frozenset({"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64",
                          "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv",
                          "/sys", "/tmp", "/usr", "/usr/local", "/usr/src", "/var", "/var/lib"})


@dataclass(frozen=True, slots=True)
class _Plan:
    user: str  # what USER says
    owner: str | None  # what --chown says (None: leave ownership alone)
    uid: str | None  # None: not known (a user the Dockerfile itself made)
    create: str | None  # the shell command creating the user, if needed
    why: str  # how the user comes to exist
    # USER would have to name a user whose uid is not fixed: shown, never applied
    # (a non-numeric USER cannot be checked by the runtime; hadolint DL3066).
    display_only: bool = False


class RootUser(Transform):
    """The final image runs as root.

    What it does:
        Finds a final stage whose effective user is root (no `USER`, or `USER root`
        / `USER 0` last, including what an earlier stage of this file or a known
        base image sets) and makes it run as a non-root user that exists:

        - Debian/Ubuntu bases: `RUN groupadd --system --gid 10001 app && useradd
          --system --no-log-init --uid 10001 --gid app --home-dir /nonexistent
          --shell /usr/sbin/nologin app` right after FROM (`--no-log-init` keeps the
          lastlog/faillog files sparse-free for large uids);
        - Alpine/BusyBox bases: `RUN addgroup -S -g 10001 app && adduser -S -D -H
          -u 10001 -G app app`;
        - images that ship a user use it: `node` (uid 1000), distroless and
          Chainguard `nonroot` (65532, no shell: nothing is RUN there), .NET 8+
          `app` (1654);
        - `scratch`: `USER 10001:10001` (numeric ids need no /etc/passwd);
        - a non-root user the stage already switched to earlier is reused.

        USER is written as numeric `uid:gid` whenever the ids are known (`USER
        1000:1000` for node's `node` user): a runtime such as Kubernetes with
        `runAsNonRoot` can only check a numeric user (hadolint DL3066).

        The application files go to that user: every COPY/ADD of the final stage
        whose destination is relative or under the WORKDIR gets `--chown=user:group`
        right after the keyword (an existing `--chown` is kept). When there is a
        WORKDIR but nothing is copied into it, `RUN chown user:group <workdir>` (the
        directory only, not recursive) lets the app create files there; only on
        bases with a shell, only when that WORKDIR comes before the new USER (so the
        directory exists), and never for system directories such as `/usr/src` or
        anything under `/root`.
        `USER` goes right after the last RUN/COPY/ADD of the final stage (they may
        need root), so it comes before CMD/ENTRYPOINT; a trailing `USER root` is
        rewritten in place.

        Leaves the file alone, with a finding that says why, when the image binds
        a port below 1024 (EXPOSE, `--port 80`, `:80`, `ENV PORT=80`, nginx/httpd
        defaults), drops privileges itself (gosu, su-exec, setpriv, runuser,
        `chroot --userspec`, `su -c`, an ENTRYPOINT/CMD script named
        `*entrypoint*`, or an official image such as postgres/redis/mysql/mongo
        whose entrypoint does), when the base image is not in the table of image
        facts, is a Windows image or comes from an ARG, when USER comes from a
        variable, or when a SHELL is not POSIX.

    Why:
        A process running as root in a container is root on the container's
        filesystem and one kernel bug away from root on the host. Tools that only
        add `USER appuser` (OpenRewrite, Semgrep) produce images that fail to start,
        because the user does not exist; this rule creates it first.

    Example:
        ```dockerfile
        FROM node:20-slim
        WORKDIR /app
        COPY . .
        RUN npm ci --omit=dev
        CMD ["node", "server.js"]
        ```
        becomes
        ```dockerfile
        FROM node:20-slim
        WORKDIR /app
        COPY --chown=node:node . .
        RUN npm ci --omit=dev
        USER 1000:1000
        CMD ["node", "server.js"]
        ```

    Fix safety:
        Unsafe: the process loses root, files change owner, and anything that
        writes outside the WORKDIR (or to files a RUN created as root) now fails.

    References:
        hadolint DL3002 (last USER should not be root);
        https://docs.docker.com/build/building/best-practices/#user;
        https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md#non-root-user
    """

    code = "DO604"
    name = "root-user"
    fix_title = "Run as a non-root user"
    upstream = ("hadolint:DL3002",)
    default_safety = Safety.UNSAFE
    semantic_scope = "user"

    def check(self, ctx: Context) -> Iterator[Finding]:
        stages = ctx.tree.stages
        if not stages:
            return
        final = stages[-1]
        base = resolve_stage_base(ctx.tree, final)
        user, earlier, variable = _effective_user(base)
        frm = final.from_instruction
        if variable is not None:
            yield self.finding(ctx, variable, "USER is set from a variable: cannot tell "
                               "whether the image runs as root")
            return
        if user is not None and user not in ROOT_USERS:
            return  # already non-root
        if base.ref is None:
            if user is None:
                return  # an ARG-based base may set any user; nothing to say
            yield self.finding(ctx, frm, "The image runs as root; the base image comes "
                               "from a build argument, so its family (and how to add a "
                               "user) is unknown: add a non-root USER by hand")
            return
        facts = base.facts
        if user is None and facts is None and not windows_file(ctx):
            return  # an unknown base image may set its own USER
        reason, where = self._blocker(ctx, base)
        if reason is not None:
            yield self.finding(ctx, where or frm, f"The image runs as root, but {reason}; "
                               "left as it is")
            return
        plan = self._plan(ctx, base, earlier)
        if isinstance(plan, str):
            yield self.finding(ctx, frm, f"The image runs as root, but {plan}; left as it is")
            return
        fix = self._fix(ctx, final, plan)
        yield self.finding(ctx, frm, "The image runs as root: run it as a non-root user",
                           fix=fix)

    # -- reasons to leave the file alone ------------------------------------------

    def _blocker(self, ctx: Context, base: StageBase) -> tuple[str | None, Instruction | None]:
        facts = base.facts
        chain = base.chain
        if windows_file(ctx) or (facts is not None and facts.family == "windows"):
            return "it is a Windows image (users work differently there)", None
        if facts is not None and facts.drops_privileges:
            return (f"the {facts.repository} image's entrypoint starts as root and drops "
                    f"privileges to its own user itself"), None
        if facts is not None and facts.privileged_port is not None:
            return (f"{facts.repository} binds port {facts.privileged_port} by default, "
                    f"which needs root"), None
        runs = [i for s in chain for i in s.body if not i.passthrough]
        for ins in _last_commands(chain):
            text = " ".join(ins.value)
            m = _DROP_TOOLS.search(text)
            if m:
                return (f"its {ins.keyword} drops privileges itself ({m.group(1).split()[0]}); "
                        "it must start as root"), ins
            words = ins.value if ins.is_json else tuple(text.split())
            for w in words[:2]:
                if "entrypoint" in w.rsplit("/", 1)[-1].lower():
                    return (f"its {ins.keyword} runs {w}, an entrypoint script that may "
                            "drop privileges itself (as official images' "
                            "docker-entrypoint.sh do)"), ins
            port = _command_port(text)
            if port is not None:
                return f"its {ins.keyword} listens on port {port} (below 1024, needs root)", ins
        for ins in runs:
            if ins.keyword == "RUN":
                m = _DROP_TOOLS.search(ins.original)
                if m and m.group(1) in ("gosu", "su-exec"):
                    return f"it installs {m.group(1)} to drop privileges itself", ins
            elif ins.keyword == "EXPOSE":
                for v in ins.value:
                    port = _port_number(v)
                    if port is not None and port < 1024:
                        return f"it exposes port {port} (below 1024, needs root to bind)", ins
            elif ins.keyword == "ENV":
                for key, value in _env_pairs(ins):
                    if "PORT" in key.upper():
                        port = _port_number(value)
                        if port is not None and port < 1024:
                            return (f"it sets {key}={value} (a port below 1024 needs "
                                    "root)"), ins
            elif ins.keyword == "SHELL" and ins.is_json and not posix_shell(ctx, ins):
                return "a SHELL instruction switches to a non-POSIX shell", ins
        if facts is None or facts.family == "unknown":
            name = facts.repository if facts is not None else base.stage.base
            return (f"the OS family of {name} is unknown, so the right way to create a "
                    "user is unknown"), None
        return None, None

    # -- which user ---------------------------------------------------------------

    def _plan(self, ctx: Context, base: StageBase, earlier: str | None) -> _Plan | str:
        facts = base.facts
        assert facts is not None
        if earlier is not None and earlier == facts.user and facts.uid is not None:
            return _Plan(f"{facts.uid}:{facts.uid}", None, str(facts.uid), None,
                         f"the stage already switches to {earlier} (uid {facts.uid}) "
                         "earlier, so that user exists")
        if earlier is not None:
            return _Plan(earlier, None, None, None,
                         f"the stage already switches to {earlier} earlier, so that user "
                         "exists", display_only=not _numeric_user(earlier))
        created = _created_user(base.chain)
        if created is not None:
            name, uid = created
            return _Plan(uid or name, None, uid, None,
                         f"a RUN in this Dockerfile creates {name}"
                         + (f" with uid {uid}" if uid else ""), display_only=uid is None)
        family: Family = facts.family
        if facts.user is not None and facts.uid is not None:
            what = f"{facts.repository} ships the user {facts.user} (uid {facts.uid})"
            return _Plan(f"{facts.uid}:{facts.uid}", f"{facts.user}:{facts.user}",
                         str(facts.uid), None, what)
        if family == "scratch":
            ids = f"{UID}:{UID}"
            return _Plan(ids, ids, str(UID), None,
                         "scratch has no /etc/passwd, so numeric ids are used")
        if family in ("debian", "ubuntu"):
            cmd = (f"groupadd --system --gid {UID} {APP} && useradd --system --no-log-init "
                   f"--uid {UID} --gid {APP} --home-dir /nonexistent --shell /usr/sbin/nologin "
                   f"{APP}")
            return _Plan(f"{UID}:{UID}", f"{APP}:{APP}", str(UID), cmd,
                         f"the user {APP} is created with groupadd/useradd ({family} base)")
        if family in ("alpine", "busybox"):
            cmd = f"addgroup -S -g {UID} {APP} && adduser -S -D -H -u {UID} -G {APP} {APP}"
            return _Plan(f"{UID}:{UID}", f"{APP}:{APP}", str(UID), cmd,
                         f"the user {APP} is created with BusyBox addgroup/adduser "
                         f"({family} base)")
        return f"the {family} base ships no non-root user and has no shell to create one"

    # -- the edits ----------------------------------------------------------------

    def _fix(self, ctx: Context, final: Stage, plan: _Plan) -> Fix | None:
        style = ctx.style
        nl = style.newline
        inserts: dict[int, str] = {}
        edits: list[Edit] = []
        frm = final.from_instruction

        def insert(at: int, text: str) -> None:
            inserts[at] = inserts.get(at, "") + text

        def line_after(ins: Instruction, text: str) -> None:
            if ins.text.endswith("\n"):
                insert(ins.end, text + nl)
            else:
                insert(ins.end, nl + text)

        if plan.create is not None:
            line_after(frm, f"{style.keyword('RUN')} {plan.create}")
        chowned = 0
        workdir: str | None = None
        workdir_ins: Instruction | None = None
        copied_into_workdir = False
        for ins in final.body:
            if ins.passthrough:
                continue
            if ins.keyword == "WORKDIR" and ins.value:
                workdir_ins = ins
                value = ins.value[0]
                if value.startswith("/"):
                    workdir = posixpath.normpath(value)
                elif workdir is not None:
                    workdir = posixpath.normpath(posixpath.join(workdir, value))
                if "$" in value:
                    workdir = None
            if ins.keyword not in ("COPY", "ADD") or len(ins.value) < 2:
                continue
            dest = ins.value[-1]
            under = not dest.startswith("/") or (
                workdir is not None and (posixpath.normpath(dest) + "/").startswith(
                    workdir.rstrip("/") + "/"))
            if not under:
                continue
            copied_into_workdir = True
            if plan.owner is None or any(f.startswith("--chown") for f in ins.flags):
                continue
            meaning = ins.meaning
            if meaning is None:
                continue
            pos = ins.logical.to_physical_end(meaning.keyword_span[1])
            edits.append(Edit(pos, pos, f" --chown={plan.owner}"))
            chowned += 1

        # Where USER goes: after the last instruction that may need root.
        anchor: Instruction = frm
        last_user: Instruction | None = None
        for ins in final.body:
            if ins.keyword in ("RUN", "COPY", "ADD", "USER", "ONBUILD"):
                anchor = ins
            if ins.keyword == "USER":
                last_user = ins
        chown_dir = None
        # chown the WORKDIR only once it exists (its WORKDIR comes before the new USER),
        # and never a system directory or anything under /root (mode 0700 there).
        if (plan.owner is not None and not copied_into_workdir and workdir is not None
                and workdir_ins is not None and workdir_ins.start < anchor.start
                and _PLAIN_PATH.fullmatch(workdir) and workdir not in _SYSTEM_DIRS
                and not workdir.startswith("/root/")
                and (plan.create is not None or _has_shell(ctx, final))):
            chown_dir = workdir
        lines: list[str] = []
        if chown_dir is not None:
            lines.append(f"{style.keyword('RUN')} chown {plan.owner} {chown_dir}")
        if last_user is not None and last_user is anchor and chown_dir is None:
            args = last_user.args
            start, end = args.to_physical(0), args.to_physical_end(len(args.text))
            edits.append(Edit(start, end, plan.user))
        else:
            lines.append(f"{style.keyword('USER')} {plan.user}")
            line_after(anchor, nl.join(lines))
        edits += [Edit(at, at, text) for at, text in inserts.items()]
        numeric = plan.user.split(":")[0].isdigit()
        parts = [f"The image now runs as {plan.user}, not root: {plan.why}."]
        if numeric:
            parts.append("USER is numeric so that the runtime (e.g. Kubernetes "
                         "runAsNonRoot) can check it without the image's /etc/passwd.")
        if plan.create is not None:
            parts.append("The user is created right after FROM, so COPY --chown can name it.")
        if chowned:
            what = "COPY/ADD into the app directory now gives" if chowned == 1 else \
                f"{chowned} COPY/ADD into the app directory now give"
            parts.append(f"{what} the files to {plan.owner}, so the app can write to them.")
        if chown_dir is not None:
            parts.append(f"RUN chown gives the WORKDIR {chown_dir} (the directory only) to "
                         f"{plan.owner}.")
        parts.append("USER comes after the last step that may need root. Unsafe: anything "
                     "the app writes outside its own files now needs permissions.")
        if plan.display_only:
            parts.append(f"Shown only: {plan.user} has no fixed uid, and a USER by name "
                         "cannot be checked by the runtime; give the user a fixed uid "
                         "(useradd --uid N) so that USER N can be applied.")
            return Fix(tuple(edits), Safety.DISPLAY_ONLY, " ".join(parts))
        return Fix(tuple(edits), Safety.UNSAFE, " ".join(parts))


def _effective_user(base: StageBase) -> tuple[str | None, str | None, Instruction | None]:
    """(final user or None if unknown, an earlier non-root user, a USER from a variable)."""
    user: str | None = base.facts.default_user if base.facts is not None else None
    earlier: str | None = None
    for stage in base.chain:
        for ins in stage.body:
            if ins.keyword != "USER" or ins.passthrough or not ins.value:
                continue
            value = ins.value[0].strip()
            if "$" in value:
                return None, None, ins
            if user is not None and user not in ROOT_USERS and value in ROOT_USERS:
                earlier = user
            user = value
    if earlier is not None and user in ROOT_USERS:
        return user, earlier, None
    return user, None, None


def _last_commands(chain: tuple[Stage, ...]) -> list[Instruction]:
    """The ENTRYPOINT and CMD the image ends with (those of the chain)."""
    out: dict[str, Instruction] = {}
    for stage in chain:
        for ins in stage.body:
            if ins.keyword in ("ENTRYPOINT", "CMD") and not ins.passthrough:
                out[ins.keyword] = ins
    return list(out.values())


def _command_port(text: str) -> int | None:
    for m in _PORT_ARG.finditer(text):
        port = int(m.group(1))
        if 0 < port < 1024:
            return port
    return None


def _port_number(value: str) -> int | None:
    m = re.fullmatch(r"(\d{1,5})(?:-\d{1,5})?(?:/(?:tcp|udp|sctp))?", value.strip("\"'"))
    return int(m.group(1)) if m else None


def _env_pairs(ins: Instruction) -> list[tuple[str, str]]:
    v = ins.value
    return [(v[i], v[i + 1]) for i in range(0, len(v) - 1, 2)]


def _numeric_user(user: str) -> bool:
    return user.split(":", 1)[0].isdigit()


_UID_OPTION = re.compile(r"(?:^|\s)(?:-u\s*|--uid[=\s]\s*)(\d+)(?=\s|$)")


def _created_user(chain: tuple[Stage, ...]) -> tuple[str, str | None] | None:
    """The name a `useradd`/`adduser` in the chain creates (last plain word), and its
    uid when the command fixes one (`-u N`, `--uid N`)."""
    for stage in chain:
        for ins in stage.body:
            if ins.keyword != "RUN":
                continue
            m = re.search(r"\b(?:useradd|adduser)\b([^&|;\n]*)", ins.original)
            if m is None:
                continue
            words = [w for w in m.group(1).split() if w != "\\"]
            if words and re.fullmatch(r"[a-z_][a-z0-9_-]*", words[-1]):
                uid = _UID_OPTION.search(m.group(1))
                return words[-1], uid.group(1) if uid else None
    return None


def _has_shell(ctx: Context, final: Stage) -> bool:
    base = resolve_stage_base(ctx.tree, final)
    return base.facts is not None and base.facts.family in (
        "debian", "ubuntu", "alpine", "busybox")
