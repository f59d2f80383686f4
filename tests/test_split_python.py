"""DO101 for Python (transforms/split/python.py): a venv in the builder, python:X-slim
with the venv and the app's files as the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context

from dockopt.rewriter.config import Settings, settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Context, Safety
from dockopt.transforms.context.base_image import FullBaseImage
from dockopt.transforms.split.single_stage import apply_edits

APP = """\
FROM python:3.11
WORKDIR /app
COPY . .
RUN apt-get update && apt-get install -y gcc python3-dev
RUN pip install -r requirements.txt
EXPOSE 5000
CMD ["python", "app.py"]
"""
VENV_LINES = 'RUN python -m venv /opt/venv\nENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"\n'
REQS = "flask==2.2.5\npsutil==5.9.0\n"


def _context(tmp_path: Path, files: dict[str, str] | None = None) -> BuildContext:
    return write_context(tmp_path, {"requirements.txt": REQS, "app.py": "print(1)\n",
                                    **(files or {})})





def _runtime(out: str) -> str:
    return out.split("\n\nFROM ", 1)[1]


# --- the split --------------------------------------------------------------------


def test_split_builder_and_runtime(tmp_path: Path) -> None:
    f = _only(APP, _context(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    out = apply_edits(APP, f.fix.edits)
    builder, runtime = out.split("\n\n", 1)
    # The builder is the original plus `AS build` and the two venv lines, before the
    # stage's first RUN/COPY/ADD, and without what followed its last RUN (the runtime
    # has EXPOSE and CMD).
    assert builder + "\n" == APP.replace("FROM python:3.11\n", "FROM python:3.11 AS build\n") \
        .replace("COPY . .\n", VENV_LINES + "COPY . .\n") \
        .replace('EXPOSE 5000\nCMD ["python", "app.py"]\n', "")
    assert runtime == ("FROM python:3.11-slim\nWORKDIR /app\n"
                       'ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"\n'
                       "COPY --from=build /opt/venv /opt/venv\nCOPY . .\nEXPOSE 5000\n"
                       'CMD ["python", "app.py"]\n')


def test_explanation_lists_what_moves_and_why(tmp_path: Path) -> None:
    f = _only(APP, _context(tmp_path))
    assert f.fix is not None
    msg = f.fix.message
    assert "/opt/venv, a virtualenv" in msg and "compiled extensions" in msg
    assert "copied again from the build context (`COPY . .`)" in msg
    assert "base python:3.11-slim" in msg and "same path" in msg
    assert "the image settings WORKDIR, EXPOSE, CMD" in msg
    assert "Left in the builder (needed to build only): gcc, python3-dev." in msg
    assert "Unsafe" in msg


def test_without_context_display_only() -> None:
    f = _only(APP)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert "Shown only" in f.fix.message
    settings = settings_from_dict({"select": ["DO101"], "unsafe-fixes": True}, "t")
    assert fix(APP, path="Dockerfile", settings=settings).text == APP


@pytest.mark.parametrize("text", [
    # Pure Python, no compilers: DO605 moves it to -slim, DO101 stays out.
    APP.replace("RUN apt-get update && apt-get install -y gcc python3-dev\n", ""),
    # Already slim / alpine, with nothing compiled (the -slim and -alpine stages that
    # install compilers: tests/test_split_python_slim.py).
    APP.replace("python:3.11", "python:3.11-slim")
    .replace("RUN apt-get update && apt-get install -y gcc python3-dev\n", ""),
    APP.replace("python:3.11", "python:3.11-alpine")
    .replace("RUN apt-get update && apt-get install -y gcc python3-dev\n", ""),
    # Compilers but no pip install.
    APP.replace("RUN pip install -r requirements.txt\n", ""),
    # Already multi-stage.
    "FROM python:3.11 AS b\nRUN pip wheel -w /w x\nFROM python:3.11\n"
    "COPY --from=b /w /w\nRUN apt-get install -y gcc && pip install /w/*\nCMD [\"x\"]\n",
])
def test_not_python_split_candidates(tmp_path: Path, text: str) -> None:
    assert not any("python toolchain" in f.message
                   for f in _findings(text, _context(tmp_path)))


def test_pure_python_goes_to_do605_not_do101(tmp_path: Path) -> None:
    text = APP.replace("RUN apt-get update && apt-get install -y gcc python3-dev\n", "")
    build = _context(tmp_path, {"requirements.txt": "flask==3.0.0\n"})
    assert _findings(text, build) == []
    ctx = Context(parse(text), Settings(), "Dockerfile", build)
    (f,) = FullBaseImage().check(ctx)
    assert f.fix is not None and "python:3.11-slim" in f.message


def test_do605_keeps_full_image_when_do101_splits(tmp_path: Path) -> None:
    build = _context(tmp_path)
    ctx = Context(parse(APP), Settings(), "Dockerfile", build)
    assert all(f.fix is None for f in FullBaseImage().check(ctx))
    out = _split(APP, build)
    ctx = Context(parse(out), Settings(), "Dockerfile", build)
    assert list(FullBaseImage().check(ctx)) == []  # the final stage is -slim already


# --- apt packages: build-only, mapped -dev, kept ----------------------------------


def test_dev_packages_map_to_runtime_libraries(tmp_path: Path) -> None:
    text = APP.replace("gcc python3-dev", "gcc libpq-dev libjpeg-dev zlib1g-dev libffi-dev "
                       "libssl-dev sqlite3=3.40.1-2 ffmpeg")
    out = _split(text, _context(tmp_path))
    assert ("RUN apt-get update && apt-get install -y --no-install-recommends sqlite3=3.40.1-2 "
            "ffmpeg libpq5 libjpeg62-turbo && rm -rf /var/lib/apt/lists/*\n") in _runtime(out)
    f = _only(text, _context(tmp_path))
    assert f.fix is not None
    assert "libpq5 (the run-time library of libpq-dev)" in f.fix.message
    assert "ffmpeg (installed in the original; the app may run it)" in f.fix.message


@pytest.mark.parametrize(("tag", "dev", "runtime"), [
    ("3.12-bookworm", "libcurl4-openssl-dev", "libcurl4"),
    ("3.12-trixie", "libcurl4-openssl-dev", "libcurl4t64"),
    ("3.12", "libcurl4-openssl-dev", "libcurl4"),  # trixie's t64 package provides it
    ("3.12-bookworm", "libldap-dev", "libldap-2.5-0"),
    ("3.12-trixie", "libldap-dev", "libldap2"),
    ("3.12", "gfortran libopenblas-dev", "libgfortran5 libopenblas0"),
])
def test_runtime_names_follow_the_release(tmp_path: Path, tag: str, dev: str,
                                          runtime: str) -> None:
    text = APP.replace("python:3.11", f"python:{tag}").replace("gcc python3-dev", dev)
    out = _split(text, _context(tmp_path))
    slim = tag.replace("3.12", "3.12-slim")
    assert f"FROM python:{slim}\n" in out
    assert f"--no-install-recommends {runtime} &&" in _runtime(out)


def test_native_dependency_without_apt(tmp_path: Path) -> None:
    """The full image has libpq-dev: psycopg2 compiles without an apt line and needs
    libpq5 at run time."""
    text = APP.replace("RUN apt-get update && apt-get install -y gcc python3-dev\n", "")
    out = _split(text, _context(tmp_path, {"requirements.txt": "psycopg2==2.9.9\n"}))
    assert "install -y --no-install-recommends libpq5 &&" in _runtime(out)


# --- blockers -> suggestions ------------------------------------------------------


@pytest.mark.parametrize(("change", "reason"), [
    (("pip install -r", "pip install --user -r"), "--user"),
    (("pip install -r", "pip install --target=/deps -r"), "--target"),
    (("pip install -r", "pip install -t /deps -r"), "-t"),
    (("pip install -r", "pip install --prefix /usr -r"), "--prefix"),
    (("pip install -r requirements.txt", "pip install -e ."), "editable"),
    (("pip install -r", "/usr/local/bin/pip install -r"), "named by path"),
    (("RUN pip", "RUN python -m venv /venv && pip"), "already makes a virtualenv"),
    (("gcc python3-dev", "gcc && apt-get upgrade -y"), "upgrade"),
    (("install -y gcc", "install -y -t bookworm-backports gcc"), "another release"),
    (("gcc python3-dev", "gcc python3-numpy"), "not visible in a virtualenv"),
    (("gcc python3-dev", "gcc libgdal-dev"), "libgdal-dev"),
    (("gcc python3-dev", "gcc $PKGS"), "variable"),
    (("EXPOSE", 'RUN python manage.py collectstatic\nEXPOSE'), "after the pip install"),
    (("COPY . .", "USER 1000\nCOPY . ."), "USER 1000 before pip"),
    (("COPY . .", "ENV PIP_TARGET=/deps\nCOPY . ."), "PIP_TARGET"),
    (("EXPOSE", "ENV PATH=/usr/bin:/bin\nEXPOSE"), "replaces PATH"),
    (('CMD ["python", "app.py"]', 'CMD ["/usr/local/bin/gunicorn", "app:app"]'),
     "outside the venv"),
    (("EXPOSE", "HEALTHCHECK CMD curl -f http://localhost:5000/\nEXPOSE"), "uses curl"),
    (('CMD ["python", "app.py"]', 'CMD pip install -r requirements.txt && python app.py'),
     "runs pip"),
    (("gcc python3-dev", "gcc && echo x > /etc/app.conf"), "writes /etc/app.conf"),
    (("gcc python3-dev", "gcc && mkdir -p /data"), "mkdir"),
    (("gcc python3-dev", "gcc && rm -rf tests"), "rm tests"),
    (("gcc python3-dev", "gcc && curl -o x https://example.com/x"), "curl"),
    (("python:3.11", "python:2.7"), "Python 2"),
    (("python:3.11", "python:3.11@sha256:" + "a" * 64), "digest"),
    (("WORKDIR /app\n", ""), "whole build context into the filesystem root"),
    (("COPY . .", "COPY . .\nCOPY nginx.conf /etc/nginx/"), "outside"),
    (("COPY . .", "COPY . .\nONBUILD RUN x"), "ONBUILD"),
    (('CMD ["python", "app.py"]\n', ""), "no CMD"),
    (("pip install -r requirements.txt", "pip install --no-binary :all: -r requirements.txt"),
     ":all:"),
    (("pip install", "poetry install && pip install"), "poetry"),
])
def test_blockers_give_a_suggestion(tmp_path: Path, change: tuple[str, str],
                                    reason: str) -> None:
    text = APP.replace(*change)
    assert text != APP
    f = _only(text, _context(tmp_path))
    assert f.fix is None, f.fix and f.fix.message
    assert reason in f.message and "Suggestion only" in f.message, f.message
    assert "python toolchain" in f.message


@pytest.mark.parametrize(("files", "reason"), [
    ({"requirements.txt": "flask\nuwsgi==2.0.23\n"}, "uwsgi"),
    ({"requirements.txt": "-e ./lib\nflask\n"}, "editable requirement"),
    ({"requirements.txt": "-r base.txt\n", "base.txt": "--editable git+https://x/y\n"},
     "editable requirement"),
    ({"requirements.txt": "--no-binary :all:\nflask\n"}, "--no-binary"),
])
def test_context_blockers(tmp_path: Path, files: dict[str, str], reason: str) -> None:
    f = _only(APP, _context(tmp_path, files))
    assert f.fix is None and reason in f.message, f.message


def test_entrypoint_script_using_a_full_only_tool(tmp_path: Path) -> None:
    text = APP.replace('CMD ["python", "app.py"]', 'ENTRYPOINT ["./entrypoint.sh"]')
    script = "#!/bin/sh\nwget -q http://x/seed.json\nexec python app.py\n"
    f = _only(text, _context(tmp_path, {"entrypoint.sh": script}))
    assert f.fix is None and "entrypoint.sh (run by ENTRYPOINT) uses wget" in f.message
    ok = "#!/bin/sh\nexec python app.py \"$@\"\n"
    assert "ENTRYPOINT" in _runtime(_split(text, _context(tmp_path / "b",
                                                         {"entrypoint.sh": ok})))


def test_old_python_needs_no_libraries_or_blocks(tmp_path: Path) -> None:
    text = APP.replace("python:3.11", "python:3.6")
    assert "FROM python:3.6-slim\n" in _split(text, _context(tmp_path))
    f = _only(text.replace("gcc python3-dev", "gcc libpq-dev"), _context(tmp_path))
    assert f.fix is None and "older Debian" in f.message


# --- what is allowed --------------------------------------------------------------


@pytest.mark.parametrize("change", [
    ("pip install -r", "python -m pip install -r"),
    ("pip install -r", "pip3.11 --no-cache-dir install -r"),
    ("pip install -r", "pip install --upgrade pip setuptools wheel && pip3 install -Ur"),
    ("pip install -r", "pip wheel -w /wheels -r requirements.txt && pip install --no-index "
     "-f /wheels -r"),
    ("RUN apt-get update", "RUN set -eux; apt-get update"),
    ("gcc python3-dev", "gcc python3-dev && rm -rf /var/lib/apt/lists/*"),
    ("WORKDIR /app", "RUN mkdir -p /app\nWORKDIR /app"),
    ("COPY . .", "ENV PATH=/root/.local/bin:$PATH\nCOPY . ."),
    ("EXPOSE", "USER nobody\nEXPOSE"),
])
def test_allowed_variants_still_split(tmp_path: Path, change: tuple[str, str]) -> None:
    text = APP.replace(*change)
    assert text != APP
    out = _split(text, _context(tmp_path))
    assert "COPY --from=build /opt/venv /opt/venv" in out


def test_healthcheck_tool_installed_goes_to_runtime(tmp_path: Path) -> None:
    text = APP.replace("gcc python3-dev", "gcc curl").replace(
        "EXPOSE", "HEALTHCHECK CMD curl -f http://localhost:5000/ || exit 1\nEXPOSE")
    runtime = _runtime(_split(text, _context(tmp_path)))
    assert "--no-install-recommends curl &&" in runtime
    assert "HEALTHCHECK CMD curl" in runtime


def test_manifest_copy_repeated_by_copy_all_is_left_out(tmp_path: Path) -> None:
    text = APP.replace("COPY . .\n", "COPY requirements.txt ./\nCOPY src/ ./src/\n") \
        .replace("EXPOSE", "COPY . .\nEXPOSE")
    runtime = _runtime(_split(text, _context(tmp_path)))
    assert "COPY requirements.txt" not in runtime
    assert runtime.index("COPY --from=build") < runtime.index("COPY src/ ./src/") < \
        runtime.index("COPY . .")


def test_env_arg_order_and_platform(tmp_path: Path) -> None:
    text = ("ARG PORT=5000\nFROM --platform=linux/amd64 python:3.11-bookworm\n"
            "ARG APP_HOME=/srv\nENV PIP_NO_CACHE_DIR=1 HOME_DIR=$APP_HOME\n"
            "WORKDIR /srv\n" + APP.split("WORKDIR /app\n", 1)[1])
    runtime = _runtime(_split(text, _context(tmp_path)))
    assert runtime.startswith("--platform=linux/amd64 python:3.11-slim-bookworm\n"
                              "ARG APP_HOME=/srv\nENV PIP_NO_CACHE_DIR=1 HOME_DIR=$APP_HOME\n"
                              "WORKDIR /srv\nENV VIRTUAL_ENV=")


def test_comments_stay_with_their_instruction(tmp_path: Path) -> None:
    text = APP.replace("COPY . .", "# the app\nCOPY . .").replace(
        "CMD", "# run it\nCMD")
    out = _split(text, _context(tmp_path))
    assert VENV_LINES + "# the app\nCOPY . .\n" in out
    assert _runtime(out).endswith('EXPOSE 5000\n# run it\nCMD ["python", "app.py"]\n')


def test_named_stage_and_taken_name(tmp_path: Path) -> None:
    out = _split(APP.replace("FROM python:3.11", "FROM python:3.11 AS api"),
                 _context(tmp_path))
    assert "COPY --from=api /opt/venv /opt/venv" in out
    text = "FROM alpine AS build\nRUN echo\n\n" + APP
    assert "FROM python:3.11 AS builder\n" in _split(text, _context(tmp_path / "b"))


def test_crlf_and_lowercase(tmp_path: Path) -> None:
    text = APP.lower().replace("\n", "\r\n")
    out = _split(text, _context(tmp_path))
    assert out.count("\n") == out.count("\r\n")
    assert "run python -m venv /opt/venv\r\nenv VIRTUAL_ENV=" in out
    assert "\r\nfrom python:3.11-slim\r\n" in out and "copy --from=build" in out


def test_no_final_newline(tmp_path: Path) -> None:
    out = _split(APP.rstrip("\n"), _context(tmp_path))
    assert out.endswith('CMD ["python", "app.py"]') and "\n\nFROM python:3.11-slim\n" in out


# --- the whole pipeline -----------------------------------------------------------


def test_full_pipeline(tmp_path: Path) -> None:
    build = _context(tmp_path)
    result = fix(APP, path="Dockerfile", context=build,
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    assert "DO101" in {c.code for c in result.changes}
    tree = parse(result.text)
    assert len(tree.stages) == 2
    builder, runtime = tree.stages
    # DO601 moves `COPY . .` below the installs first; the split then leaves it out
    # of the builder (the runtime copies the sources from the context): the builder
    # ends with its pip install, so a source change does not touch it.
    copies = [i.value for i in builder.body if i.keyword == "COPY"]
    assert copies == [("requirements.txt", ".")]
    assert builder.body[-1].keyword == "RUN" and "pip install" in builder.body[-1].text
    assert [i.value for i in runtime.body if i.keyword == "COPY"][-1] == (".", ".")
    assert "DO601" in {c.code for c in result.changes}
    assert runtime.base == "python:3.11-slim"
    assert result.text.count("USER ") == 1  # DO604, on the runtime only
    again = fix(result.text, path="Dockerfile", context=build,
                settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert again.text == result.text


# --- the builder's tail (split.common.trim_tail) -------------------------------------


def _tail_split(app: str, tmp_path: Path) -> tuple[str, str, str]:
    """(builder text, runtime text from its FROM, the fix message) of the split."""
    f = _only(app, _context(tmp_path))
    assert f.fix is not None
    builder, runtime = apply_edits(app, f.fix.edits).split("\n\nFROM ", 1)
    return builder, "FROM " + runtime, f.fix.message


def test_tail_after_the_last_run_is_left_out_with_its_comments(tmp_path: Path) -> None:
    app = APP.replace("EXPOSE 5000\n", "COPY . .\n# the web port\nEXPOSE 5000\n")
    builder, runtime, message = _tail_split(app, tmp_path)
    assert builder.endswith("RUN pip install -r requirements.txt")
    assert "# the web port\nEXPOSE 5000\n" in runtime  # the comment goes with it
    assert "builder now ends with its last RUN: the COPY, EXPOSE, CMD" in message


def test_named_stage_keeps_its_tail(tmp_path: Path) -> None:
    # `--target app` may build it: it must stay as it was.
    app = APP.replace("FROM python:3.11\n", "FROM python:3.11 AS app\n")
    builder, _, message = _tail_split(app, tmp_path)
    assert builder.endswith('EXPOSE 5000\nCMD ["python", "app.py"]')
    assert "builder now ends" not in message


def test_unowned_comment_stays_in_the_builder(tmp_path: Path) -> None:
    builder, _, _ = _tail_split(APP + "# the end\n", tmp_path)
    assert builder.endswith("RUN pip install -r requirements.txt\n# the end")


def test_trimmed_tail_without_final_newline(tmp_path: Path) -> None:
    builder, runtime, _ = _tail_split(APP.rstrip("\n"), tmp_path)
    assert builder.endswith("requirements.txt")
    assert runtime.startswith("FROM python:3.11-slim\n")
    assert runtime.endswith('CMD ["python", "app.py"]')  # still no final newline


def test_copy_into_the_venv_keeps_the_tail(tmp_path: Path) -> None:
    app = APP.replace("EXPOSE 5000\n", "WORKDIR /opt/venv/share\nWORKDIR /app\nEXPOSE 5000\n")
    builder, _, message = _tail_split(app, tmp_path)
    assert builder.endswith('EXPOSE 5000\nCMD ["python", "app.py"]')
    assert "builder now ends" not in message
