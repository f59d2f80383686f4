"""DO101 for apt toolchains on Debian/Ubuntu (transforms/split/native.py): the builder
compiles, the runtime (the slim image of the same release) gets the program CMD runs
and the runtime libraries of the `-dev` packages."""

from __future__ import annotations

from pathlib import Path

import dockerfile
import pytest
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety
from dockopt.transforms.images import parse_image_ref
from dockopt.transforms.split.native import make_reaches, parse_makefile
from dockopt.transforms.split.packages import release_of, runtime_library
from dockopt.transforms.split.single_stage import apply_edits

MAKE = """\
FROM debian:bookworm
RUN apt-get update && apt-get install -y build-essential libssl-dev
WORKDIR /app
COPY . .
RUN make
EXPOSE 8080
CMD ["./hello", "--serve"]
"""
MAKEFILE = ("CFLAGS ?= -O2\nLDLIBS = -lcrypto\n\n"
            "hello: hello.c\n\t$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)\n")
HELLO_C = "int main(void) { return 0; }\n"



def _make_ctx(tmp_path: Path, extra: dict[str, str] | None = None) -> BuildContext:
    files = {"Makefile": MAKEFILE, "hello.c": HELLO_C}
    files.update(extra or {})
    return _context(tmp_path, files)





def _blocked(text: str, build: BuildContext | None) -> str:
    f = _only(text, build)
    assert f.fix is None, f.fix
    assert "C/C++ toolchain" in f.message and "Suggestion only" in f.message
    return f.message


# --- splits ---------------------------------------------------------------------------


def test_make_split_copies_the_target_and_installs_its_libraries(tmp_path: Path) -> None:
    build = _make_ctx(tmp_path)
    f = _only(MAKE, build)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    msg = f.fix.message
    assert "/app/hello" in msg and "Makefile names hello" in msg
    assert "libssl3 for libssl-dev" in msg and "debian:bookworm-slim" in msg
    out = apply_edits(MAKE, f.fix.edits)
    # The builder: the original, named, ending with its last RUN (the runtime repeats
    # EXPOSE and CMD).
    assert out.startswith(MAKE.replace("FROM debian:bookworm\n", "FROM debian:bookworm AS build\n")
                          .replace('EXPOSE 8080\nCMD ["./hello", "--serve"]\n', "\nFROM "))
    tree = parse(out)
    assert not tree.has_errors and len(tree.stages) == 2
    runtime = tree.stages[1]
    assert runtime.base == "debian:bookworm-slim"
    assert [i.keyword for i in runtime.body] == ["WORKDIR", "RUN", "COPY", "EXPOSE", "CMD"]
    run = runtime.body[1].original
    assert "apt-get install -y --no-install-recommends libssl3" in run
    assert "rm -rf /var/lib/apt/lists/*" in run and "build-essential" not in run
    assert runtime.body[2].value == ("/app/hello", "/app/hello")
    assert runtime.body[2].flags == ("--from=build",)
    assert runtime.body[-1].value == ("./hello", "--serve")
    dockerfile.parse_string(out)
    assert _findings(out, build) == []  # idempotent: now multi-stage


def test_gcc_output_on_path_ubuntu_keeps_tag_and_other_packages(tmp_path: Path) -> None:
    text = ("FROM ubuntu:24.04\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev "
            "libcurl4-openssl-dev zlib1g-dev ca-certificates curl=8.5.0-2ubuntu10\n"
            "WORKDIR /src\nCOPY main.c .\n"
            "RUN gcc -O2 -o /usr/local/bin/fetch main.c -lcurl -lz\n"
            "HEALTHCHECK CMD curl -f http://localhost/ || exit 1\n"
            "ENTRYPOINT [\"fetch\"]\n")
    out = _split(text, _context(tmp_path, {"main.c": HELLO_C}))
    runtime = parse(out).stages[-1]
    assert runtime.base == "ubuntu:24.04"  # ubuntu has no slim variant
    install = runtime.body[1].original
    # The 64-bit time_t names on noble; pins kept as written; compilers dropped.
    assert "libcurl4t64 zlib1g ca-certificates curl=8.5.0-2ubuntu10" in install
    assert "gcc" not in install and "libc6" not in install
    copy = [i for i in runtime.body if i.keyword == "COPY"]
    assert copy[0].value == ("/usr/local/bin/fetch", "/usr/local/bin/fetch")
    assert [i.keyword for i in runtime.body][-2:] == ["HEALTHCHECK", "ENTRYPOINT"]


