"""What verify measured, and its text and JSON renderings."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, field
from typing import Any

from dockopt.rewriter.records import dataclass
from dockopt.rewriter.verify.history import Layer, LayerRow, compare_layers
from dockopt.rewriter.verify.inventory import Delta, Inventory, format_delta
from dockopt.rewriter.verify.inventory import compare as compare_inventory
from dockopt.rewriter.verify.layerfs import Waste
from dockopt.rewriter.verify.scan import ScanResult, VulnDelta, format_counts, format_ids
from dockopt.rewriter.verify.scan import compare as compare_scans

# --- results -----------------------------------------------------------------------


@dataclass
class SmokeResult:
    command: list[str]
    exit_code: int | None
    output: str
    ok: bool
    timed_out: bool = False
    note: str = ""


@dataclass
class Measurement:
    """What one variant (original or rewritten) did."""

    variant: str
    built: bool = False
    error: str | None = None  # "build-failed", "base-image-unavailable", "timeout"
    log_tail: str = ""
    cold_seconds: float | None = None
    rebuild_seconds: float | None = None
    rebuild_ok: bool | None = None
    rebuild_samples: list[float] = field(default_factory=list)  # rebuild_seconds: median
    settle_seconds: float | None = None  # the untimed cached build before the rebuilds
    touched: str | None = None
    size_bytes: int | None = None
    layers: int | None = None
    user: str | None = None
    smoke: SmokeResult | None = None
    checks: list[SmokeResult] = field(default_factory=list)  # Options.checks, in order
    layer_history: list[Layer] = field(default_factory=list)  # oldest first
    waste: Waste | None = None  # from the layer archives (dive's measure)
    inventory: Inventory | None = None  # from the final filesystem
    vulnerabilities: ScanResult | None = None  # None: not scanned
    contents_note: str | None = None  # why the layers could not be read

    @property
    def size_mb(self) -> float | None:
        return None if self.size_bytes is None else self.size_bytes / 1e6

    @property
    def smoke_ok(self) -> bool | None:
        return None if self.smoke is None else self.smoke.ok


@dataclass
class VerifyReport:
    path: str
    engine: str
    changed: bool
    codes: list[str]
    original: Measurement | None
    rewritten: Measurement | None
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None  # verification could not be done (engine, original broken)
    scanner: str = "none"  # the vulnerability scanner used, or "none"
    scanner_note: str = ""  # which scanner and why ("trivy (the first found on PATH)")

    @property
    def exit_code(self) -> int:
        if self.fatal is not None:
            return 2
        return 1 if self.problems else 0

    def ratios(self) -> dict[str, float | None]:
        o, r = self.original, self.rewritten
        if o is None or r is None:
            return {"size": None, "rebuild_speedup": None, "cold_speedup": None}
        return {
            "size": _ratio(r.size_bytes, o.size_bytes),
            "rebuild_speedup": _ratio(o.rebuild_seconds, r.rebuild_seconds),
            "cold_speedup": _ratio(o.cold_seconds, r.cold_seconds),
        }

    def layer_table(self) -> list[LayerRow]:
        """The original's layers against the rewrite's, biggest first ([] if either
        image has no history)."""
        o, r = self.original, self.rewritten
        if o is None or r is None or not o.layer_history or not r.layer_history:
            return []
        return compare_layers(o.layer_history, r.layer_history)

    def inventory_delta(self) -> list[Delta]:
        o, r = self.original, self.rewritten
        if o is None or r is None or o.inventory is None or r.inventory is None:
            return []
        return compare_inventory(o.inventory, r.inventory)

    def vulnerability_delta(self) -> VulnDelta | None:
        o, r = self.original, self.rewritten
        if o is None or r is None or o.vulnerabilities is None or r.vulnerabilities is None:
            return None
        if o.vulnerabilities.error or r.vulnerabilities.error:
            return None
        return compare_scans(o.vulnerabilities, r.vulnerabilities)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("original", "rewritten"):
            m = getattr(self, key)
            if m is not None:
                data[key]["size_mb"] = m.size_mb
        data["ratios"] = self.ratios()
        data["exit_code"] = self.exit_code
        data["layer_table"] = [{**asdict(row), "delta_bytes": row.delta_bytes}
                               for row in self.layer_table()]
        data["inventory_delta"] = [{**asdict(d), "difference": d.difference}
                                   for d in self.inventory_delta()]
        vulns = self.vulnerability_delta()
        data["vulnerability_delta"] = None if vulns is None else {
            **asdict(vulns), "before_total": vulns.before_total,
            "after_total": vulns.after_total}
        return data


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


# --- output --------------------------------------------------------------------------


def _fmt_seconds(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def _fmt_mb(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} MB"


def _fmt_speed(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def _fmt_smoke(m: Measurement) -> str:
    if m.smoke is None:
        return "-"
    s = m.smoke
    state = "ok" if s.ok else "FAILED"
    code = "timeout" if s.timed_out else str(s.exit_code)
    return f"{state} ({code})"


def format_text(report: VerifyReport) -> str:
    lines = [f"{report.path}: engine {report.engine}"]
    if not report.changed:
        lines.append("nothing to fix: no rewrite to verify")
        return "\n".join(lines) + "\n"
    lines.append(f"transforms applied: {', '.join(report.codes) or '(context files only)'}")
    o, r = report.original, report.rewritten
    if o is not None and r is not None:
        ratios = report.ratios()

        def row(label: str, a: str, b: str, ratio: str = "") -> str:
            return f"  {label:<12} {a:>16} {b:>16}  {ratio}"

        size = ratios["size"]
        speed = ratios["rebuild_speedup"]
        cold = ratios["cold_speedup"]
        lines += [
            row("", "original", "rewritten", "ratio"),
            row("builds", "yes" if o.built else f"NO ({o.error})",
                "yes" if r.built else f"NO ({r.error})"),
            row("cold build", _fmt_seconds(o.cold_seconds), _fmt_seconds(r.cold_seconds),
                _fmt_speed(cold)),
            row("rebuild", _fmt_seconds(o.rebuild_seconds), _fmt_seconds(r.rebuild_seconds),
                _fmt_speed(speed)),
            row("size", _fmt_mb(o.size_mb), _fmt_mb(r.size_mb),
                "" if size is None else f"{(size - 1) * 100:+.0f}%"),
            row("layers", str(o.layers if o.layers is not None else "-"),
                str(r.layers if r.layers is not None else "-")),
            row("user", o.user or "-", r.user or "-"),
            row("smoke", _fmt_smoke(o), _fmt_smoke(r)),
        ]
        if o.touched:
            lines.append(f"  (rebuild: after appending a comment line to {o.touched})")
        lines += _format_layers(report)
        lines += _format_waste(o, r)
        lines += _format_inventory(report)
        lines += _format_vulnerabilities(report)
        for m in (o, r):
            if m.smoke is not None and not m.smoke.ok:
                lines.append(f"--- {m.variant} smoke: {shlex.join(m.smoke.command)}")
                lines.append(m.smoke.output)
            if m.log_tail and (not m.built or m.rebuild_ok is False):
                lines.append(f"--- {m.variant} build log (tail)")
                lines.append(m.log_tail)
    if report.fatal:
        lines.append(f"error: {report.fatal}")
    for p in report.problems:
        lines.append(f"regression: {p}")
    if report.fatal is None and not report.problems:
        lines.append("verified: the rewrite builds, passes the smoke test and is not bigger")
    return "\n".join(lines) + "\n"


LAYER_ROWS = 12  # layer-table rows in the text output (JSON has them all)
WASTE_PATHS = 5  # wasted paths per image in the text output


def _short(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt_bytes(v: int | None) -> str:
    return "-" if v is None else f"{v / 1e6:.1f} MB"


def _format_layers(report: VerifyReport) -> list[str]:
    rows = report.layer_table()
    if not rows:
        return []
    lines = [f"  layers, biggest first {'':<33} {'original':>10} {'rewritten':>10}"]
    for row in rows[:LAYER_ROWS]:
        label = _short(("(base) " if row.base else "") + row.instruction, 55)
        delta = "" if row.status in ("gone", "new", "same") else \
            f" {row.delta_bytes / 1e6:+.1f} MB"
        lines.append(f"    {label:<55} {_fmt_bytes(row.before_bytes):>10} "
                     f"{_fmt_bytes(row.after_bytes):>10}  {row.status}{delta}")
    if len(rows) > LAYER_ROWS:
        rest = rows[LAYER_ROWS:]
        lines.append(f"    ... {len(rest)} more layer(s), "
                     f"{sum(r.before_bytes or 0 for r in rest) / 1e6:.1f} MB / "
                     f"{sum(r.after_bytes or 0 for r in rest) / 1e6:.1f} MB")
    return lines


def _format_waste(o: Measurement, r: Measurement) -> list[str]:
    if o.waste is None and r.waste is None:
        notes = [f"  ({m.variant}: layers not read: {m.contents_note})"
                 for m in (o, r) if m.contents_note]
        return notes
    lines = ["  wasted space (dive's measure: bytes of paths written in more than one "
             "layer or removed later)"]
    for m in (o, r):
        if m.waste is None:
            lines.append(f"    {m.variant}: not measured ({m.contents_note or 'not built'})")
            continue
        w = m.waste
        lines.append(f"    {m.variant}: {w.wasted_bytes / 1e6:.1f} MB wasted, efficiency "
                     f"{w.efficiency * 100:.1f}%, {w.hidden_bytes / 1e6:.1f} MB in the "
                     "layers but not in the final filesystem")
        for p in [p for p in w.paths if p.bytes > 0][:WASTE_PATHS]:
            layers = ", ".join(str(i + 1) for i in p.layers)
            lines.append(f"      {p.bytes / 1e6:8.1f} MB  /{_short(p.path, 70)} "
                         f"(layers {layers})")
    return lines


def _format_inventory(report: VerifyReport) -> list[str]:
    deltas = report.inventory_delta()
    if not deltas:
        return []
    lines = ["  contents, original -> rewritten"]
    lines += [f"    {_short(format_delta(d), 150)}" for d in deltas]
    for m in (report.original, report.rewritten):
        if m is not None and m.inventory is not None:
            lines += [f"    ({m.variant}: {note})" for note in m.inventory.notes]
    return lines


def _format_vulnerabilities(report: VerifyReport) -> list[str]:
    o, r = report.original, report.rewritten
    if o is None or r is None or (o.inventory is None and r.inventory is None):
        return []  # the layers were not read: nothing was scanned either
    if report.scanner == "none":
        return [f"  vulnerabilities: {report.scanner_note or 'no scan'}"]
    delta = report.vulnerability_delta()
    if delta is None:
        lines = [f"  vulnerabilities ({report.scanner}): no delta"]
        for m in (o, r):
            why = "not scanned" if m.vulnerabilities is None else m.vulnerabilities.error
            if why:
                lines.append(f"    {m.variant}: {why}")
        return lines
    lines = [f"  vulnerabilities ({report.scanner_note}): {delta.before_total} -> "
             f"{delta.after_total}",
             f"    original:  {format_counts(delta.before)}",
             f"    rewritten: {format_counts(delta.after)}"]
    if delta.gone:
        lines.append(f"    gone: {format_ids(delta.gone)}")
    if delta.new:
        lines.append(f"    new: {format_ids(delta.new)}")
    return lines


def format_json(report: VerifyReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"



