"""The per-RUN shortcuts taken for big files (issue 15) answer as the long way did.

- ``shellfix.has_flag`` builds the ``--name=`` prefixes once per set of names instead
  of a generator per word: it answers as the old expression on every word shape.
- The rpm family (DO206-DO208), DO205 (apk) and DO209 (pip) read a RUN's mounts
  (and DO209 the ENVs) only when the RUN installs: a cache mount or the setting still
  silences the rule, and a RUN without an install still gets nothing.
"""

from __future__ import annotations

import itertools

import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check
from dockopt.rewriter.shell import SimpleCommand, parse_shell
from dockopt.transforms import shellfix
from dockopt.transforms.packages.apt import APT_VALUE
from dockopt.transforms.packages.pip import PIP_VALUE


def _old_has_flag(cmd: SimpleCommand, *names: str, short: str | None = None,
                  takes_value: frozenset[str] = frozenset()) -> bool:
    """``has_flag`` as it was written before the shortcut."""
    skip = False
    for word in cmd.resolved_args:
        value = word.value
        if skip:
            skip = False
            continue
        if value is None:
            continue
        if value in takes_value:
            skip = True
            continue
        if value in names or any(value.startswith(n + "=") for n in names if n.startswith("--")):
            return True
        if short and shellfix._SHORT_OPTS.fullmatch(value) and short in value[1:]:
            return True
    return False


_WORDS = ["-y", "--yes", "--yes=1", "--yesno", "-qqy", "-q", "--no-install-recommends",
          "--no-install-recommends=true", "-o", "--option", "-t", "-t=x", "--target",
          "--target=/x", "--cache-dir", "--cache-dir=/c", "$FLAG", "x", "--"]
_QUERIES: list[tuple[tuple[str, ...], str | None, frozenset[str]]] = [
    (("-y", "--yes", "--assume-yes"), "y", APT_VALUE),
    (("--no-install-recommends",), None, APT_VALUE),
    (("--target", "-t"), None, PIP_VALUE),
    (("--cache-dir",), None, PIP_VALUE),
    (("-t",), "t", frozenset()),
]


@pytest.mark.parametrize("names,short,takes", _QUERIES)
def test_has_flag_answers_as_before(names: tuple[str, ...], short: str | None,
                                    takes: frozenset[str]) -> None:
    seen = set()
    for a, b in itertools.product(_WORDS, repeat=2):
        script = parse_shell(f"prog install {a} {b} pkg")
        (cmd,) = script.commands
        want = _old_has_flag(cmd, *names, short=short, takes_value=takes)
        assert shellfix.has_flag(cmd, *names, short=short, takes_value=takes) == want, (a, b)
        seen.add(want)
    assert seen == {True, False}  # both answers were compared


@pytest.mark.parametrize("program,cache", [("yum", "/var/cache/yum"),
                                           ("dnf", "/var/cache/libdnf5"),
                                           ("zypper", "/var/cache/zypp")])
def test_rpm_family_still_reads_the_mounts_of_an_install(program: str, cache: str) -> None:
    def codes(run: str) -> set[str]:
        findings, _ = check(f"FROM fedora\n{run}\n", settings=Settings())
        return {f.code for f in findings if f.code in ("DO206", "DO207", "DO208")}

    install = f"{program} install -y httpd"
    assert codes(f"RUN {install}")  # the rule fires on a bare install
    assert not codes(f"RUN --mount=type=cache,target={cache} {install}")
    assert not codes(f"RUN --mount=type=cache,target=/var/cache {install}")  # above it
    assert not codes(f"RUN --mount=type=cache,target={cache} {program} --version")


def _codes(text: str, *wanted: str) -> set[str]:
    findings, _ = check(text, settings=Settings())
    return {f.code for f in findings if f.code in wanted}


def test_apk_cache_still_reads_the_mounts_of_an_add() -> None:
    add = "apk add curl"
    assert _codes(f"FROM alpine\nRUN {add}\n", "DO205") == {"DO205"}
    for target in ("/var/cache/apk", "/etc/apk/cache", "/var/cache", "/etc/apk/cache/x"):
        assert not _codes(f"FROM alpine\nRUN --mount=type=cache,target={target} {add}\n",
                          "DO205"), target
    assert not _codes("FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk apk info\n",
                      "DO205")


def test_pip_cache_still_reads_the_mounts_and_env_of_an_install() -> None:
    install = "pip install flask==3.0"
    assert _codes(f"FROM python\nRUN {install}\n", "DO209") == {"DO209"}
    silenced = [f"RUN --mount=type=cache,target=/root/.cache/pip {install}",
                f"RUN --mount=type=cache,target=/root/.cache {install}",
                f"RUN PIP_NO_CACHE_DIR=1 {install}",
                f"ENV PIP_NO_CACHE_DIR=1\nRUN {install}",
                f"ARG PIP_NO_CACHE_DIR=1\nRUN {install}"]
    for run in silenced:
        assert not _codes(f"FROM python\n{run}\n", "DO209"), run
    # An ENV after the RUN does not count; nor does a RUN without pip.
    assert _codes(f"FROM python\nRUN {install}\nENV PIP_NO_CACHE_DIR=1\n", "DO209")
    assert not _codes("FROM python\nRUN --mount=type=cache,target=/x python -V\n", "DO209")
