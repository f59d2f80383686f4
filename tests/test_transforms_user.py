"""DO604 root-user and DO605 full-base-image beyond the golden cases."""

from __future__ import annotations

import dockerfile
import pytest

from dockopt.rewriter.config import Settings
from dockopt.rewriter.pipeline import check, fix
from dockopt.transforms.context.base_image import FullBaseImage
from dockopt.transforms.context.user import RootUser


def _fix(text: str, transform: object, context: object | None = None) -> str:
    settings = Settings(unsafe_fixes=True)
    result = fix(text, settings=settings, transforms=[transform],  # type: ignore[list-item]
                 context=context)
    assert not result.errors, result.errors
    if result.changed:
        dockerfile.parse_string(result.text)  # BuildKit accepts it
        again = fix(result.text, settings=settings, transforms=[transform],  # type: ignore[list-item]
                    context=context)
        assert again.text == result.text
    return result.text


def _messages(text: str, transform: object) -> list[str]:
    findings, _ = check(text, transforms=[transform])  # type: ignore[list-item]
    return [f.message for f in findings]


def test_user_created_before_copy_chown_and_user_before_cmd() -> None:
    out = _fix("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
               "CMD [\"app\"]\n", RootUser())
    lines = out.splitlines()
    assert lines[1].startswith("RUN groupadd --system --gid 10001 app && useradd --system "
                               "--no-log-init --uid 10001")
    assert "COPY --chown=app:app . ." in lines
    assert lines.index("USER 10001:10001") == lines.index("RUN pip install .") + 1
    assert lines[-1] == 'CMD ["app"]'


def test_existing_chown_kept_and_absolute_destination_untouched() -> None:
    out = _fix("FROM node:20\nWORKDIR /app\nCOPY --chown=1000:1000 a ./\n"
               "COPY b /etc/b\nCOPY c /app/c\nCMD [\"node\"]\n", RootUser())
    assert "COPY --chown=1000:1000 a ./\n" in out
    assert "COPY b /etc/b\n" in out
    assert "COPY --chown=node:node c /app/c\n" in out
    assert "useradd" not in out and "USER 1000:1000\n" in out


@pytest.mark.parametrize("text", [
    "FROM node:20\nUSER node\nCMD [\"node\"]\n",
    "FROM node:20\nUSER 1000\n",
    "FROM gcr.io/distroless/static:nonroot\nCOPY a /a\n",
    "FROM cgr.dev/chainguard/python:latest\nCOPY a /a\n",
    "FROM example.com/unknown:1\nCOPY a /a\n",
    "FROM base AS x\n",
])
def test_nothing_to_do(text: str) -> None:
    assert _fix(text, RootUser()) == text


@pytest.mark.parametrize(("text", "why"), [
    ("FROM node:20\nEXPOSE 443/tcp\nCMD [\"node\"]\n", "port 443"),
    ("FROM node:20\nENV PORT=80\nCMD [\"node\"]\n", "PORT=80"),
    ("FROM python:3.12\nCMD gunicorn -b 0.0.0.0:80 app:app\n", "port 80"),
    ("FROM alpine:3\nRUN apk add su-exec\nCMD [\"x\"]\n", "su-exec"),
    ("FROM alpine:3\nENTRYPOINT [\"/sbin/setpriv\", \"--reuid=1\", \"x\"]\n", "setpriv"),
    ("FROM debian:12\nCMD su app -c server\n", "su"),
    ("FROM redis:7\n", "drops privileges"),
    ("FROM mysql:8\nUSER root\n", "drops privileges"),
    ("FROM openjdk:21\nCOPY a.jar /a.jar\nUSER root\nCMD [\"java\"]\n", "unknown"),
    ("FROM ${BASE}\nUSER root\n", "build argument"),
    ("FROM python:3.12\nUSER $U\n", "variable"),
    ("FROM python:3.12-windowsservercore\nCMD [\"python\"]\n", "Windows"),
])
def test_left_alone_with_a_reason(text: str, why: str) -> None:
    assert _fix(text, RootUser()) == text
    messages = _messages(text, RootUser())
    assert messages and why in messages[0], messages


def test_user_from_earlier_useradd_is_reused() -> None:
    out = _fix("FROM debian:12\nRUN useradd -r -u 999 svc\nCOPY a /srv/a\nCMD [\"a\"]\n",
               RootUser())
    # USER goes right after the last RUN, above the COPY (no uncached USER step).
    assert out.endswith("RUN useradd -r -u 999 svc\nUSER 999\nCOPY a /srv/a\nCMD [\"a\"]\n")
    assert "groupadd" not in out


