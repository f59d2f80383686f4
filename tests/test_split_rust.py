"""DO101 for Rust (transforms/split/rust.py): `cargo build`/`cargo install --path` in a
`rust:X` image; the binary on the same Debian release's `debian:X-slim`, with the
runtime libraries of the `-sys` crates in Cargo.lock and of the stage's `-dev`
packages, and a dependency-caching step where the project's shape allows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from splitcase import checked_output
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety
from dockopt.transforms.images import parse_image_ref
from dockopt.transforms.split.common import Blocked
from dockopt.transforms.split.rust import SYS_CRATES, runtime_image

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "single-stage-build"

RUST = """\
FROM rust:1.77-bookworm
WORKDIR /usr/src/app
COPY . .
RUN cargo build --release
EXPOSE 8080
CMD ["./target/release/hello-rs", "--serve"]
"""
CARGO_TOML = '[package]\nname = "hello-rs"\nversion = "0.1.0"\nedition = "2021"\n'
MAIN_RS = 'fn main() {\n    println!("hello");\n}\n'


def _lock(*crates: str) -> str:
    head = "version = 3\n"
    return head + "".join(f'\n[[package]]\nname = "{c}"\nversion = "1.0.0"\n'
                          for c in ("hello-rs", *crates))


def _ctx(tmp_path: Path, extra: dict[str, str] | None = None,
         lock: str | None = None) -> BuildContext:
    files = {"Cargo.toml": CARGO_TOML, "src/main.rs": MAIN_RS,
             "Cargo.lock": _lock() if lock is None else lock}
    files.update(extra or {})
    return _context(tmp_path, {k: v for k, v in files.items() if v})


def _blocked(text: str, build: BuildContext | None) -> str:
    f = _only(text, build)
    assert f.fix is None, f.fix
    assert "Rust toolchain" in f.message and "Suggestion only" in f.message
    return f.message


# --- splits ---------------------------------------------------------------------------


def test_split_copies_the_binary_to_debian_slim_with_a_dependency_step(
        tmp_path: Path) -> None:
    build = _ctx(tmp_path, lock=_lock("serde"))
    f = _only(RUST, build)
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    out = checked_output(RUST, f, build)
    tree = parse(out)
    builder, runtime = tree.stages
    assert builder.name == "build" and runtime.base == "debian:bookworm-slim"
    assert [i.keyword for i in runtime.body] == ["WORKDIR", "COPY", "EXPOSE", "CMD"]
    assert list(runtime.body[1].value) == ["/usr/src/app/target/release/hello-rs"] * 2
    # The dependency step: manifests, then a dummy main built with the same command,
    # then the dummy and the package's own build records removed.
    body = [i.keyword for i in builder.body]
    assert body == ["WORKDIR", "COPY", "RUN", "COPY", "RUN"]
    assert list(builder.body[1].value) == ["Cargo.toml", "Cargo.lock", "./"]
    step = builder.body[2].original
    assert "echo 'fn main() {}' > src/main.rs" in step and "cargo build --release" in step
    assert "target/release/.fingerprint/hello-rs-*" in step
    assert "target/release/deps/hello_rs-*" in step
    assert "dummy src/main.rs" in f.fix.message


def test_no_dependency_step_without_a_lockfile_when_there_are_no_dependencies(
        tmp_path: Path) -> None:
    build = _context(tmp_path, {"Cargo.toml": CARGO_TOML, "src/main.rs": MAIN_RS})
    f = _only(RUST, build)
    assert f.fix is not None and "No dependency-caching step: there is no Cargo.lock" \
        in f.fix.message
    out = checked_output(RUST, f, build)
    assert "fn main() {}" not in out


def test_manifests_copied_first_get_the_step_before_the_sources(tmp_path: Path) -> None:
    text = RUST.replace("COPY . .\n", "COPY Cargo.toml Cargo.lock ./\nCOPY src ./src\n")
    out = _split(text, _ctx(tmp_path))
    builder = parse(out).stages[0]
    assert [i.keyword for i in builder.body] == ["WORKDIR", "COPY", "RUN", "COPY", "RUN"]
    assert list(builder.body[3].value) == ["src", "./src"]


def test_sys_crates_and_dev_packages_become_runtime_libraries(tmp_path: Path) -> None:
    text = RUST.replace("WORKDIR", "RUN apt-get update && apt-get install -y pkg-config "
                        "libsqlite3-dev libclang-dev\nWORKDIR")
    build = _ctx(tmp_path, lock=_lock("openssl-sys", "pq-sys", "libz-sys", "windows-sys"))
    out = _split(text, build)
    runtime = parse(out).stages[1]
    install = next(i for i in runtime.body if i.keyword == "RUN").original
    assert "--no-install-recommends libsqlite3-0 libssl3 libpq5 ca-certificates" in install
    assert "pkg-config" not in install and "libclang" not in install and "zlib" not in install


def test_trixie_and_bullseye_names(tmp_path: Path) -> None:
    build = _ctx(tmp_path, lock=_lock("openssl-sys"))
    out = _split(RUST.replace("1.77-bookworm", "1.85-slim-trixie"), build)
    assert "FROM debian:trixie-slim" in out and "libssl3t64" in out
    out = _split(RUST.replace("1.77-bookworm", "1.60"), _ctx(tmp_path / "b",
                                                             lock=_lock("openssl-sys")))
    assert "FROM debian:bullseye-slim" in out and "libssl1.1" in out


@pytest.mark.parametrize(("tag", "image"), [
    ("1.77-bookworm", "debian:bookworm-slim"), ("1-slim-trixie", "debian:trixie-slim"),
    ("bullseye", "debian:bullseye-slim"), ("1.75", "debian:bookworm-slim"),
    ("1.75.0-slim", "debian:bookworm-slim"), ("1.91", "debian:trixie-slim"),
    ("1.66", "debian:bullseye-slim"),
])
def test_runtime_image(tag: str, image: str) -> None:
    ref = parse_image_ref(f"rust:{tag}")
    assert ref is not None
    assert runtime_image(ref)[0] == image


@pytest.mark.parametrize(("tag", "reason"), [
    ("latest", "names no Debian release"), ("1", "names no Debian release"),
    ("1.70", "names no Debian release"), ("1.89-slim", "names no Debian release"),
    ("1.77-alpine3.19", "Alpine"), ("1.60-buster", "past its support"),
])
def test_runtime_image_refusals(tag: str, reason: str) -> None:
    ref = parse_image_ref(f"rust:{tag}")
    assert ref is not None
    with pytest.raises(Blocked, match=reason):
        runtime_image(ref)


def test_cargo_install_path_goes_to_a_path_folder(tmp_path: Path) -> None:
    text = RUST.replace("cargo build --release", "cargo install --path .") \
        .replace('["./target/release/hello-rs", "--serve"]', '["hello-rs"]')
    out = _split(text, _ctx(tmp_path))
    assert "COPY --from=build /usr/local/cargo/bin/hello-rs /usr/local/bin/hello-rs" in out
    assert 'CMD ["hello-rs"]' in out


def test_binary_copied_after_the_build_is_followed(tmp_path: Path) -> None:
    text = RUST.replace("cargo build --release",
                        "cargo build --release && cp target/release/hello-rs /usr/bin/hello "
                        "&& strip /usr/bin/hello && rm -rf target") \
        .replace('["./target/release/hello-rs", "--serve"]', '["hello", "--serve"]')
    out = _split(text, _ctx(tmp_path))
    assert "COPY --from=build /usr/bin/hello /usr/bin/hello" in out


def test_workspace_member_and_bin_names(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*", "tools"]\n',
        "crates/api/Cargo.toml": '[package]\nname = "api"\nversion = "0.1.0"\n\n'
                                 '[[bin]]\nname = "api-server"\npath = "src/main.rs"\n',
        "crates/api/src/main.rs": MAIN_RS,
        "tools/Cargo.toml": '[package]\nname = "tools"\nversion = "0.1.0"\n',
        "tools/src/bin/migrate.rs": MAIN_RS,
        "Cargo.lock": _lock("api", "tools"),
    }
    text = RUST.replace("cargo build --release", "cargo build --release --bin migrate") \
        .replace("./target/release/hello-rs", "target/release/migrate")
    out = _split(text, _context(tmp_path, files))
    assert "COPY --from=build /usr/src/app/target/release/migrate " in out
    assert "a workspace" in _only(text, _context(tmp_path, files)).fix.message  # type: ignore[union-attr]
    text = text.replace("--bin migrate", "-p api").replace("migrate", "api-server")
    out = _split(text, _context(tmp_path / "b", files))
    assert "/usr/src/app/target/release/api-server" in out


def test_target_triple_and_debug_profile(tmp_path: Path) -> None:
    text = RUST.replace("--release", "--release --target x86_64-unknown-linux-gnu") \
        .replace("./target/release/", "./target/x86_64-unknown-linux-gnu/release/")
    out = _split(text, _ctx(tmp_path))
    assert "/target/x86_64-unknown-linux-gnu/release/hello-rs" in out
    text = RUST.replace(" --release", "").replace("/release/", "/debug/")
    out = _split(text, _ctx(tmp_path / "b"))
    assert "/usr/src/app/target/debug/hello-rs /usr/src/app/target/debug/hello-rs" in out


def test_build_env_stays_in_the_builder(tmp_path: Path) -> None:
    text = RUST.replace("COPY . .", "ENV CARGO_NET_RETRY=5 RUSTFLAGS=-Ctarget-cpu=native\n"
                        "ENV RUST_LOG=info\nCOPY . .")
    f = _only(text, _ctx(tmp_path))
    assert f.fix is not None and "Left in the builder: ENV CARGO_NET_RETRY RUSTFLAGS" \
        in f.fix.message
    runtime = parse(checked_output(text, f, _ctx(tmp_path))).stages[1]
    envs = [i.original for i in runtime.body if i.keyword == "ENV"]
    assert envs == ["ENV RUST_LOG=info"]


def test_no_context_is_display_only() -> None:
    f = _only(RUST, None)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert "taken from CMD" in f.fix.message
    checked_output(RUST, f, None)


def test_full_pipeline_makes_one_non_root_runtime(tmp_path: Path) -> None:
    build = _ctx(tmp_path, lock=_lock("openssl-sys"))
    result = fix(RUST, path="Dockerfile", context=build,
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    tree = parse(result.text)
    assert len(tree.stages) == 2 and tree.stages[-1].base == "debian:bookworm-slim"
    assert [i.keyword for i in tree.stages[-1].body].count("USER") == 1
    # DO601 sees the dependency step before the full copy: nothing left to say.
    assert not [f for f in result.findings if f.code == "DO601"], result.findings
    again = fix(result.text, path="Dockerfile", context=_ctx(tmp_path / "again",
                                                             lock=_lock("openssl-sys")),
                settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert again.text == result.text


# --- suggestions (display-only, with the reason) -------------------------------------------


@pytest.mark.parametrize(("change", "extra", "reason"), [
    (("1.77-bookworm", "latest"), {}, "names no Debian release"),
    (("1.77-bookworm", "1.77-alpine"), {}, "Alpine"),
    (("--serve", "--serve"), {"Cargo.lock": _lock("rdkafka-sys")}, "rdkafka-sys links"),
    (("--serve", "--serve"), {"Cargo.lock": "", "Cargo.toml": CARGO_TOML +
                              '\n[dependencies]\nserde = "1"\n'}, "no Cargo.lock"),
    (("./target/release/hello-rs", "./target/release/other"), {}, "but the build makes "
     "/usr/src/app/target/release/hello-rs"),
    (("./target/release/hello-rs", "./target/debug/hello-rs"), {}, "but the build makes"),
    (("--serve", "--serve"), {"src/main.rs": 'fn main() { std::fs::File::open("x"); }'},
     "reads files at run time (File::open"),
    (("--serve", "--serve"), {"templates/index.html": "<p>"}, "templates/"),
    (("COPY . .", "COPY . .\nRUN cargo build --release\nRUN ./gen.sh"), {},
     "a RUN after the build"),
    (("cargo build --release", "cargo build --release && ./target/release/hello-rs init"),
     {}, "runs after the build"),
    (("COPY . .", "RUN python3 fetch.py\nCOPY . ."), {}, "`python3 fetch.py` may make"),
    (("COPY . .", "RUN cargo install diesel_cli\nCOPY . ."), {}, "cargo install puts"),
    (("cargo build --release", "cargo build --release --target-dir /out"), {},
     "--target-dir"),
    (("COPY . .", "ENV CARGO_TARGET_DIR=/out\nCOPY . ."), {}, "CARGO_TARGET_DIR"),
    (("EXPOSE", "RUN useradd app\nUSER app\nEXPOSE"), {}, "a RUN after the build"),
    (("COPY . .", "RUN useradd app\nCOPY . ."), {}, None),
    (("EXPOSE", "USER app\nEXPOSE"), {}, "USER app is created in the builder"),
    (("EXPOSE", "HEALTHCHECK CMD curl -f http://localhost:8080/\nEXPOSE"), {},
     "HEALTHCHECK uses curl"),
    (("COPY . .", "ENV PATH=/opt/bin:$PATH\nCOPY . ."), {}, "PATH"),
    (('CMD ["./target/release/hello-rs", "--serve"]', "CMD ./target/release/hello-rs "
      "--port=$PORT"), {}, "not plain words"),
    (("--serve", "--serve"), {"Cargo.toml": "[package\n"}, "does not parse"),
])
def test_blockers(tmp_path: Path, change: tuple[str, str], extra: dict[str, str],
                  reason: str | None) -> None:
    text = RUST.replace(*change)
    assert text != RUST or extra
    files = {"Cargo.toml": CARGO_TOML, "src/main.rs": MAIN_RS, "Cargo.lock": _lock()}
    files.update(extra)
    build = _context(tmp_path, {k: v for k, v in files.items() if v})
    if reason is None:
        _split(text, build)
        return
    msg = _blocked(text, build)
    assert reason in msg, msg


def test_sys_crate_table_names_known_dev_packages() -> None:
    """Every `-sys` crate that needs a library names a `-dev` package the release table
    maps, on every release the runtime may be."""
    from dockopt.transforms.split.packages import runtime_library

    for crate, (dev, why) in SYS_CRATES.items():
        assert why, crate
        if dev:
            for release in ("bullseye", "bookworm", "trixie"):
                assert runtime_library(dev, "debian", release), (crate, release)


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.glob("rust-*")))
def test_golden_rust_cases_are_checked_splits(case: str) -> None:
    """The golden cases' splits parse (ours and BuildKit's), add one stage and are
    idempotent; the held-back ones are suggestions."""
    folder = GOLDEN / case
    text = (folder / "Dockerfile").read_text()
    build = BuildContext(folder / "context", dockerfile=str(folder / "Dockerfile"))
    f = _only(text, build)
    if (folder / "expected.Dockerfile").is_file():
        assert f.fix is not None
        assert checked_output(text, f, build) == (folder / "expected.Dockerfile").read_text()
    else:
        assert f.fix is None and "Suggestion only" in f.message
