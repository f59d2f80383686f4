"""End-to-end hazards of the unsafe fixes: Dockerfiles where a rewrite that looks
right breaks the real image (issue "Unsafe fixes that keep real images working").

Each folder in tests/e2e/hazards/ holds a Dockerfile, its small build context and a
case.toml. The test runs `fix --unsafe-fixes` (library call, with the context),
builds the ORIGINAL and the REWRITE with buildah, and asserts:

- both build;
- every behaviour check passes on both images (or on the one it names): the rewrite
  behaves like the original where it matters;
- the hazard was really exercised: the codes in `changed_by` changed the file (and
  `rewrite_contains` / `rewrite_user` hold), or, for the codes in `held_back`, the
  rule left the file alone and its finding says why.

All problems of a case are reported together, each naming the image, the check and
the tail of its output. Skips like test_e2e.py (no buildah, no stand-ins,
DOCKOPT_E2E=0). DOCKOPT_E2E_HAZARDS=a,b limits the cases.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_e2e import ROOT_USERS, engine  # noqa: F401  (the fixture: skip rules, stand-ins)

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import FixResult, fix
from dockopt.rewriter.verify.engines import BuildahEngine
from dockopt.rewriter.verify.report import Measurement, SmokeResult
from dockopt.rewriter.verify.session import Options, Session, Variant

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
HAZARDS_DIR = HERE / "hazards"
CMD = "CMD"  # a check's `run` that means: the image's ENTRYPOINT + CMD
IMAGE_CMD = "@IMAGE_CMD"  # a word of a check's `run` replaced by the ENTRYPOINT + CMD


class HazardEngine(BuildahEngine):
    """buildah, with ``@IMAGE_CMD`` in a check's argv replaced by the image's own
    ENTRYPOINT + CMD, so a check can run them under a harness (stoptest.sh)."""

    def run(self, tag: str, argv: Sequence[str], timeout: float
            ) -> tuple[int | None, str, bool]:
        if IMAGE_CMD in argv:
            facts = self.inspect(tag)
            at = list(argv).index(IMAGE_CMD)
            argv = [*argv[:at], *facts.entrypoint, *facts.cmd, *argv[at + 1:]]
        return super().run(tag, argv, timeout)


@dataclass
class Check:
    name: str
    run: list[str] | None  # None: the image's ENTRYPOINT + CMD
    expect: list[str] = field(default_factory=list)  # substrings of the output
    reject: list[str] = field(default_factory=list)  # substrings that must not appear
    match: str | None = None  # a regex searched in the output (multiline)
    exit: int | str = 0  # an exit code, or "nonzero"
    only: str | None = None  # "original" or "rewrite": the check runs on that image only

    def applies(self, variant: str) -> bool:
        return self.only is None or self.only == variant

    def problems(self, got: SmokeResult) -> list[str]:
        out = got.output
        bad: list[str] = []
        if got.timed_out:
            bad.append("timed out")
        elif self.exit == "nonzero":
            if got.exit_code == 0:
                bad.append("exit 0, expected a failure")
        elif got.exit_code != self.exit:
            bad.append(f"exit {got.exit_code}, expected {self.exit}")
        bad += [f"output lacks {e!r}" for e in self.expect if e not in out]
        bad += [f"output contains {r!r}" for r in self.reject if r in out]
        if self.match is not None and not re.search(self.match, out, re.M):
            bad.append(f"output does not match /{self.match}/")
        return bad


@dataclass
class HeldBack:
    code: str
    reason: list[str]  # words the finding's message must contain (case-insensitive)


@dataclass
class Case:
    name: str
    folder: Path
    item: int
    title: str
    checks: list[Check]
    changed_by: list[str] = field(default_factory=list)
    exercised_by: list[str] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    rewrite_contains: list[str] = field(default_factory=list)
    rewrite_user: str | None = None  # "non-root" or "root"
    timeout: float = 300.0  # seconds, each build
    run_timeout: float = 60.0  # seconds, each check


def load_cases() -> list[Case]:
    wanted = {c for c in os.environ.get("DOCKOPT_E2E_HAZARDS", "").split(",") if c}
    cases = []
    for folder in sorted(p for p in HAZARDS_DIR.iterdir() if (p / "case.toml").is_file()):
        if wanted and folder.name not in wanted:
            continue
        data: dict[str, Any] = tomllib.loads((folder / "case.toml").read_text("utf-8"))
        checks = []
        for c in data["check"]:
            run = None if c["run"] == CMD else list(c["run"])
            checks.append(Check(c["name"], run, _strings(c.get("expect")),
                                _strings(c.get("reject")), c.get("match"),
                                c.get("exit", 0), c.get("only")))
        held = [HeldBack(h["code"], _strings(h.get("reason"))) for h in data.get("held_back", [])]
        cases.append(Case(folder.name, folder, int(data["item"]), data["title"], checks,
                          list(data.get("changed_by", [])), list(data.get("exercised_by", [])),
                          held, _strings(data.get("rewrite_contains")),
                          data.get("rewrite_user"), float(data.get("timeout", 300)),
                          float(data.get("run_timeout", 60))))
    return cases


def _strings(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


CASES = load_cases()


def fix_case(case: Case) -> FixResult:
    """`dockopt fix --unsafe-fixes` on the case (in memory: the folder is not written)."""
    dockerfile = case.folder / "Dockerfile"
    text = dockerfile.read_bytes().decode("utf-8", "surrogateescape")
    return fix(text, path=str(dockerfile), context=case.folder,
               settings=Settings(unsafe_fixes=True))


def static_problems(case: Case, result: FixResult) -> list[str]:
    """Did the fix exercise the hazard (or hold back, with a reason)?"""
    changed = {c.code for c in result.changes}
    bad: list[str] = []
    for code in case.changed_by:
        if code not in changed:
            bad.append(f"{code} did not change the file (the hazard was not exercised); "
                       f"changes: {sorted(changed) or 'none'}")
    for code in case.exercised_by:
        if code not in changed and not any(f.code == code for f in result.findings):
            bad.append(f"{code} neither changed the file nor reported a finding")
    for held in case.held_back:
        if held.code in changed:
            bad.append(f"{held.code} changed the file; it must hold back here")
            continue
        messages = [f.message for f in result.findings if f.code == held.code]
        if not messages:
            bad.append(f"{held.code} holds back without a finding that says why")
        elif not any(all(w.lower() in m.lower() for w in held.reason) for m in messages):
            bad.append(f"{held.code}'s finding does not give the reason (expected the words "
                       f"{held.reason}): {messages}")
    for text in case.rewrite_contains:
        if text not in result.text:
            bad.append(f"the rewrite lacks {text!r}")
    return bad


def image_problems(case: Case, label: str, m: Measurement) -> list[str]:
    if not m.built:
        return [f"{label} does not build ({m.error}):\n{_indent(m.log_tail)}"]
    results = [m.smoke, *m.checks] if m.smoke is not None else list(m.checks)
    checks = [c for c in case.checks if c.applies(label)]
    bad: list[str] = []
    for check, got in zip(checks, results, strict=True):
        whys = check.problems(got)
        if whys:
            bad.append(f"{label}: check {check.name!r} ({' '.join(got.command)}) failed: "
                       f"{'; '.join(whys)}; output tail:\n{_indent(got.output)}")
    return bad


def _indent(text: str) -> str:
    lines = text.rstrip("\n").splitlines()[-15:] or ["(no output)"]
    return "\n".join("    | " + line for line in lines)


def measure(session: Session, case: Case, label: str, variant: Variant) -> Measurement:
    """Build one image and run the checks that apply to it (the first as smoke)."""
    checks = [c for c in case.checks if c.applies(label)]
    session.options = Options(smoke=checks[0].run if checks else ["true"],
                              checks=[c.run or [] for c in checks[1:]],
                              smoke_timeout=case.run_timeout, rebuild=False,
                              contents=False)  # behaviour checks only: no layer reading
    return session.measure(variant)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hazard(case: Case, engine: BuildahEngine) -> None:  # noqa: F811
    started = time.monotonic()
    result = fix_case(case)
    problems = static_problems(case, result)
    # Each build gets the case's timeout (the engine kills the build's process group).
    eng = HazardEngine(build_timeout=case.timeout)
    original_text = (case.folder / "Dockerfile").read_bytes().decode("utf-8", "surrogateescape")
    rewrite = Variant("rewrite", result.text,
                      {p: new for p, (_, new) in result.extra_files.items()})
    session = Session(eng, case.folder, "Dockerfile", Options())
    try:
        before = measure(session, case, "original", Variant("original", original_text))
        after = measure(session, case, "rewrite", rewrite)
    finally:
        session.close()
    problems += image_problems(case, "original", before)
    problems += image_problems(case, "rewrite", after)
    if after.built and case.rewrite_user is not None:
        root = (after.user or "") in ROOT_USERS
        if (case.rewrite_user == "non-root") == root:
            problems.append(f"rewrite: runs as {after.user!r}, expected {case.rewrite_user}")
    seconds = time.monotonic() - started
    if problems:
        pytest.fail(
            f"hazard {case.name} (issue item {case.item}: {case.title}), {seconds:.0f} s\n"
            f"codes applied: {sorted({c.code for c in result.changes})}\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nthe rewrite:\n" + _indent(result.text), pytrace=False)
