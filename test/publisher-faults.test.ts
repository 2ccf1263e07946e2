// Process-level faults for durable-mqtt-out: Node-RED killed (SIGKILL) with messages in its outbox, the outbox full while the broker is down, and an in → delay → out bridge killed mid-stream.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoHandle } from './support/mosquitto';
import { startNodeRed, type FlowNode, type NodeRedProcess } from './support/nodered-process';
import { until } from './support/until';
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

/**
 * POST /feed?n=N&from=F → a function node sends payloads F..F+N-1 into durable-mqtt-out; a status node
 * records its badge in a file, and a Catch node records each done(err) as `{"n":…,"error":…}`.
 */
function feedFlow(brokerUrl: string, clientId: string, topic: string, files: { status: string; caught: string }, out: Record<string, unknown> = {}): FlowNode[] {
  const file = (id: string, filename: string): FlowNode => ({ id, type: 'file', z: TAB, filename, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] });
  return [
    { id: TAB, type: 'tab', label: 'publisher faults' },
    { id: 'conn', type: 'durable-mqtt-broker', broker: brokerUrl, clientId, backoffMin: 0.2, backoffMax: 1 },
    { id: 'feed', type: 'http in', z: TAB, url: '/feed', method: 'post', wires: [['split']] },
    {
      id: 'split', type: 'function', z: TAB, outputs: 2, wires: [['out'], ['reply']],
      func: 'const n = Number(msg.req.query.n);\nconst from = Number(msg.req.query.from || 0);\nfor (let i = from; i < from + n; i++) node.send([{ payload: String(i) }, null]);\nreturn [null, msg];',
    },
    { id: 'reply', type: 'http response', z: TAB, statusCode: '204', wires: [] },
    { id: 'out', type: 'durable-mqtt-out', z: TAB, broker: 'conn', topic, qos: '1', wires: [], ...out },
    { id: 'badge', type: 'status', z: TAB, scope: ['out'], wires: [['badge-text']] },
    { id: 'badge-text', type: 'change', z: TAB, rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'status.text', tot: 'msg' }], wires: [['badge-file']] },
    file('badge-file', files.status),
    // Not id 'catch': the runtime reads a property naming a node of the flow (here `type`) as a reference to it.
    { id: 'caught', type: 'catch', z: TAB, scope: ['out'], uncaught: false, wires: [['caught-line']] },
    { id: 'caught-line', type: 'function', z: TAB, outputs: 1, wires: [['caught-file']], func: 'return { payload: JSON.stringify({ n: Number(msg.payload), error: msg.error.message }) };' },
    file('caught-file', files.caught),
  ];
}

/** What the Catch node of feedFlow recorded, in order. */
function readCaught(file: string): { n: number; error: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { n: number; error: string });
}

