"""The documented Neovim setup (docs/editors.md), in a real headless Neovim.

The Lua block under "Neovim 0.7 to 0.10" is taken from the docs as written (so the
docs cannot drift from what is tested), with `dockopt` pointing at this
environment's executable. Neovim's own LSP client then talks to `dockopt server`:
diagnostics arrive, `source.fixAll.dockopt` is resolved and applied, and the written
file must equal what `dockopt fix` writes. Skipped where Neovim is not installed
(CI installs Debian's package).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ("FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n"
              "CMD [\"curl\", \"--version\"]\n")

pytestmark = pytest.mark.skipif(shutil.which("nvim") is None,
                                reason="Neovim is not installed (apt-get install neovim)")


def _documented_setup() -> str:
    text = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    section = text.split("### Neovim 0.7 to 0.10", 1)[1]
    m = re.search(r"```lua\n(.*?)```", section, re.S)
    assert m, "docs/editors.md lost its Neovim 0.7-0.10 block"
    exe = Path(sys.executable).parent / "dockopt"
    assert '{ "dockopt", "server" }' in m.group(1)
    return m.group(1).replace('{ "dockopt", "server" }', f'{{ "{exe}", "server" }}')


def test_neovim_gets_diagnostics_and_applies_fix_all(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "Dockerfile").write_text(DOCKERFILE)
    (work / ".dockopt.toml").write_text('ignore = ["DO603"]\n')
    init = tmp_path / "init.lua"
    init.write_text(_documented_setup())
    out = tmp_path / "report.json"
    env = {**os.environ, "DOCKOPT_NVIM_OUT": str(out), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state")}
    subprocess.run(["nvim", "--headless", "-n", "-i", "NONE", "-u", str(init), "Dockerfile",
                    "-c", f"luafile {ROOT / 'tests' / 'data' / 'nvim' / 'drive.lua'}"],
                   cwd=work, env=env, timeout=120, capture_output=True, check=False)
    report = json.loads(out.read_text())
    assert report["errors"] == []
    codes = {d["code"] for d in report["diagnostics"]}
    assert {"DO202", "DO201", "DO204"} <= codes, report["diagnostics"]
    assert report["actions"], "no source.fixAll action offered"
    # What the editor wrote equals what the CLI writes.
    expected = tmp_path / "cli"
    expected.mkdir()
    (expected / "Dockerfile").write_text(DOCKERFILE)
    (expected / ".dockopt.toml").write_text('ignore = ["DO603"]\n')
    subprocess.run([sys.executable, "-m", "dockopt.rewriter", "fix", "Dockerfile"],
                   cwd=expected, capture_output=True, timeout=120, check=False)
    written = (work / "Dockerfile").read_text()
    assert written != DOCKERFILE
    assert written == (expected / "Dockerfile").read_text()
