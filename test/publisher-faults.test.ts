// Process-level faults for durable-mqtt-out: Node-RED killed (SIGKILL) with messages in its outbox, and an in → delay → out bridge killed mid-stream.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoHandle } from './support/mosquitto';
import { startNodeRed, type FlowNode, type NodeRedProcess } from './support/nodered-process';
import { until } from './support/nodered';
import { publishMany } from './support/publisher';
import { figures, tally } from './support/sink';

const TAB = 'pub-tab';

/** A persistent subscriber (clean session off) that records each payload as a number, in arrival order. */
async function persistentSubscriber(url: string, topic: string, clientId: string): Promise<{ seen: number[]; end: () => Promise<void> }> {
  const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 200 });
  client.on('error', () => undefined);
  const seen: number[] = [];
  client.on('message', (_t, payload) => seen.push(Number(payload.toString())));
  await client.subscribeAsync(topic, { qos: 1 });
  return { seen, end: () => client.endAsync() };
}

/** True when the first arrival of each number comes in increasing order: resends may repeat, never reorder. */
function firstArrivalsInOrder(seen: number[]): boolean {
  const first: number[] = [];
  const met = new Set<number>();
  for (const n of seen) {
    if (met.has(n)) continue;
    met.add(n);
    first.push(n);
  }
  return first.every((n, i) => i === 0 || n > first[i - 1]);
}

/** POST /feed?n=N → a function node sends payloads 0..N-1 into durable-mqtt-out; a status node records its badge in a file. */
function feedFlow(brokerUrl: string, clientId: string, topic: string, statusFile: string): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'publisher faults' },
    { id: 'conn', type: 'durable-mqtt-broker', broker: brokerUrl, clientId, backoffMin: 0.2, backoffMax: 1 },
    { id: 'feed', type: 'http in', z: TAB, url: '/feed', method: 'post', wires: [['split']] },
    {
      id: 'split', type: 'function', z: TAB, outputs: 2, wires: [['out'], ['reply']],
      func: 'const n = Number(msg.req.query.n);\nfor (let i = 0; i < n; i++) node.send([{ payload: String(i) }, null]);\nreturn [null, msg];',
    },
    { id: 'reply', type: 'http response', z: TAB, statusCode: '204', wires: [] },
    { id: 'out', type: 'durable-mqtt-out', z: TAB, broker: 'conn', topic, qos: '1', wires: [] },
    { id: 'badge', type: 'status', z: TAB, scope: ['out'], wires: [['badge-text']] },
    { id: 'badge-text', type: 'change', z: TAB, rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'status.text', tot: 'msg' }], wires: [['badge-file']] },
    { id: 'badge-file', type: 'file', z: TAB, filename: statusFile, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
  ];
}

/** durable-mqtt-in on one broker → delay (rate) → durable-mqtt-out on another: the bridge of examples/bridge.json. */
function bridgeFlow(source: string, target: string, name: string, rate: number): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'bridge' },
    { id: 'src', type: 'durable-mqtt-broker', broker: source, clientId: `${name}-src`, backoffMin: 0.2, backoffMax: 1 },
    { id: 'dst', type: 'durable-mqtt-broker', broker: target, clientId: `${name}-dst`, backoffMin: 0.2, backoffMax: 1 },
    { id: 'bridge-in', type: 'durable-mqtt-in', z: TAB, broker: 'src', topic: `${name}/in`, qos: 1, datatype: 'utf8', wires: [['bridge-delay']] },
    {
      id: 'bridge-delay', type: 'delay', z: TAB, pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds', rate: String(rate), nbRateUnits: '1',
      rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, allowrate: false, outputs: 1, wires: [['bridge-out']],
    },
    { id: 'bridge-out', type: 'durable-mqtt-out', z: TAB, broker: 'dst', topic: `${name}/out`, qos: '1', wires: [] },
  ];
}

describe('durable-mqtt-out faults (Node-RED as a process, Mosquitto)', function () {
  this.timeout(240_000);
  let dir = '';
  let red: NodeRedProcess | undefined;
  const brokers: MosquittoHandle[] = [];
  const ends: (() => Promise<void>)[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-pub-faults-'));
  });
  afterEach(async () => {
    await red?.kill('SIGKILL');
    for (const end of ends.splice(0)) await end().catch(() => undefined);
    for (const b of brokers.splice(0)) await b.stop('SIGKILL');
    red = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message accepted while the broker was down, in order, after Node-RED is killed (SIGKILL) and both come back', async () => {
    const N = 1000;
    const target = await startMosquitto();
    brokers.push(target);
    const port = target.port;
    await target.stop();
    const statusFile = join(dir, 'badge.log');
    red = await startNodeRed({ flow: feedFlow(`mqtt://127.0.0.1:${port}`, `pubfault-${process.pid}`, 'pubfault/down', statusFile), userDir: join(dir, 'userdir') });
    const res = await fetch(`${red.url}/feed?n=${N}`, { method: 'POST' });
    assert.equal(res.status, 204);
    // The badge reaches "… · 1000 queued" once every message is in the outbox on disk.
    await until(() => existsSync(statusFile) && readFileSync(statusFile, 'utf8').includes(`${N} queued`), `the badge to show ${N} queued`, 60_000);
    await red.kill('SIGKILL');

    const back = await startMosquitto({ port });
    brokers.push(back);
    const sub = await persistentSubscriber(back.url, 'pubfault/down', `pubfault-sub-${process.pid}`);
    ends.push(sub.end);
    await red.start();
    await until(() => tally(N, sub.seen).lost === 0, `all ${N} at the subscriber`, 120_000);
    const t = tally(N, sub.seen);
    console.log(`      broker down, SIGKILL, both back: ${figures(t)}`);
    assert.equal(t.lost, 0);
    assert.ok(firstArrivalsInOrder(sub.seen), 'messages arrived in the order they were accepted');
  });

  it('loses nothing end to end when an in → delay → out bridge is killed (SIGKILL) mid-stream', async () => {
    const N = 2000;
    const source = await startMosquitto();
    const target = await startMosquitto();
    brokers.push(source, target);
    const name = `bridge${process.pid}`;
    const sub = await persistentSubscriber(target.url, `${name}/out`, `${name}-sub`);
    ends.push(sub.end);
    red = await startNodeRed({ flow: bridgeFlow(source.url, target.url, name, 500), userDir: join(dir, 'userdir') });
    await red.untilLogged(/\] subscribed bridge/);
    const publishing = publishMany(source.url, `${name}/in`, N, { qos: 1 });
    await until(() => sub.seen.length >= N / 4, 'a quarter bridged', 60_000);
    await red.kill('SIGKILL');
    await publishing;
    await red.start();
    await until(() => tally(N, sub.seen).lost === 0, `all ${N} bridged`, 180_000).catch(() => undefined);
    const t = tally(N, sub.seen);
    console.log(`      bridge SIGKILL at 25%: ${figures(t)}, first arrivals in order: ${firstArrivalsInOrder(sub.seen)}`);
    assert.equal(t.lost, 0, 'messages lost between the two brokers');
  });
});
