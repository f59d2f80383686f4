#!/usr/bin/env python3
"""Parser speed on the shared corpus and on generated files.

Prints figures; asserts nothing (see README.md).  The one budget it reports is the
20,000-instruction file parsing in under a second (PASS/FAIL).

    python bench/parse.py            # corpus from $DOCKOPT_CORPUS or ../shared/corpus
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

try:
    from dockopt.rewriter.syntax import Dockerfile, parse
except ImportError:  # run from a checkout without `pip install -e .`
    sys.exit("dockopt is not importable: pip install -e . first")

BUDGET_20K = 1.0  # seconds for a 20,000-instruction file


def corpus_root() -> Path | None:
    env = os.environ.get("DOCKOPT_CORPUS")
    root = Path(env) if env else REPO.parent / "shared" / "corpus"
    return root if root.is_dir() else None


def dockerfiles(root: Path) -> list[Path]:
    """Every file named like a Dockerfile (Dockerfile, Dockerfile.*, *.Dockerfile, ...)."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and "dockerfile" in p.name.lower())


def best_of(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def generated(n_instructions: int) -> str:
    """A realistic file: a 10-instruction block repeated (continuations, heredoc, JSON)."""
    block = (
        "# stage {i}\n"
        "FROM --platform=$BUILDPLATFORM debian:bookworm AS s{i}\n"
        "ARG VERSION=1.{i}\n"
        "ENV PATH=/opt/bin:$PATH LANG=C.UTF-8\n"
        "RUN apt-get update && \\\n"
        "    # tools\n"
        "    apt-get install -y --no-install-recommends curl ca-certificates \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "COPY --chown=1:1 --from=build /src /app\n"
        "RUN --mount=type=cache,target=/root/.cache <<EOF\n"
        "set -eux\n"
        "make -j4\n"
        "EOF\n"
        "WORKDIR /app\n"
        "LABEL org.opencontainers.image.version=\"1.{i}\"\n"
        "EXPOSE 8080/tcp\n"
        'CMD ["/app/run", "--port", "8080"]\n'
    )
    return "".join(block.format(i=i) for i in range(n_instructions // 10))


def semantic(tree: Dockerfile) -> None:
    for ins in tree.instructions:
        _ = ins.value, ins.flags


def main() -> int:
    print(f"python {sys.version.split()[0]}")
    root = corpus_root()
    if root is None:
        print("corpus: not found (set DOCKOPT_CORPUS); corpus figures skipped")
    else:
        paths = dockerfiles(root)
        texts = [p.read_bytes().decode("utf-8", "surrogateescape") for p in paths]
        mb = sum(len(t.encode("utf-8", "surrogateescape")) for t in texts) / 1e6
        n = len(texts)
        print(f"corpus: {root}  {n} Dockerfiles, {mb:.2f} MB")

        def parse_render() -> None:
            for t in texts:
                if parse(t).render() is not t:
                    raise AssertionError("render() must hand back the text")

        t = best_of(3, parse_render)
        print(f"  parse+render       {t:6.3f} s  {mb / t:7.2f} MB/s  {n / t:9.0f} files/s")

        def parse_semantic() -> None:
            for t_ in texts:
                semantic(parse(t_))

        t = best_of(3, parse_semantic)
        print(f"  + semantic view    {t:6.3f} s  {mb / t:7.2f} MB/s  {n / t:9.0f} files/s")

        try:
            from dockopt.rewriter.shell import parse_shell
        except ImportError as exc:
            print(f"  shell view: unavailable ({exc})")
        else:
            runs = 0

            def parse_with_shell() -> None:
                nonlocal runs
                runs = 0
                for t_ in texts:
                    for ins in parse(t_).instructions:
                        src = ins.shell_source() if ins.keyword in ("RUN", "ONBUILD") else None
                        if src is not None:
                            parse_shell(src.text)
                            runs += 1

            parse_with_shell()  # warm-up: loads the tree-sitter grammar
            t = best_of(3, parse_with_shell)
            print(f"  + shell view       {t:6.3f} s  {mb / t:7.2f} MB/s  {n / t:9.0f} files/s"
                  f"  ({runs} RUN commands)")

    text = generated(20_000)
    t = best_of(3, lambda: parse(text))
    n_ins = len(parse(text).instructions)
    verdict = "PASS" if t < BUDGET_20K else "FAIL"
    print(f"generated: {n_ins} instructions, {len(text) / 1e6:.2f} MB: parse {t:.3f} s "
          f"(budget {BUDGET_20K:.1f} s) {verdict}")
    t_sem = best_of(3, lambda: semantic(parse(text)))
    print(f"  parse + semantic view {t_sem:.3f} s")

    sizes = [10_000, 20_000, 40_000]
    bigs = [generated(size) for size in sizes]
    runs: list[tuple[str, Callable[[str], object], bool]] = [
        ("parse", parse, False),
        ("parse + semantic", lambda t: semantic(parse(t)), False),
        # Python's cyclic GC scans every live object, so it alone adds a little
        # super-linear time when many nodes are alive; without it, the parser's own cost.
        ("parse + semantic, gc off", lambda t: semantic(parse(t)), True),
    ]
    for label, fn, gc_off in runs:
        if gc_off:
            gc.disable()
        try:
            times = [best_of(3, lambda big=big, fn=fn: fn(big)) for big in bigs]
        finally:
            gc.enable()
        cells = "  ".join(f"{s // 1000}k={t:.3f}s" for s, t in zip(sizes, times, strict=True))
        ratios = "  ".join(f"{times[i + 1] / times[i]:.2f}" for i in range(len(times) - 1))
        print(f"doubling ({label}): {cells}  ratios {ratios}  (2.0 = linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
