"""A stand-in vulnerability scanner for verify's tests: an executable named trivy or
grype that checks its arguments and the image archive it is given (a real OCI archive)
and prints JSON reports recorded from the real tools (tests/data/scanners)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

DATA = Path(__file__).parent / "data" / "scanners"


STAND_IN = """#!{python}
# A stand-in {name}: checks its arguments and the image archive it is given, then
# prints the next recorded report (one per call, in order).
import sys, tarfile
from pathlib import Path
here = Path(__file__).parent
args = sys.argv[1:]
expected = {expected!r}
if "{name}" == "trivy":
    ok = len(args) == 8 and args[:2] == ["image", "--input"] and args[3:] == expected
    archive = args[2] if ok else ""
else:
    ok = len(args) == 4 and args[0].startswith("oci-archive:") and args[1:] == expected
    archive = args[0].split(":", 1)[1] if ok else ""
if not ok:
    print("stand-in {name}: unexpected arguments", args, file=sys.stderr)
    sys.exit(2)
with tarfile.open(archive) as tar:  # a real OCI archive: index.json and blobs
    names = tar.getnames()
    assert "index.json" in names and any(n.startswith("blobs/") for n in names), names
count = here / "calls"
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
reports = {reports!r}
cycle = {cycle!r}
if cycle and reports:
    n %= len(reports)
if n >= len(reports):
    print("FATAL: failed to download vulnerability DB", file=sys.stderr)
    sys.exit(1)
sys.stdout.write((here / reports[n]).read_text())
"""


def stand_in(folder: Path, name: str, reports: Sequence[str], cycle: bool = False
             ) -> Path:
    """Put a stand-in scanner called ``name`` in ``folder`` (with copies of the
    recorded reports it prints, one per call; ``cycle`` starts over after the last,
    else it fails like a scanner without its database); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = (["--format", "json", "--quiet", "--scanners", "vuln"] if name == "trivy"
                else ["--output", "json", "--quiet"])
    for report in reports:
        (folder / report).write_bytes((DATA / report).read_bytes())
    script = folder / name
    script.write_text(STAND_IN.format(python=sys.executable, name=name, expected=expected,
                                      reports=list(reports), cycle=cycle))
    script.chmod(0o755)
    return script