def test_user_without_fixed_uid_is_display_only() -> None:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.pipeline import fix

    text = "FROM debian:12\nRUN useradd -r svc\nCOPY a /srv/a\nCMD [\"a\"]\n"
    result = fix(text, settings=Settings(unsafe_fixes=True, select=("DO604",)))
    assert result.text == text
    [finding] = [f for f in result.findings if f.code == "DO604"]
    assert finding.fix is not None and finding.fix.safety.label == "display-only"
    assert "USER svc" in finding.fix.edits[-1].content or any(
        "USER svc" in e.content for e in finding.fix.edits)


def test_inherited_stage_user_counts() -> None:
    text = "FROM node:20 AS base\nUSER node\nFROM base\nCOPY . .\nCMD [\"node\"]\n"
    assert _fix(text, RootUser()) == text


def test_only_root_fix_once_with_instruction_order_kept() -> None:
    text = "FROM alpine:3.20\nRUN apk add --no-cache tini\nENTRYPOINT [\"tini\", \"--\"]\n"
    out = _fix(text, RootUser())
    assert out.count("USER ") == 1
    assert out.index("USER 10001:10001") < out.index("ENTRYPOINT")
    assert "addgroup -S -g 10001 app && adduser -S -D -h /home/app -u 10001 -G app app" in out


def test_slim_keeps_everything_but_the_tag() -> None:
    text = "FROM --platform=$TARGETPLATFORM  docker.io/library/node:20.11  AS  web\n" \
           "COPY a .\n"
    assert _fix(text, FullBaseImage()) == text.replace("node:20.11 ", "node:20.11-slim ")


def test_slim_only_final_stage() -> None:
    text = "FROM python:3.12 AS build\nRUN pip wheel -w /w .\nFROM python:3.12\n" \
           "COPY app.py .\n"
    out = _fix(text, FullBaseImage())
    assert out == "FROM python:3.12 AS build\nRUN pip wheel -w /w .\nFROM python:3.12-slim\n" \
                  "COPY app.py .\n"


@pytest.mark.parametrize("text", [
    "FROM node:20-slim\n",
    "FROM node:20-alpine\n",
    "FROM golang:1.22\n",
    "FROM php:8.3-apache\n",
    "FROM ubuntu:24.04\n",
    "ARG V=20\nFROM node:${V}\n",
    "FROM node:20 AS b\nFROM b\n",
    "FROM node:20\nRUN make\n",
    "FROM python:3.12\nRUN wget -q https://x/y\n",
    "FROM node:20\nRUN python3 build.py\n",
    "FROM python:3.12\nRUN apt-get install -y gcc\n",
    "FROM ruby:3.3\nRUN gem install pg\n",
])
def test_slim_not_applied(text: str) -> None:
    assert _fix(text, FullBaseImage()) == text


def test_slim_native_hint_in_context(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "requirements.txt").write_text("flask\nuwsgi==2.0\n")
    text = "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    assert _fix(text, FullBaseImage(), context=root) == text
    (root / "requirements.txt").write_text("flask\nnumpy\n")
    assert _fix(text, FullBaseImage(), context=root) == text.replace("3.12", "3.12-slim", 1)


def test_workdir_chown_only_when_the_directory_exists() -> None:
    exists = "FROM debian:12\nWORKDIR /src\nRUN apt-get update\nCMD [\"x\"]\n"
    out = _fix(exists, RootUser())
    assert "WORKDIR /src\nRUN chown app:app /src\nRUN apt-get update\nUSER 10001:10001\nCMD" in out
    # WORKDIR after the last RUN: the directory does not exist yet where USER goes.
    later = "FROM debian:12\nRUN apt-get update\nWORKDIR /src\nCMD [\"x\"]\n"
    out = _fix(later, RootUser())
    assert "chown" not in out and "RUN apt-get update\nUSER 10001:10001\nWORKDIR /src\n" in out
    out = _fix("FROM debian:12\nWORKDIR /root/x\nRUN true\nCMD [\"x\"]\n", RootUser())
    assert "USER 10001:10001" in out
    assert "chown" not in out


@pytest.mark.parametrize("cmd", [
    "CMD /bin/su -l shiny -s /bin/sh -c /usr/local/bin/server",
    "CMD su app -c server",
    "ENTRYPOINT [\"su-exec\", \"app\", \"server\"]",
    "CMD chroot --userspec=app / server",
])
def test_privilege_drop_in_command(cmd: str) -> None:
    text = f"FROM debian:12\n{cmd}\n"
    assert _fix(text, RootUser()) == text
    assert "drops privileges" in _messages(text, RootUser())[0]


