"""Prove a rewrite with real builds: build the original and the rewritten Dockerfile,
run both, and compare what matters (build success, cold and cached rebuild time,
size, layers, final user, a smoke test).

The user's files are never touched: each variant is built from its own temporary
copy of the build context (symlinks preserved). The rewritten copy gets the new
Dockerfile and the other files the fix writes (``FixResult.extra_files``, e.g. a
new ``.dockerignore``). The "rebuild" figure is the time of a build with the layer
cache after appending a comment line with a fresh nonce (a newline where the file
type has no comment syntax) to one source file in the copy (a file that a COPY
includes and that is not a dependency manifest). An untimed cached build with
nothing changed comes first, so the rebuild reuses the cold build's layers as a
developer's second build would (see ``Session.measure``).

Engines: docker, podman (``docker``-compatible CLIs) and buildah. ``auto`` takes the
first that works, in that order. For buildah, ``$STORAGE_DRIVER`` (if set) is passed
as ``--storage-driver`` on every call, and the isolation comes from
``$BUILDAH_ISOLATION`` (default ``chroot``, which works without a daemon or user
namespaces).

Nothing here imports the parser or the transforms at module load time beyond what
``verify`` needs; the CLI imports this module only inside the ``verify`` command.
"""

from __future__ import annotations

import atexit
import contextlib
import fnmatch
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.pipeline import FixResult

EngineName = Literal["auto", "docker", "podman", "buildah"]
ENGINES: tuple[str, ...] = ("docker", "podman", "buildah")

DEFAULT_BUILD_TIMEOUT = 1800.0
DEFAULT_SMOKE_TIMEOUT = 30.0
# Two builds of the same Dockerfile differ by a little (timestamps, caches written
# by package managers); "bigger" means bigger by more than this.
SIZE_TOLERANCE_BYTES = 1024 * 1024
LOG_TAIL_LINES = 40

# Files whose change *should* invalidate the dependency layers: never the file
# touched for the "source-only change".
MANIFESTS = frozenset({
    "package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
    "pnpm-lock.yaml", "requirements.txt", "requirements-dev.txt", "constraints.txt",
    "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "Pipfile.lock", "poetry.lock",
    "uv.lock", "go.mod", "go.sum", "Gemfile", "Gemfile.lock", "pom.xml", "build.gradle",
    "build.gradle.kts", "settings.gradle", "Cargo.toml", "Cargo.lock", "composer.json",
    "composer.lock", "Dockerfile", "Containerfile", ".dockerignore", "app.toml",
    "tsconfig.json",
})
_SOURCE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".py", ".go", ".rb",
                    ".java", ".kt", ".rs", ".php", ".sh", ".c", ".cc", ".cpp", ".html",
                    ".css")
_MAIN_NAMES = ("main", "server", "app", "index", "cli", "__main__")

# Log phrases that mean "the base image is not there" for docker, podman, buildah.
_BASE_MISSING = re.compile(
    r"image not known|pull access denied|no such image|manifest unknown|"
    r"repository does not exist|failed to resolve source metadata|"
    r"requested access to the resource is denied|initializing source|"
    r"unable to pull|error pulling image|name unknown", re.I)


class EngineError(Exception):
    """The container engine cannot be used (not installed, daemon down, ...)."""


# --- results -----------------------------------------------------------------------


@dataclass
class SmokeResult:
    command: list[str]
    exit_code: int | None
    output: str
    ok: bool
    timed_out: bool = False
    note: str = ""


@dataclass
class Measurement:
    """What one variant (original or rewritten) did."""

    variant: str
    built: bool = False
    error: str | None = None  # "build-failed", "base-image-unavailable", "timeout"
    log_tail: str = ""
    cold_seconds: float | None = None
    rebuild_seconds: float | None = None
    rebuild_ok: bool | None = None
    rebuild_samples: list[float] = field(default_factory=list)  # rebuild_seconds: median
    settle_seconds: float | None = None  # the untimed cached build before the rebuilds
    touched: str | None = None
    size_bytes: int | None = None
    layers: int | None = None
    user: str | None = None
    smoke: SmokeResult | None = None
    checks: list[SmokeResult] = field(default_factory=list)  # Options.checks, in order

    @property
    def size_mb(self) -> float | None:
        return None if self.size_bytes is None else self.size_bytes / 1e6

    @property
    def smoke_ok(self) -> bool | None:
        return None if self.smoke is None else self.smoke.ok


