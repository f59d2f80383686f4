"""The GitHub Action's step (``action.yml``): ``python -m dockopt.rewriter.cli.action``.

Why a module here and not shell in ``action.yml`` or a hidden command: the step has
logic (a Markdown table per rule and file from the JSON report, the exit code of the
check, an optional SARIF file) that deserves tests, and it ships with the dockopt it
runs, so the action's YAML stays two thin steps.  It is not a ``dockopt`` command,
so the CLI's start-up and command list do not change; it runs ``dockopt check``
as a subprocess (``python -m dockopt.rewriter check``) and reads only its documented
outputs (``--output-format json`` records: file, line, code, name, message, url,
fix.applicability), so it does not depend on the output code's internals.

Inputs come from the environment (``action.yml`` passes each as ``INPUT_*``):
``INPUT_ARGS`` (extra options, shell-split), ``INPUT_SRC`` (paths, shell-split,
default ``.``), ``INPUT_OUTPUT_FORMAT`` (what the log shows; default ``github``:
annotations), ``INPUT_SARIF_FILE`` (write SARIF there if set), ``INPUT_SUMMARY``
(``true``: append the summary to ``$GITHUB_STEP_SUMMARY``).  Exit status: that of
``dockopt check`` (0 clean, 1 findings, 2 error).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any


def _check(args: Sequence[str], output_format: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dockopt.rewriter", "check",
                           "--output-format", output_format, *args],
                          stdout=subprocess.PIPE, check=False)


def _records(data: Any) -> list[dict[str, Any]]:
    """The findings of a JSON report (a list of records, or an object holding one)."""
    if isinstance(data, dict):
        for key in ("findings", "results", "diagnostics"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(records: Sequence[dict[str, Any]]) -> str:
    """The job summary: totals, then a table per rule and one per file and rule."""
    if not records:
        return "## dockopt\n\nNo findings. :white_check_mark:\n"
    fixable = [r for r in records if isinstance(r.get("fix"), dict)]
    files = {str(r.get("file", "-")) for r in records}
    lines = [f"## dockopt: {len(records)} finding{'s' * (len(records) != 1)} in "
             f"{len(files)} file{'s' * (len(files) != 1)}", "",
             f"{len(fixable)} can be fixed with `dockopt fix` "
             "(some with `--unsafe-fixes`).", "",
             "| Rule | Name | Findings | Fixable | Files |", "|---|---|---:|---:|---:|"]
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_rule[str(r.get("code", "?"))].append(r)
    for code in sorted(by_rule):
        group = by_rule[code]
        first = group[0]
        link = f"[{_cell(code)}]({first['url']})" if first.get("url") else _cell(code)
        safety = Counter(str(r["fix"].get("applicability", "?")) for r in group
                         if isinstance(r.get("fix"), dict))
        fix_cell = ", ".join(f"{n} {label}" for label, n in sorted(safety.items())) or "-"
        lines.append(f"| {link} | {_cell(first.get('name', ''))} | {len(group)} | {fix_cell} "
                     f"| {len({r.get('file') for r in group})} |")
    lines += ["", "<details><summary>By file</summary>", "",
              "| File | Rule | Lines | Message |", "|---|---|---|---|"]
    by_file: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_file[(str(r.get("file", "-")), str(r.get("code", "?")))].append(r)
    for (file, code), group in sorted(by_file.items()):
        where = ", ".join(str(r.get("line", "?")) for r in group)
        lines.append(f"| `{_cell(file)}` | {_cell(code)} | {where} "
                     f"| {_cell(group[0].get('message', ''))} |")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    env = os.environ
    args = [*shlex.split(env.get("INPUT_ARGS", "")),
            *(shlex.split(env.get("INPUT_SRC", "")) or ["."])]
    output_format = env.get("INPUT_OUTPUT_FORMAT", "") or "github"
    shown = _check(args, output_format)
    sys.stdout.buffer.write(shown.stdout)
    sys.stdout.flush()
    sarif_file = env.get("INPUT_SARIF_FILE", "")
    if sarif_file:
        sarif = _check(args, "sarif")
        with open(sarif_file, "wb") as handle:
            handle.write(sarif.stdout)
    summary_file = env.get("GITHUB_STEP_SUMMARY", "")
    if env.get("INPUT_SUMMARY", "true").lower() == "true" and summary_file:
        report = shown if output_format == "json" else _check(args, "json")
        try:
            records = _records(json.loads(report.stdout or b"[]"))
        except ValueError:
            records = []
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(summary_markdown(records))
    return shown.returncode


if __name__ == "__main__":
    sys.exit(main())