def test_slim_skips_onbuild() -> None:
    text = "FROM node:20\nONBUILD RUN npm install\n"
    assert _fix(text, FullBaseImage()) == text
    assert "ONBUILD" in _messages(text, FullBaseImage())[0]


# -- inserting after an instruction whose continuation is open at the end of the file


@pytest.mark.parametrize(("text", "want"), [
    # a trailing `\` then a blank last line: the escape goes, the blank line stays
    ("FROM d\nRUN a \\\n    && b \\\n\n", "FROM d\nRUN a \\\n    && b\nUSER u\n\n"),
    ("FROM d\r\nRUN a \\\r\n\r\n", "FROM d\r\nRUN a\r\nUSER u\r\n\r\n"),
    ("FROM d\nRUN a \\", "FROM d\nRUN a\nUSER u"),  # no final newline: still none
    ("# escape=`\nFROM d\nRUN a `\n\n", "# escape=`\nFROM d\nRUN a\nUSER u\n\n"),
    ("FROM d\nRUN a \\\n# c\n", "FROM d\nRUN a\nUSER u\n# c\n"),  # swallowed comment
    ("FROM d\nRUN a\n", "FROM d\nRUN a\nUSER u\n"),
    ("FROM d\nRUN a", "FROM d\nRUN a\nUSER u"),
    ("FROM d\nRUN <<EOF\nx\nEOF", "FROM d\nRUN <<EOF\nx\nEOF\nUSER u"),
])
def test_after_ends_where_buildkit_ends_the_instruction(text: str, want: str) -> None:
    from dockopt.rewriter.syntax import parse

    tree = parse(text)
    out = tree.insert_after(tree.instructions[-1], "USER u").render()
    assert out == want
    before = dockerfile.parse_string(text)
    after = dockerfile.parse_string(out)
    assert [c.cmd.upper() for c in after] == [c.cmd.upper() for c in before] + ["USER"]
    assert after[-2].value == before[-1].value  # the RUN runs what it ran


@pytest.mark.parametrize("text", [
    "FROM d\nRUN <<EOF\nx\n",  # unterminated heredoc: anything added is its body
    "FROM d\nRUN a \\\n  \\\n\n",  # the last continuation line is only the escape
])
def test_after_holds_back_where_nothing_can_follow(text: str) -> None:
    from dockopt.rewriter.edit import after
    from dockopt.rewriter.syntax import parse

    tree = parse(text)
    assert after(tree, tree.instructions[-1], "USER u") is None


def test_user_after_open_continuation_written_once() -> None:
    text = "FROM debian:bookworm\nCMD [\"app\"]\nRUN make -C /src \\\n" \
           "    && make -C /src install \\\n\n"
    out = _fix(text, RootUser())  # _fix checks BuildKit and a second run
    assert out.endswith("    && make -C /src install\nUSER 10001:10001\n\n")
    assert dockerfile.parse_string(out)[-1].cmd.upper() == "USER"


def test_cd_restore_after_open_continuation() -> None:
    from dockopt.transforms.instructions.runs import CdInsteadOfWorkdir

    text = "FROM python:3.12-slim\nWORKDIR /app\nRUN cd /src && make \\\n\n"
    out = _fix(text, CdInsteadOfWorkdir())
    assert out == "FROM python:3.12-slim\nWORKDIR /app\nWORKDIR /src\nRUN make\n" \
                  "WORKDIR /app\n\n"


def test_install_order_and_manifests_hold_back_on_open_continuation(tmp_path: object) -> None:
    from pathlib import Path

    from dockopt.transforms.context.install_order import PackagesAfterSource
    from dockopt.transforms.context.manifests.rule import ManifestsAfterSource

    root = Path(str(tmp_path))
    (root / "requirements.txt").write_text("flask\n")
    (root / "app.py").write_text("print(1)\n")
    apt = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n" \
          "RUN apt-get update && apt-get install -y curl \\\n\n"
    assert _fix(apt, PackagesAfterSource(), context=root) == apt
    pip = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n" \
          "RUN pip install -r requirements.txt \\\n\n"
    assert _fix(pip, ManifestsAfterSource(), context=root) == pip
    closed = pip.replace(" \\\n\n", "\n")
    assert _fix(closed, ManifestsAfterSource(), context=root) != closed  # the control


