#!/usr/bin/env bash
# Prints the bin directory of the pinned Node.js 22 in .ci/node22 (the npm package `node`), installing it on first use.
# CI runs the main suite and the Node-RED 5 run on it: put the directory first on PATH, or run its `node`.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.ci/node22
if [ ! -x $dir/node_modules/.bin/node ] || [ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]; then
  npm ci --prefix $dir --no-audit --no-fund >&2
fi
# bin/ holds only the `node` binary, so npm and npx stay the caller's own, run by this Node.js.
echo "$PWD/$dir/node_modules/node/bin"
