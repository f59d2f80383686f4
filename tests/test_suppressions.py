"""Suppression comments: what they hide, DO510 (unknown codes) and DO511 (unused codes)."""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check, fix
from dockopt.transforms import REGISTRY

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def _codes(text: str, **kw: object) -> list[str]:
    findings, _ = check(text, **kw)  # type: ignore[arg-type]
    return [f.code for f in findings]


def test_unused_codes_are_reported_and_removed_used_ones_kept() -> None:
    text = ("FROM debian:12-slim\n"
            "# dockopt: ignore=DO204, DO301\n"
            "RUN echo hello\n"
            "# dockopt: ignore=DO204 reviewed: the lists are needed later\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
            "# dockopt: global ignore=DO403\n"
            "# dockopt: ignore=DO503,DO2\n"
            "RUN apt-get install -y jq\n"
            "USER nobody\n"
            "CMD [\"curl\"]\n")
    findings, _ = check(text)
    unused = [(f.line, f.column, f.message) for f in findings if f.code == "DO511"]
    assert unused == [
        (2, 19, "Unused suppression: `DO204` hid no finding on the instruction below"),
        (2, 26, "Unused suppression: `DO301` hid no finding on the instruction below"),
        (6, 26, "Unused suppression: `DO403` hid no finding in this file"),
    ]
    result = fix(text, settings=Settings())
    assert "# dockopt: ignore=DO204, DO301\n" not in result.text  # all unused: line goes
    assert "# dockopt: global ignore=DO403\n" not in result.text
    assert "# dockopt: ignore=DO204 reviewed: the lists are needed later\n" in result.text
    assert "# dockopt: ignore=DO503,DO2\n" in result.text  # a prefix suppresses
    assert "DO511" not in _codes(result.text)
    dockerfile.parse_string(result.text)
    assert fix(result.text, settings=Settings()).text == result.text


def test_one_unused_code_among_used_ones_is_cut_out_with_its_separator() -> None:
    text = ("FROM debian:12-slim\n# dockopt: ignore=DO403 , DO204\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends curl\n")
    out = fix(text, settings=Settings(select=("DO204", "DO403", "DO511"))).text
    assert out == ("FROM debian:12-slim\n# dockopt: ignore=DO204\n"
                   "RUN apt-get update && apt-get install -y --no-install-recommends curl\n")
    text2 = text.replace("DO403 , DO204", "DO204,DO403")
    out2 = fix(text2, settings=Settings(select=("DO204", "DO403", "DO511"))).text
    assert out2 == out


def test_rules_not_selected_are_run_for_the_judgement_alone() -> None:
    text = "FROM debian:12-slim\n# dockopt: ignore=DO204\nRUN echo hi\n"
    assert "DO511" in _codes(text)
    # ruff's `--select RUF100` use: DO511 alone still judges, and reports only itself.
    assert _codes(text, settings=Settings(select=("DO511",))) == ["DO511"]
    used = "FROM debian:12-slim\n# dockopt: ignore=DO204\nRUN apt-get update\n"
    assert _codes(used, settings=Settings(select=("DO511",))) == []
    fixed = fix(text, settings=Settings(select=("DO511",))).text
    assert fixed == "FROM debian:12-slim\nRUN echo hi\n"
    # hadolint's own comments are hadolint's business; ALL and unknown codes too.
    for comment in ("# hadolint ignore=DL3009", "# dockopt: ignore=ALL",
                    "# dockopt: ignore=DO2O4"):
        assert "DO511" not in _codes(text.replace("# dockopt: ignore=DO204", comment))


def test_context_rules_are_not_judged_without_a_context(tmp_path: Path) -> None:
    text = "FROM debian:12-slim\n# dockopt: ignore=DO402\nADD app.tar /srv/\n"
    assert "DO511" not in _codes(text)  # no context: DO402 cannot know app.tar
    (tmp_path / "app.tar").write_bytes(b"")
    assert "DO511" in _codes(text, context=tmp_path)  # a tar: ADD is right, nothing hid


def test_hadolint_codes_and_names_suppress() -> None:
    base = "FROM debian:12-slim\n{c}\nRUN apt-get update && apt-get install -y curl\n"
    for c in ("# dockopt: ignore=DL3009", "# dockopt: ignore=apt-lists-not-cleaned",
              "# hadolint ignore=DL3009"):
        assert "DO204" not in _codes(base.format(c=c)), c


def _context_cases() -> list[Path]:
    return sorted(p.parent for p in GOLDEN.glob("*/*/context"))


@pytest.mark.parametrize("case", _context_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rules_that_change_with_the_context_say_they_read_it(case: Path) -> None:
    """DO511 trusts `reads_context`: a rule whose findings differ with and without
    the build context must declare it, or DO511 would delete its suppressions in a
    context-less run (an editor's stdin)."""
    text = (case / "Dockerfile").read_text(encoding="utf-8")
    settings = Settings(unsafe_fixes=True)
    with_ctx, _ = check(text, context=case / "context", settings=settings,
                        path=str(case / "Dockerfile"))
    without, _ = check(text, settings=settings)
    differ = {f.code for f in with_ctx} ^ {f.code for f in without}
    by_code = {cls.code: cls for cls in REGISTRY}
    for code in differ:
        assert by_code[code].reads_context, f"{code} changes with the context"
