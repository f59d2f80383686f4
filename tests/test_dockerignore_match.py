"""``.dockerignore`` matching with Docker's exact semantics (``dockopt.rewriter.context``).

Every expected result comes from a named source:

- [PM] moby/patternmatcher ``patternmatcher_test.go``: ``TestMatches`` (run through
  ``MatchesOrParentMatches``: "exact" and "inexact" cases both expect True),
  ``TestMatch`` (Go's own ``filepath.Match`` table, reused there), the folder
  exception tests, and ``TestMatchesWithMalformedPatterns``;
- [IF] moby/patternmatcher ``ignorefile/ignorefile_test.go`` ``TestReadAll``;
- [DOC] Docker's documentation, "Build context" / ".dockerignore files" (examples
  ``*/temp*``, ``*/*/temp*``, ``temp?``, ``**/*.go``, the ``*.md`` / ``!README*.md``
  ordering examples, "/foo/bar and foo/bar both exclude ... bar in the foo
  subdirectory", "# in column 1 is a comment", "the pattern . is ignored").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockopt.rewriter.context import (
    BadPattern,
    BuildContext,
    PatternMatcher,
    go_clean,
    read_ignore_patterns,
)

# (patterns, path, excluded?, source)
CASES: list[tuple[list[str], str, bool, str]] = [
    # --- [PM] TestMatches (MatchesOrParentMatches: exact and inexact both match) ---
    (["**"], "file", True, "PM"),
    (["**"], "dir/file", True, "PM"),
    (["**/"], "dir/file", True, "PM"),
    (["**/**"], "dir/file", True, "PM"),
    (["dir/**"], "dir/file", True, "PM"),
    (["dir/**"], "dir/dir2/file", True, "PM"),
    (["**/dir"], "dir", True, "PM"),
    (["**/dir"], "dir/file", True, "PM"),  # inexact: a parent matches
    (["**/dir2/*"], "dir/dir2/file", True, "PM"),
    (["**/dir2/**"], "dir/dir2/dir3/file", True, "PM"),
    (["**file"], "file", True, "PM"),
    (["**file"], "dir/file", True, "PM"),
    (["**/file"], "dir/dir/file", True, "PM"),
    (["**/file*"], "dir/dir/file.txt", True, "PM"),
    (["**/file*txt"], "dir/dir/file.txt", True, "PM"),
    (["**/**/*.txt"], "dir/dir/file.txt", True, "PM"),
    (["**/**/*.txt2"], "dir/dir/file.txt", False, "PM"),
    (["**/*.txt"], "file.txt", True, "PM"),
    (["**/**/*.txt"], "file.txt", True, "PM"),
    (["a**/*.txt"], "a/file.txt", True, "PM"),
    (["a**/*.txt"], "a/dir/dir/file.txt", True, "PM"),
    (["a/*.txt"], "a/dir/file.txt", False, "PM"),
    (["a/*.txt"], "a/file.txt", True, "PM"),
    (["a/*.txt**"], "a/file.txt", True, "PM"),
    (["a[b-d]e"], "ae", False, "PM"),
    (["a[b-d]e"], "ace", True, "PM"),
    (["a[b-d]e"], "aae", False, "PM"),
    (["a[^b-d]e"], "aze", True, "PM"),
    ([".*"], ".foo", True, "PM"),
    ([".*"], "foo", False, "PM"),
    (["abc.def"], "abcdef", False, "PM"),
    (["abc.def"], "abc.def", True, "PM"),
    (["abc?def"], "abcZdef", True, "PM"),
    (["abc?def"], "abcdef", False, "PM"),
    (["**/foo/bar"], "dir/dir2/foo/bar", True, "PM"),
    (["abc/**"], "abc", False, "PM"),
    (["abc/**"], "abc/def/ghi", True, "PM"),
    (["**/.foo"], "bar.foo", False, "PM"),
    (["a(b)c/def"], "a(b)c/def", True, "PM"),
    (["a.|)$(}+{bc"], "a.|)$(}+{bc", True, "PM"),
    (["dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True, "PM"),
    (["a\\\\"], "a\\", True, "PM"),  # an escaped backslash (non-Windows)
    (["a\\*b"], "a*b", True, "PM"),  # "\" escapes "*"
    # multi-pattern cases
    (["**", "!util/docker/web"], "util/docker/web/foo", False, "PM"),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True, "PM"),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     False, "PM"),
    # folder exceptions: an exception re-includes a file inside an excluded folder
    (["docs", "!docs/README.md"], "docs/README.md", False, "PM"),
    (["docs/", "!docs/README.md"], "docs/README.md", False, "PM"),
    (["docs/*", "!docs/README.md"], "docs/README.md", False, "PM"),
    (["!fileutils.go", "*.go"], "fileutils.go", True, "PM"),
    (["*.go", "!fileutils.go"], "fileutils.go", False, "PM"),
    (["*"], "fileutils.go", True, "PM"),
    (["*.go"], ".", False, "PM"),  # the context root itself is never excluded
    # --- [PM] TestMatch (Go filepath.Match semantics, single component rules) ---
    (["a*"], "ab/c", True, "PM"),  # via the parent "ab"
    (["a*/b"], "a/c/b", False, "PM"),
    (["a*b*c*d*e*/f"], "axbxcxdxe/xxx/f", False, "PM"),
    (["ab[^c]"], "abc", False, "PM"),
    (["ab[^e-g]"], "abc", True, "PM"),
    (["a?b"], "a☺b", True, "PM"),
    (["a???b"], "a☺b", False, "PM"),
    (["a?b"], "a/b", False, "PM"),  # "?" never matches "/"
    (["a*b"], "a/b", False, "PM"),  # "*" never matches "/"
    (["[\\]a]"], "]", True, "PM"),
    (["[\\-]"], "-", True, "PM"),
    (["[x\\-]"], "z", False, "PM"),
    (["*x"], "xxx", True, "PM"),
    # --- [DOC] Docker documentation examples ---
    (["*/temp*"], "somedir/temporary.txt", True, "DOC"),
    (["*/temp*"], "somedir/temp", True, "DOC"),
    (["*/temp*"], "temporary.txt", False, "DOC"),
    (["*/*/temp*"], "somedir/subdir/temporary.txt", True, "DOC"),
    (["temp?"], "tempa", True, "DOC"),
    (["temp?"], "tempab", False, "DOC"),
    (["**/*.go"], "main.go", True, "DOC"),
    (["**/*.go"], "a/b/c.go", True, "DOC"),
    (["*.md", "!README.md"], "README.md", False, "DOC"),
    (["*.md", "!README.md"], "CHANGES.md", True, "DOC"),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True, "DOC"),
    (["*.md", "!README*.md", "README-secret.md"], "README-public.md", False, "DOC"),
    (["*.md", "README-secret.md", "!README*.md"], "README-secret.md", False, "DOC"),
    (["/foo/bar"], "foo/bar", True, "DOC"),
    (["foo/bar"], "foo/bar", True, "DOC"),
    (["foo/bar"], "x/foo/bar", False, "DOC"),  # neither excludes anything else
    (["."], "anything", False, "DOC"),  # "the pattern . is ignored"
    (["*", "!src"], "src/main.go", False, "DOC"),  # "*" then exceptions: an allow-list
    (["*", "!src"], "README.md", True, "DOC"),
    # cleaning (filepath.Clean): "./", "//", trailing "/" and ".." are normalized
    (["./node_modules"], "node_modules/x/index.js", True, "DOC"),
    (["a//b/"], "a/b/c", True, "DOC"),
    (["a/../b"], "b", True, "DOC"),
]


@pytest.mark.parametrize(("patterns", "path", "excluded", "source"), CASES,
                         ids=[f"{'|'.join(c[0])} {c[1]}" for c in CASES])
def test_docker_semantics(patterns: list[str], path: str, excluded: bool, source: str) -> None:
    # Patterns go through the same reader Docker uses for the file.
    lines = read_ignore_patterns("\n".join(patterns))
    assert PatternMatcher(lines).excludes(path) is excluded, source


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("bad", ["[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]",
                                 "\\", "[a-b-c]", "!"])
def test_bad_patterns_fail_like_docker(bad: str) -> None:
    # [PM] TestMatch ErrBadPattern rows, TestMatchesWithMalformedPatterns,
    # TestSingleExclamationError: Docker refuses to build with these.
    with pytest.raises(BadPattern):
        PatternMatcher([bad])


def test_read_all_like_ignorefile() -> None:
    # [IF] TestReadAll, plus the BOM and column-1 comment rules of ReadAll.
    content = ("test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n"
               "! /inverted/abs/path\n!\n! ")
    assert read_ignore_patterns(content) == [
        "test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]
    assert read_ignore_patterns("\ufeff# c\n  # not a comment\r\n") == ["# not a comment"]


def test_go_clean() -> None:
    assert go_clean("./a//b/") == "a/b"
    assert go_clean("../a") == "../a"
    assert go_clean("/../a") == "/a"
    assert go_clean("") == "."


def test_context_listing_size_and_symlinks(tmp_path: Path) -> None:
    (tmp_path / "ctx" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "ctx" / "node_modules" / "x" / "i.js").write_text("12345")
    (tmp_path / "ctx" / "app.js").write_text("1")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "big").write_text("x" * 100)
    (tmp_path / "ctx" / "link").symlink_to(tmp_path / "outside")
    ctx = BuildContext(tmp_path / "ctx")
    assert "link/big" not in ctx.files and "link" in ctx.files
    assert ctx.read_text("link/big") is None  # never read through an escaping link
    n, size = ctx.context_size([])
    assert n == 3
    assert ctx.context_size(["node_modules"]) == (2, size - 5)
    assert ctx.context_size(["*", "!app.js"]) == (1, 1)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)


def test_ecosystems_and_requirements_closure(tmp_path: Path) -> None:
    _write(tmp_path, {
        "package.json": '{"workspaces": {"packages": ["packages/*"]}}',
        "yarn.lock": "__metadata:\n  version: 6\n",
        ".yarnrc.yml": "nodeLinker: node-modules\n",
        ".yarn/releases/yarn-4.cjs": "x",
        "packages/a/package.json": "{}",
        "packages/b/package.json": "{}",
        "requirements.txt": "-r reqs/base.txt\n--constraint=constraints.txt\nflask\n",
        "reqs/base.txt": "-r ../requirements.txt\n-c common.txt\n",
        "reqs/common.txt": "",
        "constraints.txt": "",
        "pyproject.toml": "[tool.poetry]\nname = 'x'\n",
        "poetry.lock": "",
        "svc/go.mod": "module x\n",
        "svc/go.sum": "",
        "api/app.csproj": "<Project/>",
        "api/NuGet.config": "",
    })
    ctx = BuildContext(tmp_path)
    node = ctx.ecosystem_at("", "node")
    assert node is not None and node.lockfile == "yarn.lock"
    assert node.extra["yarn"] == "berry" and node.extra["manager"] == "yarn"
    assert node.extra["workspaces"] == ["packages/a", "packages/b"]
    assert "packages/a/package.json" in node.manifests
    assert ".yarn/releases/yarn-4.cjs" in node.manifests
    assert ctx.requirements_closure("requirements.txt") == [
        "requirements.txt", "reqs/base.txt", "reqs/common.txt", "constraints.txt"]
    py = ctx.ecosystem_at("", "python")
    assert py is not None and py.extra["tool"] == "poetry" and py.lockfile == "poetry.lock"
    go = ctx.ecosystem_at("svc")
    assert go is not None and go.manifests == ("svc/go.mod", "svc/go.sum")
    dotnet = ctx.ecosystem_at("api")
    assert dotnet is not None and dotnet.manifests == ("api/app.csproj", "api/NuGet.config")
    names = [(e.name, e.root) for e in ctx.ecosystems()]
    assert names == [("node", ""), ("python", ""), ("dotnet", "api"), ("go", "svc")]


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    # [DOC] "<Dockerfile>.dockerignore next to the Dockerfile takes precedence".
    _write(tmp_path, {".dockerignore": "a\n", "app.Dockerfile.dockerignore": "b\n",
                      "app.Dockerfile": "FROM scratch\n"})
    ctx = BuildContext(tmp_path, dockerfile=str(tmp_path / "app.Dockerfile"))
    assert ctx.ignore_file().rel == "app.Dockerfile.dockerignore"
    assert ctx.ignore_patterns() == ["b"]
    plain = BuildContext(tmp_path, dockerfile=str(tmp_path / "Dockerfile"))
    assert plain.ignore_file().rel == ".dockerignore"
