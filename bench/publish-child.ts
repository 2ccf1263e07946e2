// Publisher process for the publish scenario: Node-RED with one out node (core `mqtt out` or ours); feeds it msgs and times until each has called done().
import RED from 'node-red';
import { readdirSync, readFileSync } from 'node:fs';
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

/** Linux's USER_HZ: /proc counts thread CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds of the main thread and of all other threads (V8's GC helpers, libuv's pool with
 * LevelDB's writes and fsyncs), from /proc: it tells JavaScript work from work beside it.
 */
function threadCpu(): { main: number; others: number } {
  const out = { main: 0, others: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields 14 and 15 (utime, stime), counted after the parenthesised command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    if (tid === String(process.pid)) out.main += seconds;
    else out.others += seconds;
  }
  return out;
}

let completed = 0;
let wake: { at: number; resolve: () => void } | undefined;
const record = (): void => {
  completed++;
  if (wake && completed >= wake.at) {
    wake.resolve();
    wake = undefined;
  }
};
/** Resolves once `at` msgs have completed; waits without spinning, since the CPU time is measured. */
const completedReach = (at: number): Promise<void> => (completed >= at ? Promise.resolve() : new Promise<void>((r) => (wake = { at, resolve: r })));

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
type BrokerNode = { type: string; connected?: boolean };
const POLL_MS = 50;
const getNode = <T>(id: string): T | null => (RED.nodes as unknown as { getNode(id: string): T | null }).getNode(id);

/** The out node, once the runtime has started the flow (RED.start resolves before that). */
async function outNode(): Promise<OutNode> {
  for (;;) {
    const node = getNode<OutNode>('bench-out');
    if (node) return node;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Core's out node ignores a msg that comes while its broker is not connected: no publish and no
 * done() (10-mqtt.js, `node.publish`), so a warm-up fed too early never completes. Ours keeps such
 * msgs in the outbox, so for it the warm-up itself waits for the connection.
 */
async function coreConnected(): Promise<void> {
  for (;;) {
    const broker = getNode<BrokerNode>('bench-broker');
    if (broker && (broker.type !== 'mqtt-broker' || broker.connected === true)) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Hands `count` msgs to the out node; resolves once the complete node has seen every one of them, with the wall and CPU time it took. */
async function feed(count: number): Promise<{ seconds: number; cpuSeconds: number; threads: { main: number; others: number }; window: [number, number] }> {
  const out = await outNode();
  const payload = Buffer.alloc(size, 'x');
  const began = process.hrtime.bigint();
  // The whole process, so LevelDB's and libuv's threads (the fsyncs) count too.
  const cpuBefore = process.cpuUsage();
  const threadsBefore = threadCpu();
  const start = completed;
  for (let i = 0; i < count; i += FEED_CHUNK) {
    await completedReach(start + i - FEED_WINDOW + 1);
    for (let j = i; j < Math.min(count, i + FEED_CHUNK); j++) out.receive({ payload });
    await new Promise((r) => setImmediate(r));
  }
  await completedReach(start + count);
  const cpu = process.cpuUsage(cpuBefore);
  const threadsAfter = threadCpu();
  const threads = { main: threadsAfter.main - threadsBefore.main, others: threadsAfter.others - threadsBefore.others };
  const ended = process.hrtime.bigint();
  // Monotonic µs, the clock of a --cpu-prof profile's timestamps, so its samples can be cut to this window.
  const window: [number, number] = [Number(began / 1000n), Number(ended / 1000n)];
  return { seconds: Number(ended - began) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6, threads, window };
}

RED.start()
  .then(async () => {
    await coreConnected();
    await feed(warm);
    const { seconds, cpuSeconds, threads, window } = await feed(n);
    const perMsg = (s: number): number => (s * 1e6) / n;
    console.log(`RESULT ${JSON.stringify({ n, seconds, rate: n / seconds, cpuUsPerMsg: perMsg(cpuSeconds), mainUsPerMsg: perMsg(threads.main), othersUsPerMsg: perMsg(threads.others), window })}`);
    // No RED.stop(): a clean close of the core broker node can wait for ever, and the figure is in.
    process.exit(0);
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  });
