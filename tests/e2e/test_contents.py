"""End-to-end: verify's layer readers on a real buildah image (exported with
`buildah push ... oci-archive:`), where the expected figures are known from the
Dockerfile itself. Skips like test_e2e.py (no buildah, no stand-ins, DOCKOPT_E2E=0).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_e2e import engine  # noqa: F401  (the fixture: skip rules, stand-ins)

from dockopt.rewriter.verify.engines import BuildahEngine
from dockopt.rewriter.verify.session import Options, Session, Variant

pytestmark = pytest.mark.e2e

CASES = Path(__file__).parent / "cases"


def test_apt_lists_removed_in_a_later_run_are_wasted(engine: BuildahEngine) -> None:  # noqa: F811
    case = CASES / "apt-lists-removed"
    session = Session(engine, case, "Dockerfile", Options(rebuild=False))
    try:
        m = session.measure(Variant("original", (case / "Dockerfile").read_text()))
    finally:
        session.close()
    assert m.built, m.log_tail
    assert m.waste is not None, m.contents_note
    lists = [p for p in m.waste.paths if p.path.startswith("var/lib/apt/lists/")
             and p.bytes > 0]
    assert lists, [p.path for p in m.waste.paths[:10]]
    # Written by the apt-get update layer, removed by the next one.
    update, remove = len(m.layer_history) - 2, len(m.layer_history) - 1
    assert all(p.layers == [update, remove] for p in lists)
    # Bookworm's package lists are tens of MB; the removal layer is almost empty.
    listed = sum(p.bytes for p in lists)
    assert listed > 5_000_000 and m.waste.wasted_bytes >= listed
    assert m.waste.hidden_bytes >= listed and m.waste.efficiency < 0.9
    history = [(layer.instruction, layer.base) for layer in m.layer_history[-2:]]
    assert history == [("RUN apt-get update", False),
                       ("RUN rm -rf /var/lib/apt/lists/*", False)]
    assert m.layer_history[-2].size_bytes > listed > m.layer_history[-1].size_bytes