@dataclass
class VerifyReport:
    path: str
    engine: str
    changed: bool
    codes: list[str]
    original: Measurement | None
    rewritten: Measurement | None
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None  # verification could not be done (engine, original broken)

    @property
    def exit_code(self) -> int:
        if self.fatal is not None:
            return 2
        return 1 if self.problems else 0

    def ratios(self) -> dict[str, float | None]:
        o, r = self.original, self.rewritten
        if o is None or r is None:
            return {"size": None, "rebuild_speedup": None, "cold_speedup": None}
        return {
            "size": _ratio(r.size_bytes, o.size_bytes),
            "rebuild_speedup": _ratio(o.rebuild_seconds, r.rebuild_seconds),
            "cold_speedup": _ratio(o.cold_seconds, r.cold_seconds),
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("original", "rewritten"):
            m = getattr(self, key)
            if m is not None:
                data[key]["size_mb"] = m.size_mb
        data["ratios"] = self.ratios()
        data["exit_code"] = self.exit_code
        return data


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


# --- engines -------------------------------------------------------------------------


@dataclass
class BuildOutcome:
    ok: bool
    seconds: float
    log: str
    error: str | None = None


@dataclass
class ImageFacts:
    size_bytes: int
    layers: int
    user: str
    entrypoint: list[str]
    cmd: list[str]


def _run(argv: Sequence[str], *, timeout: float, cwd: str | None = None,
         env: dict[str, str] | None = None) -> tuple[int | None, str, bool]:
    """Run a command in its own process group; (exit code or None, output, timed out).

    On a timeout the whole group is killed (a builder's children included).
    """
    try:
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=cwd, env=env,
                                start_new_session=True)
    except FileNotFoundError as exc:
        return 127, f"{argv[0]}: {exc.strerror or exc}", False
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode("utf-8", "replace"), False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace"), True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


class Engine:
    """A container engine CLI. Subclasses fill in the command lines."""

    name = "engine"

    def __init__(self, build_timeout: float = DEFAULT_BUILD_TIMEOUT) -> None:
        self.build_timeout = build_timeout

    def available(self) -> str | None:
        """None if usable, else why not (one line)."""
        raise NotImplementedError

    def build_argv(self, dockerfile: Path, context: Path, tag: str,
                   no_cache: bool) -> list[str]:
        raise NotImplementedError

    def build(self, dockerfile: Path, context: Path, tag: str, *,
              no_cache: bool) -> BuildOutcome:
        argv = self.build_argv(dockerfile, context, tag, no_cache)
        start = time.monotonic()
        code, log, timed_out = _run(argv, timeout=self.build_timeout, cwd=str(context))
        seconds = time.monotonic() - start
        if timed_out:
            return BuildOutcome(False, seconds, log, "timeout")
        if code != 0:
            kind = "base-image-unavailable" if _BASE_MISSING.search(log) else "build-failed"
            return BuildOutcome(False, seconds, log, kind)
        return BuildOutcome(True, seconds, log)

    def inspect(self, tag: str) -> ImageFacts:
        raise NotImplementedError

    def run(self, tag: str, argv: Sequence[str], timeout: float
            ) -> tuple[int | None, str, bool]:
        raise NotImplementedError

    def base_argv(self) -> list[str]:
        raise NotImplementedError

    def image_ids(self, *, dangling: bool = False) -> set[str]:
        """Every image id in the store (with intermediate ones), or the dangling ones."""
        argv = [*self.base_argv(), "images", "-a", "-q", "--no-trunc"]
        if dangling:
            argv += ["--filter", "dangling=true"]
        code, out, _ = _run(argv, timeout=120)
        return set(out.split()) if code == 0 else set()

    def remove(self, tags: Sequence[str], keep: set[str] | None = None) -> None:
        """Remove the tagged images, then the untagged images this session left behind
        (the --layers cache, a rebuild's replaced image): those that are new since
        ``keep`` was taken and dangling. Nothing is forced, so an image another build
        is using stays; no global prune, which could break a concurrent build."""
        if tags:
            _run([*self.base_argv(), "rmi", *tags], timeout=600)
        if keep is None:
            return
        for _ in range(10):  # removing a child can leave its parent dangling
            leftovers = sorted(self.image_ids(dangling=True) - keep)
            if not leftovers:
                return
            code, _, _ = _run([*self.base_argv(), "rmi", *leftovers], timeout=600)
            if code != 0:  # remove what can be removed, one by one
                for image in leftovers:
                    _run([*self.base_argv(), "rmi", image], timeout=600)