const badgeShows = (file: string, text: string): boolean => existsSync(file) && readFileSync(file, 'utf8').includes(text);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

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
    const files = { status: join(dir, 'badge.log'), caught: join(dir, 'caught.log') };
    red = await startNodeRed({ flow: feedFlow(`mqtt://127.0.0.1:${port}`, `pubfault-${process.pid}`, 'pubfault/down', files), userDir: join(dir, 'userdir') });
    const res = await fetch(`${red.url}/feed?n=${N}`, { method: 'POST' });
    assert.equal(res.status, 204);
    // The badge reaches "… · 1000 queued" once every message is in the outbox on disk.
    await until(() => badgeShows(files.status, `${N} queued`), `the badge to show ${N} queued`, 60_000);
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

  /**
   * Node-RED with feedFlow and the out node's `out` properties, against a Mosquitto that is down and
   * keeps sessions across restarts, already holding a persistent subscriber's session on the topic:
   * whatever Node-RED publishes once the broker is back waits there until the subscriber reconnects.
   */
  async function withBrokerDown(name: string, out: Record<string, unknown>) {
    const topic = `pubfull${process.pid}/${name}`;
    const subId = `pubfull-sub-${name}-${process.pid}`;
    const broker = await startMosquitto({ persistence: true });
    brokers.push(broker);
    await (await persistentSubscriber(broker.url, topic, subId)).end();
    await broker.stop();
    const files = { status: join(dir, 'badge.log'), caught: join(dir, 'caught.log') };
    const nr = await startNodeRed({ flow: feedFlow(broker.url, `pubfull-${name}-${process.pid}`, topic, files, out), userDir: join(dir, 'userdir') });
    red = nr;
    return {
      files,
      output: () => nr.output(),
      feed: async (n: number, from = 0): Promise<void> => assert.equal((await fetch(`${nr.url}/feed?n=${n}&from=${from}`, { method: 'POST' })).status, 204),
      /** Starts the broker; resolves with what the subscriber got once it has every one of `expected` and the outbox is empty. */
      brokerUp: async (expected: number[]): Promise<number[]> => {
        await broker.restart();
        const sub = await persistentSubscriber(broker.url, topic, subId);
        ends.push(sub.end);
        await until(() => expected.every((n) => sub.seen.includes(n)), `all ${expected.length} accepted at the subscriber`, 120_000);
        // The badge drops its "· N queued" once the outbox is empty: nothing more can come after that.
        await until(() => badgeShows(files.status, 'connected') && !readFileSync(files.status, 'utf8').trimEnd().endsWith('queued'), 'the outbox to empty', 60_000);
        // A Status node gets the badge in words, as the consumer's (README, "Status"), not a catalog key.
        assert.equal(readFileSync(files.status, 'utf8').trimEnd().split('\n').at(-1), 'connected');
        return sub.seen;
      },
    };
  }

  it('refuses the messages over outboxMaxMessages with done(err) to a Catch node while the broker is down, and delivers every accepted one once it is up', async () => {
    const LIMIT = 100;
    const N = 250;
    const run = await withBrokerDown('refuse', { outboxMaxMessages: LIMIT });
    await run.feed(N);
    await until(() => readCaught(run.files.caught).length >= N - LIMIT && badgeShows(run.files.status, `${LIMIT} queued`), `${N - LIMIT} refusals and ${LIMIT} queued`, 60_000);
    const caught = readCaught(run.files.caught);
    assert.deepEqual(caught.map((c) => c.n).sort((a, b) => a - b), range(LIMIT, N), 'exactly the messages over the limit are refused');
    for (const c of caught) assert.match(c.error, /outbox full \(100 of 100 messages/);
    assert.match(run.output(), /outbox full .*\(outboxWhenFull: refuse\)/, 'the refusal is logged');

    const seen = await run.brokerUp(range(0, LIMIT));
    const t = tally(LIMIT, seen);
    console.log(`      refuse, ${N} into an outbox of ${LIMIT} with the broker down: caught ${caught.length}, ${figures(t)}`);
    assert.deepEqual(seen.filter((n) => n >= LIMIT), [], 'a refused message was published');
    assert.equal(readCaught(run.files.caught).length, N - LIMIT, 'an accepted message also got done(err)');
    assert.ok(firstArrivalsInOrder(seen), 'messages arrived in the order they were accepted');
  });

  it('with outboxWhenFull dropOldest, drops exactly the oldest queued messages with done(err) to a Catch node, and delivers the rest once the broker is up', async () => {
    const LIMIT = 100;
    const MORE = 40;
    const run = await withBrokerDown('drop', { outboxMaxMessages: LIMIT, outboxWhenFull: 'dropOldest' });
    // Fill the outbox first: only entries already on disk can make room (docs/outbox.md).
    await run.feed(LIMIT);
    await until(() => badgeShows(run.files.status, `${LIMIT} queued`), `the badge to show ${LIMIT} queued`, 60_000);
    await run.feed(MORE, LIMIT);
    // An evicted message's done(err) comes once the message that replaced it is on disk.
    await until(() => readCaught(run.files.caught).length >= MORE, `${MORE} drops`, 60_000);
    const caught = readCaught(run.files.caught);
    assert.deepEqual(caught.map((c) => c.n), range(0, MORE), 'exactly the oldest messages are dropped, oldest first');
    for (const c of caught) assert.match(c.error, /dropped from the full outbox .*dropOldest/);

    const seen = await run.brokerUp(range(MORE, LIMIT + MORE));
    const t = tally(LIMIT + MORE, seen);
    console.log(`      dropOldest, ${LIMIT} + ${MORE} into an outbox of ${LIMIT} with the broker down: caught ${caught.length}, ${figures(t)}`);
    assert.equal(t.lost, MORE, 'only the dropped messages are missing');
    assert.deepEqual(seen.filter((n) => n < MORE), [], 'a dropped message was published');
    assert.equal(readCaught(run.files.caught).length, MORE, 'a kept message also got done(err)');
    assert.ok(firstArrivalsInOrder(seen), 'messages arrived in the order they were accepted');
  });

  it('fails QoS 0 messages with done(err) to a Catch node while the broker is down, queueing none of them, and publishes QoS 0 again once it is up', async () => {
    const N = 50;
    const run = await withBrokerDown('qos0', { qos: '0' });
    await run.feed(N);
    await until(() => readCaught(run.files.caught).length >= N, `${N} refusals`, 60_000);
    const caught = readCaught(run.files.caught);
    assert.deepEqual(caught.map((c) => c.n).sort((a, b) => a - b), range(0, N), 'every QoS 0 message fails, none is kept');
    for (const c of caught) assert.match(c.error, /not connected: QoS 0 messages are not queued/);

    const seen = await run.brokerUp([]);
    await run.feed(10, N);
    await until(() => range(N, N + 10).every((n) => seen.includes(n)), 'the QoS 0 messages sent while connected', 60_000);
    assert.deepEqual(seen.filter((n) => n < N), [], 'a QoS 0 message that failed was published after all');
    assert.equal(readCaught(run.files.caught).length, N, 'a QoS 0 message sent while connected got done(err)');
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
