#!/usr/bin/env bash
# Runs the node specs again under Node-RED 5 on Node.js 22 (`npm run test:nr5`; .ci/run calls it).
# Node-RED 5 needs Node.js >= 22.9: it runs on the pinned Node.js 22 of .ci/node22 (scripts/node22.sh), the same
# one CI runs the main suite on, and comes from .ci/nr5, apart from the main install's Node-RED 4.1.
# test/support/runtime.ts reads NODE_RED_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

node22_bin=$(scripts/node22.sh)
export PATH="$node22_bin:$PATH"
if [ ! -d .ci/nr5/node_modules/node-red ] || [ .ci/nr5/package-lock.json -nt .ci/nr5/node_modules/.package-lock.json ]; then
  npm ci --prefix .ci/nr5 --no-audit --no-fund
fi
echo "Node.js $(node --version), Node-RED $(node -p "require('./.ci/nr5/node_modules/node-red/package.json').version")"

# Every spec file but demo.test.ts, which runs scripts/demo.ts on the devDependency (Node-RED 4.1) by design: the
# process-level specs start the Node-RED of NODE_RED_DIR (test/support/runtime.ts), the helper-level ones load it.
# --no-config: mocha would add .mocharc.json's spec (every file) to the files named here.
specs=$(ls test/*.test.ts | grep -v '^test/demo\.test\.ts$')
# shellcheck disable=SC2086
NODE_RED_DIR=.ci/nr5/node_modules/node-red node node_modules/.bin/mocha --no-config \
  --node-option import=tsx --extension ts --timeout 30000 \
  $specs "$@"
