"""Peak memory of `dockopt check` over many files (issue 15: flat whatever the number of
files); prints figures, asserts nothing.

    python bench/check_memory.py [--files 10000 100000] [--formats text json sarif]
                                 [--jobs N] [--cache DIR] [--python PYTHON]

For each count, a tree of that many Dockerfiles (corpus official/ files repeated,
each in a folder of its own, so each has its own small build context; made once and
kept in ``--cache``, default ``$XDG_CACHE_HOME/dockopt-bench``) is checked with
``dockopt check --exit-zero -q --output-format F .``, the report thrown away.  Printed
per run: wall time, files/s, the peak RSS of the dockopt process (the parent: it
reads the files and writes the report) and of its largest worker.  ``--python`` runs
another installation (e.g. an older checkout's venv) for a before/after comparison.
Flat means: the parent's peak at 100,000 files about what it is at 10,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("DOCKOPT_CORPUS", REPO.parent / "shared" / "corpus"))

# Runs `dockopt check` and prints the peak RSS of this (parent) process and of the
# largest child (a worker) on the last stderr line.
RUNNER = """
import resource, sys
from dockopt.rewriter.cli.check import check
try:
    check.main(sys.argv[1:], standalone_mode=False)
finally:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write(f"\\nRSS {self_kb} {kids_kb}\\n")
"""


def sources() -> list[Path]:
    out = []
    for p in sorted((CORPUS / "official").rglob("*")):
        low = p.name.lower()
        if p.is_file() and (low.startswith("dockerfile") or low.endswith(".dockerfile")) \
                and "template" not in low:
            out.append(p)
    return out


def tree(cache: Path, files: int) -> Path:
    """``files`` Dockerfiles, corpus files round-robin, 1,000 folders per group."""
    root = cache / f"check-memory-{files}"
    done = root / ".complete"
    if done.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    texts = [p.read_bytes() for p in sources()]
    for k in range(files):
        folder = root / f"g{k // 1000:03d}" / f"f{k % 1000:03d}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_bytes(texts[k % len(texts)])
    done.write_text("")
    return root


def measure(python: str, root: Path, fmt: str, jobs: str | None) -> tuple[float, int, int]:
    """(wall seconds, parent peak MB, largest worker peak MB)."""
    args = [python, "-c", RUNNER, "--exit-zero", "-q", "--output-format", fmt, "."]
    if jobs:
        args += ["--jobs", jobs]
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=root, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t0
    last = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
    if not last or not last[0].startswith("RSS "):
        raise SystemExit(f"dockopt check failed in {root}:\n{done.stderr.decode()[-2000:]}")
    _, parent, kids = last[0].split()
    return wall, int(parent) // 1024, int(kids) // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--formats", nargs="+", default=["text", "json", "sarif"])
    ap.add_argument("--jobs", default=None, help="dockopt's --jobs (default: every core)")
    ap.add_argument("--python", default=sys.executable,
                    help="the Python whose dockopt is measured")
    ap.add_argument("--cache", type=Path, default=Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dockopt-bench")
    opts = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(f"dockopt check: peak memory by number of files ({os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start; {opts.python})")
    print(f"{'files':>8}  {'format':<7}  {'wall':>8}  {'files/s':>8}  {'parent':>8}  "
          f"{'worker':>8}")
    for files in opts.files:
        root = tree(opts.cache, files)
        for fmt in opts.formats:
            wall, parent, worker = measure(opts.python, root, fmt, opts.jobs)
            print(f"{files:>8}  {fmt:<7}  {wall:>7.1f}s  {files / wall:>8.0f}  "
                  f"{parent:>5} MB  {worker:>5} MB")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
