#!/usr/bin/env bash
# Runs the session-level specs against the newest MQTT.js 5.x (`npm run test:mqtt-latest`; .ci/run calls it).
# package.json pins mqtt exactly, as Node-RED core does; this run shows early when a newer 5.x changes
# what the session relies on (packetsend before the write, packetreceive before the ack, KeepaliveManager).
set -euo pipefail
cd "$(dirname "$0")/.."

pinned=$(node -p "require('./package.json').dependencies.mqtt")
latest=$(npm view 'mqtt@5' version --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log(Array.isArray(v)?v[v.length-1]:v)})")
restore() { npm install --no-save --no-audit --no-fund "mqtt@$pinned" >/dev/null; }
trap restore EXIT
echo "MQTT.js $latest (pinned: $pinned)"
npm install --no-save --no-audit --no-fund "mqtt@$latest" >/dev/null
# --no-config: mocha would add .mocharc.json's spec (every file) to the files named here.
node_modules/.bin/mocha --no-config --node-option import=tsx --extension ts --timeout 30000 \
  test/session.test.ts test/connection.test.ts test/subscriptions.test.ts test/refusals.test.ts test/flow-control.test.ts \
  test/ack-gate.test.ts test/redelivery.test.ts "$@"
