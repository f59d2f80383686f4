"""DO101 for C/C++ builds that install into a known prefix
(transforms/split/native_install.py): the runtime copies the installed tree and runs
ldconfig; a RUN ldconfig after the build no longer blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import checked_output
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.syntax import parse

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "single-stage-build"

CONFIGURE = """\
FROM debian:bookworm
RUN apt-get update && apt-get install -y build-essential libssl-dev
COPY . /src
WORKDIR /src
RUN ./configure --prefix=/opt/tool && make && make install
RUN ldconfig
ENTRYPOINT ["/opt/tool/bin/tool"]
"""
CMAKE = """\
FROM ubuntu:22.04
RUN apt-get update && apt-get install -y g++ cmake zlib1g-dev
WORKDIR /work
COPY . .
RUN cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/opt/app -DCMAKE_BUILD_TYPE=Release && \\
    cmake --build build -j 2 && cmake --install build
ENV PATH=/opt/app/bin:$PATH
CMD ["server", "--port", "80"]
"""
MAKEFILE = "PREFIX ?= /usr/local\n\nhello: hello.c\n\t$(CC) -o $@ $<\n" \
           "install: hello\n\tinstall -D hello $(PREFIX)/bin/hello\n"


def _blocked(text: str, build: BuildContext | None) -> str:
    f = _only(text, build)
    assert f.fix is None, f.fix
    assert "C/C++ toolchain" in f.message and "Suggestion only" in f.message
    return f.message


def _runtime(out: str) -> list[str]:
    return [i.original for i in parse(out).stages[-1].body]


def test_configure_prefix_is_copied_and_ldconfig_runs(tmp_path: Path) -> None:
    build = _context(tmp_path, {"configure": "#!/bin/sh\n", "tool.c": ""})
    f = _only(CONFIGURE, build)
    assert f.fix is not None
    assert "the installed tree /opt/tool (`make install` into /opt/tool" in f.fix.message
    out = checked_output(CONFIGURE, f, build)
    assert _runtime(out) == [
        "WORKDIR /src", "RUN apt-get update &&     apt-get install -y "
        "--no-install-recommends libssl3 &&     rm -rf /var/lib/apt/lists/*",
        "COPY --from=build /opt/tool /opt/tool", "RUN ldconfig",
        'ENTRYPOINT ["/opt/tool/bin/tool"]']
    assert parse(out).stages[-1].base == "debian:bookworm-slim"


def test_default_prefix_and_two_installs(tmp_path: Path) -> None:
    """nghttp2 then curl, both into /usr/local (autoconf's default): one copy."""
    text = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential "
            "libssl-dev zlib1g-dev\nWORKDIR /root/nghttp2\nCOPY nghttp2 .\n"
            "RUN ./configure\nRUN make\nRUN make install\nWORKDIR /root/curl\nCOPY curl .\n"
            "RUN ./configure --with-ssl --with-nghttp2=/usr/local\nRUN make\n"
            "RUN make install\nRUN ldconfig\nCMD [\"-h\"]\n"
            "ENTRYPOINT [\"/usr/local/bin/curl\"]\n")
    build = _context(tmp_path, {"nghttp2/configure": "", "curl/configure": ""})
    out = _split(text, build)
    runtime = _runtime(out)
    assert runtime.count("COPY --from=build /usr/local /usr/local") == 1
    assert "RUN ldconfig" in runtime


def test_cmake_install_prefix_and_env_path(tmp_path: Path) -> None:
    build = _context(tmp_path, {"CMakeLists.txt": "project(s)\nadd_executable(server s.c)\n"})
    out = _split(CMAKE, build)
    assert parse(out).stages[-1].base == "ubuntu:22.04"
    assert "COPY --from=build /opt/app /opt/app" in out
    assert "ENV PATH=/opt/app/bin:$PATH" in _runtime(out)


def test_makefile_prefix_variable(tmp_path: Path) -> None:
    text = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y gcc make\n"
            "WORKDIR /src\nCOPY . .\nRUN make && make install\nCMD [\"hello\"]\n")
    build = _context(tmp_path, {"Makefile": MAKEFILE, "hello.c": ""})
    out = _split(text, build)
    assert "COPY --from=build /usr/local /usr/local" in out


@pytest.mark.parametrize(("text", "files", "reason"), [
    (CONFIGURE.replace("--prefix=/opt/tool", "--prefix=/opt/tool --sysconfdir=/etc"), {},
     "configure --sysconfdir=/etc puts files outside the install prefix"),
    (CONFIGURE.replace("--prefix=/opt/tool", "--prefix=/usr"), {},
     "the install prefix /usr is the system's own tree"),
    (CONFIGURE.replace("make install", "make install DESTDIR=/pkg"), {},
     "DESTDIR=/pkg stages the tree elsewhere"),
    (CONFIGURE.replace("/opt/tool/bin/tool", "/usr/local/bin/tool"), {},
     "which is not under the install prefix /opt/tool"),
    (CONFIGURE.replace("RUN ldconfig", "RUN ldconfig && cp /opt/tool/etc/x /etc/x"), {},
     "a RUN after the build"),
    (CONFIGURE.replace("--prefix=/opt/tool", "--prefix=$PREFIX"), {}, "variable"),
    (CMAKE.replace("-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_INSTALL_SYSCONFDIR=/etc"), {},
     "puts files outside the install prefix"),
    ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y gcc make\n"
     "WORKDIR /src\nCOPY . .\nRUN make && make install\nCMD [\"hello\"]\n",
     {"Makefile": "hello: hello.c\n\t$(CC) -o $@ $<\ninstall:\n\tcp hello /usr/bin/\n"},
     "has no PREFIX/prefix variable"),
])
def test_install_blockers(tmp_path: Path, text: str, files: dict[str, str],
                          reason: str) -> None:
    build = _context(tmp_path, {"configure": "", "CMakeLists.txt": "project(s)\n", **files})
    msg = _blocked(text, build)
    assert reason in msg, msg


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("native-install-*")))
def test_golden_install_cases(case: str) -> None:
    folder = GOLDEN / case
    text = (folder / "Dockerfile").read_text()
    build = BuildContext(folder / "context", dockerfile=str(folder / "Dockerfile")) \
        if (folder / "context").is_dir() else None
    f = _only(text, build)
    if (folder / "expected.Dockerfile").is_file():
        assert f.fix is not None
        assert checked_output(text, f, build) == (folder / "expected.Dockerfile").read_text()
    else:
        assert f.fix is None and "Suggestion only" in f.message
