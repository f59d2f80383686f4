"""Peak memory of `dockopt check` and `dockopt fix` over many files (issue 15: flat
whatever the number of files); prints figures, asserts nothing.

    python bench/check_memory.py [--files 1000 10000 100000] [--commands check fix]
                                 [--formats text json sarif] [--jobs N]
                                 [--python PYTHON] [--tmp DIR]

For each count, a tree of that many Dockerfiles is made in a temporary folder (removed
after): a few real corpus Dockerfiles (``official/``, spread over the corpus) copied
round-robin, each into a folder of its own, so each has its own small build context.
`check` runs ``dockopt check --exit-zero -q --output-format F .`` over it (the report
thrown away); `fix` runs ``dockopt fix --exit-zero -q .`` on a fresh copy of the tree
(it rewrites the files).  Printed per run: wall time, files/s, the peak RSS of the
dockopt process (the parent: it finds and reads the files, writes the report and the
fixes) and of its largest child (a worker).  ``--python`` runs another installation
(e.g. an older checkout's venv) for a before/after comparison.  Flat means: the
parent's peak at 100,000 files about what it is at 1,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("DOCKOPT_CORPUS", REPO.parent / "shared" / "corpus"))
# How many distinct corpus files the trees are made of.
SAMPLES = 8

# Runs `dockopt check` or `dockopt fix` (argv[1]) and prints the peak RSS of this
# (parent) process and of the largest child (a worker) on the last stderr line.
RUNNER = """
import resource, sys
if sys.argv[1] == "fix":
    from dockopt.rewriter.cli.fix import fix as command
else:
    from dockopt.rewriter.cli.check import check as command
try:
    command.main(sys.argv[2:], standalone_mode=False)
finally:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write(f"\\nRSS {self_kb} {kids_kb}\\n")
"""


def samples() -> list[bytes]:
    """``SAMPLES`` official Dockerfiles, spread evenly over the sorted corpus."""
    found = []
    for p in sorted((CORPUS / "official").rglob("*")):
        low = p.name.lower()
        if p.is_file() and (low.startswith("dockerfile") or low.endswith(".dockerfile")) \
                and "template" not in low:
            found.append(p)
    if not found:
        raise SystemExit(f"no Dockerfiles under {CORPUS / 'official'} (DOCKOPT_CORPUS)")
    step = max(1, len(found) // SAMPLES)
    return [p.read_bytes() for p in found[::step][:SAMPLES]]


def make_tree(root: Path, files: int, texts: list[bytes]) -> None:
    """``files`` Dockerfiles under ``root``, round-robin, 1,000 folders per group."""
    shutil.rmtree(root, ignore_errors=True)
    for k in range(files):
        folder = root / f"g{k // 1000:03d}" / f"f{k % 1000:03d}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_bytes(texts[k % len(texts)])


def measure(python: str, root: Path, command: str, fmt: str, jobs: str | None
            ) -> tuple[float, int, int]:
    """(wall seconds, parent peak MB, largest child peak MB)."""
    args = [python, "-c", RUNNER, command, "--exit-zero", "-q"]
    if command == "check":
        args += ["--output-format", fmt]
    if jobs:
        args += ["--jobs", jobs]
    args.append(".")
    t0 = time.perf_counter()
    # Without the results cache: the memory of checking, not of answers from entries
    # (and 100,000 entries would go to the user's cache folder).  An env var, not
    # --no-cache, so an older checkout's --python runs too.
    done = subprocess.run(args, cwd=root, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False,
                          env={**os.environ, "DOCKOPT_NO_CACHE": "1"})
    wall = time.perf_counter() - t0
    last = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
    if not last or not last[0].startswith("RSS "):
        raise SystemExit(f"dockopt {command} failed in {root}:\n"
                         f"{done.stderr.decode()[-2000:]}")
    _, parent, kids = last[0].split()
    return wall, int(parent) // 1024, int(kids) // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--commands", nargs="+", choices=["check", "fix"],
                    default=["check", "fix"])
    ap.add_argument("--formats", nargs="+", default=["text", "json", "sarif"],
                    help="check's output formats (fix: text only)")
    ap.add_argument("--jobs", default=None, help="dockopt's --jobs (default: every core)")
    ap.add_argument("--python", default=sys.executable,
                    help="the Python whose dockopt is measured")
    ap.add_argument("--tmp", default=None, help="where the temporary trees are made")
    opts = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    texts = samples()
    print(f"dockopt check/fix: peak memory by number of files ({os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start; {opts.python}; "
          f"{len(texts)} corpus files repeated)")
    print(f"{'command':<7}  {'files':>8}  {'format':<7}  {'wall':>8}  {'files/s':>8}  "
          f"{'parent':>8}  {'worker':>8}")
    with tempfile.TemporaryDirectory(prefix="dockopt-check-memory-", dir=opts.tmp) as tmp:
        root = Path(tmp) / "tree"
        for files in opts.files:
            for command in opts.commands:
                for fmt in opts.formats if command == "check" else ["text"]:
                    # check reads the tree as it is; fix rewrites it, so gets a fresh one.
                    if command == "fix" or not (root / ".complete").exists():
                        make_tree(root, files, texts)
                        if command == "check":
                            (root / ".complete").write_text("")
                    wall, parent, worker = measure(opts.python, root, command, fmt,
                                                   opts.jobs)
                    print(f"{command:<7}  {files:>8}  {fmt:<7}  {wall:>7.1f}s  "
                          f"{files / wall:>8.0f}  {parent:>5} MB  {worker:>5} MB")
            shutil.rmtree(root, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
