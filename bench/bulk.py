"""Speed of `dockopt bulk`; prints figures.

    python bench/bulk.py [--corpus DIR] [--repos 100] [--files 100000] [--small 10000]
                         [--mono 100000] [--mono-small 10000] [--cache DIR] [--jobs N]
                         [--skip-corpus] [--skip-synthetic] [--skip-mono] [--skip-hadolint]

1. The whole corpus laid out as ``--repos`` git repositories (each corpus project
   folder, with its build-context files, goes to one repository), through
   ``dockopt bulk --dry-run``: wall time (target < 60 s on a 2-core machine).
2. A synthetic tree replicating corpus Dockerfiles to ``--small`` and ``--files``
   files (1,000 per repository): files/s and the peak RSS of the bulk parent process
   (target < 500 MB and flat in the number of files) and of the largest worker.
3. One repository (a real ``git init``) holding ``--mono-small`` and ``--mono``
   Dockerfiles, corpus files replicated (a monorepo or a corpus in one repository):
   files/s and the peak RSS of the parent (the target: about 100 MB, the same at
   both sizes: results stream per file) and of the largest child.  The trees are
   made once and kept in ``--cache`` (default ``$XDG_CACHE_HOME/dockopt-bench``).
4. hadolint on the same corpus files, if installed (``.venv/bin/hadolint`` or PATH).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Runs `dockopt bulk` and prints the peak RSS of this (parent) process and of the
# largest child (a worker) as JSON on the last stderr line.
RUNNER = """
import json, resource, sys
from dockopt.rewriter.cli.bulk import bulk
try:
    bulk.main(sys.argv[1:], standalone_mode=False)
