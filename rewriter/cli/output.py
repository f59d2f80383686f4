"""Formatting findings, diffs and summaries for the command line.

Every formatter takes plain data (:class:`FileReport`) and returns text, so the
formats are tested without running the CLI.  Nothing here imports the parser.

Line and column numbers are 1-based and count characters (Unicode code points),
as ``Dockerfile.line_col`` does; SARIF is told so with ``columnKind``.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockopt.transforms.base import DOCS_URL, Finding, Fix, Safety

if TYPE_CHECKING:
    from dockopt.transforms.base import Transform

TOOL_NAME = "dockopt"
INFORMATION_URI = "https://github.com/dockopt/dockopt"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
OUTPUT_FORMATS = ("text", "concise", "json", "sarif", "github")

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


@dataclass(frozen=True)
class FileReport:
    """The findings of one file, and the text their positions refer to."""

    path: str  # as shown to the user: relative to the working directory when possible
    text: str
    findings: tuple[Finding, ...]


def sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """File order (line, column), then code: stable output whatever the rule order."""
    return tuple(sorted(findings, key=lambda f: (f.line, f.column, f.code, f.end_line,
                                                 f.end_column, f.message)))


# --- positions -----------------------------------------------------------------


class LineIndex:
    """Character offset -> (line, column), both 1-based; the same numbers as
    ``Dockerfile.line_col`` but O(log n) per lookup (a finding may carry many edits)."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        self.starts += [m.end() for m in re.finditer("\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1


# --- colour ----------------------------------------------------------------------


def use_color(choice: str, is_tty: bool, environ: dict[str, str] | None = None) -> bool:
    """``always``/``never`` win; ``auto`` colours a terminal unless NO_COLOR is set.

    As no-color.org asks, an explicit command-line flag overrides NO_COLOR.
    """
    if choice == "always":
        return True
    if choice == "never":
        return False
    env = os.environ if environ is None else environ
    return is_tty and not env.get("NO_COLOR")


def style(text: str, color: bool, *, fg: str | None = None, bold: bool = False) -> str:
    if not color:
        return text
    import click

    return click.style(text, fg=fg, bold=bold)


def colorize_diff(diff: str, color: bool) -> str:
    """Colour a unified diff: headers bold, +/- green/red, hunk lines cyan."""
    if not color or not diff:
        return diff
    out: list[str] = []
    for line in diff.splitlines(keepends=True):
        body = line.rstrip("\n")
        end = line[len(body):]
        if body.startswith(("--- ", "+++ ", "diff --git", "new file mode")):
            out.append(style(body, True, bold=True) + end)
        elif body.startswith("# "):
            out.append(style(body, True, fg="yellow", bold=True) + end)
        elif body.startswith("@@"):
            out.append(style(body, True, fg="cyan") + end)
        elif body.startswith("+"):
            out.append(style(body, True, fg="green") + end)
        elif body.startswith("-"):
            out.append(style(body, True, fg="red") + end)
        else:
            out.append(line)
    return "".join(out)


# --- fixes -----------------------------------------------------------------------


def applicable(fix: Fix | None, unsafe_fixes: bool) -> bool:
    """Whether `dockopt fix` (with these settings) would apply this fix."""
    if fix is None or not fix.edits:
        return False
    if fix.safety == Safety.SAFE:
        return True
    return fix.safety == Safety.UNSAFE and unsafe_fixes


def hidden(fix: Fix | None, unsafe_fixes: bool) -> bool:
    """An unsafe fix that only --unsafe-fixes would apply."""
    return (fix is not None and bool(fix.edits) and fix.safety == Safety.UNSAFE
            and not unsafe_fixes)


def first_changed_line(diff: str) -> int | None:
    """The line (in the text after the step) of a diff's first changed line."""
    new_line = 0
    for line in diff.splitlines():
        m = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
        if m:
            new_line = int(m.group(1))
            continue
        if not new_line:
            continue
        if line.startswith(("+", "-")):
            return new_line
        if line.startswith(" "):
            new_line += 1
    return None


# --- text ------------------------------------------------------------------------


def finding_line(path: str, f: Finding, *, color: bool = False,
                 unsafe_fixes: bool = False, marker: bool = True) -> str:
    """``path:line:col: CODE message`` (+ `` [*]`` when `dockopt fix` would fix it)."""
    where = style(f"{path}:{f.line}:{f.column}:", color, bold=True)
    code = style(f.code, color, fg="red", bold=True)
    line = f"{where} {code} {f.message}"
    if marker and applicable(f.fix, unsafe_fixes):
        line += " " + style("[*]", color, fg="cyan")
    return line


def format_text(reports: Sequence[FileReport], *, color: bool = False,
                unsafe_fixes: bool = False, concise: bool = False) -> str:
    out = [finding_line(r.path, f, color=color, unsafe_fixes=unsafe_fixes,
                        marker=not concise)
           for r in reports for f in r.findings]
    return "".join(line + "\n" for line in out)


def check_summary(reports: Sequence[FileReport], *, unsafe_fixes: bool) -> str:
    """The closing lines of `dockopt check` (ruff's wording, adapted)."""
    findings = [f for r in reports for f in r.findings]
    if not findings:
        return "All checks passed!\n"
    lines = [f"Found {_count(len(findings), 'issue')}."]
    fixable = sum(1 for f in findings if applicable(f.fix, unsafe_fixes))
    held = sum(1 for f in findings if hidden(f.fix, unsafe_fixes))
    if fixable:
        lines.append(f"[*] {fixable} fixable with `dockopt fix`"
                     + (" --unsafe-fixes" if unsafe_fixes and _any_unsafe(findings) else "")
                     + ".")
    if held:
        lines.append(hidden_line(held))
    return "".join(line + "\n" for line in lines)


