"""Benchmarks for the fix engine and CLI; prints figures, asserts nothing.

1. `dockopt check` over the corpus's official/ Dockerfiles vs hadolint on the same
   files (one process each, same file list): throughput and ratio.
2. `dockopt fix --diff -` on a 100-line Dockerfile from a cold process: median wall
   time over repeated runs, with hadolint's time on the same file beside it.
3. The library call `fix()` over every corpus Dockerfile: files per second.

Run: `python bench/check.py` (corpus from $DOCKOPT_CORPUS or ../shared/corpus).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("DOCKOPT_CORPUS", REPO.parent / "shared" / "corpus"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    beside = BIN / name
    return str(beside) if beside.exists() else shutil.which(name)


def dockerfiles(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        low = p.name.lower()
        if p.is_file() and (low.startswith("dockerfile") or low.endswith(".dockerfile")) \
                and "template" not in low:
            out.append(p)
    return out


# Time dockopt as an installed tool runs: with its bytecode cached. (Some
# environments set PYTHONDONTWRITEBYTECODE, which makes every start recompile all
# modules; `pip install` of the wheel compiles them at install time.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def precompile() -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "rewriter"),
                    str(REPO / "transforms"), str(REPO / "templates")],
                   check=False, env=ENV)


def timed(cmd: list[str], stdin: bytes | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, input=stdin, capture_output=True, check=False, env=ENV)
    return time.perf_counter() - t0


def bench_check() -> None:
    files = dockerfiles(CORPUS / "official")
    size = sum(p.stat().st_size for p in files)
    dockopt = tool("dockopt")
    hadolint = tool("hadolint")
    assert dockopt, "dockopt is not installed in this environment"
    t_d = min(timed([dockopt, "check", "--exit-zero", "-q", *map(str, files)])
              for _ in range(3))
    print(f"check: {len(files)} official Dockerfiles, {size / 1e6:.2f} MB")
    print(f"  dockopt check : {t_d:6.2f} s  {len(files) / t_d:8.1f} files/s")
    if hadolint:
        t_h = timed([hadolint, "--no-fail", *map(str, files)])
        print(f"  hadolint      : {t_h:6.2f} s  {len(files) / t_h:8.1f} files/s")
        print(f"  ratio         : dockopt is {t_h / t_d:.1f}x hadolint's throughput "
              f"(target >= 10x)")
    else:
        print("  hadolint not installed: no comparison")


def hundred_line_dockerfile() -> bytes:
    lines = ["FROM debian:bookworm", "MAINTAINER someone@example.com", "WORKDIR /app"]
    i = 0
    while len(lines) < 96:
        lines += [f"RUN apt-get update && apt-get install -y pkg{i} \\",
                  f"    pkg{i}b && echo step {i}",
                  f"ADD file{i}.txt /app/file{i}.txt",
                  f"ENV VAR{i}=value{i}"]
        i += 1
    lines += ["EXPOSE 8080", "USER nobody", "CMD python3 -m http.server 8080"]
    return ("\n".join(lines[:100]) + "\n").encode()


def bench_cold_fix(runs: int = 21) -> None:
    data = hundred_line_dockerfile()
    dockopt = tool("dockopt")
    hadolint = tool("hadolint")
    assert dockopt
    times = [timed([dockopt, "fix", "--diff", "-"], data) for _ in range(runs)]
    bare = [timed([sys.executable, "-c", "pass"]) for _ in range(runs)]
    print(f"fix --diff - on a 100-line Dockerfile, cold process, median of {runs}:")
    print(f"  dockopt       : {statistics.median(times) * 1000:6.1f} ms (target <= 150 ms)")
    print(f"  bare python   : {statistics.median(bare) * 1000:6.1f} ms")
    if hadolint:
        h = [timed([hadolint, "--no-fail", "-"], data) for _ in range(runs)]
        print(f"  hadolint -    : {statistics.median(h) * 1000:6.1f} ms")


def bench_library() -> None:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.pipeline import fix

    files = [p for p in dockerfiles(CORPUS) if "parser-edge" not in str(p)]
    texts = [p.read_bytes().decode("utf-8", "surrogateescape") for p in files]
    settings = Settings(unsafe_fixes=True)
    t0 = time.perf_counter()
    changed = sum(fix(t, settings=settings).changed for t in texts)
    dt = time.perf_counter() - t0
    print(f"library fix(): {len(texts)} corpus Dockerfiles in {dt:.2f} s "
          f"({len(texts) / dt:.0f} files/s), {changed} changed")


if __name__ == "__main__":
    precompile()
    bench_check()
    bench_cold_fix()
    bench_library()