class DockerEngine(Engine):
    """docker, or podman through its docker-compatible CLI."""

    def __init__(self, cli: str = "docker",
                 build_timeout: float = DEFAULT_BUILD_TIMEOUT) -> None:
        super().__init__(build_timeout)
        self.cli = cli
        self.name = cli

    def available(self) -> str | None:
        if shutil.which(self.cli) is None:
            return f"{self.cli} is not installed"
        code, out, timed_out = _run([self.cli, "info"], timeout=30)
        if code == 0:
            return None
        if timed_out:
            return f"`{self.cli} info` timed out"
        if "Cannot connect" in out or "daemon" in out.lower():
            return f"{self.cli} is installed but its daemon is not running ({_last_line(out)})"
        return f"`{self.cli} info` failed: {_last_line(out)}"

    def build_argv(self, dockerfile: Path, context: Path, tag: str,
                   no_cache: bool) -> list[str]:
        argv = [self.cli, "build", "--force-rm", "-f", str(dockerfile), "-t", tag]
        if self.cli == "podman":
            argv.append("--layers")
        if no_cache:
            argv.append("--no-cache")
        return [*argv, str(context)]

    def build(self, dockerfile: Path, context: Path, tag: str, *,
              no_cache: bool) -> BuildOutcome:
        env = os.environ.get("DOCKER_BUILDKIT")
        os.environ.setdefault("DOCKER_BUILDKIT", "1")
        try:
            return super().build(dockerfile, context, tag, no_cache=no_cache)
        finally:
            if env is None:
                os.environ.pop("DOCKER_BUILDKIT", None)

    def inspect(self, tag: str) -> ImageFacts:
        code, out, _ = _run([self.cli, "image", "inspect", tag], timeout=60)
        if code != 0:
            raise EngineError(f"cannot inspect {tag}: {_last_line(out)}")
        data = json.loads(out)[0]
        config = data.get("Config") or {}
        return ImageFacts(int(data.get("Size") or 0),
                          len((data.get("RootFS") or {}).get("Layers") or []),
                          config.get("User") or "",
                          list(config.get("Entrypoint") or []), list(config.get("Cmd") or []))

    def run(self, tag: str, argv: Sequence[str], timeout: float
            ) -> tuple[int | None, str, bool]:
        name = f"dockopt-smoke-{secrets.token_hex(4)}"
        cmd = [self.cli, "run", "--rm", "--name", name, "--entrypoint", argv[0], tag,
               *argv[1:]]
        try:
            return _run(cmd, timeout=timeout)
        finally:
            _run([self.cli, "rm", "-f", name], timeout=60)

    def base_argv(self) -> list[str]:
        return [self.cli]


class BuildahEngine(Engine):
    """buildah: no daemon; `bud --layers` caches, `from` + `run` runs."""

    name = "buildah"

    def __init__(self, build_timeout: float = DEFAULT_BUILD_TIMEOUT) -> None:
        super().__init__(build_timeout)
        self.isolation = os.environ.get("BUILDAH_ISOLATION", "chroot")
        self._conf: str | None = None
        driver = storage_driver()
        self.cli = ["buildah", *(["--storage-driver", driver] if driver else [])]

    def _ulimits(self) -> list[str]:
        # buildah >= 1.39 otherwise fails with "setting RLIMIT_NPROC ... not permitted"
        # where the hard limits are below its defaults.
        out: list[str] = []
        for name, res in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
            hard = resource.getrlimit(res)[1]
            if hard != resource.RLIM_INFINITY:
                out += ["--ulimit", f"{name}={hard}:{hard}"]
        return out

    def available(self) -> str | None:
        if shutil.which("buildah") is None:
            return "buildah is not installed"
        code, out, _ = _run([*self.cli, "version"], timeout=30)
        return None if code == 0 else f"`buildah version` failed: {_last_line(out)}"

    def build_argv(self, dockerfile: Path, context: Path, tag: str,
                   no_cache: bool) -> list[str]:
        argv = [*self.cli, "bud", "--isolation", self.isolation, *self._ulimits(),
                "--layers", "--force-rm", "--pull=missing", "-f", str(dockerfile), "-t", tag]
        if no_cache:
            argv.append("--no-cache")
        return [*argv, str(context)]

    def inspect(self, tag: str) -> ImageFacts:
        code, out, _ = _run([*self.cli, "inspect", "--type", "image", tag], timeout=60)
        if code != 0:
            raise EngineError(f"cannot inspect {tag}: {_last_line(out)}")
        data = json.loads(out)
        oci = data.get("OCIv1") or {}
        config = oci.get("config") or {}
        layers = len((oci.get("rootfs") or {}).get("diff_ids") or [])
        return ImageFacts(_manifest_size(data), layers, config.get("User") or "",
                          list(config.get("Entrypoint") or []), list(config.get("Cmd") or []))

    def run(self, tag: str, argv: Sequence[str], timeout: float
            ) -> tuple[int | None, str, bool]:
        name = f"dockopt-smoke-{secrets.token_hex(4)}"
        code, out, _ = _run([*self.cli, "from", "--pull=never", "--name", name, tag],
                            timeout=300)
        if code != 0:
            return code, out, False
        try:
            return _run([*self.cli, "run", "--isolation", self.isolation, name, "--", *argv],
                        timeout=timeout, env=self._run_env())
        finally:
            _run([*self.cli, "rm", name], timeout=120)

    def _run_env(self) -> dict[str, str]:
        """`buildah run` has no --ulimit flag: pass the hard limits as containers.conf
        default_ulimits through CONTAINERS_CONF_OVERRIDE (a file written once)."""
        env = dict(os.environ)
        limits = self._ulimits()[1::2]
        if not limits or "CONTAINERS_CONF_OVERRIDE" in env:
            return env
        if self._conf is None:
            fd, path = tempfile.mkstemp(prefix="dockopt-containers-", suffix=".conf")
            with os.fdopen(fd, "w") as handle:
                items = ", ".join(f'"{limit}"' for limit in limits)
                handle.write(f"[containers]\ndefault_ulimits = [{items}]\n")
            self._conf = path
            atexit.register(_unlink_quietly, path)
        env["CONTAINERS_CONF_OVERRIDE"] = self._conf
        return env

    def base_argv(self) -> list[str]:
        return list(self.cli)


