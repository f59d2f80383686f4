"""DO101 for Python on a -slim base that installs its own compilers
(transforms/split/python.py): the builder keeps the compilers, the runtime is the
same -slim image with the run-time libraries of the -dev packages. Other python
tags that compile (-alpine, releases without a -slim tag) get a finding that says
why the split is not made."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety

SLIM = """\
FROM python:3.12-slim
WORKDIR /app
RUN apt-get update && apt-get install -y gcc libc6-dev libpq-dev
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


def _context(tmp_path: Path, files: dict[str, str] | None = None) -> BuildContext:
    return write_context(tmp_path, {"requirements.txt": "psycopg2==2.9.9\n",
                                    "app.py": "import psycopg2\n", **(files or {})})


def _stages(out: str) -> tuple[str, str]:
    builder, runtime = out.split("\n\nFROM ", 1)
    return builder, "FROM " + runtime


def test_slim_splits_onto_the_same_slim_image(tmp_path: Path) -> None:
    out = _split(SLIM, _context(tmp_path))
    builder, runtime = _stages(out)
    # The builder is the original stage: compilers and headers stay there.
    assert builder.startswith("FROM python:3.12-slim AS build\nWORKDIR /app\n"
                              "RUN python -m venv /opt/venv\n")
    assert "apt-get install -y gcc libc6-dev libpq-dev" in builder
    # The runtime is the same -slim image with libpq-dev's run-time library only.
    assert runtime == (
        "FROM python:3.12-slim\nWORKDIR /app\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && "
        "rm -rf /var/lib/apt/lists/*\n"
        'ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"\n'
        "COPY --from=build /opt/venv /opt/venv\nCOPY . .\n"
        'CMD ["python", "app.py"]\n')


