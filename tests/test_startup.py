"""What `dockopt fix -` pays for at start-up (issue 15): the fast path imports no
module it does not need.  Timings are the bench's (bench/check.py); here only the
imports are checked, which is deterministic."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from dockopt.rewriter import shell


def test_bash_grammar_loads_without_the_package_init() -> None:
    import tree_sitter
    import tree_sitter_bash

    ours = tree_sitter.Language(shell._bash_language())
    assert ours == tree_sitter.Language(tree_sitter_bash.language())
    assert ours.node_kind_count > 100


def test_fixing_stdin_imports_no_template_engine_or_resource_reader(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "dockopt.rewriter",
                           "fix", "--diff", "-"], cwd=tmp_path, capture_output=True,
                          input=b"FROM debian:12\nMAINTAINER x\nRUN apt-get install -y curl\n",
                          check=False)
    assert done.returncode == 1, done.stderr.decode()[-2000:]  # a diff: the rules ran
    assert b"DO401" in done.stdout or b"MAINTAINER" in done.stdout
    loaded = set(re.findall(r"import time:.*\| *(\S+)$", done.stderr.decode(), re.M))
    # The shell was parsed (tree_sitter), without the grammar package's __init__
    # (importlib.resources, tempfile, ...); no template was rendered (jinja2); stdin
    # never uses the results cache, so neither it nor hashlib and pickle are loaded.
    assert "tree_sitter" in loaded
    unneeded = {"tree_sitter_bash", "importlib.resources", "jinja2",
                "dockopt.rewriter.result_cache", "hashlib", "pickle"}
    assert not loaded & unneeded, sorted(loaded & unneeded)