def storage_driver() -> str | None:
    """The storage driver to name on every buildah call, or None for buildah's default.

    buildah ignores ``$STORAGE_DRIVER``, so it is passed as a flag when set. Unset,
    the driver whose image store holds images wins: once two drivers' folders exist
    in one graph root (someone ran ``buildah --storage-driver vfs`` once), a plain
    ``buildah`` refuses to start ("contains several valid graphdrivers").
    """
    driver = os.environ.get("STORAGE_DRIVER")
    if driver:
        return driver
    if os.geteuid() == 0:
        root = Path("/var/lib/containers/storage")
    else:
        data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        root = Path(data) / "containers" / "storage"
    found = [d.name[: -len("-images")] for d in sorted(root.glob("*-images"))
             if (d / "images.json").is_file() and (d / "images.json").stat().st_size > 2]
    return "overlay" if "overlay" in found else (found[0] if found else None)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _manifest_size(data: dict[str, Any]) -> int:
    """The uncompressed image size: in local containers-storage the manifest's layers
    are uncompressed tars, so their sizes add up to what `docker images` shows."""
    try:
        manifest = json.loads(data.get("Manifest") or "{}")
        return sum(int(layer.get("size") or 0) for layer in manifest.get("layers") or [])
    except (ValueError, TypeError, AttributeError):
        return 0


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def make_engine(name: str, build_timeout: float = DEFAULT_BUILD_TIMEOUT) -> Engine:
    """The engine called ``name``, or the first usable one for ``auto``.

    Raises EngineError with every reason when none works.
    """
    def one(n: str) -> Engine:
        if n == "buildah":
            return BuildahEngine(build_timeout)
        return DockerEngine(n, build_timeout)

    names = ENGINES if name == "auto" else (name,)
    reasons: list[str] = []
    for n in names:
        engine = one(n)
        why = engine.available()
        if why is None:
            return engine
        reasons.append(why)
    raise EngineError("no usable container engine: " + "; ".join(reasons))


# --- the build context -----------------------------------------------------------------