def test_cmake_build_folder(tmp_path: Path) -> None:
    text = ("FROM debian:12\n"
            "RUN apt-get update && apt-get install -y g++ cmake make libpq-dev\n"
            "WORKDIR /src\nCOPY . .\n"
            "RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2\n"
            "CMD [\"/src/build/server\"]\n")
    cmake = "cmake_minimum_required(VERSION 3.16)\nproject(server CXX)\n" \
            "add_executable(${PROJECT_NAME} main.cpp)  # the server\n"
    build = _context(tmp_path, {"CMakeLists.txt": cmake, "main.cpp": HELLO_C})
    f = _only(text, build)
    assert f.fix is not None and "add_executable(server)" in f.fix.message
    out = apply_edits(text, f.fix.edits)
    runtime = parse(out).stages[-1]
    assert runtime.base == "debian:12-slim"
    assert "--no-install-recommends libpq5 &&" in runtime.body[1].original
    assert "COPY --from=build /src/build/server /src/build/server" in out


def test_cmake_cd_build_then_make(tmp_path: Path) -> None:
    text = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential "
            "cmake\nCOPY . /opt/app\n"
            "RUN mkdir -p /opt/app/build && cd /opt/app/build && cmake .. && make\n"
            "CMD [\"/opt/app/build/tool\"]\n")
    build = _context(tmp_path, {"CMakeLists.txt": "project(t C)\nadd_executable(tool t.c)\n",
                                "t.c": HELLO_C})
    out = _split(text, build)
    runtime = parse(out).stages[-1]
    # No runtime packages: no RUN at all; no WORKDIR in the original, none here.
    assert [i.keyword for i in runtime.body] == ["COPY", "CMD"]


def test_configure_and_make_with_automake(tmp_path: Path) -> None:
    text = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential "
            "autoconf automake\nWORKDIR /build\nCOPY . .\n"
            "RUN autoreconf -i && ./configure && make\nCMD [\"/build/src/greet\", \"-v\"]\n")
    build = _context(tmp_path, {"configure.ac": "AC_INIT\n", "Makefile.am": "SUBDIRS = src\n",
                                "src/Makefile.am": "bin_PROGRAMS = greet\ngreet_SOURCES = g.c\n",
                                "src/g.c": HELLO_C})
    f = _only(text, build)
    assert f.fix is not None and "bin_PROGRAMS" in f.fix.message
    assert "COPY --from=build /build/src/greet /build/src/greet" in apply_edits(text,
                                                                              f.fix.edits)


def test_make_then_copy_into_path(tmp_path: Path) -> None:
    text = MAKE.replace("RUN make\n", "RUN make && cp hello /usr/local/bin/\n").replace(
        '["./hello", "--serve"]', '["hello"]')
    out = _split(text, _make_ctx(tmp_path))
    assert "COPY --from=build /usr/local/bin/hello /usr/local/bin/hello" in out


def test_init_in_front_of_the_program(tmp_path: Path) -> None:
    text = MAKE.replace("libssl-dev", "libssl-dev tini").replace(
        'CMD ["./hello", "--serve"]', 'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["./hello"]')
    out = _split(text, _make_ctx(tmp_path))
    assert "--no-install-recommends libssl3 tini" in out
    assert "COPY --from=build /app/hello /app/hello" in out


def test_fortran_runtime_library(tmp_path: Path) -> None:
    text = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y gfortran\n"
            "WORKDIR /w\nCOPY solve.f90 .\nRUN gfortran -O2 -o solve solve.f90\n"
            "CMD [\"./solve\"]\n")
    out = _split(text, _context(tmp_path, {"solve.f90": "end\n"}))
    assert "--no-install-recommends libgfortran5 &&" in out


def test_openmp_adds_libgomp(tmp_path: Path) -> None:
    build = _make_ctx(tmp_path, {"Makefile": MAKEFILE.replace("-O2", "-O2 -fopenmp")})
    out = _split(MAKE, build)
    assert "libssl3 libgomp1" in out


def test_args_are_redeclared_when_kept_lines_use_them(tmp_path: Path) -> None:
    text = MAKE.replace("EXPOSE 8080\n", "ARG PORT=8080\nENV PORT=$PORT\nEXPOSE $PORT\n")
    out = _split(text, _make_ctx(tmp_path))
    runtime = parse(out).stages[-1]
    assert [i.keyword for i in runtime.body][:3] == ["ARG", "WORKDIR", "ENV"]


def test_crlf_and_lowercase(tmp_path: Path) -> None:
    text = MAKE.lower().replace("\n", "\r\n")
    out = _split(text, _make_ctx(tmp_path))
    assert out.count("\n") == out.count("\r\n")
    assert "\r\nfrom debian:bookworm-slim\r\n" in out and " as build\r\n" in out
    assert "run apt-get update && \\\r\n    apt-get install" in out
    assert "copy --from=build /app/hello /app/hello\r\n" in out