finally:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write("\\n" + json.dumps({"parent_kb": self_kb, "worker_kb": kids_kb}) + "\\n")
"""


def corpus_files(corpus: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import is_dockerfile_name  # type: ignore[import-not-found]

    rows = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    paths = [corpus / r.split("\t", 1)[0] for r in rows if r.strip()]
    return sorted(p for p in paths if is_dockerfile_name(p.name) and p.is_file())


def git_init(repo: Path) -> None:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)


def lay_out_corpus(corpus: Path, dest: Path, count: int) -> int:
    """Each project folder (the first two levels) into one of ``count`` repositories."""
    groups: set[Path] = set()
    for f in corpus_files(corpus):
        rel = f.relative_to(corpus)
        groups.add(Path(*rel.parts[:2]) if len(rel.parts) > 2 else Path(rel.parts[0]))
    for g in sorted(groups):
        n = int(hashlib.sha256(str(g).encode()).hexdigest(), 16) % count
        target = dest / f"repo{n:03d}" / g
        src = corpus / g
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    for n in range(count):
        (dest / f"repo{n:03d}").mkdir(parents=True, exist_ok=True)
        git_init(dest / f"repo{n:03d}")
    return count


def synthetic(corpus: Path, dest: Path, files: int, per_repo: int = 1000) -> None:
    """``files`` Dockerfiles, each alone in its folder, copied round-robin from the corpus."""
    sources = corpus_sources(corpus)
    for i in range(files):
        repo = dest / f"repo{i // per_repo:04d}"
        if i % per_repo == 0:
            repo.mkdir(parents=True)
            (repo / ".git").mkdir()  # discovery only needs the marker for --dry-run
        folder = repo / f"d{i % per_repo:04d}"
        folder.mkdir()
        (folder / "Dockerfile").write_bytes(sources[i % len(sources)])


def corpus_sources(corpus: Path) -> list[bytes]:
    """The corpus Dockerfiles that are valid UTF-8, in path order."""
    sources = []
    for f in corpus_files(corpus):
        data = f.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        sources.append(data)
    return sources


def mono_repo(corpus: Path, cache: Path, files: int) -> Path:
    """One git repository of ``files`` Dockerfiles, corpus files replicated in turn,
    laid out like a monorepo (``group/app/Dockerfile``, 1,000 apps a group).  Made
    once per size and corpus (a stamp file marks a finished tree) and kept."""
    manifest = (corpus / "MANIFEST.tsv").read_bytes()
    key = hashlib.sha256(manifest).hexdigest()[:12]
    repo = cache / f"mono-{files}-{key}"
    stamp = repo / ".dockopt-bench-complete"
    if stamp.exists():
        return repo
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    sources = corpus_sources(corpus)
    for i in range(files):
        folder = repo / f"group{i // 1000:03d}" / f"app{i % 1000:03d}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_bytes(sources[i % len(sources)])
    git_init(repo)
    stamp.write_text("")
    return repo


def run_bulk(args: list[str]) -> tuple[float, dict[str, int], dict[str, Any]]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 130):
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"dockopt bulk failed with {proc.returncode}")
    mem = json.loads(proc.stderr.strip().splitlines()[-1])
    out = args[args.index("--out") + 1]
    totals = json.loads(Path(out, "summary.json").read_text())["totals"]
    return wall, mem, totals


def hadolint_time(paths: list[Path]) -> float | None:
    exe = ROOT / ".venv" / "bin" / "hadolint"
    found = str(exe) if exe.exists() else shutil.which("hadolint")
    if found is None:
        return None
    t0 = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    chunk = 200
    for i in range(0, len(paths), chunk):  # two at a time, like --jobs 2
        procs.append(subprocess.Popen([found, "--no-fail", *map(str, paths[i:i + chunk])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if len(procs) >= 2:
            procs.pop(0).wait()
    for p in procs:
        p.wait()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path,
                    default=Path(os.environ.get("DOCKOPT_CORPUS", ROOT.parent / "shared/corpus")))
    ap.add_argument("--repos", type=int, default=100)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--mono", type=int, default=100_000)
    ap.add_argument("--mono-small", type=int, default=10_000)
    ap.add_argument("--cache", type=Path, default=Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dockopt-bench")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-mono", action="store_true")
    ap.add_argument("--skip-hadolint", action="store_true")
    opts = ap.parse_args()
    files = corpus_files(opts.corpus)
    print(f"corpus: {len(files)} Dockerfiles in {opts.corpus}; jobs {opts.jobs}; "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="dockopt-bench-bulk-") as tmp:
        work = Path(tmp)
        if not opts.skip_corpus:
            lay_out_corpus(opts.corpus, work / "corpus", opts.repos)
            wall, mem, totals = run_bulk([str(work / "corpus"), "--out", str(work / "o1"),
                                          "--jobs", str(opts.jobs)])
            print(f"corpus as {opts.repos} repos, --dry-run: {wall:.1f} s wall "
                  f"(target < 60 s); {totals['files']} files, {totals['files_changed']} "
                  f"changed, {totals['files_failed']} failed; {totals['files'] / wall:.0f} "
                  f"files/s; parent peak {mem['parent_kb'] / 1024:.0f} MB, worker peak "
                  f"{mem['worker_kb'] / 1024:.0f} MB")
            shutil.rmtree(work / "corpus")
        if not opts.skip_hadolint:
            took = hadolint_time(files)
            if took is None:
                print("hadolint: not installed")
            else:
                print(f"hadolint on the same {len(files)} files: {took:.1f} s wall "
                      f"(2 processes, 200 files each)")
        if not opts.skip_synthetic:
            for n in sorted({opts.small, opts.files}):
                tree = work / f"syn{n}"
                t0 = time.perf_counter()
                synthetic(opts.corpus, tree, n)
                made = time.perf_counter() - t0
                wall, mem, totals = run_bulk([str(tree), "--out", str(work / f"o{n}"),
                                              "--jobs", str(opts.jobs)])
                print(f"synthetic {n} files ({made:.0f} s to make): {wall:.1f} s wall, "
                      f"{totals['files'] / wall:.0f} files/s; parent peak RSS "
                      f"{mem['parent_kb'] / 1024:.0f} MB (target < 500 MB, flat in N); "
                      f"worker peak {mem['worker_kb'] / 1024:.0f} MB; "
                      f"{totals['files_changed']} changed, {totals['files_failed']} failed")
                shutil.rmtree(tree)
        if not opts.skip_mono:
            for n in sorted({opts.mono_small, opts.mono}):
                t0 = time.perf_counter()
                repo = mono_repo(opts.corpus, opts.cache, n)
                made = time.perf_counter() - t0
                out = work / f"mono{n}"
                wall, mem, totals = run_bulk([str(repo), "--out", str(out),
                                              "--jobs", str(opts.jobs)])
                patch = sum(p.stat().st_size for p in (out / "patches").glob("*.patch"))
                print(f"one repository of {n} files ({made:.0f} s to make or find in "
                      f"{opts.cache}): {wall:.1f} s wall, {totals['files'] / wall:.0f} "
                      f"files/s; parent peak RSS {mem['parent_kb'] / 1024:.0f} MB (target "
                      f"about 100 MB, the same at every size); largest child peak "
                      f"{mem['worker_kb'] / 1024:.0f} MB; {totals['files_changed']} "
                      f"changed, {totals['files_failed']} failed; patch "
                      f"{patch / 1e6:.1f} MB; journal "
                      f"{(out / 'progress.jsonl').stat().st_size / 1e6:.1f} MB")
                shutil.rmtree(out)


if __name__ == "__main__":
    main()