@pytest.mark.parametrize(("text", "why"), [
    ("FROM debian:12\nRUN apt-get install -y cron\nCMD [\"cron\", \"-f\"]\n", "cron"),
    ("FROM alpine:3\nCMD crond -f -l 2\n", "crond"),
    ("FROM debian:12\nCMD [\"/usr/sbin/sshd\", \"-D\"]\n", "sshd"),
    ("FROM debian:12\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"/usr/bin/supervisord\"]\n",
     "supervisord"),
    ("FROM debian:12\nCMD service nginx start && tail -f /dev/null\n", "service"),
    ("FROM python:3.12\nCMD [\"pip\", \"install\", \"-r\", \"r.txt\"]\n", "pip install"),
    ("FROM debian:12\nCMD apt-get update && apt-get install -y x && x\n", "apt-get"),
    ("FROM python:3.12\nONBUILD RUN pip install .\nCMD [\"python\"]\n", "ONBUILD RUN"),
    ("FROM debian\nRUN apt-get update && apt-get install -y apache2 gnuplot\n",
     "no CMD or ENTRYPOINT"),
    ("FROM debian:bookworm\nRUN make -C /src \\\n    && make -C /src install \\\n\n",
     "no CMD or ENTRYPOINT"),
])
def test_root_needed_at_run_time_or_in_child_builds(text: str, why: str) -> None:
    assert _fix(text, RootUser()) == text
    messages = _messages(text, RootUser())
    assert messages and why in messages[0], messages


def test_real_home_and_app_folders_chowned() -> None:
    out = _fix("FROM debian:12\nWORKDIR /srv/app\n"
               "RUN mkdir -p /srv/app/out /var/lib/x /usr/share/man/man1 /tmp/build "
               "/usr/local/share/licenses/x "
               "&& make && rm -rf /tmp/build\nCMD [\"app\"]\n", RootUser())
    assert "--create-home --home-dir /home/app" in out and "/nonexistent" not in out
    assert "WORKDIR /srv/app\nRUN chown app:app /srv/app\n" in out
    # made for the app: chowned (the folder only); system and removed folders: not
    assert "RUN chown app:app /srv/app/out /var/lib/x\nUSER 10001:10001\n" in out
    out = _fix("FROM alpine:3.20\nCMD [\"app\"]\n", RootUser())
    assert "adduser -S -D -h /home/app -u 10001 -G app app" in out


def test_folder_chowned_by_the_run_itself_is_left_alone() -> None:
    out = _fix("FROM debian:12\nRUN mkdir /data && chown nobody /data\nCMD [\"app\"]\n",
               RootUser())
    assert "chown app:app" not in out


def test_volume_folder_chowned_before_its_volume() -> None:
    out = _fix("FROM debian:12\nVOLUME [\"/data\"]\nCOPY app /usr/local/bin/app\n"
               "CMD [\"app\"]\n", RootUser())
    assert "RUN mkdir -p /data && chown app:app /data\nVOLUME [\"/data\"]\n" \
           "USER 10001:10001\nCOPY app /usr/local/bin/app\n" in out


def test_user_above_the_source_copy_only_past_copies() -> None:
    text = "FROM node:20-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\n" \
           "COPY . .\nCMD [\"node\", \"s.js\"]\n"
    out = _fix(text, RootUser())
    assert "RUN npm ci\nUSER 1000:1000\nCOPY --chown=node:node . .\n" in out
    # a RUN after the source COPY may need root (npm run build writes to /app): USER
    # stays below it
    text2 = text.replace("COPY . .\n", "COPY . .\nRUN npm run build\n")
    out2 = _fix(text2, RootUser())
    assert "RUN npm run build\nUSER 1000:1000\nCMD" in out2


def test_expected_keywords_sees_a_swallowed_instruction() -> None:
    # The corpus check (tests/test_insertions_corpus.py) must fail on the bug it is for.
    from collections import Counter

    from fixworker import expected_keywords

    from dockopt.transforms.base import Edit

    text = "FROM debian\nRUN make \\\n    && make install \\\n\n"
    edits = [Edit(len(text), len(text), "USER 10001:10001\n")]
    before = Counter(c.cmd.upper() for c in dockerfile.parse_string(text))
    want = expected_keywords(text, edits, before)
    assert want == Counter({"FROM": 1, "RUN": 1, "USER": 1})
    after = Counter(c.cmd.upper() for c in dockerfile.parse_string(text + "USER 1\n"))
    assert after != want
    # an indented ADD turned into COPY in place: one ADD out, one COPY in
    text = "FROM d\n  ADD a /a\n"
    at = text.index("ADD")
    before = Counter(c.cmd.upper() for c in dockerfile.parse_string(text))
    assert expected_keywords(text, [Edit(at, at + 3, "COPY")], before) == \
        Counter({"FROM": 1, "COPY": 1})