def _any_unsafe(findings: Iterable[Finding]) -> bool:
    return any(f.fix is not None and f.fix.safety == Safety.UNSAFE for f in findings)


def fix_summary(fixed: int, remaining: int, held_back: int, *, diff: bool) -> str:
    """The closing lines of `dockopt fix`."""
    total = fixed + remaining
    if total == 0:
        lines = ["All checks passed!"]
    else:
        verb = "fixable" if diff else "fixed"
        lines = [f"Found {_count(total, 'issue')} ({fixed} {verb}, {remaining} remaining)."]
    if held_back:
        lines.append(hidden_line(held_back))
    return "".join(line + "\n" for line in lines)


def hidden_line(n: int) -> str:
    what = "hidden fix" if n == 1 else "hidden fixes"
    return f"{n} {what} can be enabled with the --unsafe-fixes option."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_statistics(reports: Sequence[FileReport], *, unsafe_fixes: bool = False,
                      as_json: bool = False) -> str:
    """Per-code counts, most frequent first (ruff's ``--statistics``)."""
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    fixable: dict[str, bool] = {}
    for r in reports:
        for f in r.findings:
            counts[f.code] += 1
            names[f.code] = f.name
            fixable[f.code] = fixable.get(f.code, False) or applicable(f.fix, unsafe_fixes)
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if as_json:
        return json.dumps([{"code": code, "name": names[code], "count": n,
                            "fixable": fixable[code]} for code, n in rows], indent=2) + "\n"
    if not rows:
        return ""
    count_w = max(len(str(n)) for _, n in rows)
    code_w = max(len(code) for code, _ in rows)
    any_fixable = any(fixable.values())
    out = []
    for code, n in rows:
        mark = ("[*] " if fixable[code] else "    ") if any_fixable else ""
        out.append(f"{n:>{count_w}}\t{code:<{code_w}}\t{mark}{names[code]}\n")
    return "".join(out)


# --- json ------------------------------------------------------------------------


def finding_record(path: str, f: Finding, index: LineIndex) -> dict[str, Any]:
    fix: dict[str, Any] | None = None
    if f.fix is not None:
        edits = []
        for e in sorted(f.fix.edits, key=lambda e: (e.start, e.end)):
            row, col = index.line_col(e.start)
            end_row, end_col = index.line_col(e.end)
            edits.append({"content": e.content,
                          "location": {"row": row, "column": col},
                          "end_location": {"row": end_row, "column": end_col}})
        fix = {"applicability": f.fix.safety.label, "message": f.fix.message,
               "edits": edits}
    return {"file": path, "line": f.line, "column": f.column, "endLine": f.end_line,
            "endColumn": f.end_column, "level": f.level, "code": f.code, "name": f.name,
            "message": f.message, "url": f.url, "fix": fix}


def format_json(reports: Sequence[FileReport]) -> str:
    records = []
    for r in reports:
        index = LineIndex(r.text)
        records += [finding_record(r.path, f, index) for f in r.findings]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


# --- github ----------------------------------------------------------------------


def _gh_property(value: str) -> str:
    # GitHub's workflow-command escaping: properties also escape ':' and ','.
    return (value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace(":", "%3A").replace(",", "%2C"))


def _gh_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_github(reports: Sequence[FileReport]) -> str:
    out = []
    for r in reports:
        for f in r.findings:
            level = _GITHUB_LEVEL.get(f.level, "warning")
            props = (f"file={_gh_property(r.path)},line={f.line},col={f.column},"
                     f"endLine={f.end_line},endColumn={f.end_column},"
                     f"title={_gh_property(f'{f.code} {f.name}')}")
            out.append(f"::{level} {props}::{_gh_data(f'{f.code} {f.message}')}\n")
    return "".join(out)


# --- sarif -----------------------------------------------------------------------


def rule_description(cls: type[Transform]) -> str:
    """The transform's docstring, dedented (its user documentation)."""
    import inspect

    return inspect.cleandoc(cls.__doc__ or "") or cls.name


def sarif_rule(cls: type[Transform]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": cls.code,
        "name": cls.name,
        "shortDescription": {"text": cls.summary()},
        "fullDescription": {"text": rule_description(cls)},
        "helpUri": DOCS_URL.format(code=cls.code),
        "defaultConfiguration": {"level": _SARIF_LEVEL.get(cls.level, "warning")},
    }
    props: dict[str, Any] = {}
    if cls.upstream:
        props["upstream"] = list(cls.upstream)
    if cls.default_safety is not None:
        props["fixSafety"] = cls.default_safety.label
    if props:
        rule["properties"] = props
    return rule


def sarif_uri(path: str) -> str:
    from urllib.parse import quote

    if os.path.isabs(path):
        from pathlib import Path

        return Path(path).as_uri()
    return quote(path.replace(os.sep, "/"), safe="/")


def format_sarif(reports: Sequence[FileReport], rules: Sequence[type[Transform]],
                 *, version: str) -> str:
    rule_index = {cls.code: i for i, cls in enumerate(rules)}
    results = []
    for r in reports:
        for f in r.findings:
            result: dict[str, Any] = {
                "ruleId": f.code,
                "level": _SARIF_LEVEL.get(f.level, "warning"),
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": sarif_uri(r.path)},
                    "region": {"startLine": f.line, "startColumn": f.column,
                               "endLine": f.end_line, "endColumn": f.end_column},
                }}],
            }
            if f.code in rule_index:
                result["ruleIndex"] = rule_index[f.code]
            results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": version,
                "informationUri": INFORMATION_URI,
                "rules": [sarif_rule(cls) for cls in rules],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