def test_slim_explanation(tmp_path: Path) -> None:
    f = _only(SLIM, _context(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    msg = f.fix.message
    assert "base python:3.12-slim (the builder's own -slim image, without the compilers" \
        in msg
    assert "libpq5 (the run-time library of libpq-dev)" in msg
    assert "Left in the builder (needed to build only): gcc, libc6-dev, libpq-dev." in msg


def test_slim_without_context_is_display_only() -> None:
    f = _only(SLIM)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY


@pytest.mark.parametrize(("image", "dev", "library"), [
    ("python:3.12-slim-bookworm", "libcurl4-openssl-dev", "libcurl4"),
    ("python:3.13-slim-trixie", "libcurl4-openssl-dev", "libcurl4t64"),
    ("python:slim", "libxml2-dev libxslt1-dev", "libxml2 libxslt1.1"),
    ("docker.io/library/python:3.11-slim", "default-libmysqlclient-dev pkg-config",
     "libmariadb3"),
])
def test_runtime_libraries_follow_the_tag(tmp_path: Path, image: str, dev: str,
                                          library: str) -> None:
    text = SLIM.replace("python:3.12-slim", image).replace("libpq-dev", dev)
    runtime = _stages(_split(text, _context(tmp_path)))[1]
    assert runtime.startswith(f"FROM {image}\n")
    assert f"--no-install-recommends {library} &&" in runtime


def test_digest_and_platform_are_kept(tmp_path: Path) -> None:
    image = "python:3.12-slim@sha256:" + "c" * 64
    text = SLIM.replace("FROM python:3.12-slim", f"FROM --platform=linux/amd64 {image}")
    runtime = _stages(_split(text, _context(tmp_path)))[1]
    assert runtime.startswith(f"FROM --platform=linux/amd64 {image}\n")


def test_other_packages_go_to_the_runtime_too(tmp_path: Path) -> None:
    text = SLIM.replace("libpq-dev", "libpq-dev gettext postgresql-client build-essential")
    runtime = _stages(_split(text, _context(tmp_path)))[1]
    assert "--no-install-recommends gettext postgresql-client libpq5 &&" in runtime


@pytest.mark.parametrize(("change", "reason"), [
    (("libpq-dev", "libgdal-dev"), "libgdal-dev: the run-time library an extension built "
     "against it links is not known"),
    (("python:3.12-slim", "python:2.7-slim"), "Python 2 has no venv module"),
    (("python:3.12-slim", "python:3.6-slim"), "older Debian"),
    (("libpq-dev", "libpq-dev && apt-get upgrade -y"), "upgrade"),
    (("COPY . .", "COPY . .\nRUN python manage.py collectstatic"), "after the pip install"),
])
def test_held_back_with_the_reason(tmp_path: Path, change: tuple[str, str],
                                   reason: str) -> None:
    text = SLIM.replace(*change)
    assert text != SLIM
    f = _only(text, _context(tmp_path))
    assert f.fix is None, f.fix and f.fix.message
    assert "ships the python toolchain" in f.message and "Suggestion only" in f.message
    assert reason in f.message, f.message


def test_alpine_says_why(tmp_path: Path) -> None:
    text = SLIM.replace("python:3.12-slim", "python:3.12-alpine").replace(
        "apt-get update && apt-get install -y gcc libc6-dev libpq-dev",
        "apk add --no-cache gcc musl-dev postgresql-dev")
    f = _only(text, _context(tmp_path))
    assert f.fix is None
    assert "ships the python toolchain" in f.message
    assert "python:3.12-alpine is Alpine" in f.message and "apk names are not mapped" \
        in f.message


def test_release_without_slim_tag_says_so(tmp_path: Path) -> None:
    text = SLIM.replace("python:3.12-slim", "python:3.6-stretch")
    f = _only(text, _context(tmp_path))
    assert f.fix is None
    assert "python:3.6-stretch has no -slim variant" in f.message


@pytest.mark.parametrize("text", [
    # Nothing compiled: pure-Python installs on -slim have nothing to split off.
    SLIM.replace("RUN apt-get update && apt-get install -y gcc libc6-dev libpq-dev\n", ""),
    # Packages, but no build tools or headers.
    SLIM.replace("gcc libc6-dev libpq-dev", "curl gettext"),
    # Compilers but no pip install.
    SLIM.replace("RUN pip install -r requirements.txt\n", ""),
    # Alpine without a toolchain.
    SLIM.replace("python:3.12-slim", "python:3.12-alpine")
    .replace("RUN apt-get update && apt-get install -y gcc libc6-dev libpq-dev\n", ""),
])
def test_not_candidates(tmp_path: Path, text: str) -> None:
    assert not any("python toolchain" in f.message
                   for f in _findings(text, _context(tmp_path)))


def test_full_pipeline_on_slim(tmp_path: Path) -> None:
    """Every transform with unsafe fixes: the split happens, DO605 has nothing to say
    about the -slim runtime, the output parses and a second run changes nothing."""
    build = _context(tmp_path)
    settings = settings_from_dict({"unsafe-fixes": True}, "t")
    result = fix(SLIM, path="Dockerfile", settings=settings, context=build)
    assert "DO101" in {c.code for c in result.changes}
    assert "DO605" not in {c.code for c in result.changes}
    tree = parse(result.text)
    assert not tree.has_errors and len(tree.stages) == 2
    assert tree.stages[-1].base == "python:3.12-slim"
    again = fix(result.text, path="Dockerfile", settings=settings, context=build)
    assert again.text == result.text


def test_context_dependencies_do_not_matter_on_slim(tmp_path: Path) -> None:
    """On a full image psycopg2 or uwsgi in requirements.txt may link any of its -dev
    libraries; on -slim they can only link what -slim has or what the stage installs,
    so only the apt line decides the runtime's packages."""
    build = _context(tmp_path, {"requirements.txt": "uwsgi==2.0.23\npsycopg2==2.9.9\n"
                                "--no-binary :all:\n"})
    text = SLIM.replace("libpq-dev", "libxml2-dev")
    runtime = _stages(_split(text, build))[1]
    assert "--no-install-recommends libxml2 &&" in runtime
    assert "libpq5" not in runtime


@pytest.mark.parametrize("text", [
    SLIM.replace("python:3.12-slim", "python:3.12-alpine").replace(
        "apt-get update && apt-get install -y gcc libc6-dev libpq-dev",
        "apk add --no-cache --virtual .build-deps gcc musl-dev && pip install x && "
        "apk del .build-deps"),
    SLIM.replace("gcc libc6-dev libpq-dev", "gcc libc6-dev && pip install x && "
                 "apt-get purge -y gcc libc6-dev"),
])
def test_toolchain_removed_in_the_same_run_is_no_candidate(tmp_path: Path, text: str) -> None:
    assert not any("python toolchain" in f.message
                   for f in _findings(text, _context(tmp_path)))
