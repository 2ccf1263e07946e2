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

# Only specs that load the nodes into the runtime under test: demo.test.ts runs scripts/demo.ts, which
# imports the devDependency (Node-RED 4.1), and support.test.ts checks the broker helpers, no Node-RED.
# --no-config: mocha would add .mocharc.json's spec (every file) to the files named here.
NODE_RED_DIR=.ci/nr5/node_modules/node-red node node_modules/.bin/mocha --no-config \
  --node-option import=tsx --extension ts --timeout 30000 --exit \
  test/topic.test.ts test/session.test.ts test/ack-gate.test.ts test/broker.test.ts test/consumer.test.ts test/ack-modes.test.ts test/completion.test.ts \
  test/dynamic-subscriptions.test.ts test/broker-failures.test.ts test/outbox.test.ts test/publisher.test.ts test/packaging.test.ts "$@"
