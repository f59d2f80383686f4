"""`dockopt verify --output-format markdown`: a summary to paste into a pull request
(GitHub-flavoured Markdown): size, rebuild, layers, wasted space, packages, build
tools, user, smoke test and vulnerabilities, each before / after / change, then the
details (layer table, package names, CVEs) in collapsed sections.

Text from the images (instructions, package names, paths) is put in code spans with
table pipes escaped, so a hostile Dockerfile cannot break out of the table or inject
markup.
"""

from __future__ import annotations

import re

from dockopt.rewriter.verify.inventory import Delta
from dockopt.rewriter.verify.report import Measurement, VerifyReport, _fmt_speed, _ratio
from dockopt.rewriter.verify.scan import format_counts

DETAIL_ROWS = 25  # layer-table rows and names per list in the collapsed sections


def _code(text: str, width: int = 90) -> str:
    """``text`` as a code span that is safe inside a table cell."""
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 3] + "..."
    text = text.replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _mb(v: int | None) -> str:
    return "-" if v is None else f"{v / 1e6:.1f} MB"


def _mb_delta(v: int) -> str:
    return "" if abs(v) < 50_000 else f"{v / 1e6:+.1f} MB"


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} s"


def _pct(before: int | None, after: int | None) -> str:
    ratio = _ratio(after, before)
    return "" if ratio is None else f"{(ratio - 1) * 100:+.0f}%"


def _diff(before: int | None, after: int | None) -> str:
    if before is None or after is None or before == after:
        return ""
    return f"{after - before:+d}"


def _smoke(m: Measurement) -> str:
    if m.smoke is None:
        return "-"
    return "ok" if m.smoke.ok else "**failed**"


def format_markdown(report: VerifyReport) -> str:
    lines = [f"### dockopt verify: {_code(report.path)}", ""]
    if not report.changed:
        return "\n".join([*lines, "Nothing to fix: no rewrite to verify.", ""])
    codes = ", ".join(report.codes) or "(context files only)"
    if report.fatal:
        verdict = f"**not verified**: {' '.join(report.fatal.split())[:300]}"
    elif report.problems:
        verdict = "**regression**: " + "; ".join(report.problems)
    else:
        verdict = ("**verified**: the rewrite builds, passes the smoke test and is not "
                   "bigger")
    lines += [f"Transforms: {codes} · engine: {report.engine}", "", verdict, ""]
    o, r = report.original, report.rewritten
    if o is None or r is None:
        return "\n".join(lines) + "\n"
    rows = [
        ("builds", "yes" if o.built else f"no ({o.error})",
         "yes" if r.built else f"no ({r.error})", ""),
        ("image size", _mb(o.size_bytes), _mb(r.size_bytes), _pct(o.size_bytes, r.size_bytes)),
        ("rebuild after a source change", _s(o.rebuild_seconds), _s(r.rebuild_seconds),
         _fmt_speed(_ratio(o.rebuild_seconds, r.rebuild_seconds))),
        ("cold build", _s(o.cold_seconds), _s(r.cold_seconds),
         _fmt_speed(_ratio(o.cold_seconds, r.cold_seconds))),
        ("layers", _n(o.layers), _n(r.layers), _diff(o.layers, r.layers)),
    ]
    if o.waste is not None and r.waste is not None:
        rows.append(("wasted space (dive)",
                     f"{_mb(o.waste.wasted_bytes)} ({o.waste.efficiency:.1%} efficient)",
                     f"{_mb(r.waste.wasted_bytes)} ({r.waste.efficiency:.1%} efficient)",
                     _mb_delta(r.waste.wasted_bytes - o.waste.wasted_bytes)))
    deltas = report.inventory_delta()
    user = None
    for d in deltas:
        if d.label == "user":
            user = d
            continue
        if d.before or d.after:  # "node packages 0 -> 0" is noise in a PR comment
            rows.append((d.label, str(d.before), str(d.after), _diff(d.before, d.after)))
    if o.inventory is not None and r.inventory is not None:
        rows.append(("user", _code(o.inventory.user), _code(r.inventory.user),
                     "changed" if user is not None and user.removed else ""))
    else:
        rows.append(("user", _code(o.user or "-"), _code(r.user or "-"), ""))
    rows.append(("smoke test", _smoke(o), _smoke(r), ""))
    vulns = report.vulnerability_delta()
    if vulns is not None:
        rows.append((f"vulnerabilities ({report.scanner})", format_counts(vulns.before),
                     format_counts(vulns.after),
                     _diff(vulns.before_total, vulns.after_total) or "same count"))
    lines += ["| | original | rewritten | change |", "|---|---:|---:|---:|"]
    lines += [f"| {label} | {a} | {b} | {c} |" for label, a, b, c in rows]
    lines.append("")
    if vulns is None and report.scanner_note and (o.inventory or r.inventory):
        lines += [f"Vulnerabilities: {_scan_note(report)}", ""]
    lines += _layers_section(report)
    lines += _contents_section(deltas)
    if vulns is not None and (vulns.gone or vulns.new):
        lines += ["<details><summary>Vulnerabilities gone and new</summary>", ""]
        for label, items in (("gone", vulns.gone), ("new", vulns.new)):
            if items:
                shown = ", ".join(_code(f"{f.id} {f.package}") + f" ({f.severity.lower()})"
                                  for f in items[:DETAIL_ROWS])
                more = f", ... {len(items) - DETAIL_ROWS} more" \
                    if len(items) > DETAIL_ROWS else ""
                lines.append(f"- {label} ({len(items)}): {shown}{more}")
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _n(v: int | None) -> str:
    return "-" if v is None else str(v)


def _scan_note(report: VerifyReport) -> str:
    if report.scanner == "none":
        return report.scanner_note or "no scan"
    why = [f"{m.variant}: {m.vulnerabilities.error}" for m in
           (report.original, report.rewritten)
           if m is not None and m.vulnerabilities is not None and m.vulnerabilities.error]
    return f"{report.scanner} gave no delta" + (f" ({'; '.join(why)})" if why else "")


def _layers_section(report: VerifyReport) -> list[str]:
    rows = report.layer_table()
    if not rows:
        return []
    lines = ["<details><summary>Layers, biggest first</summary>", "",
             "| instruction | original | rewritten | |", "|---|---:|---:|---|"]
    for row in rows[:DETAIL_ROWS]:
        label = ("(base) " if row.base else "") + row.instruction
        lines.append(f"| {_code(label)} | {_mb(row.before_bytes)} | {_mb(row.after_bytes)} "
                     f"| {row.status} |")
    if len(rows) > DETAIL_ROWS:
        lines.append(f"| ... {len(rows) - DETAIL_ROWS} more | | | |")
    return [*lines, "", "</details>", ""]


def _contents_section(deltas: list[Delta]) -> list[str]:
    items: list[str] = []
    for d in deltas:
        if d.label == "user":
            continue
        for verb, names in (("removed", d.removed), ("added", d.added),
                            ("changed", d.changed)):
            if names:
                shown = ", ".join(_code(n, 60) for n in names[:DETAIL_ROWS])
                more = f", ... {len(names) - DETAIL_ROWS} more" \
                    if len(names) > DETAIL_ROWS else ""
                items.append(f"- {d.label} {verb} ({len(names)}): {shown}{more}")
    if not items:
        return []
    return ["<details><summary>What left and entered the image</summary>", "", *items, "",
            "</details>", ""]
