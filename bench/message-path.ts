// Counts the calls into the package's own code per message bridged (durable mqtt in → durable mqtt out, one broker config, ackMode complete), and the files they fall in: V8's precise coverage over N messages.
//
// npx tsx bench/message-path.ts [N] [repo]   (the repo's dist/ is what is counted: run `npm run build` first)
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const n = Number(process.argv[2] ?? 2000);
const repo = resolve(process.argv[3] ?? '.');
// Everything from the repo measured, so an older checkout counts with its own Node-RED, MQTT.js and Aedes.
const need = createRequire(join(repo, 'package.json'));
// Typed as this checkout's versions; the measured checkout's own are what runs.
const helper = need('node-red-node-test-helper') as typeof import('node-red-node-test-helper');
const mqtt = need('mqtt') as typeof import('mqtt');
const { Aedes } = need('aedes') as typeof import('aedes');
type Registration = (RED: { hooks?: unknown }) => void;

interface FunctionCoverage { functionName: string; ranges: { count: number }[] }
interface ScriptCoverage { url: string; functions: FunctionCoverage[] }

async function main(): Promise<void> {
  helper.init(need.resolve('node-red'));
  const userDir = mkdtempSync(join(tmpdir(), 'durable-path-'));
  helper.settings({ userDir });
  const broker = await Aedes.createBroker();
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const nodes = need(join(repo, 'dist/durable-mqtt.js')) as Registration | { default: Registration };
  const register = 'default' in nodes ? nodes.default : nodes;
  // The test helper's RED has no hooks; a runtime's are what complete mode counts deliveries with.
  const hooks = (createRequire(need.resolve('node-red'))('@node-red/util') as typeof import('@node-red/util')).hooks;
  const withHooks = (RED: { hooks?: unknown }): void => {
    RED.hooks ??= hooks;
    register(RED);
  };
  const flow = [
    { id: 'tab', type: 'tab' },
    { id: 'conn', type: 'durable-mqtt-broker', broker: url, clientId: 'path-count', cleanSession: false, protocolVersion: 4, version: 1 },
    { id: 'in', type: 'durable-mqtt-in', z: 'tab', broker: 'conn', topic: 'path/src', qos: 1, datatype: 'utf8', ackMode: 'complete', version: 1, wires: [['out']] },
    { id: 'out', type: 'durable-mqtt-out', z: 'tab', broker: 'conn', topic: 'path/dst', qos: '1', wires: [] },
  ];
  await new Promise<void>((r) => helper.startServer(r));
  await helper.load(withHooks, flow);
  const far = await mqtt.connectAsync(url, { clean: true });
  let arrived = 0;
  far.on('message', () => arrived++);
  await far.subscribeAsync('path/dst', { qos: 1 });
  const pub = await mqtt.connectAsync(url, { clean: true });
  const send = async (count: number): Promise<void> => {
    const target = arrived + count;
    for (let i = 0; i < count; i++) await pub.publishAsync('path/src', `m${i}`, { qos: 1 });
    while (arrived < target) await new Promise((r) => setTimeout(r, 20));
    // Every ack settled: the in node's PUBACKs and the outbox's removals come just after the last arrival.
    await new Promise((r) => setTimeout(r, 500));
  };
  await send(200); // warm-up: connection, subscriptions, first-time paths
  const inspector = new Session();
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  await inspector.post('Profiler.takePreciseCoverage'); // resets the counters
  await send(n);
  const { result } = (await inspector.post('Profiler.takePreciseCoverage')) as unknown as { result: ScriptCoverage[] };
  await inspector.post('Profiler.stopPreciseCoverage');
  const dist = join(repo, 'dist');
  const perFile = new Map<string, number>();
  for (const script of result) {
    if (!script.url.startsWith('file://')) continue;
    const file = fileURLToPath(script.url);
    if (!file.startsWith(dist + '/')) continue;
    // The first range of a function counts its calls; the script's own top level is not a call per message.
    const calls = script.functions.filter((f) => f.functionName !== '').reduce((s, f) => s + f.ranges[0].count, 0);
    if (calls > 0) perFile.set(relative(dist, file), calls);
    if (process.env.PATH_FUNCTIONS) for (const f of script.functions) if (f.functionName && f.ranges[0].count >= n) console.log(`${(f.ranges[0].count / n).toFixed(2).padStart(8)}  ${relative(dist, file)} ${f.functionName}`);
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, c]) => s + c, 0);
  const folders = new Set(rows.filter(([, c]) => c >= n).map(([f]) => f.split('/').slice(0, -1).join('/')));
  console.log(`${n} messages, ${repo}`);
  for (const [file, calls] of rows) console.log(`${(calls / n).toFixed(2).padStart(8)}  ${file}`);
  console.log(`calls into the package per message: ${(total / n).toFixed(1)}; files with at least one call per message: ${rows.filter(([, c]) => c >= n).length} in ${folders.size} folders; files touched at all: ${rows.length}`);
  await far.endAsync();
  await pub.endAsync();
  await helper.unload();
  await new Promise<void>((r) => helper.stopServer(r));
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => broker.close(() => r()));
  rmSync(userDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
