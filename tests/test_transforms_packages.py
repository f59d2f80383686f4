"""Focused tests for the package-manager transforms (DO201-DO209, DO503-DO505)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.pipeline import check, fix
from dockopt.rewriter.shell import parse_shell
from dockopt.transforms import REGISTRY
from dockopt.transforms.packages.apt_lists import lists_use

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
PACKAGE_CODES = ("DO201", "DO202", "DO203", "DO204", "DO205", "DO206", "DO207", "DO208",
                 "DO209", "DO503", "DO504", "DO505")


def run(code: str, text: str, **options: object) -> str:
    settings = settings_from_dict({"select": [code], "unsafe-fixes": True, **options}, None)
    result = fix(text, settings=settings)
    assert not result.errors, result.errors
    return result.text


def codes(code: str, text: str, **options: object) -> list[str]:
    settings = settings_from_dict({"select": [code], **options}, None)
    findings, _ = check(text, settings=settings)
    return [f.message for f in findings]


# --------------------------------------------------------------------------- DO201


@pytest.mark.parametrize("line", [
    "apt-get install -y curl",
    "apt install -y curl",
    "sudo apt-get install -y curl",
    "/usr/bin/apt-get install -y curl",
    "DEBIAN_FRONTEND=noninteractive apt-get install -y curl",
    "env DEBIAN_FRONTEND=noninteractive apt-get -qqy install curl",
    "apt-get -y -t bookworm-backports install curl",
    "set -eux; apt-get install -y curl",
])
def test_recommends_detected(line: str) -> None:
    out = run("DO201", f"FROM debian\nRUN {line}\n")
    assert "install --no-install-recommends" in out


@pytest.mark.parametrize("line", [
    "apt-get install --no-install-recommends -y curl",
    "apt-get -y --no-install-recommends install curl",
    "apt-get -o APT::Install-Recommends=false install -y curl",
    "apt-get -oAPT::Install-Recommends=0 install -y curl",
    "apt-get --option=APT::Install-Recommends=false install -y curl",
    "apt-get update",
    "apt-cache install",  # not apt
    "echo apt-get install curl",
])
def test_recommends_not_reported(line: str) -> None:
    assert codes("DO201", f"FROM debian\nRUN {line}\n") == []


def test_recommends_earlier_apt_conf() -> None:
    text = ("FROM debian\nRUN echo 'APT::Install-Recommends \"0\";' > "
            "/etc/apt/apt.conf.d/00norec\nRUN apt-get install -y curl\n")
    assert codes("DO201", text) == []


def test_recommends_is_unsafe() -> None:
    text = "FROM debian\nRUN apt-get install -y curl\n"
    assert run("DO201", text, **{"unsafe-fixes": False}) == text


def test_recommends_skips_non_posix_shell() -> None:
    text = 'FROM debian\nSHELL ["pwsh", "-c"]\nRUN apt-get install -y curl\n'
    assert codes("DO201", text) == []


# The Recommends the file uses (Debian 12 metadata, see _NEEDED_RECOMMENDS).
@pytest.mark.parametrize(("install", "after", "added"), [
    ("gcc", "", "gcc libc6-dev"),
    ("gcc-12", "", "gcc-12 libc6-dev"),
    ("g++", "", "g++"),
    ("gcc g++", "", "gcc g++"),
    ("gcc libc6-dev", "", "gcc libc6-dev"),
    ("build-essential", "", "build-essential"),
    ("xvfb", "", "xvfb xauth"),
    ("cmake", "", "cmake gcc make libc6-dev"),
    ("cmake clang", "", "cmake clang make"),
    ("python3-pip", "", "python3-pip ca-certificates"),
    ("python3-pip", " && pip3 install x", "python3-pip ca-certificates build-essential "
     "python3-dev"),
    ("python3-pip", "\nRUN python3 -m pip install x", "python3-pip ca-certificates "
     "build-essential python3-dev"),
    ("python3-pip", "\nCMD pip install -r /r.txt && app", "python3-pip ca-certificates "
     "build-essential python3-dev"),
    ("python3-pip", "\nFROM base\nRUN pip install x", "python3-pip ca-certificates "
     "build-essential python3-dev"),
    ("python3-pip python3-dev", " && pip install x", "python3-pip python3-dev "
     "ca-certificates build-essential"),
])
def test_recommends_keeps_what_the_file_uses(install: str, after: str, added: str) -> None:
    text = f"FROM debian AS base\nRUN apt-get install -y {install}{after}\n"
    out = run("DO201", text)
    assert f"install --no-install-recommends -y {added}" + (after.split("\n")[0] or "\n") \
        in out + "\n"


def test_recommends_pip_in_an_unrelated_stage_does_not_count() -> None:
    text = ("FROM debian AS a\nRUN apt-get install -y python3-pip\n"
            "FROM python AS b\nRUN pip install x\n")
    assert "python3-pip ca-certificates\n" in run("DO201", text)


def test_recommends_companion_installed_earlier_is_not_added() -> None:
    text = ("FROM debian\nRUN apt-get install -y --no-install-recommends libc6-dev xauth\n"
            "RUN apt-get install -y gcc xvfb\n")
    assert run("DO201", text).endswith("install --no-install-recommends -y gcc xvfb\n")
    # ... but one installed later in the same RUN is: commands in between need it.
    text = "FROM debian\nRUN apt-get install -y gcc && make && apt-get install -y libc6-dev\n"
    assert "-y gcc libc6-dev && make" in run("DO201", text)


def test_recommends_all_pinned_is_not_fixed_and_says_why() -> None:
    text = "FROM ubuntu:18.04\nRUN apt-get install -y wget=1.19.4-1ubuntu2.1 gcc=4:7.4.0\n"
    assert run("DO201", text) == text
    (msg,) = codes("DO201", text)
    assert "every package is pinned" in msg and "ca-certificates, libc6-dev" in msg
    # Nothing to add: the flag alone is fine even when everything is pinned.
    text = "FROM ubuntu:18.04\nRUN apt-get install -y jq=1.5\n"
    assert "--no-install-recommends -y jq=1.5\n" in run("DO201", text)


def test_recommends_fix_message_names_the_added_packages() -> None:
    settings = settings_from_dict({"select": ["DO201"], "unsafe-fixes": True}, None)
    (finding,) = check("FROM debian\nRUN apt-get install -y gcc\n", settings=settings)[0]
    assert finding.fix is not None and "added libc6-dev, which gcc only recommends" \
        in finding.fix.message


# --------------------------------------------------------------------------- DO202


def test_update_merge_keeps_flags_and_command() -> None:
    text = "FROM debian\nRUN sudo apt-get -q update\nRUN apt-get install -y curl | tee log\n"
    assert run("DO202", text) == ("FROM debian\nRUN sudo apt-get -q update && "
                                  "apt-get install -y curl | tee log\n")


@pytest.mark.parametrize("second", [
    "set -e; apt-get install -y curl",
    "apt-get install -y curl || true",
    "apt-get install -y curl; echo",
])
def test_update_merge_only_for_and_chains(second: str) -> None:
    text = f"FROM debian\nRUN apt-get update\nRUN {second}\n"
    assert run("DO202", text) == text
    assert len(codes("DO202", text)) == 1


@pytest.mark.parametrize("first", ["apt-get update > /dev/null", "apt-get update && echo",
                                   "apt-get update # c", "apt-get -o X=1 update"])
def test_update_merge_only_plain_update(first: str) -> None:
    text = f"FROM debian\nRUN {first}\nRUN apt-get install -y curl\n"
    assert codes("DO202", text) == []


def test_update_merge_needs_same_flags() -> None:
    text = "FROM debian\nRUN apt-get update\nRUN --network=host apt-get install -y curl\n"
    assert codes("DO202", text) == []


# --------------------------------------------------------------------------- DO203


@pytest.mark.parametrize("line", [
    "apt-get install -y curl", "apt-get -qy install curl", "apt-get -yq install curl",
    "apt-get --yes install curl", "apt-get --assume-yes install curl",
    "apt-get -qq install curl", "apt-get -q=2 install curl",
    "apt-get -o APT::Get::Assume-Yes=true install curl", "yes | apt-get install curl",
])
def test_yes_present(line: str) -> None:
    assert codes("DO203", f"FROM debian\nRUN {line}\n") == []


@pytest.mark.parametrize("line", ["apt-get install curl", "apt-get -q install curl",
                                  "apt install curl", "apt-get --force-yes install curl"])
def test_yes_missing(line: str) -> None:
    assert "install -y curl" in run("DO203", f"FROM debian\nRUN {line}\n")


# --------------------------------------------------------------------------- DO204


def test_lists_cleanup_only_after_update() -> None:
    # hadolint DL3009 keys on `apt-get update`: an install alone downloads no lists.
    assert codes("DO204", "FROM debian\nRUN apt-get install -y curl\n") == []


@pytest.mark.parametrize("rm", ["rm -rf /var/lib/apt/lists/*", "rm -fr /var/lib/apt/lists",
                                "rm -r -f /var/lib/apt/lists/", "rm -rf /var/lib/apt"])
def test_lists_cleanup_variants(rm: str) -> None:
    text = f"FROM debian\nRUN apt-get update && apt-get install -y curl && {rm}\n"
    assert codes("DO204", text) == []


def test_lists_removed_and_later_install_refreshes_them() -> None:
    text = ("FROM debian AS base\nRUN apt-get update && apt-get install -y curl\n"
            "FROM base\nRUN apt-get install -y git\n")
    # Safe fixes alone must not remove lists a later RUN reads ...
    settings = settings_from_dict({"select": ["DO204"]}, None)
    assert fix(text, settings=settings).text == text
    # ... the unsafe fix removes them and makes the later install refresh them.
    assert run("DO204", text) == (
        "FROM debian AS base\nRUN apt-get update && apt-get install -y curl "
        "&& rm -rf /var/lib/apt/lists/*\nFROM base\nRUN apt-get update && apt-get install "
        "-y git && rm -rf /var/lib/apt/lists/*\n")


def test_lists_kept_when_the_later_install_cannot_take_a_prefix() -> None:
    text = ("FROM debian AS base\nRUN apt-get update && apt-get install -y curl\n"
            "FROM base\nRUN true || apt-get install -y git\n")
    assert run("DO204", text) == text


@pytest.mark.parametrize(("line", "use"), [
    ("apt-get update", "update"), ("apt -q update", "update"), ("aptitude update", "update"),
    ("apt-get install -y x", "read"), ("apt-get purge -y --auto-remove x", "read"),
    ("apt-get remove x", "read"), ("sudo apt remove -y x", "read"),
    ("apt-get autoremove -y x", "read"), ("apt-get autoremove -y", None),
    ("apt-get -y purge", None), ("apt-cache policy x", "read"), ("apt-cache show x", "read"),
    ("apt show x", "read"), ("apt-mark hold x", "read"), ("apt-mark auto x", None),
    ("apt-mark showmanual", None), ("apt-get clean", None), ("apt-get check", None),
    ("apt-get $ACTION x", "read"), ("aptitude install x", "read"),
    ("aptitude clean", None), ("echo apt-get install x", None),
])
def test_lists_use(line: str, use: str | None) -> None:
    (cmd,) = parse_shell(line).commands
    assert lists_use(cmd) == use


@pytest.mark.parametrize("later", [
    "apt-get purge -y --auto-remove python3-software-properties",
    "apt-get remove -y x", "apt-cache policy curl", "apt-mark hold curl",
    "sudo apt-get autoremove -y x",
])
def test_lists_kept_for_later_readers(later: str) -> None:
    text = f"FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN {later}\n"
    settings = settings_from_dict({"select": ["DO204"]}, None)
    assert fix(text, settings=settings).text == text
    out = run("DO204", text)
    prefix = "sudo apt-get update && " if later.startswith("sudo") else "apt-get update && "
    assert f"\nRUN {prefix}{later} && " in out


@pytest.mark.parametrize(("later", "expected"), [
    ("set -e; apt-get remove -y x; echo", "set -e; apt-get update; apt-get remove -y x; echo"),
    ("set -o errexit; apt-get remove -y x",
     "set -o errexit; apt-get update; apt-get remove -y x"),
    ("set -e; set +e; apt-get remove -y x; echo",
     "set -e; set +e; apt-get update && apt-get remove -y x; echo"),
    ("set -eu && apt-get remove -y x", "set -eu && apt-get update && apt-get remove -y x"),
    ("set -e; true && apt-get remove -y x; echo", None),
])
def test_lists_refresh_under_set_e(later: str, expected: str | None) -> None:
    text = f"FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN {later}\n"
    out = run("DO204", text)
    if expected is None:
        assert "rm -rf" not in out.split("\n")[1]
    else:
        assert f"\nRUN {expected}" in out


def test_lists_refresh_under_errexit_shell() -> None:
    text = ('FROM debian\nRUN apt-get update && apt-get install -y curl\n'
            'SHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nRUN apt-get remove -y x; echo\n')
    assert "\nRUN apt-get update; apt-get remove -y x; echo" in run("DO204", text)


@pytest.mark.parametrize("line", ["apt-get update", "apt-get -qq update",
                                  "add-apt-repository -y universe && apt-get update",
                                  "apt-get update && echo done"])
def test_lists_update_only_run_has_no_fix(line: str) -> None:
    text = f"FROM debian\nRUN {line}\n"
    assert run("DO204", text) == text
    (msg,) = codes("DO204", text)
    assert "installs nothing" in msg


def test_lists_update_then_script_still_cleaned() -> None:
    text = "FROM debian\nRUN apt-get update && /tmp/install-deps.sh\n"
    assert run("DO204", text).endswith("/tmp/install-deps.sh && rm -rf /var/lib/apt/lists/*\n")


@pytest.mark.parametrize(("line", "expected"), [
    ("apt-get update && apt-get install -y x; exit 0",
     "apt-get update && apt-get install -y x; rm -rf /var/lib/apt/lists/*; exit 0"),
    ("apt-get update && apt-get install -y x && exec app",
     "apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/* && exec app"),
    ("apt-get update && apt-get install -y x || exit 1",
     "apt-get update && apt-get install -y x || exit 1 && rm -rf /var/lib/apt/lists/*"),
    ("exec >/log && apt-get update && apt-get install -y x",
     "exec >/log && apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*"),
    ("apt-get update && apt-get install -y x | exec cat",
     "apt-get update && apt-get install -y x | exec cat && rm -rf /var/lib/apt/lists/*"),
    ("apt-get update && exit 0 && apt-get install -y x", None),
])
def test_cleanup_goes_before_a_trailing_exit(line: str, expected: str | None) -> None:
    text = f"FROM debian\nRUN {line}\n"
    assert run("DO204", text) == (text if expected is None else f"FROM debian\nRUN {expected}\n")


def test_lists_mount_never_next_to_user_mount() -> None:
    text = ("FROM debian\nRUN --mount=type=cache,target=/var/lib/apt apt-get update "
            "&& apt-get install -y curl\n")
    assert run("DO204", text) == text
    assert run("DO204", text, cache="mount") == text


def test_lists_mount_adds_directive_once() -> None:
    text = ("FROM debian\nRUN apt-get update && apt-get install -y a\n"
            "RUN apt-get update && apt-get install -y b\n")
    out = run("DO204", text, cache="mount")
    assert out.startswith("# syntax=docker/dockerfile:1\nFROM debian\n")
    assert out.count("# syntax=") == 1
    assert out.count("--mount=type=cache,target=/var/lib/apt,sharing=locked") == 2


def test_lists_mount_not_for_non_root() -> None:
    text = "FROM debian\nUSER app\nRUN sudo -u root apt-get update\n"
    assert run("DO204", text, cache="mount") == text


# --------------------------------------------------------------------------- DO205-208


def test_apk_virtual_value_is_not_subcommand() -> None:
    out = run("DO205", "FROM alpine\nRUN apk --root /x add -t .deps gcc\n")
    assert out == "FROM alpine\nRUN apk --root /x add --no-cache -t .deps gcc\n"


def test_apk_del_not_reported() -> None:
    assert codes("DO205", "FROM alpine\nRUN apk del curl\n") == []


def test_dnf_accepts_rm_of_yum_cache() -> None:
    text = "FROM fedora\nRUN dnf install -y x && rm -rf /var/cache/yum/*\n"
    assert codes("DO207", text) == []


def test_clean_must_follow_install() -> None:
    text = "FROM fedora\nRUN dnf clean all && dnf install -y x\n"
    assert run("DO207", text).endswith("dnf install -y x && dnf clean all\n")


def test_zypper_cc_counts() -> None:
    assert codes("DO208", "FROM suse\nRUN zypper in -y x && zypper cc -a\n") == []


def test_yum_clean_needs_all() -> None:
    text = "FROM centos\nRUN yum install -y x && yum clean metadata\n"
    assert run("DO206", text).endswith("&& yum clean all\n")


# --------------------------------------------------------------------------- DO209


@pytest.mark.parametrize("line", [
    "pip install --target /opt x", "pip install -t /opt x", "pip install --target=/opt x",
    "pipx install black", "python -m pipx install black", "pipenv install",
    "PIP_NO_CACHE_DIR=1 pip install x", "pip install --no-cache-dir x",
    "pip download x", "uv pip install x",
])
def test_pip_not_reported(line: str) -> None:
    assert codes("DO209", f"FROM python\nRUN {line}\n") == []


def test_pip_env_or_arg_before() -> None:
    for kw in ("ENV PIP_NO_CACHE_DIR=1", "ARG PIP_NO_CACHE_DIR=true", "ENV PIP_NO_CACHE_DIR 1"):
        assert codes("DO209", f"FROM python\n{kw}\nRUN pip install x\n") == []


def test_pip_mount_covers_cache() -> None:
    for target in ("/root/.cache/pip", "/root/.cache"):
        text = f"FROM python\nRUN --mount=type=cache,target={target} pip install x\n"
        assert codes("DO209", text) == []


@pytest.mark.parametrize("line", ["pip3 install x", "python3 -m pip install x",
                                  "python3.12 -m pip install x", "sudo pip install x",
                                  "/usr/local/bin/pip3.12 install x"])
def test_pip_detected(line: str) -> None:
    assert "install --no-cache-dir x" in run("DO209", f"FROM python\nRUN {line}\n")


def test_pip_mount_policy_falls_back_for_other_user() -> None:
    text = "FROM python\nUSER app\nRUN pip install x\n"
    assert run("DO209", text, cache="mount").endswith("RUN pip install --no-cache-dir x\n")


# --------------------------------------------------------------------------- findings


def test_unpinned_messages_name_packages() -> None:
    msgs = codes("DO503", "FROM debian\nRUN apt-get install -y -t sid curl git=1:2.39 "
                 "./local.deb\n")
    assert len(msgs) == 1 and "`curl`" in msgs[0] and "git" not in msgs[0] \
        and "sid" not in msgs[0]
    msgs = codes("DO504", "FROM alpine\nRUN apk add --virtual .deps gcc musl-dev=1.2 x~1\n")
    assert len(msgs) == 1 and "`gcc`" in msgs[0] and ".deps" not in msgs[0] \
        and "musl" not in msgs[0]
    msgs = codes("DO505", "FROM python\nRUN pip install flask requests==2.0 ./pkg "
                 "git+https://x/y@v1\n")
    assert len(msgs) == 1 and "`flask`" in msgs[0] and "requests" not in msgs[0]
    assert codes("DO505", "FROM python\nRUN pip install -r req.txt\n") == []
    assert codes("DO505", "FROM python\nRUN pip install .\n") == []


# --------------------------------------------------------------------------- invariants


def _golden_outputs() -> list[Path]:
    names = {cls.name for cls in REGISTRY if cls.code in PACKAGE_CODES}
    return sorted(p for p in GOLDEN.glob("*/*/expected.Dockerfile")
                  if p.parent.parent.name in names)


@pytest.mark.parametrize("path", _golden_outputs(), ids=lambda p: f"{p.parent.parent.name}/"
                         f"{p.parent.name}")
def test_golden_outputs_parse_with_buildkit(path: Path) -> None:
    dockerfile = pytest.importorskip("dockerfile")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8")
    dockerfile.parse_string(text)


@pytest.mark.parametrize("cache", ["clean", "mount"])
def test_all_package_transforms_together_converge(cache: str) -> None:
    names = {cls.name for cls in REGISTRY if cls.code in PACKAGE_CODES}
    settings = settings_from_dict({"select": list(PACKAGE_CODES), "unsafe-fixes": True,
                                   "cache": cache, "max-passes": 10}, None)
    for path in sorted(GOLDEN.glob("*/*/Dockerfile")):
        if path.parent.parent.name not in names:
            continue
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        result = fix(text, settings=settings)
        assert not result.errors, (path, result.errors)
        again = fix(result.text, settings=settings)
        assert again.text == result.text, path