def test_no_context_is_display_only(tmp_path: Path) -> None:
    f = _only(MAKE)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert "could not be checked" in f.fix.message
    result = fix(MAKE, path="Dockerfile", settings=settings_from_dict(
        {"select": ["DO101"], "unsafe-fixes": True}, "t"))
    assert result.text == MAKE


def test_full_pipeline_makes_one_non_root_runtime(tmp_path: Path) -> None:
    result = fix(MAKE, path="Dockerfile", context=_make_ctx(tmp_path),
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    tree = parse(result.text)
    assert len(tree.stages) == 2 and tree.stages[-1].base == "debian:bookworm-slim"
    assert [i.keyword for i in tree.stages[-1].body].count("USER") == 1
    assert [i.keyword for i in tree.stages[0].body].count("USER") == 0
    again = fix(result.text, path="Dockerfile", context=_make_ctx(tmp_path / "again"),
                settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert again.text == result.text


# --- suggestions (display-only, with the reason) -------------------------------------------


@pytest.mark.parametrize(("change", "extra", "reason"), [
    (("RUN make\n", "RUN make && make install\n"), {}, None),  # still ./hello: fine
    (("RUN make\n", "RUN make install\n"), {}, None),
    (('["./hello", "--serve"]', '["hello"]'), {}, "which the build is not seen to make"),
    (('["./hello", "--serve"]', '["./run.sh"]'), {"run.sh": "#!/bin/sh\n"},
     "which the build is not seen to make"),
    (('["./hello", "--serve"]', '["./other"]'), {}, "does not name other"),
    (("RUN make\n", "RUN make\nRUN ./hello --selftest > /app/report.txt\n"), {},
     "a RUN after the build"),
    (("EXPOSE", "COPY config.ini /etc/hello/\nEXPOSE"), {"config.ini": ""},
     "a COPY after the build"),
    (("libssl-dev", "libssl-dev libfrobnicate-dev"), {}, "libfrobnicate-dev"),
    (("FROM debian:bookworm", "FROM debian:latest"), {}, "libssl-dev on this debian tag"),
    (("EXPOSE", "USER app\nEXPOSE"), {}, "USER app"),
    (("WORKDIR /app", "RUN useradd -m web\nUSER web\nWORKDIR /app"), {}, "USER web is "
     "created in the builder"),
    (("EXPOSE", "USER nobody\nEXPOSE"), {}, None),  # in every Debian image
    (("COPY . .", "COPY . .\nRUN ln -s /app/hello /usr/bin/hello && python3 gen.py"), {},
     "`python3 gen.py` may make"),
    (('CMD ["./hello", "--serve"]', "CMD ./hello --port=$PORT"), {}, "not plain words"),
    (('CMD ["./hello", "--serve"]', 'CMD ["sh", "-c", "./hello"]'), {}, "runs sh"),
    (("RUN make\n", "RUN make\n"), {"templates/index.html": ""}, "templates/"),
    (("RUN make\n", "RUN make\n"), {"Makefile": MAKEFILE + "libhello.so: h.c\n\t$(CC) -shared "
                                    "-o $@ $<\nhello: libhello.so\n"}, "shared library"),
])
def test_blockers(tmp_path: Path, change: tuple[str, str], extra: dict[str, str],
                  reason: str | None) -> None:
    text = MAKE.replace(*change)
    assert text != MAKE or extra
    build = _make_ctx(tmp_path, extra)
    if reason is None:
        out = _split(text, build)  # make install alongside ./hello: the folder's file
        assert "COPY --from=build /app/hello /app/hello" in out
        return
    msg = _blocked(text, build)
    assert reason in msg, msg


def test_make_install_copies_the_prefix(tmp_path: Path) -> None:
    """`make install PREFIX=...`: the installed tree is copied (split.native_install;
    tests/test_split_native_install.py has the rest)."""
    text = MAKE.replace("RUN make\n", "RUN make && make install PREFIX=/usr/local\n").replace(
        '["./hello", "--serve"]', '["/usr/local/bin/hello"]')
    out = _split(text, _make_ctx(tmp_path))
    assert "COPY --from=build /usr/local /usr/local\nRUN ldconfig\n" in out
    text = text.replace("PREFIX=/usr/local", "DESTDIR=/stage")
    assert "DESTDIR=/stage stages the tree elsewhere" in _blocked(text, _make_ctx(tmp_path))


@pytest.mark.parametrize("text", [
    # A Windows build (backtick escape and a drive path): shell rewrites are off.
    "# escape=`\n" + MAKE.replace("WORKDIR /app", "WORKDIR C:\\app"),
    # No compiler installed: apt-jq style tool images are not builds.
    "FROM debian:bookworm\nRUN apt-get update && apt-get install -y jq\nCOPY . .\n"
    "CMD [\"./run.sh\"]\n",
    # The toolchain is removed again in the same RUN.
    "FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential && make "
    "&& apt-get purge -y build-essential\nCMD [\"./hello\"]\n",
    # Already multi-stage.
    "FROM debian:bookworm AS b\nRUN apt-get install -y gcc && gcc -o /h h.c\n"
    "FROM debian:bookworm-slim\nCOPY --from=b /h /h\nCMD [\"/h\"]\n",
])
def test_negatives(text: str) -> None:
    assert _findings(text) == []


def test_compilers_without_a_c_build_stay_a_generic_suggestion() -> None:
    text = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y build-essential "
            "python3-pip\nCOPY . .\nRUN pip install --break-system-packages .\n"
            "CMD [\"app\"]\n")
    f = _only(text)
    assert f.fix is None and "compilers installed" in f.message
    assert "automates the split for" in f.message and "C/C++" in f.message


# --- the tables ------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "release"), [
    ("debian:bookworm", "bookworm"), ("debian:12.5-slim", "bookworm"),
    ("debian:bullseye-20240110", "bullseye"), ("debian:latest", None), ("debian", None),
    ("ubuntu:22.04", "jammy"), ("ubuntu:noble-20240423", "noble"), ("ubuntu:20.04", "focal"),
    ("ubuntu:rolling", None),
])
def test_release_of(image: str, release: str | None) -> None:
    ref = parse_image_ref(image)
    assert ref is not None
    assert release_of(ref, ref.repository) == release


