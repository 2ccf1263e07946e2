// durable mqtt in → durable mqtt out on one broker config, as a Node-RED process against Mosquitto: a backlog bridged whole and in order, a loop between two topics, kill -9 mid-stream.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { ACK_DEFAULTS } from '../nodes/consumer/settings';
import { PUBLISH_WINDOW } from '../nodes/publisher/pump';
import { DEFAULTS } from '../nodes/session/config/config';
import { PACKETS_PER_TURN } from '../nodes/session/stream/read-pacer';
import { mosquittoForSuite } from './support/mosquitto';
import { startNodeRed, type FlowNode, type NodeRedProcess } from './support/nodered-process';
import { until } from './support/until';
import { publishMany } from './support/publisher';
import { figures, tally } from './support/sink';

const TAB = 'bridge-tab';
const BACKLOG = 20_000;
// Mosquitto 2.0.11 acks and then drops QoS 2 messages past 20 in flight from a 3.1.1 publisher.
const QOS2_OUTSTANDING = 10;

interface Variant {
  readonly ackMode: 'complete' | 'receive';
  readonly protocolVersion: 4 | 5;
  readonly qos: 1 | 2;
}

/** A subscriber on `topic` that records what arrives, in arrival order. */
async function subscriber(url: string, topic: string): Promise<{ seen: string[]; end: () => Promise<void> }> {
  const client = await mqtt.connectAsync(url, { clean: true, reconnectPeriod: 200 });
  client.on('error', () => undefined);
  const seen: string[] = [];
  client.on('message', (_t, payload) => seen.push(payload.toString()));
  await client.subscribeAsync(topic, { qos: 2 });
  return { seen, end: () => client.endAsync() };
}

