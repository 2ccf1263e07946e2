// Consumer process for the Node-RED contestants: Node-RED 4 with this package and a prepared flow.
// The sink function node reaches the bench's Sink through the global context key "bench".
import RED from 'node-red';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { installBenchNodes } from './bench-nodes';
import { childArgs, linkSink, reportStarted } from './ipc';

const REPO_ROOT = resolve(__dirname, '..');
const args = childArgs();
if (!args.userDir) throw new Error('nodered-child needs userDir');

const sink = linkSink(args, () => RED.stop());
// The light counting sink and the ideal thin node, for the flows that use them.
installBenchNodes(args.userDir);

// The server is never listened on: with httpAdminRoot false the runtime only keeps a reference.
const settings: Parameters<typeof RED.init>[1] & Record<string, unknown> = {
  // Required by the typings; nothing listens, as there is no editor or HTTP node root.
  uiHost: '127.0.0.1',
  uiPort: 0,
  userDir: args.userDir,
  flowFile: 'flows.json',
  credentialSecret: 'bench',
  // Loads this package straight from the repository (dist/durable-mqtt.js), as scripts/demo.ts does.
  nodesDir: REPO_ROOT,
  // No editor, no admin API, no HTTP server: only the runtime and the flow.
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  functionGlobalContext: { bench: sink.record },
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  telemetry: { enabled: false, updateNotification: false },
};
RED.init(createServer(), settings);

RED.start().then(reportStarted, (err: unknown) => {
  console.error(`Node-RED did not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
