#!/bin/sh
# summarize: print a one-line summary of a JSON array of orders (uses jq).
set -eu
VERSION=0.3.0
if [ "${1:-}" = "--version" ]; then
    echo "summarize $VERSION ($(jq --version))"
    exit 0
fi
file=${1:-/opt/tool/sample.json}
jq -r -f /opt/tool/summary.jq "$file"
