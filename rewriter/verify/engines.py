"""Container engines for verify: docker, podman (docker-compatible CLIs) and buildah.

Each engine builds, inspects, runs and removes images through its own CLI; ``auto``
takes the first that works, in that order.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.verify.history import Layer


EngineName = Literal["auto", "docker", "podman", "buildah"]
ENGINES: tuple[str, ...] = ("docker", "podman", "buildah")

DEFAULT_BUILD_TIMEOUT = 1800.0
DEFAULT_SMOKE_TIMEOUT = 30.0
LOG_TAIL_LINES = 40
# Log phrases that mean "the base image is not there" for docker, podman, buildah.
_BASE_MISSING = re.compile(
    r"image not known|pull access denied|no such image|manifest unknown|"
    r"repository does not exist|failed to resolve source metadata|"
    r"requested access to the resource is denied|initializing source|"
    r"unable to pull|error pulling image|name unknown", re.I)


class EngineError(Exception):
    """The container engine cannot be used (not installed, daemon down, ...)."""


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
    history: list[Layer] = field(default_factory=list)  # oldest first; [] if unknown


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
    except BaseException:
        # Ctrl-C reaches only this process (the command runs in its own session):
        # stop the build too rather than leave it running after we are gone.
        _kill_group(proc)
        raise


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

    def export(self, tag: str, dest: Path, *, scannable: bool = False) -> str:
        """Write the image to ``dest`` (a file or a new folder; the caller removes
        either) in a layout ``archive.ImageArchive`` reads; the transport's name. With
        ``scannable``, one tar a scanner reads (``oci-archive``, ``docker-archive``)."""
        raise EngineError(f"{self.name} cannot export images")

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
        diff_ids = list((data.get("RootFS") or {}).get("Layers") or [])
        return ImageFacts(int(data.get("Size") or 0), len(diff_ids),
                          config.get("User") or "",
                          list(config.get("Entrypoint") or []), list(config.get("Cmd") or []),
                          self._history(tag, diff_ids))

    def _history(self, tag: str, diff_ids: list[str]) -> list[Layer]:
        """`docker history` rows (newest first) as layers; [] when it fails. A row
        with size 0 is taken for an empty layer (docker does not say which are)."""
        from dockopt.rewriter.verify.history import layers_from_history

        code, out, _ = _run([self.cli, "history", "--no-trunc", "--human=false",
                             "--format", "{{json .}}", tag], timeout=60)
        if code != 0:
            return []
        try:
            rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        except ValueError:
            return []
        rows.reverse()
        history = [{"created_by": str(r.get("CreatedBy") or ""),
                    "empty_layer": str(r.get("Size") or "0") == "0"} for r in rows]
        sizes = [int(str(r.get("Size") or "0")) for r in rows
                 if str(r.get("Size") or "0") != "0"]
        if len(sizes) != len(diff_ids):  # a layer of size 0: sizes cannot be placed
            return []
        return layers_from_history(history, sizes, diff_ids)

    def export(self, tag: str, dest: Path, *, scannable: bool = False) -> str:
        code, out, _ = _run([self.cli, "save", "-o", str(dest), tag],
                            timeout=self.build_timeout)
        if code != 0:
            raise EngineError(f"cannot export {tag}: {_last_line(out)}")
        return "docker-archive"

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
        from dockopt.rewriter.verify.history import layers_from_history

        data = json.loads(out)
        oci = data.get("OCIv1") or {}
        config = oci.get("config") or {}
        diff_ids = list((oci.get("rootfs") or {}).get("diff_ids") or [])
        history = layers_from_history(oci.get("history") or [], _layer_sizes(data), diff_ids)
        return ImageFacts(_manifest_size(data), len(diff_ids), config.get("User") or "",
                          list(config.get("Entrypoint") or []), list(config.get("Cmd") or []),
                          history)

    def export(self, tag: str, dest: Path, *, scannable: bool = False) -> str:
        # dir: keeps the layers uncompressed (-D): no gzip on the way out or back in.
        # An oci-archive's layers come out gzip-compressed even with -D, which costs
        # most of the export's time (measured: python:3.11, 614 MB, 50 s on a busy
        # 2-core machine); it is made only for a scanner, which needs one tar file.
        transport = "oci-archive" if scannable else "dir"
        code, out, _ = _run([*self.cli, "push", "--quiet", "-D", tag,
                             f"{transport}:{dest}"], timeout=self.build_timeout)
        if code != 0:
            raise EngineError(f"cannot export {tag}: {_last_line(out)}")
        return transport

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
    return sum(_layer_sizes(data))


def _layer_sizes(data: dict[str, Any]) -> list[int]:
    try:
        manifest = json.loads(data.get("Manifest") or "{}")
        return [int(layer.get("size") or 0) for layer in manifest.get("layers") or []]
    except (ValueError, TypeError, AttributeError):
        return []


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


