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
from typing import TYPE_CHECKING, Any

from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.transforms.base import DOCS_URL, Finding, Fix, Safety

if TYPE_CHECKING:
    from dockopt.transforms.base import Transform

TOOL_NAME = "dockopt"
INFORMATION_URI = "https://github.com/dockopt/dockopt"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
OUTPUT_FORMATS = ("text", "full", "concise", "json", "json-lines", "sarif", "github",
                  "gitlab", "junit", "checkstyle")

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "style": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice", "style": "notice"}
# GitLab Code Quality severities: info, minor, major, critical, blocker.
_GITLAB_SEVERITY = {"error": "critical", "warning": "major", "info": "minor", "style": "info"}
_CHECKSTYLE_SEVERITY = {"error": "error", "warning": "warning", "info": "info", "style": "info"}

# C0 controls but tab and newline, DEL, and C1 controls: a Dockerfile can hold
# `ESC ] 0 ; title BEL` or colour codes, and echoing them raw lets a hostile file
# retitle, recolour or overwrite the user's terminal.  Shown as `\x1b` (as git and
# ruff do with unprintable bytes).  Lone surrogates (invalid UTF-8 kept by
# surrogateescape) are shown as their byte, `\xff`.
_CONTROL = lazy("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with control characters escaped, for anything printed to a terminal."""
    return _CONTROL.sub(_escape_char, text)


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
    """``always``/``never`` win; ``auto`` colours a terminal unless NO_COLOR is set
    (no-color.org) or TERM is ``dumb``; FORCE_COLOR (non-empty, as in ruff and
    force-color.org) colours even a pipe, for CI logs. NO_COLOR beats FORCE_COLOR.

    As no-color.org asks, an explicit command-line flag overrides both.
    """
    if choice == "always":
        return True
    if choice == "never":
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return is_tty and env.get("TERM") != "dumb"


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


_LEVEL_COLOR = {"error": "red", "warning": "yellow", "info": "blue", "style": "cyan"}


def finding_line(path: str, f: Finding, *, color: bool = False,
                 unsafe_fixes: bool = False, marker: bool = True,
                 severity: bool = True) -> str:
    """``path:line:col: CODE level: message`` (+ `` [*]`` when `dockopt fix` would fix
    it); ``severity=False`` drops the level (the concise format, ruff's)."""
    where = style(terminal_safe(f"{path}:{f.line}:{f.column}:"), color, bold=True)
    code = style(f.code, color, fg="red", bold=True)
    level = style(f"{f.level}:", color, fg=_LEVEL_COLOR.get(f.level)) + " " if severity else ""
    line = f"{where} {code} {level}{terminal_safe(f.message)}"
    if marker and applicable(f.fix, unsafe_fixes):
        line += " " + style("[*]", color, fg="cyan")
    return line


def format_text(reports: Sequence[FileReport], *, color: bool = False,
                unsafe_fixes: bool = False, concise: bool = False) -> str:
    out = [finding_line(r.path, f, color=color, unsafe_fixes=unsafe_fixes,
                        marker=not concise, severity=not concise)
           for r in reports for f in r.findings]
    return "".join(line + "\n" for line in out)


def format_full(reports: Sequence[FileReport], *, color: bool = False,
                unsafe_fixes: bool = False) -> str:
    """ruff's `full` format: each finding with the source lines it covers, the span
    underlined, and the fix's title as help."""
    out: list[str] = []
    for r in reports:
        lines = r.text.split("\n")
        for f in r.findings:
            out.append(finding_line(r.path, f, color=color, unsafe_fixes=unsafe_fixes))
            last = min(f.end_line, f.line + 2, len(lines))
            width = len(str(last))
            gutter = style(" " * width + " |", color, fg="blue")
            out.append(gutter)
            for n in range(f.line, last + 1):
                src = terminal_safe(lines[n - 1].rstrip("\r")) if n - 1 < len(lines) else ""
                out.append(style(f"{n:>{width}} |", color, fg="blue") + " " + src)
                if n == f.line:
                    start = f.column - 1
                    end = f.end_column - 1 if f.end_line == f.line else len(src)
                    # The caret line counts characters of the escaped text only where
                    # nothing was escaped before the span (else it would drift).
                    prefix = terminal_safe(lines[n - 1][:start])
                    marks = "^" * max(1, end - start)
                    out.append(gutter + " " + " " * len(prefix)
                               + style(marks, color, fg="red", bold=True))
            if f.end_line > last:
                out.append(gutter + " ...")
            out.append(gutter)
            if f.fix is not None and f.fix.edits:
                label = f.fix.safety.label
                out.append(style(" " * width + " = help:", color, bold=True)
                           + f" {terminal_safe(f.fix.message)} ({label} fix)")
            out.append("")
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


def json_records(report: FileReport) -> list[dict[str, Any]]:
    """One file's records of the json and json-lines formats."""
    index = LineIndex(report.text)
    return [finding_record(report.path, f, index) for f in report.findings]


def _records(reports: Sequence[FileReport]) -> list[dict[str, Any]]:
    return [record for r in reports for record in json_records(r)]


def format_json(reports: Sequence[FileReport]) -> str:
    return json.dumps(_records(reports), indent=2, ensure_ascii=False) + "\n"


def format_json_lines(reports: Sequence[FileReport]) -> str:
    """One JSON object per line (ruff's json-lines): streamable, greppable."""
    return "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in _records(reports))


# --- fingerprints ----------------------------------------------------------------


def fingerprints(report: FileReport) -> list[str]:
    """A stable identity per finding, for GitLab's `fingerprint` and SARIF's
    `partialFingerprints`: the path, the code and the text of the finding's first
    line (whitespace folded), plus a counter among identical ones, so adding or
    removing unrelated lines above does not change it (line numbers are not used)."""
    import hashlib

    lines = report.text.split("\n")
    seen: Counter[str] = Counter()
    out = []
    for f in report.findings:
        source = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        key = "\0".join((report.path, f.code, " ".join(source.split())))
        seen[key] += 1
        digest = hashlib.sha256(f"{key}\0{seen[key]}".encode("utf-8", "surrogatepass"))
        out.append(digest.hexdigest()[:32])
    return out


# --- gitlab, junit, checkstyle --------------------------------------------------------


def gitlab_issues(report: FileReport) -> list[dict[str, Any]]:
    """One file's issues of the GitLab format."""
    return [{
        "description": f"{f.code} {f.message}",
        "check_name": f"{f.code} {f.name}",
        "fingerprint": fp,
        "severity": _GITLAB_SEVERITY.get(f.level, "major"),
        "location": {"path": report.path,
                     "lines": {"begin": f.line, "end": f.end_line}},
    } for f, fp in zip(report.findings, fingerprints(report), strict=True)]


def format_gitlab(reports: Sequence[FileReport]) -> str:
    """GitLab Code Quality (a JSON array; `artifacts:reports:codequality`)."""
    issues = [issue for r in reports for issue in gitlab_issues(r)]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _xml_attr(value: str) -> str:
    from xml.sax.saxutils import quoteattr

    # XML 1.0 forbids most control characters even as references: escape them first.
    return quoteattr(terminal_safe(value))


def format_junit(reports: Sequence[FileReport]) -> str:
    """JUnit XML: a test suite per file, a failing test case per finding (a file
    without findings is one passing case), as ruff's junit format."""
    total = sum(max(1, len(r.findings)) for r in reports)
    failures = sum(len(r.findings) for r in reports)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="dockopt" tests="{total}" failures="{failures}" errors="0">']
    for r in reports:
        out += junit_suite(r)
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def junit_suite(r: FileReport) -> list[str]:
    """One file's lines of the JUnit format (a test suite)."""
    from xml.sax.saxutils import escape

    n = len(r.findings)
    out = [f'  <testsuite name={_xml_attr(r.path)} tests="{max(1, n)}" '
           f'failures="{n}" errors="0">']
    if not r.findings:
        out.append(f'    <testcase name="dockopt" classname={_xml_attr(r.path)}/>')
    for f in r.findings:
        out.append(f'    <testcase name={_xml_attr(f"{f.code} {f.name}")} '
                   f'classname={_xml_attr(r.path)} line="{f.line}">')
        text = terminal_safe(f"{r.path}:{f.line}:{f.column}: {f.code} {f.message}")
        out.append(f'      <failure message={_xml_attr(f.message)} type="{f.level}">'
                   f"{escape(text)}</failure>")
        out.append("    </testcase>")
    out.append("  </testsuite>")
    return out


def format_checkstyle(reports: Sequence[FileReport]) -> str:
    """Checkstyle XML (hadolint's `-f checkstyle`; read by Jenkins and reviewdog)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<checkstyle version="4.3">']
    for r in reports:
        out += checkstyle_file(r)
    out.append("</checkstyle>")
    return "\n".join(out) + "\n"


def checkstyle_file(r: FileReport) -> list[str]:
    """One file's lines of the Checkstyle format."""
    out = [f"  <file name={_xml_attr(r.path)}>"]
    for f in r.findings:
        out.append(f'    <error line="{f.line}" column="{f.column}" '
                   f'severity="{_CHECKSTYLE_SEVERITY.get(f.level, "warning")}" '
                   f"message={_xml_attr(f.message)} source={_xml_attr('dockopt.' + f.code)}/>")
    out.append("  </file>")
    return out


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
    # A file name that is not UTF-8 (kept as surrogate escapes) is percent-encoded byte
    # by byte, as RFC 3986 and as_uri() do for absolute paths.
    return quote(path.replace(os.sep, "/"), safe="/", errors="surrogateescape")


def _artifact(path: str) -> dict[str, Any]:
    """A SARIF artifactLocation: relative paths against %SRCROOT% (the working
    directory, given in originalUriBaseIds), absolute ones as file: URIs."""
    if os.path.isabs(path):
        return {"uri": sarif_uri(path)}
    return {"uri": sarif_uri(path), "uriBaseId": "%SRCROOT%"}


def _sarif_fix(f: Finding, path: str, index: LineIndex) -> dict[str, Any]:
    assert f.fix is not None
    replacements = []
    for e in sorted(f.fix.edits, key=lambda e: (e.start, e.end)):
        row, col = index.line_col(e.start)
        end_row, end_col = index.line_col(e.end)
        replacements.append({
            "deletedRegion": {"startLine": row, "startColumn": col,
                              "endLine": end_row, "endColumn": end_col},
            "insertedContent": {"text": e.content},
        })
    return {"description": {"text": f"{f.fix.message} ({f.fix.safety.label} fix)"},
            "artifactChanges": [{"artifactLocation": _artifact(path),
                                 "replacements": replacements}]}


def sarif_results(r: FileReport, rule_index: dict[str, int]) -> list[dict[str, Any]]:
    """One file's SARIF results (``rule_index``: each rule's place in the rules)."""
    index = LineIndex(r.text)
    results = []
    for f, fp in zip(r.findings, fingerprints(r), strict=True):
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL.get(f.level, "warning"),
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact(r.path),
                "region": {"startLine": f.line, "startColumn": f.column,
                           "endLine": f.end_line, "endColumn": f.end_column},
            }}],
            "partialFingerprints": {"dockopt/v1": fp},
        }
        if f.code in rule_index:
            result["ruleIndex"] = rule_index[f.code]
        if f.fix is not None and f.fix.edits:
            result["fixes"] = [_sarif_fix(f, r.path, index)]
        results.append(result)
    return results


def format_sarif(reports: Sequence[FileReport], rules: Sequence[type[Transform]],
                 *, version: str, notifications: Sequence[tuple[str, str]] = ()) -> str:
    """SARIF 2.1.0. ``notifications`` are engine errors (path, message): they go to
    the invocation's toolExecutionNotifications, and make it unsuccessful."""
    rules = sorted(rules, key=lambda cls: cls.code)
    rule_index = {cls.code: i for i, cls in enumerate(rules)}
    results = [result for r in reports for result in sarif_results(r, rule_index)]
    from pathlib import Path

    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": message},
             "locations": [{"physicalLocation": {"artifactLocation": _artifact(path)}}]}
            for path, message in notifications]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": version,
                "semanticVersion": version,
                "informationUri": INFORMATION_URI,
                "rules": [sarif_rule(cls) for cls in rules],
            }},
            "invocations": [invocation],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
