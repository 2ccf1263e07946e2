// Publisher process for the publish scenario: Node-RED with one out node (core `mqtt out` or ours); feeds it msgs and times until each has called done().
import RED from 'node-red';
import { createServer } from 'node:http';
import { resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..');
const { userDir, n, warm, size } = JSON.parse(process.argv[2] ?? '{}') as { userDir: string; n: number; warm: number; size: number };
/** Msgs handed to the node per turn of the event loop, so feeding does not starve the socket. */
const FEED_CHUNK = 500;
/**
 * Most msgs handed over and not yet done(), as a durable mqtt in upstream would bound them. Without
 * a bound, core hands tens of thousands of publishes to MQTT.js at once, and a 20,000 run here
 * never saw every done().
 */
const FEED_WINDOW = 2000;

let completed = 0;
let waiting: { target: number; resolve: () => void } | undefined;
const record = (): void => {
  completed++;
  if (waiting && completed >= waiting.target) waiting.resolve();
};

const settings: Parameters<typeof RED.init>[1] & Record<string, unknown> = {
  uiHost: '127.0.0.1',
  uiPort: 0,
  userDir,
  flowFile: 'flows.json',
  credentialSecret: 'bench',
  nodesDir: REPO_ROOT,
  httpAdminRoot: false,
  httpNodeRoot: false,
  disableEditor: true,
  functionGlobalContext: { benchDone: record },
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  telemetry: { enabled: false, updateNotification: false },
};
RED.init(createServer(), settings);

type OutNode = { receive(msg: object): void };

/** The out node, once the runtime has started the flow (RED.start resolves before that). */
async function outNode(): Promise<OutNode> {
  const nodes = RED.nodes as unknown as { getNode(id: string): OutNode | null };
  for (;;) {
    const node = nodes.getNode('bench-out');
    if (node) return node;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Hands `count` msgs to the out node and resolves once the complete node has seen every one of them. */
async function feed(count: number): Promise<number> {
  const out = await outNode();
  const payload = Buffer.alloc(size, 'x');
  const target = completed + count;
  const done = new Promise<void>((r) => (waiting = { target, resolve: r }));
  const began = process.hrtime.bigint();
  const start = completed;
  for (let i = 0; i < count; i += FEED_CHUNK) {
    while (i - (completed - start) >= FEED_WINDOW) await new Promise((r) => setImmediate(r));
    for (let j = i; j < Math.min(count, i + FEED_CHUNK); j++) out.receive({ payload });
    await new Promise((r) => setImmediate(r));
  }
  await done;
  return Number(process.hrtime.bigint() - began) / 1e9;
}

RED.start()
  .then(async () => {
    // The warm-up also waits for the connection: done() comes only after the broker's ack.
    await feed(warm);
    const seconds = await feed(n);
    console.log(`RESULT ${JSON.stringify({ n, seconds, rate: n / seconds })}`);
    // No RED.stop(): a clean close of the core broker node can wait for ever, and the figure is in.
    process.exit(0);
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