def test_release_of_node_ignores_version_numbers() -> None:
    ref = parse_image_ref("node:12-bullseye")
    assert ref is not None
    assert release_of(ref, "debian", numbers=False) == "bullseye"
    ref = parse_image_ref("node:12")
    assert ref is not None and release_of(ref, "debian", numbers=False) is None


@pytest.mark.parametrize(("dev", "distro", "release", "lib"), [
    ("libssl-dev", "debian", "bookworm", "libssl3"),
    ("libssl-dev", "debian", "bullseye", "libssl1.1"),
    ("libssl-dev", "ubuntu", "noble", "libssl3t64"),
    ("libssl-dev", "debian", None, None),
    ("zlib1g-dev", "debian", None, "zlib1g"),
    ("libjpeg-dev", "ubuntu", "jammy", "libjpeg8"),
    ("libjpeg-dev", "debian", "bookworm", "libjpeg62-turbo"),
    ("libc6-dev", "debian", "bookworm", ""),
    ("libstdc++-12-dev", "debian", "bookworm", ""),
    ("libwhatever-dev", "debian", "bookworm", None),
    ("python3-dev", "debian", "bookworm", None),  # libpython3.X: not guessed
])
def test_runtime_library(dev: str, distro: str, release: str | None, lib: str | None) -> None:
    assert runtime_library(dev, distro, release) == lib


def test_parse_makefile_variables_and_default_goal() -> None:
    text = ("# comment\nBIN := tool\nOBJS = a.o \\\n  b.o\n.PHONY: all clean\n"
            "all: $(BIN) docs\n$(BIN): $(OBJS)\n\t$(CC) -o $@ $^\n%.o: %.c\n\t$(CC) -c $<\n"
            "ifeq ($(X),1)\nextra: ; echo\nendif\nclean:\n\trm -f $(BIN)\n")
    mk = parse_makefile(text)
    assert mk.default == "all"
    assert mk.rules["tool"] == ["a.o", "b.o"]
    assert make_reaches(mk, []) == {"all", "tool", "docs", "a.o", "b.o"}
    assert "clean" not in make_reaches(mk, [])
    assert make_reaches(mk, ["clean"]) == {"clean"}
    assert "extra" in mk.rules


def test_suggestion_after_the_user_fix_names_the_real_blocker(tmp_path: Path) -> None:
    """After DO604 gives the WORKDIR to the app user (`RUN chown app:app /src`), DO101's
    suggestion must still name what really blocks the split, not dockopt's own line."""
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.pipeline import fix

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Makefile").write_text("hello: hello.c\n\tcc -o hello hello.c\n")
    (ctx / "hello.c").write_text("int main(){return 0;}\n")
    (ctx / "run.sh").write_text("exec /src/hello\n")
    text = ("FROM debian:bookworm\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev "
            "make && rm -rf /var/lib/apt/lists/*\n"
            "WORKDIR /src\nCOPY . .\nRUN make -C /src hello\nCMD [\"sh\", \"/src/run.sh\"]\n")
    result = fix(text, path="Dockerfile", context=ctx,
                 settings=Settings(unsafe_fixes=True, select=("DO101", "DO604")))
    assert "chown app:app /src" in result.text  # the user fix was applied
    messages = [f.message for f in result.findings if f.code == "DO101"]
    assert messages and all("chown" not in m for m in messages), messages
    assert "CMD runs sh, not the built program" in messages[0]
