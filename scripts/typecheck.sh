#!/usr/bin/env bash
# mypy --strict over the three packages, checked under their installed names
# (dockopt.rewriter, dockopt.transforms, dockopt.templates).
#
# The folders live at the repo top and are mapped by setuptools' package-dir; mypy
# does not understand editable-install import hooks, so we give it a shim tree of
# symlinks: build/mypy-src/dockopt/<pkg> -> ../../../<pkg>. `dockopt` itself stays an
# implicit namespace package, as it is when installed. Reported paths are rewritten
# back to the real files (rewriter/cli/main.py, not build/mypy-src/dockopt/rewriter/cli/main.py).
set -euo pipefail
cd "$(dirname "$0")/.."

shim=build/mypy-src/dockopt
mkdir -p "$shim"
for pkg in rewriter transforms templates; do
  ln -sfn "../../../$pkg" "$shim/$pkg"
done

"${PYTHON:-python}" -m mypy --strict \
  -p dockopt.rewriter -p dockopt.transforms -p dockopt.templates "$@" \
  | sed "s#^$shim/##"
