// What ours costs inside Node-RED alone, without a socket or a broker: the receive path, the same with five no-op runtime hooks, and the complete path.
//
//   npm run bench:runtime -- [messages] [rounds]        (LOOP_DIST=<dir> measures another build of dist/)
//
// A source node feeds the consumer's own code from dist/ (AckGate, toMessage, message ids,
// AckAfterComplete with the shared CompletionTracker) into a light sink, at most 20 unsettled
// messages at a time and 20 per turn of the event loop, like Mosquitto's default window. No
// network, so the CPU time per message barely moves between runs: it shows what the hooks and the
// tracking cost, which the drains' per-turn costs (reads, writes, epoll) hide.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MODES = ['receive', 'hooks', 'complete'] as const;
type Mode = (typeof MODES)[number];
const REPO_ROOT = resolve(__dirname, '..');
const DIST = process.env.LOOP_DIST ?? join(REPO_ROOT, 'dist');
/** Unsettled messages at most, and new ones per turn: Mosquitto's max_inflight_messages default. */
const WINDOW = 20;

/** The source node, written into the child's user directory; it requires the package's dist/ modules. */
const SOURCE = `module.exports = function (RED) {
  RED.nodes.registerType('loop-source', function (def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const { n, mode, dist, window } = JSON.parse(process.env.LOOP_ARGS);
    const { AckGate } = require(dist + '/session/inbound/ack-gate.js');
    const { toMessage } = require(dist + '/consumer/message.js');
    const newId = require(dist + '/consumer/message-id.js').messageIds();
    let acks;
    if (mode === 'complete') {
      const { AckAfterComplete } = require(dist + '/acks/ack-after-complete.js');
      const tracker = require(dist + '/acks/flow-hooks.js').acquireTracker(RED);
      // send() is given the job since the dead letters (its msg on its output); builds before that gave the msg.
      acks = new AckAfterComplete(tracker, { maxInFlight: 10, timeoutMs: 30000, ackOnError: true }, { send: (j) => node.send(j.msg ?? j), newId, changed() {}, stalled() {} });
    } else if (mode === 'hooks') {
      for (const h of ['onSend', 'preDeliver', 'onReceive', 'postReceive', 'onComplete']) RED.hooks.add(h + '.loop', (_ev) => undefined);
    }
    const ack = Buffer.from([0x40, 2, 0, 1]);
    let acked = 0;
    const gate = new AckGate(() => acked++);
    const payload = Buffer.alloc(64, 'x');
    let sent = 0, received = 0, began, cpu;
    global.loopReceived = () => {
      if (++received < n) return;
      setImmediate(() => {
        const used = process.cpuUsage(cpu);
        const wallNs = Number(process.hrtime.bigint() - began);
        process.send({ cpuUsPerMsg: (used.user + used.system) / n, wallUsPerMsg: wallNs / 1000 / n, acked });
      });
    };
    const feed = () => {
      for (let k = 0; k < window && gate.pending < window && sent < n; k++) {
        const id = (sent++ % 65535) + 1;
        gate.expect(id);
        gate.offer(id, ack);
        const settle = (verdict) => gate.settle(id, verdict);
        const msg = toMessage('bench/loop', payload.toString('utf8'), { qos: 1, retain: false });
        if (acks) acks.offer({ msg, settle });
        else { msg._msgid = newId(); node.send(msg); settle('ack'); }
      }
      if (sent < n) setImmediate(feed);
    };
    RED.events.once('flows:started', () => setTimeout(() => { began = process.hrtime.bigint(); cpu = process.cpuUsage(); feed(); }, 300));
  });
};
`;
const SINK = `module.exports = function (RED) {
  RED.nodes.registerType('loop-sink', function (def) {
    RED.nodes.createNode(this, def);
    this.on('input', (_msg, _send, done) => { global.loopReceived(); done(); });
  });
};
`;

interface Run {
  cpuUsPerMsg: number;
  wallUsPerMsg: number;
  acked: number;
}

/** Child: Node-RED in this process with a source wired to a sink, reporting over IPC. */
async function child(): Promise<void> {
  const { userDir } = JSON.parse(process.env.LOOP_ARGS ?? '{}') as { userDir: string };
  const { default: RED } = await import('node-red');
  const { createServer } = await import('node:http');
  RED.init(createServer(), {
    uiHost: '127.0.0.1',
    uiPort: 0,
    userDir,
    credentialSecret: 'bench',
    flowFile: 'flows.json',
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    logging: { console: { level: 'error', metrics: false, audit: false } },
    telemetry: { enabled: false, updateNotification: false },
  } as Parameters<typeof RED.init>[1] & Record<string, unknown>);
  await RED.start();
}

async function runOnce(mode: Mode, n: number): Promise<Run> {
  const userDir = mkdtempSync(join(tmpdir(), 'durable-loop-'));
  try {
    mkdirSync(join(userDir, 'nodes'));
    for (const [type, code] of [['loop-source', SOURCE], ['loop-sink', SINK]]) {
      writeFileSync(join(userDir, 'nodes', `${type}.js`), code);
      writeFileSync(join(userDir, 'nodes', `${type}.html`), `<script type="text/javascript">RED.nodes.registerType('${type}', { category: 'bench', defaults: {} });</script>\n`);
    }
    const flow = [
      { id: 'loop-tab', type: 'tab', label: 'loop' },
      { id: 'loop-src', type: 'loop-source', z: 'loop-tab', wires: [['loop-snk']] },
      { id: 'loop-snk', type: 'loop-sink', z: 'loop-tab', wires: [] },
    ];
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow));
    const proc = spawn(process.execPath, ['--import', 'tsx', __filename, '--child'], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOOP_ARGS: JSON.stringify({ n, mode, dist: DIST, window: WINDOW, userDir }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return await new Promise<Run>((done, fail) => {
      proc.once('message', (m: Run) => {
        proc.kill();
        done(m);
      });
      proc.once('exit', (code) => fail(new Error(`loop ${mode} exited with ${code} before reporting`)));
    });
  } finally {
    rmSync(userDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 300_000);
  const rounds = Number(process.argv[3] ?? 3);
  const cpu: Record<Mode, number[]> = { receive: [], hooks: [], complete: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of MODES) {
      const run = await runOnce(mode, n);
      if (run.acked !== n) throw new Error(`${mode}: ${run.acked} of ${n} acked`);
      cpu[mode].push(run.cpuUsPerMsg);
    }
  }
  console.log(`Node-RED alone, ${n} msgs, ${rounds} rounds: CPU µs/msg, median (min–max)`);
  for (const mode of MODES) {
    const xs = cpu[mode];
    console.log(`  ${mode.padEnd(9)} ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`);
  }
  console.log(`  complete − receive: ${(median(cpu.complete) - median(cpu.receive)).toFixed(2)} µs/msg, of which the five hooks alone: ${(median(cpu.hooks) - median(cpu.receive)).toFixed(2)}`);
}

if (process.argv.includes('--child')) void child();
else void main();
