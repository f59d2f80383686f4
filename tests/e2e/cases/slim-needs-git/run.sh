#!/bin/sh
# Needs git at run time, which node:18 has and node:18-slim does not: DO605's switch
# to -slim cannot see inside this script, so only a real run shows the break.
set -e
git --version >/dev/null
echo "ok: git is there"
