"""Language-server latency, measured through the protocol (stdio, a real server).

    python bench/lsp.py [--edits 60] [--lines 200]

Prints the median and 90th percentile of:
- didChange -> publishDiagnostics for a Dockerfile of about --lines lines (the
  debounce is set to 0, so only the work counts), one small edit at a time;
- textDocument/codeAction over the whole file (quick fixes, pragmas; the fix-all
  actions are resolved later, so they cost nothing here);
- codeAction/resolve of source.fixAll.dockopt (the whole `dockopt fix` run).
The first few rounds warm up (imports, tree-sitter) and are left out.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dockopt.rewriter.server.client import LspClient

STAGE = """\
FROM python:3.12 AS build{n}
MAINTAINER team{n}@example.com
WORKDIR /src{n}
RUN apt-get update
RUN apt-get install curl git build-essential
RUN pip install requests flask
RUN cd /src{n} && echo building
COPY . .
RUN pip install -r requirements.txt
ENV APP_ENV=production
EXPOSE 80{n:02d}
CMD python app.py
"""


def dockerfile(lines: int) -> str:
    parts, n = [], 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(STAGE.format(n=n))
        n += 1
    return "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=60)
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="dockopt-bench-lsp-"))
    text = dockerfile(args.lines)
    (root / "Dockerfile").write_text(text)
    (root / "requirements.txt").write_text("flask\n")
    client = LspClient([sys.executable, "-m", "dockopt.rewriter", "server"])
    started = time.perf_counter()
    client.initialize(str(root), options={"debounce": 0})
    uri = (root / "Dockerfile").as_uri()
    client.open(uri, text)
    diags = client.wait_diagnostics(uri, 1)
    first = time.perf_counter() - started

    change, actions, resolve = [], [], []
    line_count = text.count("\n")
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": line_count, "character": 0}}
    for i in range(args.edits + args.warmup):
        version = i + 2
        line = 5 + (i // 2 * 12) % (line_count - 10)  # a RUN line in some stage
        # even rounds insert a character, odd ones delete it: the file keeps its size
        edit = {"range": {"start": {"line": line, "character": 4},
                          "end": {"line": line, "character": 4 + i % 2}},
                "text": "" if i % 2 else "x"}
        t0 = time.perf_counter()
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [edit]})
        client.wait_diagnostics(uri, version)
        t1 = time.perf_counter()
        got = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": []}})
        t2 = time.perf_counter()
        fix_all = [a for a in got or [] if a.get("kind") == "source.fixAll.dockopt"]
        if fix_all:
            client.request("codeAction/resolve", fix_all[0])
        t3 = time.perf_counter()
        if i >= args.warmup:
            change.append(t1 - t0)
            actions.append(t2 - t1)
            resolve.append(t3 - t2)
    client.close()

    def show(name: str, values: list[float]) -> None:
        ms = sorted(v * 1000 for v in values)
        p90 = ms[int(len(ms) * 0.9) - 1] if ms else float("nan")
        print(f"{name:<44} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms")

    print(f"dockopt server, {line_count}-line Dockerfile, {len(diags)} diagnostics, "
          f"{args.edits} edits (after {args.warmup} warm-up)")
    print(f"{'start + initialize + first diagnostics':<44} {first * 1000:7.1f} ms")
    show("didChange -> publishDiagnostics", change)
    show("codeAction (whole file)", actions)
    show("codeAction/resolve source.fixAll (fix run)", resolve)


if __name__ == "__main__":
    main()
