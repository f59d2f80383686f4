"""Vulnerability scans through a scanner the user has installed (Trivy or Grype; both
read the exported image archive), and the before/after delta: counts by severity,
the vulnerabilities that went away and those that appeared.

The scanners fetch their own vulnerability databases; dockopt passes nothing that
changes how they do it. A scanner that fails (no database, no network) is a note in
the report, never a verify error.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from dockopt.rewriter.records import dataclass

SCANNERS = ("trivy", "grype")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
SCAN_TIMEOUT = 900.0

# (argv, timeout) -> (exit code or None, output, timed out): engines._run's shape
Runner = Callable[[Sequence[str], float], tuple[int | None, str, bool]]


@dataclass(frozen=True)
class Finding:
    id: str  # CVE-..., GHSA-...
    package: str
    version: str
    severity: str  # one of SEVERITIES
    fixed: str = ""  # the version that fixes it, if the scanner knows one


@dataclass
class ScanResult:
    scanner: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # the scan failed: why (the scanner's last line)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out


def choose(requested: str, which: Callable[[str], str | None] = shutil.which
           ) -> tuple[str, str]:
    """(scanner or "none", why) for ``--scanner auto|trivy|grype|none``."""
    if requested == "none":
        return "none", "no scan (--scanner none)"
    if requested in SCANNERS:
        if which(requested) is None:
            return "none", f"{requested} is not on PATH: no scan"
        return requested, f"{requested} (--scanner {requested})"
    for name in SCANNERS:
        if which(name) is not None:
            return name, f"{name} (the first scanner found on PATH)"
    return "none", "no scan: neither trivy nor grype is on PATH (--scanner)"


def scan_argv(scanner: str, archive: Path, transport: str) -> list[str]:
    """The command line that scans ``archive`` (an ``oci-archive`` or
    ``docker-archive`` tar) and prints JSON."""
    if scanner == "trivy":
        return ["trivy", "image", "--input", str(archive), "--format", "json", "--quiet",
                "--scanners", "vuln"]
    if scanner == "grype":
        return ["grype", f"{transport}:{archive}", "--output", "json", "--quiet"]
    raise ValueError(f"unknown scanner {scanner!r}")


def run(scanner: str, archive: Path, transport: str, runner: Runner) -> ScanResult:
    code, out, timed_out = runner(scan_argv(scanner, archive, transport), SCAN_TIMEOUT)
    if timed_out:
        return ScanResult(scanner, error=f"{scanner} timed out after {SCAN_TIMEOUT:g}s")
    start = out.find("{")  # warnings may precede the document on a shared stream
    try:
        doc = json.loads(out[start:]) if start >= 0 else None
    except ValueError:
        doc = None
    if code != 0 or not isinstance(doc, dict):
        last = [ln for ln in out.strip().splitlines() if ln.strip()]
        why = last[-1][:300] if last else "(no output)"
        return ScanResult(scanner, error=f"{scanner} exited {code}: {why}")
    return parse(scanner, doc)


def parse(scanner: str, doc: dict[str, Any]) -> ScanResult:
    findings = parse_trivy(doc) if scanner == "trivy" else parse_grype(doc)
    return ScanResult(scanner, sorted(set(findings), key=_key))


def _severity(value: object) -> str:
    text = str(value or "").upper()
    return text if text in SEVERITIES else "UNKNOWN"


def parse_trivy(doc: dict[str, Any]) -> list[Finding]:
    """Trivy's JSON report (SchemaVersion 2): Results[].Vulnerabilities[]."""
    out: list[Finding] = []
    for result in doc.get("Results") or []:
        for v in (result or {}).get("Vulnerabilities") or []:
            out.append(Finding(str(v.get("VulnerabilityID") or "?"),
                               str(v.get("PkgName") or v.get("PkgID") or "?"),
                               str(v.get("InstalledVersion") or ""),
                               _severity(v.get("Severity")),
                               str(v.get("FixedVersion") or "")))
    return out


def parse_grype(doc: dict[str, Any]) -> list[Finding]:
    """Grype's JSON report: matches[].vulnerability / .artifact."""
    out: list[Finding] = []
    for match in doc.get("matches") or []:
        vuln = (match or {}).get("vulnerability") or {}
        artifact = (match or {}).get("artifact") or {}
        fix = vuln.get("fix") or {}
        out.append(Finding(str(vuln.get("id") or "?"), str(artifact.get("name") or "?"),
                           str(artifact.get("version") or ""), _severity(vuln.get("severity")),
                           ", ".join(str(v) for v in fix.get("versions") or [])))
    return out


def _key(f: Finding) -> tuple[int, str, str, str]:
    return (SEVERITIES.index(f.severity), f.id, f.package, f.version)


@dataclass
class VulnDelta:
    scanner: str
    before: dict[str, int]  # by severity
    after: dict[str, int]
    gone: list[Finding]  # in the original only (by id and package)
    new: list[Finding]  # in the rewrite only

    @property
    def before_total(self) -> int:
        return sum(self.before.values())

    @property
    def after_total(self) -> int:
        return sum(self.after.values())


def compare(before: ScanResult, after: ScanResult) -> VulnDelta:
    def ident(f: Finding) -> tuple[str, str]:
        return (f.id, f.package)

    after_ids = {ident(f) for f in after.findings}
    before_ids = {ident(f) for f in before.findings}
    return VulnDelta(after.scanner, before.counts(), after.counts(),
                     [f for f in before.findings if ident(f) not in after_ids],
                     [f for f in after.findings if ident(f) not in before_ids])


def format_counts(counts: dict[str, int]) -> str:
    shown = [f"{counts[s]} {s.lower()}" for s in SEVERITIES if counts.get(s)]
    return ", ".join(shown) if shown else "none"


def format_ids(findings: Sequence[Finding], limit: int = 8) -> str:
    """ "CVE-2019-14697 (musl, musl-utils), ..." grouped by id, worst first."""
    groups: dict[str, list[str]] = {}
    for f in sorted(findings, key=_key):
        groups.setdefault(f.id, []).append(f.package)
    items = [f"{i} ({', '.join(dict.fromkeys(p))})" for i, p in groups.items()]
    shown = ", ".join(items[:limit])
    return shown + (f", ... {len(items) - limit} more" if len(items) > limit else "")