/** Waits until `distinct()` reaches `n`, or until it stopped growing for `idleMs` (then what is missing is lost, not late). */
async function untilAllOrStalled(distinct: () => number, n: number, idleMs = 20_000): Promise<void> {
  let seen = -1;
  let progressAt = Date.now();
  while (distinct() < n && Date.now() - progressAt < idleMs) {
    if (distinct() > seen) [seen, progressAt] = [distinct(), Date.now()];
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when the first arrival of each number comes in increasing order: resends may repeat, never reorder. */
function firstArrivalsInOrder(seen: number[]): boolean {
  const met = new Set<number>();
  let last = -1;
  for (const n of seen) {
    if (met.has(n)) continue;
    met.add(n);
    if (n < last) return false;
    last = n;
  }
  return true;
}

/** One broker config; each [from, to, via] wires durable-mqtt-in on `from` to durable-mqtt-out on `to`, through a function if `via` is given. */
function bridgeFlow(url: string, clientId: string, v: Variant, hops: { from: string; to: string; via?: string }[]): FlowNode[] {
  const flow: FlowNode[] = [
    { id: TAB, type: 'tab', label: 'bridge' },
    { id: 'conn', type: 'durable-mqtt-broker', broker: url, clientId, cleanSession: false, protocolVersion: v.protocolVersion, backoffMin: 0.2, backoffMax: 1 },
  ];
  hops.forEach((h, i) => {
    const out = `out${i}`;
    flow.push({ id: `in${i}`, type: 'durable-mqtt-in', z: TAB, broker: 'conn', topic: h.from, qos: v.qos, datatype: 'utf8', ackMode: v.ackMode, version: 1, wires: [[h.via ? `fn${i}` : out]] });
    if (h.via) flow.push({ id: `fn${i}`, type: 'function', z: TAB, func: h.via, outputs: 1, wires: [[out]] });
    flow.push({ id: out, type: 'durable-mqtt-out', z: TAB, broker: 'conn', topic: h.to, qos: String(v.qos), wires: [] });
  });
  return flow;
}

describe('in → out on one broker config (Node-RED as a process, Mosquitto)', function () {
  this.timeout(240_000);
  const mosq = mosquittoForSuite();
  let dir = '';
  let red: NodeRedProcess | undefined;
  const ends: (() => Promise<void>)[] = [];
  let seq = 0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-bridge-'));
  });
  afterEach(async () => {
    await red?.kill('SIGKILL');
    red = undefined;
    for (const end of ends.splice(0)) await end();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the flow, stops it, queues `n` messages for its session, starts it again; returns the names and the subscriber on the far side. */
  async function withBacklog(v: Variant, n: number): Promise<{ sub: { seen: string[] } }> {
    const name = `bridge${process.pid}x${++seq}`;
    const sub = await subscriber(mosq().url, `${name}/dst`);
    ends.push(sub.end);
    red = await startNodeRed({ flow: bridgeFlow(mosq().url, `${name}-c`, v, [{ from: `${name}/src`, to: `${name}/dst` }]), userDir: join(dir, 'userdir') });
    await red.untilLogged(/\] subscribed bridge/);
    await red.kill('SIGTERM');
    await publishMany(mosq().url, `${name}/src`, n, { qos: v.qos, outstanding: v.qos === 2 ? QOS2_OUTSTANDING : undefined });
    await red.start();
    return { sub };
  }

  for (const ackMode of ['complete', 'receive'] as const) {
    for (const protocolVersion of [4, 5] as const) {
      for (const qos of [1, 2] as const) {
        const v: Variant = { ackMode, protocolVersion, qos };
        it(`bridges a ${BACKLOG} backlog whole and in order: ackMode ${ackMode}, MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}, QoS ${qos}`, async () => {
          const { sub } = await withBacklog(v, BACKLOG);
          const seen = (): number[] => sub.seen.map(Number);
          await untilAllOrStalled(() => new Set(sub.seen).size, BACKLOG);
          const t = tally(BACKLOG, seen());
          console.log(`      ${ackMode}, v${protocolVersion}, QoS ${qos}: ${figures(t)}`);
          assert.equal(t.lost, 0, 'messages did not reach the far side');
          assert.ok(firstArrivalsInOrder(seen()), 'messages arrived out of order');
        });
      }
    }
  }

  it('runs a loop on one config (in A → out B, in B → out A) without deadlock', async () => {
    const name = `loop${process.pid}`;
    const N = 2000;
    const HOPS = 3;
    const v: Variant = { ackMode: 'complete', protocolVersion: 4, qos: 1 };
    const sub = await subscriber(mosq().url, `${name}/b`);
    ends.push(sub.end);
    // A message goes A → B, then back to A with one more hop, until it has been to B HOPS + 1 times.
    const back = `const m = JSON.parse(msg.payload); if (m.hop >= ${HOPS}) return null; msg.payload = JSON.stringify({ i: m.i, hop: m.hop + 1 }); return msg;`;
    const flow = bridgeFlow(mosq().url, `${name}-c`, v, [{ from: `${name}/a`, to: `${name}/b` }, { from: `${name}/b`, to: `${name}/a`, via: back }]);
    red = await startNodeRed({ flow, userDir: join(dir, 'userdir') });
    await red.untilLogged(/\] subscribed loop/);
    await publishMany(mosq().url, `${name}/a`, N, { qos: 1, payload: (i) => JSON.stringify({ i, hop: 0 }) });
    const distinct = (): number => new Set(sub.seen).size;
    await untilAllOrStalled(distinct, N * (HOPS + 1));
    console.log(`      loop: ${sub.seen.length} arrivals at B, ${distinct()} distinct of ${N * (HOPS + 1)}`);
    assert.equal(distinct(), N * (HOPS + 1), 'the loop stalled');
  });

  it('loses nothing when Node-RED is killed (SIGKILL) in the middle of a bridge drain on one config, and restarted', async () => {
    const v: Variant = { ackMode: 'complete', protocolVersion: 4, qos: 1 };
    const { sub } = await withBacklog(v, BACKLOG);
    const seen = (): number[] => sub.seen.map(Number);
    await until(() => sub.seen.length >= BACKLOG / 3, 'a third bridged', 120_000);
    await red?.kill('SIGKILL');
    const atKill = sub.seen.length;
    await red?.start();
    await untilAllOrStalled(() => new Set(sub.seen).size, BACKLOG);
    const t = tally(BACKLOG, seen());
    console.log(`      bridge SIGKILL at ${atKill}: ${figures(t)}`);
    assert.equal(t.lost, 0, 'messages lost across the kill');
    // What the flow took and had not acked comes again (the gate holds PUBLISHes past maxInFlight +
    // one turn's packets, 1,000 at most); the out node resends its in-flight publishes and the whole
    // group commits they belong to, which may be the same messages once more (docs/outbox.md).
    const taken = Math.min(DEFAULTS.readHighWater, ACK_DEFAULTS.maxInFlight + PACKETS_PER_TURN);
    assert.ok(t.duplicates <= 2 * taken + PUBLISH_WINDOW, `${t.duplicates} duplicates`);
  });
});
