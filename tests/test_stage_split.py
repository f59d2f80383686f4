"""DO101 single-stage-build: unit tests and a pass over the shared corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from splitcase import checked_output
from splitcase import findings as _findings
from splitcase import only as _only
from splitcase import split as _split
from splitcase import write_context as _context

from dockopt.rewriter.config import Settings, settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms.base import Safety
from dockopt.transforms.split.single_stage import apply_edits

GO = """\
FROM golang:1.22
WORKDIR /src
COPY . .
RUN go build -o /usr/local/bin/app .
EXPOSE 8080
CMD ["app"]
"""
NODE = """\
FROM node:18
WORKDIR /app
COPY . .
RUN npm ci
RUN npm run build
CMD ["node", "dist/server.js"]
"""
PKG = {"name": "x", "main": "dist/server.js", "scripts": {"build": "tsc"},
       "dependencies": {"express": "4.19.2"}, "devDependencies": {"typescript": "5"}}



def _go_ctx(tmp_path: Path, extra: dict[str, str] | None = None) -> BuildContext:
    files = {"go.mod": "module example.com/hello\n\ngo 1.22\n",
             "main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(1) }\n'}
    files.update(extra or {})
    return _context(tmp_path, files)


def _node_ctx(tmp_path: Path, pkg: dict[str, object] | None = None,
              extra: dict[str, str] | None = None) -> BuildContext:
    files = {"package.json": json.dumps(pkg or PKG)}
    files.update(extra or {})
    return _context(tmp_path, files)




def _settings(**extra: object) -> Settings:
    options: dict[str, object] = {"select": ["DO101"], "unsafe-fixes": True}
    options.update(extra)
    return settings_from_dict(options, "test")



# --- Go ---------------------------------------------------------------------------


def test_go_split_is_unsafe_and_explains(tmp_path: Path) -> None:
    f = _only(GO, _go_ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "/usr/local/bin/app" in f.fix.message and "CGO_ENABLED=0" in f.fix.message
    out = apply_edits(GO, f.fix.edits)
    tree = parse(out)
    assert not tree.has_errors and len(tree.stages) == 2
    assert tree.stages[0].name == "build"
    final = tree.stages[1]
    assert final.base == "gcr.io/distroless/static-debian12:nonroot"
    assert [i.keyword for i in final.body] == ["WORKDIR", "COPY", "EXPOSE", "CMD"]
    assert final.body[-1].value == ("/usr/local/bin/app",)
    assert "ENV CGO_ENABLED=0\nRUN go build" in out
    assert _findings(out, _go_ctx(tmp_path / "again")) == []


def test_go_without_context_is_display_only() -> None:
    f = _only(GO)
    assert f.fix is not None and f.fix.safety == Safety.DISPLAY_ONLY
    assert "Shown only" in f.fix.message
    result = fix(GO, path="Dockerfile", settings=_settings())
    assert result.text == GO  # never applied


def test_go_default_name_from_module_with_major_version(tmp_path: Path) -> None:
    text = GO.replace("-o /usr/local/bin/app .", "").replace('["app"]', '["./server"]')
    build = _go_ctx(tmp_path, {"go.mod": "module github.com/acme/server/v3\n"})
    out = _split(text, build)
    assert "COPY --from=build /src/server /app/server" in out
    assert out.endswith('CMD ["/app/server"]\n')


def test_go_package_dir_name_and_relative_output(tmp_path: Path) -> None:
    text = GO.replace("-o /usr/local/bin/app .", "-o=bin/ ./cmd/api").replace(
        '["app"]', '["/src/bin/api", "-v"]')
    out = _split(text, _go_ctx(tmp_path))
    assert "COPY --from=build /src/bin/api /app/api" in out
    assert 'CMD ["/app/api", "-v"]' in out


def test_go_install_of_a_local_package(tmp_path: Path) -> None:
    text = GO.replace("RUN go build -o /usr/local/bin/app .", "RUN go install .") \
        .replace('CMD ["app"]', 'CMD ["hello"]')
    out = _split(text, _go_ctx(tmp_path))
    # $GOPATH/bin (the golang image's /go) and the module's last element for "."
    assert "COPY --from=build /go/bin/hello /app/hello" in out
    assert out.endswith('CMD ["/app/hello"]\n')
    gobin = text.replace("RUN go install .", "ENV GOBIN=/usr/local/bin\nRUN go install .")
    assert "COPY --from=build /usr/local/bin/hello /usr/local/bin/hello" in \
        _split(gobin, _go_ctx(tmp_path / "b"))


@pytest.mark.parametrize(("run", "reason"), [
    ("RUN go install ./...", "several binaries"),
    ("RUN GOOS=linux go install .", "GOOS_GOARCH folder"),
    ("RUN cd cmd && go install .", "changes directory"),
    ("RUN go install -o=/x .", "go install has no -o"),
])
def test_go_install_refusals(tmp_path: Path, run: str, reason: str) -> None:
    text = GO.replace("RUN go build -o /usr/local/bin/app .", run)
    f = _only(text, _go_ctx(tmp_path))
    assert f.fix is None and reason in f.message, f.message


def test_go_install_of_a_tool_is_not_the_build(tmp_path: Path) -> None:
    # `go install tool@version` fetches a tool: the app's build is the go build after.
    text = GO.replace("COPY . .\n", "RUN go install golang.org/x/tools/cmd/stringer@v0.20.0\n"
                      "COPY . .\n")
    f = _only(text, _go_ctx(tmp_path))
    assert f.fix is None and "go install puts binaries in GOPATH/bin" in f.message


def test_gopath_layout_is_split(tmp_path: Path) -> None:
    text = GO.replace("WORKDIR /src\nCOPY . .", "ADD . /go/src/github.com/a/b\n"
                      "WORKDIR /go/src/github.com/a/b\nCOPY go.mod go.sum ./")
    out = _split(text, _go_ctx(tmp_path))
    assert "COPY --from=build /usr/local/bin/app /usr/local/bin/app" in out


def test_relative_workdir_under_golang_default(tmp_path: Path) -> None:
    text = GO.replace("WORKDIR /src", "WORKDIR src").replace("-o /usr/local/bin/app", "-o app")
    out = _split(text.replace('["app"]', '["./app"]'), _go_ctx(tmp_path))
    assert "COPY --from=build /go/src/app /app/app" in out


def test_golang_default_workdir_is_go(tmp_path: Path) -> None:
    text = GO.replace("WORKDIR /src\n", "").replace("-o /usr/local/bin/app", "-o app") \
        .replace('["app"]', '["/go/app"]')
    out = _split(text, _go_ctx(tmp_path))
    assert "COPY --from=build /go/app /app/app" in out
    assert "\nWORKDIR" not in out.split("FROM gcr.io")[1]


@pytest.mark.parametrize(("change", "reason"), [
    (("RUN go build", "RUN CGO_ENABLED=1 go build"), "CGO_ENABLED=1"),
    (("RUN go build", "RUN go build -race"), "-race"),
    (('CMD ["app"]', 'CMD ["sh", "-c", "app"]'), "does not run the built binary"),
    (('CMD ["app"]', 'CMD app | tee log'), "not plain words"),
    (('CMD ["app"]', 'CMD ["app"]\nRUN echo done'), "after the build"),
    (('CMD ["app"]', 'HEALTHCHECK CMD curl -f localhost\nCMD ["app"]'), "shell form"),
    (('CMD ["app"]', 'USER appuser\nCMD ["app"]'), "distroless has only"),
    (("COPY . .", "COPY . .\nRUN apt-get install -y libvips"), "libvips"),
    (("RUN go build -o /usr/local/bin/app .", "RUN cd cmd && go build -o app ."),
     "changes directory"),
    (("RUN go build -o /usr/local/bin/app .", "RUN go build -o $OUT ."), "variable"),
    (("COPY . .", "COPY . .\nCOPY config.yml /etc/app/"), "copies config.yml"),
    (("COPY . .", "COPY . .\nCOPY .env ./"), "copies .env"),
])
def test_go_blockers_give_a_suggestion(tmp_path: Path, change: tuple[str, str],
                                       reason: str) -> None:
    f = _only(GO.replace(*change), _go_ctx(tmp_path))
    assert f.fix is None
    assert reason in f.message and "Suggestion only" in f.message


@pytest.mark.parametrize(("files", "reason"), [
    ({"db.go": 'package main\n\n// #include <stdio.h>\nimport "C"\n'}, 'import "C"'),
    ({"conf.go": "package main\n\nvar b, _ = os.ReadFile(\"conf.yaml\")\n"}, "reads files"),
    ({"go.mod": "module x\n\nrequire github.com/mattn/go-sqlite3 v1\n"}, "cgo module"),
    ({"static/app.css": "body{}"}, "static/"),
])
def test_go_context_blockers(tmp_path: Path, files: dict[str, str], reason: str) -> None:
    f = _only(GO, _go_ctx(tmp_path, files))
    assert f.fix is None and reason in f.message


def test_numeric_from_references_keep_their_targets(tmp_path: Path) -> None:
    text = ("FROM alpine:3.19\nRUN echo x > /x\n\nFROM busybox\nCOPY --from=0 /x /x\n\n"
            + GO)
    out = _split(text, _go_ctx(tmp_path))
    tree = parse(out)
    assert [s.index for s in tree.stages] == [0, 1, 2, 3]
    assert tree.stages[1].body[0].flags == ("--from=0",)  # still the alpine stage
    assert tree.stages[0].base == "alpine:3.19"


@pytest.mark.parametrize("text", [
    "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM golang:1.22\n"
    "COPY --from=build /app /app\nCMD [\"/app\"]\n",
    "ARG V=1.22\nFROM golang:${V}\nRUN go build -o /usr/local/bin/app .\nCMD [\"app\"]\n",
    "FROM python:3.12\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"a.py\"]\n",
    "FROM golang:1.22\nRUN go build -o /usr/local/bin/app .\nCMD [\"app\"]\n"
    "RUN <<EOF\necho unterminated\n",  # parse error
    "FROM golang:1.22\nRUN go build -o /a .\nFROBNICATE x\nCMD [\"/a\"]\n",
    "# escape=`\nFROM mcr.microsoft.com/dotnet/sdk:8.0-nanoserver-ltsc2022\n"
    "RUN dotnet publish -o out\n",
])
def test_negatives_have_no_finding(text: str) -> None:
    assert _findings(text) == []


def test_other_ecosystems_are_suggestions() -> None:
    text = "FROM maven:3.9\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"t.jar\"]\n"
    f = _only(text)
    assert f.fix is None and "mvn package" in f.message
    text = "FROM debian:bookworm\nRUN apt-get install -y build-essential libssl-dev\n"
    assert "compilers installed (build-essential, libssl-dev)" in _only(text).message


def test_style_lowercase_and_crlf(tmp_path: Path) -> None:
    text = GO.lower().replace("golang:1.22", "golang:1.22").replace("\n", "\r\n")
    text = text.replace('["app"]', '["app"]')
    out = _split(text, _go_ctx(tmp_path))
    assert "\r\nfrom gcr.io/distroless/static-debian12:nonroot\r\n" in out
    assert "as build\r\n" in out and "env CGO_ENABLED=0\r\n" in out
    assert out.count("\n") == out.count("\r\n")


def test_full_pipeline_go_no_user_doubling(tmp_path: Path) -> None:
    result = fix(GO, path="Dockerfile", context=_go_ctx(tmp_path),
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    tree = parse(result.text)
    assert len(tree.stages) == 2
    # DO604 sees the distroless runtime (uid 65532) and adds nothing to either stage.
    assert "useradd" not in result.text and "USER" not in result.text


# --- node -------------------------------------------------------------------------


def test_node_split(tmp_path: Path) -> None:
    f = _only(NODE, _node_ctx(tmp_path))
    assert f.fix is not None and f.fix.safety == Safety.UNSAFE
    assert "node_modules" in f.fix.message and "/app/dist" in f.fix.message
    out = apply_edits(NODE, f.fix.edits)
    tree = parse(out)
    assert not tree.has_errors
    assert "RUN npm run build\nRUN npm prune --omit=dev\n" in out
    final = tree.stages[-1]
    assert final.base == "node:18-slim"
    copies = [i.value for i in final.body if i.keyword == "COPY"]
    assert copies == [("/app/package.json", "./"), ("/app/node_modules", "./node_modules"),
                      ("/app/dist", "./dist")]


def test_node_npm_start_runs_build_folder(tmp_path: Path) -> None:
    pkg = {"scripts": {"build": "x", "start": "node build/index.js"}}
    out = _split(NODE.replace('["node", "dist/server.js"]', '["npm", "start"]'),
                 _node_ctx(tmp_path, pkg))
    assert "COPY --from=build /app/build ./build" in out


@pytest.mark.parametrize(("pkg", "extra", "change", "reason"), [
    (None, {}, ("RUN npm ci", "RUN yarn install"), "yarn"),
    ({"scripts": {}}, {}, None, "no build script"),
    ({**PKG, "dependencies": {"canvas": "2"}}, {}, None, "native modules"),
    (None, {"views/index.ejs": "x"}, None, "views/"),
    (None, {}, ('["node", "dist/server.js"]', '["node", "server.js"]'), "not inside"),
    (None, {}, ('["node", "dist/server.js"]', '["npm", "start"]'), "npm start"),
    (None, {}, ("WORKDIR /app\n", ""), "no WORKDIR"),
    (None, {}, ("RUN npm ci", "RUN npm ci\nRUN apt-get install -y libvips"), "may make"),
    (None, {}, ("COPY . .", "COPY . .\nUSER appuser"), "USER appuser"),
    (None, {}, ("COPY . .", "COPY . .\nCOPY nginx.conf /etc/nginx/"), "outside"),
])
def test_node_blockers(tmp_path: Path, pkg: dict[str, object] | None, extra: dict[str, str],
                       change: tuple[str, str] | None, reason: str) -> None:
    text = NODE.replace(*change) if change else NODE
    f = _only(text, _node_ctx(tmp_path, pkg, extra))
    assert f.fix is None and reason in f.message, f.message


def test_node_interpreted_no_finding(tmp_path: Path) -> None:
    # Production install, no native modules: nothing for a split to gain (DO605 moves it
    # to -slim). With devDependencies installed, see tests/test_split_node_prod.py.
    text = ("FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\n"
            "CMD [\"node\", \"server.js\"]\n")
    assert _findings(text, _node_ctx(tmp_path)) == []


def test_full_pipeline_node_user_once(tmp_path: Path) -> None:
    result = fix(NODE, path="Dockerfile", context=_node_ctx(tmp_path),
                 settings=settings_from_dict({"unsafe-fixes": True}, "t"))
    assert not result.errors
    tree = parse(result.text)
    assert len(tree.stages) == 2
    assert result.text.count("USER ") == 1  # DO604, on the runtime stage only
    assert [i.keyword for i in tree.stages[-1].body].count("USER") == 1


# --- corpus -----------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_splits_parse_and_are_idempotent(corpus_dockerfiles: list[Path],
                                                corpus_dir: Path) -> None:
    """Every corpus Dockerfile (no build context: splits are display-only), then the
    corpus apps with their build contexts: every split parses (ours and BuildKit's),
    adds one stage and is idempotent; counts per family."""
    counts: dict[str, dict[str, int]] = {}

    def check(path: Path, build: BuildContext | None) -> None:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        for f in _findings(text, build):
            named = re.search(r"ships the (.+?) toolchain", f.message)
            row = counts.setdefault(named.group(1) if named else "other",
                                    {"detected": 0, "split": 0, "suggestion": 0})
            row["detected"] += 1
            if f.fix is None or not f.fix.edits:
                row["suggestion"] += 1
                continue
            row["split"] += 1
            if build is None:
                assert f.fix.safety == Safety.DISPLAY_ONLY, path
            checked_output(text, f, build)

    for path in corpus_dockerfiles:
        check(path, None)
    no_context = {k: dict(v) for k, v in counts.items()}
    counts.clear()
    apps = corpus_dir / "apps" / "APPS.tsv"
    with_context = 0
    if apps.is_file():
        for row in apps.read_text(encoding="utf-8").splitlines()[1:]:
            cols = row.split("\t")
            df, folder = corpus_dir / cols[0], corpus_dir / cols[1]
            if df.is_file() and folder.is_dir():
                with_context += 1
                check(df, BuildContext(folder, dockerfile=str(df)))
    print(f"\nDO101 over {len(corpus_dockerfiles)} corpus files without context: "
          f"{no_context}\nDO101 over {with_context} corpus apps with their context: {counts}")
    for row_counts in [*no_context.values(), *counts.values()]:
        assert row_counts["detected"] == row_counts["split"] + row_counts["suggestion"]


def test_family_modules_load_only_when_needed() -> None:
    """The family modules are large: importing the transforms, and checking a file
    whose final stage is on no family's image, must not load them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from dockopt.rewriter.pipeline import check\n"
        "check('FROM alpine:3.19\\nRUN apk add --no-cache curl\\nCMD [\"sh\"]\\n')\n"
        "print(sorted(m for m in sys.modules if m.startswith('dockopt.transforms.split.')"
        " and m not in ('dockopt.transforms.split.common',"
        " 'dockopt.transforms.split.single_stage')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    code_go = code.replace("FROM alpine:3.19\\nRUN apk add --no-cache curl",
                           "FROM golang:1.22\\nRUN go build -o /app .")
    out = subprocess.run([sys.executable, "-c", code_go], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "['dockopt.transforms.split.go']"