class IgnoreRules:
    """`.dockerignore` semantics (moby's patternmatcher): last match wins, `!` re-includes,
    `**` spans folders, a pattern that matches a folder excludes its contents."""

    def __init__(self, text: str | None) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in (text or "").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/")
            if line in ("", "."):
                line = "**"
            self.rules.append((negate, re.compile(_glob_to_regex(line))))

    def ignored(self, rel: str) -> bool:
        parts = rel.split("/")
        result = False
        for negate, rx in self.rules:
            # A pattern matches the path or one of its parent folders.
            if any(rx.fullmatch("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
                result = not negate
        return result


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                out.append(re.escape(c))
            else:
                out.append("[" + pattern[i + 1:j].replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def context_files(root: Path) -> list[str]:
    """Every regular file under root, relative and "/"-separated, sorted."""
    out: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", "__pycache__"))
        for f in files:
            full = Path(folder) / f
            if full.is_file() and not full.is_symlink():
                out.append(full.relative_to(root).as_posix())
    return sorted(out)


def copied_sources(text: str) -> list[str]:
    """The context paths (globs) that COPY/ADD instructions without --from include."""
    from dockopt.rewriter.syntax import parse

    out: list[str] = []
    for ins in parse(text).instructions:
        if ins.keyword not in ("COPY", "ADD") or ins.heredocs:
            continue
        if any(f.startswith("--from") for f in ins.flags):
            continue
        values = [v for v in ins.value if not v.startswith("--")]
        out += values[:-1]
    return out


def _included(rel: str, sources: Sequence[str]) -> bool:
    for src in sources:
        src = os.path.normpath(src).lstrip("/")
        if src in ("", "."):
            return True
        if "://" in src:
            continue
        if rel == src or rel.startswith(src.rstrip("/") + "/"):
            return True
        if fnmatch.fnmatchcase(rel, src) or any(
                fnmatch.fnmatchcase("/".join(rel.split("/")[:i]), src)
                for i in range(1, rel.count("/") + 1)):
            return True
    return False


def pick_source_file(context: Path, dockerfiles: Sequence[str],
                     ignores: Sequence[str | None]) -> str | None:
    """A file to change for the "source-only change": included by a COPY in every
    Dockerfile, ignored by none of the .dockerignore texts, not a manifest.
    Application sources (by suffix), then main-looking names, are preferred."""
    sources = [copied_sources(t) for t in dockerfiles]
    rules = [IgnoreRules(t) for t in ignores]
    candidates = [
        rel for rel in context_files(context)
        if rel.rsplit("/", 1)[-1] not in MANIFESTS
        and all(_included(rel, s) for s in sources)
        and not any(r.ignored(rel) for r in rules)
        and not rel.rsplit("/", 1)[-1].startswith(".")
    ]

    def rank(rel: str) -> tuple[int, int, int, str]:
        name = rel.rsplit("/", 1)[-1]
        stem = name.split(".", 1)[0]
        return (0 if name.endswith(_SOURCE_SUFFIXES) else 1,
                0 if stem in _MAIN_NAMES else 1, rel.count("/"), rel)

    return min(candidates, key=rank) if candidates else None


def copy_context(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True)


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Variant:
    """One Dockerfile to measure: its text, and the files written into the context copy."""

    name: str
    dockerfile_text: str
    extra_files: dict[str, str] = field(default_factory=dict)


@dataclass
class Options:
    smoke: list[str] | None = None  # argv; None: the image's ENTRYPOINT + CMD
    smoke_timeout: float = DEFAULT_SMOKE_TIMEOUT
    rebuild: bool = True
    rebuild_runs: int = 1  # source change + cached rebuild, repeated; the median counts
    touch: str | None = None  # the file changed for the rebuild; None: picked
    checks: list[list[str]] = field(default_factory=list)  # more commands run like smoke
    keep_images: bool = False
    log: Callable[[str], None] | None = None


class Session:
    """Builds variants of one Dockerfile in temporary context copies, then cleans up."""

    def __init__(self, engine: Engine, context: Path, dockerfile_rel: str | None,
                 options: Options) -> None:
        self.engine = engine
        self.context = context
        self.dockerfile_rel = dockerfile_rel  # where the Dockerfile sits in the context
        self.options = options
        self.tmp = Path(tempfile.mkdtemp(prefix="dockopt-verify-"))
        self.tags: list[str] = []
        self.count = 0
        # Images that existed before: never removed by the clean-up.
        self.keep = engine.image_ids()
        self.prefix = f"localhost/dockopt-verify-{os.getpid()}-{secrets.token_hex(3)}"

    def say(self, message: str) -> None:
        if self.options.log is not None:
            self.options.log(message)

    def close(self) -> None:
        if not self.options.keep_images and self.tags:
            self.say(f"removing {len(self.tags)} image(s) and their build cache")
            self.engine.remove(self.tags, self.keep)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def remove_last(self) -> None:
        """Drop the newest image now (bisection builds many; vfs copies every layer)."""
        if self.tags and not self.options.keep_images:
            self.engine.remove([self.tags.pop()], self.keep)

    def prepare(self, variant: Variant) -> tuple[Path, Path]:
        """A fresh context copy with the variant's files; (context, dockerfile)."""
        self.count += 1
        ctx = self.tmp / f"{variant.name}-{self.count}"
        copy_context(self.context, ctx)
        for rel, content in variant.extra_files.items():
            target = ctx / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():
                target.unlink()
            target.write_bytes(content.encode("utf-8", "surrogateescape"))
        if self.dockerfile_rel is not None:
            dockerfile = ctx / self.dockerfile_rel
            if dockerfile.is_symlink():
                dockerfile.unlink()
        else:
            dockerfile = self.tmp / f"{variant.name}-{self.count}.Dockerfile"
        dockerfile.parent.mkdir(parents=True, exist_ok=True)
        dockerfile.write_bytes(variant.dockerfile_text.encode("utf-8", "surrogateescape"))
        return ctx, dockerfile

    def measure(self, variant: Variant, touch: str | None = None) -> Measurement:
        m = Measurement(variant.name)
        ctx, dockerfile = self.prepare(variant)
        tag = f"{self.prefix}:{variant.name}-{self.count}"
        self.tags.append(tag)
        self.say(f"{variant.name}: cold build")
        outcome = self.engine.build(dockerfile, ctx, tag, no_cache=True)
        m.cold_seconds = round(outcome.seconds, 2)
        if not outcome.ok:
            m.error = outcome.error
            m.log_tail = _tail(outcome.log)
            return m
        m.built = True
        facts = self.engine.inspect(tag)
        m.size_bytes, m.layers = facts.size_bytes, facts.layers
        m.user = facts.user or "root"
        self.say(f"{variant.name}: smoke test")
        m.smoke = self.smoke(tag, facts)
        for argv in self.options.checks:
            code, out, timed_out = self.engine.run(tag, argv, self.options.smoke_timeout)
            m.checks.append(SmokeResult(list(argv), code, _tail(out, 20),
                                        code == 0 and not timed_out, timed_out))
        if self.options.rebuild and touch is not None:
            m.touched = touch
            # Untimed: a cached build with nothing changed, so the timed rebuilds reuse
            # this image's layers. After a --no-cache build, buildah's cache lookup
            # may pick an older image with the same first steps (the original's
            # `FROM` + `WORKDIR`, another app's `useradd`) and rebuild everything
            # after it: measured, the first rebuild of a split took about its cold
            # time (flask-psutil 8.3 s, then 1.1 s). A developer's own builds use
            # the cache, so they never see that.
            self.say(f"{variant.name}: cached build (settles the layer cache)")
            settle = self.engine.build(dockerfile, ctx, tag, no_cache=False)
            m.settle_seconds = round(settle.seconds, 2)
            if not settle.ok:
                m.rebuild_ok = False
                m.log_tail = _tail(settle.log)
                return m
            for _ in range(max(1, self.options.rebuild_runs)):
                source_change(ctx / touch)
                self.say(f"{variant.name}: rebuild after changing {touch}")
                again = self.engine.build(dockerfile, ctx, tag, no_cache=False)
                m.rebuild_samples.append(round(again.seconds, 2))
                m.rebuild_ok = again.ok
                if not again.ok:
                    m.log_tail = _tail(again.log)
                    break
            m.rebuild_seconds = round(statistics.median(m.rebuild_samples), 2)
        return m

    def smoke(self, tag: str, facts: ImageFacts) -> SmokeResult:
        timeout = self.options.smoke_timeout
        if self.options.smoke is not None:
            argv = list(self.options.smoke)
            code, out, timed_out = self.engine.run(tag, argv, timeout)
            ok = code == 0 and not timed_out
            note = f"timed out after {timeout:g}s" if timed_out else ""
            return SmokeResult(argv, code, _tail(out, 20), ok, timed_out, note)
        argv = facts.entrypoint + facts.cmd
        if not argv:
            return SmokeResult([], None, "", True, note="no ENTRYPOINT/CMD: nothing to run")
        code, out, timed_out = self.engine.run(tag, argv, timeout)
        if timed_out:
            # A server: it started and kept running for the whole timeout.
            return SmokeResult(argv, None, _tail(out, 20), True, True,
                               f"still running after {timeout:g}s (treated as a server "
                               "that started)")
        return SmokeResult(argv, code, _tail(out, 20), code == 0)


def compare(original: Measurement, rewritten: Measurement) -> list[str]:
    """The regressions: what makes `verify` exit 1."""
    problems: list[str] = []
    if original.built and not rewritten.built:
        problems.append(f"the rewrite does not build ({rewritten.error})")
        return problems
    if original.smoke_ok and rewritten.smoke_ok is False:
        problems.append("the smoke test fails only after the rewrite")
    if (original.size_bytes is not None and rewritten.size_bytes is not None
            and rewritten.size_bytes > original.size_bytes + SIZE_TOLERANCE_BYTES):
        problems.append(f"the image got bigger ({original.size_mb:.1f} MB -> "
                        f"{rewritten.size_mb:.1f} MB)")
    if original.rebuild_ok and rewritten.rebuild_ok is False:
        problems.append("the rewrite fails to rebuild after a source change")
    return problems


def _dockerfile_rel(path: Path, context: Path) -> str | None:
    try:
        return path.resolve().relative_to(context.resolve()).as_posix()
    except ValueError:
        return None


def verify(path: Path, *, context: Path | None = None, settings: Settings | None = None,
           engine: Engine | str = "auto", options: Options | None = None,
           result: FixResult | None = None) -> VerifyReport:
    """Fix the Dockerfile at ``path`` (or take ``result``), then build and compare both.

    Never writes to the user's files. Raises nothing for build failures; engine
    problems end up in ``fatal``.
    """
    from dockopt.rewriter.pipeline import fix

    options = options or Options()
    context = context if context is not None else path.parent
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    if result is None:
        result = fix(text, path=str(path), context=context, settings=settings)
    codes = list(dict.fromkeys(c.code for c in result.changes))
    report = VerifyReport(str(path), engine if isinstance(engine, str) else engine.name,
                          result.changed or bool(result.extra_files), codes, None, None)
    if not report.changed:
        return report
    try:
        eng = make_engine(engine) if isinstance(engine, str) else engine
    except EngineError as exc:
        report.fatal = str(exc)
        return report
    report.engine = eng.name
    rel = _dockerfile_rel(path, context)
    original = Variant("original", text)
    rewritten = Variant("rewritten", result.text,
                        {p: new for p, (_, new) in result.extra_files.items()})
    touch = options.touch
    if touch is None and options.rebuild:
        old_ignore = _read_optional(context / ".dockerignore")
        new_ignore = rewritten.extra_files.get(".dockerignore", old_ignore)
        touch = pick_source_file(context, [text, result.text], [old_ignore, new_ignore])
    session = Session(eng, context, rel, options)
    try:
        report.original = session.measure(original, touch)
        if not report.original.built and report.original.error == "base-image-unavailable":
            report.fatal = ("the original does not build: a base image is unavailable "
                            f"to {eng.name}:\n{report.original.log_tail}")
            return report
        report.rewritten = session.measure(rewritten, touch)
        if not report.original.built:
            report.fatal = "the original does not build; nothing to compare against"
            return report
        report.problems = compare(report.original, report.rewritten)
    except EngineError as exc:
        report.fatal = str(exc)
    finally:
        session.close()
    return report


def _read_optional(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None


# --- fix --verify: keep only the transforms whose output passes -----------------------


@dataclass
class VerifiedFix:
    """The fix to write: every transform whose output verifies, minus the failing ones."""

    result: FixResult  # what to write (may be unchanged)
    failed: list[str]  # transform codes excluded because their output did not verify
    attempts: int  # builds of rewritten variants
    report: VerifyReport | None  # the final comparison (None if nothing was built)
    fatal: str | None = None  # nothing was written: engine unavailable, original broken

    @property
    def ok(self) -> bool:
        return self.fatal is None


def verify_fix(path: Path, context: Path | None, settings: Settings | None = None, *,
               engine: Engine | str = "auto", options: Options | None = None
               ) -> VerifiedFix:
    """`dockopt fix --verify`'s engine: fix, build, and when the rewrite fails (does
    not build, smoke test fails only after it, bigger image) find the failing
    transforms by bisection over transform codes and fix again without them.

    The original is built once; each candidate set of codes costs one build (no
    rebuild timing). The search assumes failures come from individual codes or
    small groups; with k culprits among n codes it needs about k*log2(n) builds.
    """
    from dockopt.rewriter.config import Settings as SettingsType
    from dockopt.rewriter.pipeline import fix

    settings = settings or SettingsType()
    options = replace(options or Options(), rebuild=False)
    context = context if context is not None else path.parent
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    full = fix(text, path=str(path), context=context, settings=settings)
    codes = list(dict.fromkeys(c.code for c in full.changes))
    if not full.changed and not full.extra_files:
        return VerifiedFix(full, [], 0, None)
    try:
        eng = make_engine(engine) if isinstance(engine, str) else engine
    except EngineError as exc:
        return VerifiedFix(full, [], 0, None, str(exc))
    session = Session(eng, context, _dockerfile_rel(path, context), options)
    attempts = 0
    results: dict[frozenset[str], tuple[FixResult, Measurement]] = {}
    try:
        original = session.measure(Variant("original", text))
        if not original.built:
            return VerifiedFix(full, [], 0, None,
                               f"the original does not build ({original.error}):\n"
                               f"{original.log_tail}")

        def run_with(excluded: frozenset[str]) -> tuple[FixResult, Measurement]:
            nonlocal attempts
            if excluded not in results:
                narrowed = replace(settings, ignore=settings.ignore + tuple(sorted(excluded)))
                res = full if not excluded else fix(text, path=str(path), context=context,
                                                    settings=narrowed)
                attempts += 1
                m = session.measure(Variant("rewritten", res.text,
                                            {p: n for p, (_, n) in res.extra_files.items()}))
                results[excluded] = (res, m)
                session.remove_last()
            return results[excluded]

        def passes(excluded: frozenset[str]) -> bool:
            _, m = run_with(excluded)
            return not compare(original, m)

        failed = _find_culprits(codes, passes)
        excluded = frozenset(failed)
        res, m = run_with(excluded)
        report = VerifyReport(str(path), eng.name, res.changed,
                              list(dict.fromkeys(c.code for c in res.changes)), original, m,
                              compare(original, m))
        if report.problems:  # interactions the bisection could not separate
            unchanged = fix(text, path=str(path), context=context,
                            settings=replace(settings, select=()))
            return VerifiedFix(unchanged, codes, attempts, report)
        return VerifiedFix(res, failed, attempts, report)
    finally:
        session.close()


def _find_culprits(codes: Sequence[str], passes: Callable[[frozenset[str]], bool]
                   ) -> list[str]:
    """The codes to exclude so that the rest passes: delta debugging by halves."""
    everything = frozenset(codes)

    def search(kept: frozenset[str], candidates: list[str]) -> list[str]:
        # `kept` is known to pass; find which of `candidates` break it.
        if passes(everything - kept - frozenset(candidates)):
            return []
        if len(candidates) == 1:
            return list(candidates)
        half = len(candidates) // 2
        first = search(kept, candidates[:half])
        kept_more = kept | (frozenset(candidates[:half]) - frozenset(first))
        return first + search(kept_more, candidates[half:])

    if passes(frozenset()):
        return []
    return search(frozenset(), list(codes))


# --- output --------------------------------------------------------------------------


def _fmt_seconds(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def _fmt_mb(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} MB"


def _fmt_speed(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def _fmt_smoke(m: Measurement) -> str:
    if m.smoke is None:
        return "-"
    s = m.smoke
    state = "ok" if s.ok else "FAILED"
    code = "timeout" if s.timed_out else str(s.exit_code)
    return f"{state} ({code})"


def format_text(report: VerifyReport) -> str:
    lines = [f"{report.path}: engine {report.engine}"]
    if not report.changed:
        lines.append("nothing to fix: no rewrite to verify")
        return "\n".join(lines) + "\n"
    lines.append(f"transforms applied: {', '.join(report.codes) or '(context files only)'}")
    o, r = report.original, report.rewritten
    if o is not None and r is not None:
        ratios = report.ratios()

        def row(label: str, a: str, b: str, ratio: str = "") -> str:
            return f"  {label:<12} {a:>16} {b:>16}  {ratio}"

        size = ratios["size"]
        speed = ratios["rebuild_speedup"]
        cold = ratios["cold_speedup"]
        lines += [
            row("", "original", "rewritten", "ratio"),
            row("builds", "yes" if o.built else f"NO ({o.error})",
                "yes" if r.built else f"NO ({r.error})"),
            row("cold build", _fmt_seconds(o.cold_seconds), _fmt_seconds(r.cold_seconds),
                _fmt_speed(cold)),
            row("rebuild", _fmt_seconds(o.rebuild_seconds), _fmt_seconds(r.rebuild_seconds),
                _fmt_speed(speed)),
            row("size", _fmt_mb(o.size_mb), _fmt_mb(r.size_mb),
                "" if size is None else f"{(size - 1) * 100:+.0f}%"),
            row("layers", str(o.layers if o.layers is not None else "-"),
                str(r.layers if r.layers is not None else "-")),
            row("user", o.user or "-", r.user or "-"),
            row("smoke", _fmt_smoke(o), _fmt_smoke(r)),
        ]
        if o.touched:
            lines.append(f"  (rebuild: after appending a comment line to {o.touched})")
        for m in (o, r):
            if m.smoke is not None and not m.smoke.ok:
                lines.append(f"--- {m.variant} smoke: {shlex.join(m.smoke.command)}")
                lines.append(m.smoke.output)
            if m.log_tail and (not m.built or m.rebuild_ok is False):
                lines.append(f"--- {m.variant} build log (tail)")
                lines.append(m.log_tail)
    if report.fatal:
        lines.append(f"error: {report.fatal}")
    for p in report.problems:
        lines.append(f"regression: {p}")
    if report.fatal is None and not report.problems:
        lines.append("verified: the rewrite builds, passes the smoke test and is not bigger")
    return "\n".join(lines) + "\n"


def format_json(report: VerifyReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"



# Line-comment markers by file suffix: the rebuild's source change is a comment with
# a fresh nonce, so its content was never built before (a bare newline repeats the
# content of an earlier run's rebuild, and a leftover cached layer would answer it).
_COMMENT_PREFIX = {
    **dict.fromkeys((".py", ".sh", ".bash", ".rb", ".pl", ".r", ".toml", ".yaml", ".yml",
                     ".cfg", ".ini", ".jq", ".mk", ".cmake", ".tf",
                     ".dockerfile", ".ex", ".exs", ".nim", ".cr", ".jl", ".ps1"), "#"),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".java", ".kt",
                     ".kts", ".scala", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".rs",
                     ".swift", ".dart", ".php", ".groovy", ".gradle", ".proto", ".zig"),
                    "//"),
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm"), "--"),
}


def source_change(path: Path) -> str:
    """Change ``path`` the way an edit would, without changing what it does: append a
    comment line with a fresh nonce (a newline when the file type has no line
    comment). Returns the appended text."""
    import uuid

    prefix = _COMMENT_PREFIX.get(path.suffix.lower())
    if path.name in ("Makefile", "Dockerfile", "Gemfile", "Rakefile"):
        prefix = "#"
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    lead = b"" if not data or data.endswith(b"\n") else newline
    if prefix is None:
        text = lead + newline
    else:
        text = lead + f"{prefix} dockopt verify {uuid.uuid4().hex[:12]}".encode() + newline
    with open(path, "ab") as handle:
        handle.write(text)
    return text.decode()
