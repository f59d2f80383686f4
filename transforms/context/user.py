"""DO604 root-user: run the final image as a non-root user that really exists."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from dockopt.rewriter.edit import after as splice_after
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Instruction, Stage
from dockopt.transforms.base import Context, Edit, Finding, Fix, Safety, Transform
from dockopt.transforms.images import Family, StageBase, resolve_stage_base
from dockopt.transforms.shellfix import posix_shell, windows_file

ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
UID = 10001
APP = "app"
# Programs that start as root and switch users themselves: adding USER breaks them.
_DROP_TOOLS = lazy(
    r"(?<![\w.-])(gosu|su-exec|setpriv|runuser|s6-setuidgid|setuidgid|chpst\s+-u|"
    r"chroot\s+--userspec|su\s[^;&|]*?-c)(?![\w.-])")
# Ways a command line names a port to listen on: `--port 80`, `-p=80`, `:80`.
_PORT_ARG = lazy(
    r"(?:(?<![\w-])(?:--?(?:port|p|listen|bind|b|http-port|server\.port))[= ](?:\S*:)?"
    r"|(?<![A-Za-z_/]):)(\d{1,5})(?!\d)")
# Programs that need root to do their job: daemons that bind privileged ports, switch
# to other users, or manage the system (a non-root USER breaks them at start).
_ROOT_PROGRAMS = {
    "cron": "cron runs jobs as other users and needs root",
    "crond": "crond runs jobs as other users and needs root",
    "anacron": "anacron needs root",
    "sshd": "sshd needs root to log users in",
    "supervisord": "supervisord starts the programs it supervises as root unless its "
                   "config names a user for each, which needs root",
    "systemd": "systemd needs root",
    "init": "an init system needs root",
    "s6-svscan": "s6-svscan supervises services as root",
    "runsvdir": "runsvdir supervises services as root",
    "rsyslogd": "rsyslogd needs root",
    "syslogd": "syslogd needs root",
    "dockerd": "dockerd needs root",
    "service": "`service` starts system services, which needs root",
    "apachectl": "Apache binds port 80 by default",
    "apache2ctl": "Apache binds port 80 by default",
    "httpd": "httpd binds port 80 by default",
    "nginx": "nginx binds port 80 by default",
    "postfix": "postfix needs root",
    "named": "named binds port 53",
    "dnsmasq": "dnsmasq binds port 53",
}
# Wrappers in front of the real program of a command line.
_WRAPPERS = frozenset({"exec", "nohup", "tini", "dumb-init", "--", "env", "-s", "-g",
                       "catatonit", "sh", "bash", "-c", "-ec", "-ex"})
# Package installs into the system: they need root when the container runs them.
_RUNTIME_INSTALL = lazy(
    r"(?<![\w.-])(?:(?:pip3?|python3?(?:\.\d+)? -m pip) install|apt-get (?:install|update)"
    r"|apt (?:install|update)|apk add|(?:yum|dnf|microdnf|zypper|tdnf) install"
    r"|npm (?:install|i) (?:-g|--global)|gem install)(?![\w-])")
_PLAIN_PATH = lazy(r"/[A-Za-z0-9_.@+-]+(?:/[A-Za-z0-9_.@+-]+)*")
# Directories that must never be chowned to the app user.
_SYSTEM_DIRS = frozenset({"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64",
                          "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv",
                          "/sys", "/tmp", "/usr", "/usr/local", "/usr/src", "/var", "/var/lib",
                          "/var/log", "/var/cache", "/var/run", "/var/tmp", "/usr/share",
                          "/usr/lib", "/usr/local/lib", "/usr/local/share"})
# Trees whose folders belong to the system and its packages: never chowned.
_SYSTEM_TREES = ("/bin/", "/boot/", "/dev/", "/etc/", "/lib/", "/lib32/", "/lib64/",
                 "/libx32/", "/proc/", "/root/", "/sbin/", "/sys/", "/usr/bin/", "/usr/lib/",
                 "/usr/sbin/", "/usr/share/", "/usr/include/", "/usr/libexec/",
                 "/usr/local/bin/", "/usr/local/lib/", "/usr/local/sbin/",
                 "/usr/local/share/", "/usr/local/include/", "/usr/local/etc/",
                 "/usr/local/man/", "/var/lib/apt/",
                 "/var/lib/dpkg/", "/var/cache/apt/", "/var/run/", "/run/")


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
          --system --no-log-init --uid 10001 --gid app --create-home --home-dir
          /home/app --shell /usr/sbin/nologin app` right after FROM (`--no-log-init`
          keeps the lastlog/faillog files sparse-free for large uids; a real, writable
          home, because tools such as maven, gradle, npm and pip write to `$HOME`);
        - Alpine/BusyBox bases: `RUN addgroup -S -g 10001 app && adduser -S -D -h
          /home/app -u 10001 -G app app`;
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
        right after the keyword (an existing `--chown` is kept). The folders the
        image makes for the app go to the user too (the folder only, not recursive;
        only on bases with a shell; never a system folder such as `/usr/src`,
        `/usr/share/...`, `/etc/...` or anything under `/root`, nor a folder a RUN
        removes or chowns itself): the WORKDIR, by `RUN chown` right after its
        WORKDIR (when it comes before the new USER, so it exists); the folders a RUN
        of the final stage creates with `mkdir`, by `RUN chown` before the USER; and
        each VOLUME folder, by `RUN mkdir -p <dir> && chown` right before its VOLUME
        (a new volume starts with that ownership).
        `USER` goes right after the last instruction of the final stage that may
        need root (RUN, ONBUILD, USER, a VOLUME whose folder is chowned), so before
        the COPY/ADD after it (COPY ignores USER: its files belong to root unless
        `--chown` says otherwise) and before CMD/ENTRYPOINT: a source change then
        re-runs no USER step. A RUN after the source COPY (`pip install .`, `npm run
        build`) keeps USER below it. A trailing `USER root` is rewritten in place.
        The new lines go where BuildKit really ends the instruction above: after a
        continuation left open at the end of the file (`make install \\` then a blank
        line) the dangling escape is removed (the instruction runs the same), else
        the new line would become its arguments.

        Leaves the file alone, with a finding that says why, when the image binds
        a port below 1024 (EXPOSE, `--port 80`, `:80`, `ENV PORT=80`, nginx/httpd
        defaults), drops privileges itself (gosu, su-exec, setpriv, runuser,
        `chroot --userspec`, `su -c`, an ENTRYPOINT/CMD script named
        `*entrypoint*`, or an official image such as postgres/redis/mysql/mongo
        whose entrypoint does), when the base image is not in the table of image
        facts, is a Windows image or comes from an ARG, when USER comes from a
        variable, or when a SHELL is not POSIX; and where root is evidently needed
        at run time or in child builds: the CMD/ENTRYPOINT runs a daemon that needs
        root (cron, crond, sshd, supervisord, an init system, `service`, httpd or
        nginx on their default port 80) or installs packages when the container
        starts (`pip install`, `apt-get install`, `apk add`, `npm install -g`...);
        the stage has an `ONBUILD RUN` (it runs in every child build as the image's
        last USER); the image sets no CMD or ENTRYPOINT of its own (a base or tool
        image: the images built FROM it would run their `RUN apt-get install` as the
        inherited non-root user, which fails).

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
        RUN chown node:node /app
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
        if isinstance(fix, str):
            yield self.finding(ctx, frm, f"The image runs as root, but {fix}; left as it is")
            return
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
        commands = _last_commands(chain)
        if not commands:
            return ("it sets no CMD or ENTRYPOINT of its own: it looks like a base or tool "
                    "image, and the images built FROM it would inherit the non-root user, "
                    "so their `RUN apt-get install`/`pip install` steps would fail"), None
        for ins in runs:
            if ins.keyword == "ONBUILD" and ins.sub_keyword == "RUN":
                return ("its ONBUILD RUN runs in every child build as the image's last "
                        "USER, and may need root there"), ins
        for ins in commands:
            text = " ".join(ins.value)
            m2 = _RUNTIME_INSTALL.search(text)
            if m2 is not None:
                return (f"its {ins.keyword} installs packages when the container starts "
                        f"(`{m2.group(0)}`), which needs root"), ins
            for program in _programs(text):
                why = _ROOT_PROGRAMS.get(program)
                if why is not None:
                    return f"its {ins.keyword} runs {program} ({why})", ins
        for ins in commands:
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
                   f"--uid {UID} --gid {APP} --create-home --home-dir /home/{APP} "
                   f"--shell /usr/sbin/nologin {APP}")
            return _Plan(f"{UID}:{UID}", f"{APP}:{APP}", str(UID), cmd,
                         f"the user {APP} is created with groupadd/useradd ({family} base)")
        if family in ("alpine", "busybox"):
            cmd = (f"addgroup -S -g {UID} {APP} && adduser -S -D -h /home/{APP} -u {UID} "
                   f"-G {APP} {APP}")
            return _Plan(f"{UID}:{UID}", f"{APP}:{APP}", str(UID), cmd,
                         f"the user {APP} is created with BusyBox addgroup/adduser "
                         f"({family} base)")
        return f"the {family} base ships no non-root user and has no shell to create one"

    # -- the edits ----------------------------------------------------------------

    def _fix(self, ctx: Context, final: Stage, plan: _Plan) -> Fix | str:
        style = ctx.style
        nl = style.newline
        edits: list[Edit] = []
        after: dict[int, tuple[Instruction, list[str]]] = {}
        frm = final.from_instruction
        run_kw = style.keyword("RUN")

        def line_after(ins: Instruction, text: str) -> None:
            after.setdefault(ins.start, (ins, []))[1].append(text)

        if plan.create is not None:
            line_after(frm, f"{run_kw} {plan.create}")
        can_chown = plan.owner is not None and (plan.create is not None
                                                or _has_shell(ctx, final))
        chowned = 0
        workdir: str | None = None
        workdir_ins: Instruction | None = None
        made: list[str] = []  # folders a RUN of the final stage creates (mkdir)
        covered: list[str] = []  # folders a RUN removes or chowns itself
        volumes: list[tuple[Instruction, list[str]]] = []
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
            if ins.keyword == "RUN":
                _folders(ctx, ins, workdir, made, covered)
            if ins.keyword == "VOLUME":
                targets = [posixpath.normpath(v) for v in ins.value if v.startswith("/")]
                targets = [t for t in targets if _chownable(t)]
                if can_chown and targets:
                    volumes.append((ins, targets))
            if ins.keyword not in ("COPY", "ADD") or len(ins.value) < 2:
                continue
            dest = ins.value[-1]
            under = not dest.startswith("/") or (
                workdir is not None and (posixpath.normpath(dest) + "/").startswith(
                    workdir.rstrip("/") + "/"))
            if not under:
                continue
            if plan.owner is None or any(f.startswith("--chown") for f in ins.flags):
                continue
            meaning = ins.meaning
            if meaning is None:
                continue
            pos = ins.logical.to_physical_end(meaning.keyword_span[1])
            edits.append(Edit(pos, pos, f" --chown={plan.owner}"))
            chowned += 1

        # Where USER goes: right after the last instruction that may need root (a RUN,
        # an ONBUILD, a USER, a VOLUME whose folder is chowned), so before the COPY/ADD
        # steps after it: COPY ignores USER (its files are root's unless --chown), and
        # a source change then re-runs no USER step.
        anchor: Instruction = frm
        last_user: Instruction | None = None
        vol_starts = {v.start for v, _ in volumes}
        for ins in final.body:
            if ins.keyword in ("RUN", "USER", "ONBUILD") or ins.start in vol_starts:
                anchor = ins
            if ins.keyword == "USER":
                last_user = ins
        later_copies = [i for i in final.body if i.start > anchor.start
                        and i.keyword in ("COPY", "ADD")]
        dirs: list[str] = []
        dirs_at_workdir: list[str] = []
        if can_chown:
            # The folders the image makes for the app, given to the user (the folder
            # only, not what is in it): the WORKDIR once it exists (its WORKDIR comes
            # before the new USER) and what a RUN creates with mkdir; never a system
            # folder, nothing a RUN removes or chowns itself, nothing under a VOLUME
            # (chowned before its VOLUME).
            vol_dirs = [t for _, ts in volumes for t in ts]
            if workdir is not None and workdir_ins is not None and \
                    workdir_ins.start < anchor.start and _chownable(workdir) and \
                    not _within(workdir, covered) and not _within(workdir, vol_dirs):
                # Right after its WORKDIR: a cached step, before the source COPY.
                line_after(workdir_ins, f"{run_kw} chown {plan.owner} {workdir}")
                dirs_at_workdir.append(workdir)
            for d in made:
                if d in dirs_at_workdir:
                    continue
                if d in dirs or not _chownable(d) or _within(d, covered) or \
                        _within(d, vol_dirs):
                    continue
                dirs.append(d)
        lines: list[str] = []
        if dirs:
            lines.append(f"{run_kw} chown {plan.owner} {' '.join(dirs)}")
        if last_user is not None and last_user is anchor and not dirs:
            args = last_user.args
            start, end = args.to_physical(0), args.to_physical_end(len(args.text))
            edits.append(Edit(start, end, plan.user))
        else:
            lines.append(f"{style.keyword('USER')} {plan.user}")
            line_after(anchor, nl.join(lines))
        for ins, texts in after.values():
            where = splice_after(ctx.tree, ins, nl.join(texts))
            if where is None:
                return (f"the {ins.keyword} on line {ins.start_line}, after which the "
                        "new lines would go, does not end before the end of the file (an "
                        "unterminated heredoc or line continuation)")
            edits.append(Edit(*where))
        # After the lines written after the instruction above (the user's creation
        # when the VOLUME follows FROM): an insertion at one point keeps this order.
        for ins, targets in volumes:
            comments = ctx.tree.owned_comments(ins)
            at = comments[0].start if comments else ins.start
            paths = " ".join(targets)
            edits.append(Edit(at, at, f"{run_kw} mkdir -p {paths} && chown {plan.owner} "
                                      f"{paths}{nl}"))
        edits = _merge_insertions(edits)
        numeric = plan.user.split(":")[0].isdigit()
        parts = [f"The image now runs as {plan.user}, not root: {plan.why}."]
        if numeric:
            parts.append("USER is numeric so that the runtime (e.g. Kubernetes "
                         "runAsNonRoot) can check it without the image's /etc/passwd.")
        if plan.create is not None:
            parts.append("The user is created right after FROM, with a home folder of "
                         f"its own (/home/{APP}) for the tools that write to $HOME, so "
                         "COPY --chown can name it.")
        if chowned:
            what = "COPY/ADD into the app directory now gives" if chowned == 1 else \
                f"{chowned} COPY/ADD into the app directory now give"
            parts.append(f"{what} the files to {plan.owner}, so the app can write to them.")
        if dirs_at_workdir or dirs:
            parts.append(f"RUN chown gives the folders the image makes for the app "
                         f"({', '.join(dirs_at_workdir + dirs)}; the folders only) to "
                         f"{plan.owner}.")
        if volumes:
            parts.append(f"The VOLUME folders ({', '.join(t for _, ts in volumes for t in ts)})"
                         f" are created and given to {plan.owner} before their VOLUME, so "
                         "a new volume starts writable.")
        if later_copies:
            parts.append("USER comes right after the last step that may need root and "
                         "before the COPY/ADD after it, so a source change re-runs no "
                         "USER step.")
        else:
            parts.append("USER comes after the last step that may need root.")
        parts.append("Unsafe: anything the app writes outside its own files and "
                     "folders now needs permissions.")
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


def _programs(text: str) -> list[str]:
    """The programs a CMD/ENTRYPOINT command line runs (basenames), past wrappers
    such as `exec`, `tini --` and `sh -c`."""
    out: list[str] = []
    for piece in re.split(r"&&|\|\||[;|\n]", text):
        for word in piece.split():
            word = word.strip("\"'()")
            name = word.rsplit("/", 1)[-1]
            if not name or name in _WRAPPERS or name.startswith("-") or \
                    re.match(r"[A-Za-z_][A-Za-z0-9_]*=", word):
                continue
            out.append(name)
            break
    return out


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


_UID_OPTION = lazy(r"(?:^|\s)(?:-u\s*|--uid[=\s]\s*)(\d+)(?=\s|$)")


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


def _chownable(path: str) -> bool:
    """A plain absolute folder that may be given to the app user."""
    return bool(_PLAIN_PATH.fullmatch(path)) and path not in _SYSTEM_DIRS and \
        not (path + "/").startswith(_SYSTEM_TREES)


def _within(path: str, parents: list[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def _folders(ctx: Context, ins: Instruction, workdir: str | None, made: list[str],
             covered: list[str]) -> None:
    """Add the folders a RUN creates (`mkdir`) to ``made``, and those it removes or
    chowns itself (`rm`, `chown`) to ``covered``."""
    script = ctx.shell(ins)
    if script is None:
        return
    moves = any(c.resolved_name in ("cd", "pushd") for c in script.commands)
    for cmd in script.commands:
        name = cmd.resolved_name
        if name not in ("mkdir", "rm", "chown", "rmdir", "mv"):
            continue
        for word in cmd.resolved_args:
            value = word.value
            if value is None or value.startswith("-") or not value:
                continue
            if any(ch in value for ch in "*?[{$"):
                value = value[: min(value.find(ch) for ch in "*?[{$" if ch in value)]
                if name == "mkdir" or not value.startswith("/"):
                    continue
                covered.append(value.rstrip("/") or "/")
                continue
            if not value.startswith("/"):
                if moves or workdir is None:
                    continue
                value = posixpath.join(workdir, value)
            path = posixpath.normpath(value)
            (made if name == "mkdir" else covered).append(path)


def _merge_insertions(edits: list[Edit]) -> list[Edit]:
    """Insertions at one point joined into one edit, in the order they were made."""
    out: list[Edit] = []
    at: dict[int, int] = {}  # insertion point -> its index in out (a scan was quadratic)
    for e in edits:
        same = at.get(e.start) if e.start == e.end else None
        if same is None:
            if e.start == e.end:
                at[e.start] = len(out)
            out.append(e)
        else:
            out[same] = Edit(e.start, e.end, out[same].content + e.content)
    return out
