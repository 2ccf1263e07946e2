// Specs for the durable-mqtt-in and durable-mqtt-broker nodes, run in the Node-RED test helper against real brokers.
import assert from 'node:assert/strict';
import type { NodeMessage, NodeStatus } from 'node-red';
import { connectAsync } from 'mqtt';
import { startAedes, type AedesHandle } from './support/aedes';
import { makeCerts } from './support/certs';
import { mosquittoForSuite, mosquittoSubscribeCount, mosquittoUnsubscribeCount } from './support/mosquitto';
import { collect, consumerFlow, deploy, getNode, helper, lastStatus, load, logged, onInput, statuses } from './support/nodered';
import { until } from './support/until';
import { publishMany } from './support/publisher';
import { freePort } from './support/ports';

const fast = { backoffMin: 0.1, backoffMax: 0.5 };
let clientSeq = 0;
/** A fresh client ID per test, so no session or ledger carries over between tests. */
const freshId = (): string => `nr-test-${process.pid}-${++clientSeq}`;

const hasText = (s: NodeStatus | undefined, key: string): boolean => typeof s?.text === 'string' && s.text.includes(key);
const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];

/** The log lines the runtime wrote while a test ran (the helper spies on the runtime log). */
function logLines(): string[] {
  const spy = helper.log() as unknown as { args: [{ msg?: unknown }][] };
  return spy.args.map(([entry]) => (typeof entry?.msg === 'string' ? entry.msg : JSON.stringify(entry?.msg ?? '')));
}

describe('durable mqtt in (Aedes, MQTT 3.1.1)', function () {
  let broker: AedesHandle;
  beforeEach(async () => {
    broker = await startAedes();
  });
  afterEach(async () => {
    await helper.unload();
    await broker.close();
  });

  it('emits each message as a msg with topic, payload, qos and retain, like the core node', async () => {
    await load(consumerFlow(broker.url, [{ topic: 'shape/#' }], { clientId: freshId() }));
    const got = collect('in1-out');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    await broker.publish('shape/a', '{"n":1}', 1, true);
    await broker.publish('shape/b', 'plain text', 1);
    await until(() => got.length === 2, 'two messages');
    assert.deepEqual(got.map(({ topic, payload, qos, retain }) => ({ topic, payload, qos, retain })), [
      { topic: 'shape/a', payload: { n: 1 }, qos: 1, retain: false },
      { topic: 'shape/b', payload: 'plain text', qos: 1, retain: false },
    ]);
  });

  it('works from a hand-written flow with only {broker, clientId} and {broker, topic}', async () => {
    const id = freshId();
    const flow = [
      { id: 'b1', type: 'durable-mqtt-broker', broker: `127.0.0.1:${broker.port}`, clientId: id },
      { id: 'in1', type: 'durable-mqtt-in', broker: 'b1', topic: 'hand/+', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await load(flow);
    const got = collect('out');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    await broker.publish('hand/x', Buffer.from([0xff, 0xfe]), 1);
    await until(() => got.length === 1, 'message');
    assert.ok(Buffer.isBuffer(got[0].payload), 'binary payload stays a Buffer under auto');
    assert.equal(got[0].qos, 1);
  });

  it('shares one connection between nodes and gives each node a message once, even with overlapping filters', async () => {
    let connects = 0;
    broker.broker.on('client', () => connects++);
    await load(consumerFlow(broker.url, [{ topic: 'o/#' }, { topic: 'o/+\no/x' }, { topic: 'other' }], { clientId: freshId() }));
    const a = collect('in1-out');
    const b = collect('in2-out');
    const c = collect('in3-out');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    await broker.publish('o/x', 'one', 1);
    await broker.publish('other', 'two', 1);
    await until(() => a.length === 1 && b.length === 1 && c.length === 1, 'one message per node');
    // Let any duplicate copy arrive before counting again.
    await broker.publish('other', 'three', 1);
    await until(() => c.length === 2, 'sentinel');
    assert.equal(connects, 1, 'one connection for three nodes');
    assert.deepEqual([a.length, b.length], [1, 1]);
    assert.equal(a[0].payload, 'one');
    assert.equal(b[0].payload, 'one');
  });

  it('rejects an invalid topic filter with a red status and an error, and subscribes nothing', async () => {
    const flow = consumerFlow(broker.url, [{ topic: 'a/#/b' }, { topic: 'ok/#' }], { clientId: freshId() });
    await load(flow);
    const status = lastStatus('in1');
    assert.equal(status?.fill, 'red');
    assert.ok(hasText(status, 'invalidTopic'), String(status?.text));
    assert.ok(logged('in1', 'error', /invalid topic filter "a\/#\/b"/), 'error names the filter');
    await until(() => broker.subscribeCount() === 1, 'the valid node still subscribes');
    const got = collect('in1-out');
    const ok = collect('in2-out');
    await broker.publish('a/x/b', 'x', 1);
    await broker.publish('ok/1', 'y', 1);
    await until(() => ok.length === 1, 'valid node message');
    assert.equal(got.length, 0);
  });

  for (const [topic, why] of [
    ['', 'empty'],
    ['a/#/b', '# not last'],
    ['a/b#', '# inside a level'],
    ['$share//x', 'shared without group'],
  ] as const) {
    it(`refuses the topic filter "${topic}" (${why}) without crashing`, async () => {
      await load(consumerFlow(broker.url, [{ topic }], { clientId: freshId() }));
      const status = lastStatus('in1');
      assert.equal(status?.fill, 'red');
      assert.ok(hasText(status, topic ? 'invalidTopic' : 'noTopic'), String(status?.text));
      assert.ok(logged('in1', 'error', topic ? /invalid topic filter/ : /no topic filter/));
    });
  }

  it('refuses a persistent session without a client ID, on the consumer badge and in the log', async () => {
    await load(consumerFlow(broker.url, [{ topic: 'x' }], { clientId: '' }));
    const status = lastStatus('in1');
    assert.equal(status?.fill, 'red');
    assert.ok(hasText(status, 'invalidConfig'), String(status?.text));
    assert.ok(logged('b1', 'error', /client ID is required/));
  });

  it('refuses an invalid broker URL', async () => {
    await load(consumerFlow('http://example.com', [{ topic: 'x' }], { clientId: freshId() }));
    assert.ok(logged('b1', 'error', /unsupported scheme/));
    assert.equal(lastStatus('in1')?.fill, 'red');
  });

  // maxInFlight 1: each later msg is sent from the completion tracker's microtask, not from the delivery.
  for (const [ackMode, maxInFlight] of [['receive', 10], ['complete', 10], ['complete', 1]] as const) {
    it(`(ackMode ${ackMode}, maxInFlight ${maxInFlight}) sends a msg whose send throws to a Catch node, and the messages before and after it still flow`, async () => {
      const flow = [
        ...consumerFlow(broker.url, [{ topic: 'throws/#', datatype: 'utf8', ackMode, maxInFlight }], { clientId: freshId() }),
        { id: 'catcher', z: 'f1', type: 'catch', scope: ['in1'], uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
      ];
      await load(flow);
      const got = collect('in1-out');
      const caught = collect('caught');
      // A throw injected where the node hands a msg to the runtime: in complete mode the next send comes from the tracker's microtask.
      const node = getNode('in1') as unknown as { send: (this: unknown, msg: unknown) => void };
      const send = node.send;
      node.send = function (this: unknown, msg: unknown) {
        if (JSON.stringify(msg).includes('"boom"')) throw new Error('injected: send failed');
        send.call(this, msg);
      };
      await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
      for (const payload of ['a', 'boom', 'b', 'c']) await broker.publish('throws/x', payload, 1);
      await until(() => got.length === 3 && caught.length === 1, 'three sent and one caught');
      assert.deepEqual(got.map((m) => m.payload), ['a', 'b', 'c']);
      assert.equal(caught[0].payload, 'boom');
      assert.match(String((caught[0].error as { message?: string }).message), /injected: send failed/);
      await broker.publish('throws/x', 'd', 1);
      await until(() => got.length === 4, 'and the next one');
    });
  }

  it('sends a payload that is not JSON to a Catch node with the raw text, when the output is JSON', async () => {
    const flow = [
      ...consumerFlow(broker.url, [{ topic: 'j', datatype: 'json' }], { clientId: freshId() }),
      { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await load(flow);
    const good = collect('in1-out');
    const caught = collect('caught');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    await broker.publish('j', '{not json', 1);
    await broker.publish('j', '[1,2]', 1);
    await until(() => caught.length === 1 && good.length === 1, 'caught and good');
    assert.equal(caught[0].payload, '{not json');
    assert.match(String((caught[0].error as { message?: string }).message), /not valid JSON/);
    assert.deepEqual(good[0].payload, [1, 2]);
  });

  it('shows connecting, connected, disconnected, reconnecting, connected when the broker goes away and returns', async () => {
    await load(consumerFlow(broker.url, [{ topic: 'badge' }], { clientId: freshId(), ...fast }));
    const seen = statuses('in1');
    const got = collect('in1-out');
    await until(() => hasText(last(seen), 'status.connected'), 'connected');
    const port = broker.port;
    await broker.close();
    await until(() => seen.some((s) => hasText(s, 'status.reconnecting')), 'reconnecting');
    broker = await startAedes({ port });
    await until(() => hasText(last(seen), 'status.connected') && broker.subscribeCount() === 1, 'connected again and resubscribed');
    await broker.publish('badge', 'back', 1);
    await until(() => got.length === 1, 'message after return');
    const texts = seen.map((s) => `${s.fill}/${s.shape}/${String(s.text)}`);
    const order = ['status.connected', 'status.disconnected', 'status.reconnecting', 'status.connected'];
    let at = 0;
    for (const t of texts) if (at < order.length && t.includes(order[at])) at++;
    assert.equal(at, order.length, `badge sequence: ${texts.join(' → ')}`);
    assert.ok(seen.some((s) => s.fill === 'yellow' && s.shape === 'ring' && hasText(s, 'status.reconnecting')));
    assert.ok(seen.some((s) => s.fill === 'red' && s.shape === 'ring' && hasText(s, 'status.disconnected')));
  });

  it('shows "bad credentials" for a wrong password and never logs the password', async () => {
    await broker.close();
    broker = await startAedes({ authenticate: (user, password) => user === 'alice' && password === 'right' });
    const flow = consumerFlow(broker.url, [{ topic: 'x' }], { clientId: freshId(), ...fast });
    await load(flow, { b1: { user: 'alice', password: 'wrong-secret' } });
    const seen = statuses('in1');
    await until(() => seen.some((s) => s.fill === 'red' && s.shape === 'dot' && hasText(s, 'badCredentials')), 'bad credentials badge');
    assert.ok(!seen.some((s) => hasText(s, 'status.connected')), 'never shown connected');
    const lines = logLines();
    assert.ok(lines.some((l) => l.includes('badCredentials')), 'the failure is logged');
    assert.ok(!lines.some((l) => l.includes('wrong-secret')), 'the password is never logged');
  });

  it('connects with the right credentials from the credentials store', async () => {
    await broker.close();
    broker = await startAedes({ authenticate: (user, password) => user === 'alice' && password === 'right' });
    await load(consumerFlow(broker.url, [{ topic: 'x' }], { clientId: freshId() }), { b1: { user: 'alice', password: 'right' } });
    const seen = statuses('in1');
    await until(() => hasText(last(seen), 'status.connected'), 'connected');
  });

  it('shows "unreachable" when nothing listens on the port, and keeps retrying', async () => {
    const port = await freePort();
    await load(consumerFlow(`mqtt://127.0.0.1:${port}`, [{ topic: 'x' }], { clientId: freshId(), ...fast }));
    const seen = statuses('in1');
    await until(() => seen.filter((s) => hasText(s, 'unreachable')).length >= 2, 'unreachable, twice');
    assert.ok(seen.some((s) => hasText(s, 'status.reconnecting')));
    assert.equal(last(seen.filter((s) => hasText(s, 'unreachable')))?.fill, 'red');
  });

  it('keeps a payload that is not UTF-8 as its original bytes when it reaches a Catch node (output JSON)', async () => {
    const flow = [
      ...consumerFlow(broker.url, [{ topic: 'bin', datatype: 'json' }], { clientId: freshId() }),
      { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await load(flow);
    const caught = collect('caught');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x80]);
    await broker.publish('bin', bytes, 1);
    await until(() => caught.length === 1, 'caught');
    assert.ok(Buffer.isBuffer(caught[0].payload) && caught[0].payload.equals(bytes), String(caught[0].payload));
  });

  it('never shows green for a node whose only filter the broker refuses in SUBACK', async () => {
    await broker.close();
    broker = await startAedes({ authorizeSubscribe: (topic) => topic !== 'deny/#', denySubscribeWith: 'suback' });
    await load(consumerFlow(broker.url, [{ topic: 'deny/#' }, { topic: 'ok/#' }], { clientId: freshId() }));
    const denied = statuses('in1');
    const ok = statuses('in2');
    await until(() => hasText(last(denied), 'subscribeRefused') && hasText(last(ok), 'status.connected'), 'refused and connected');
    assert.ok(!denied.some((s) => s.fill === 'green'), denied.map((s) => String(s.text)).join(' → '));
    assert.equal(last(denied)?.fill, 'red');
  });

  it('turns its badge red ("disconnected") when the flows stop, as core mqtt nodes do', async () => {
    await load(consumerFlow(broker.url, [{ topic: 'stop' }], { clientId: freshId() }));
    const seen = statuses('in1');
    await until(() => hasText(last(seen), 'status.connected'), 'connected');
    // The helper restores its spies on unload, before the close handlers run: record on the node itself.
    const node = getNode('in1');
    const calls: NodeStatus[] = [];
    const status = node.status.bind(node);
    node.status = ((st: NodeStatus) => {
      calls.push(st);
      status(st);
    }) as typeof node.status;
    await helper.unload();
    const final = last(calls);
    assert.equal(final?.fill, 'red', JSON.stringify(final));
    assert.equal(final?.shape, 'ring');
    assert.ok(hasText(final, 'status.disconnected'), JSON.stringify(final));
  });

  it('sends a status only when it changes', async () => {
    await load(consumerFlow(broker.url, [{ topic: 'calm' }], { clientId: freshId() }));
    const seen = statuses('in1');
    await until(() => hasText(last(seen), 'status.connected'), 'connected');
    await publishMany(broker.url, 'calm', 200, { qos: 1 });
    await until(() => seen.filter((s) => hasText(s, 'status.connected')).length >= 1 && hasText(last(seen), 'status.connected'), 'settled');
    for (let i = 1; i < seen.length; i++) assert.notDeepEqual(seen[i], seen[i - 1], `status ${i} repeats the one before`);
  });

  it('warns once per episode: "unreachable" is logged once however often it retries', async () => {
    const port = await freePort();
    await load(consumerFlow(`mqtt://127.0.0.1:${port}`, [{ topic: 'x' }], { clientId: freshId(), ...fast }));
    const seen = statuses('in1');
    await until(() => seen.filter((s) => hasText(s, 'status.reconnecting')).length >= 4, 'four retries');
    const warnings = logLines().filter((l) => l.includes('cannot stay connected'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });

  it('adds a status output that reports every change as {topic: "status", payload: {state, ...}}', async () => {
    await load(consumerFlow(broker.url, [{ topic: 's', statusOutput: true }], { clientId: freshId() }));
    const events = collect('in1-status');
    const msgs = collect('in1-out');
    await until(() => events.some((e) => (e.payload as { state: string }).state === 'connected'), 'connected event');
    const connected = events.find((e) => (e.payload as { state: string }).state === 'connected') as NodeMessage;
    assert.equal(connected.topic, 'status');
    assert.deepEqual(connected.payload, { state: 'connected', sessionPresent: false });
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    await broker.publish('s', 'data', 1);
    await until(() => msgs.length === 1, 'data on the first output');
    assert.ok(!events.some((e) => e.topic !== 'status'), 'data never goes to the status output');
  });

  it('connects over TLS with a CA from a core tls-config node', async () => {
    await broker.close();
    const certs = makeCerts();
    broker = await startAedes({ tls: { key: certs.key, cert: certs.cert } });
    // The core tls-config node is plain CommonJS without types.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tlsConfig = require('@node-red/nodes/core/network/05-tls.js') as unknown;
    const flow = [
      ...consumerFlow(`mqtts://127.0.0.1:${broker.port}`, [{ topic: 'tls' }], { clientId: freshId(), tls: 't1' }),
      { id: 't1', type: 'tls-config', cert: '', key: '', ca: certs.caFile, verifyservercert: true },
    ];
    await load(flow, {}, [tlsConfig]);
    const got = collect('in1-out');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE over TLS');
    await broker.publish('tls', 'secret', 1);
    await until(() => got.length === 1, 'message over TLS');
    assert.equal(got[0].payload, 'secret');
  });

  it('delivers a 10 MB payload intact', async () => {
    await load(consumerFlow(broker.url, [{ topic: 'big', datatype: 'buffer' }], { clientId: freshId() }));
    const got = collect('in1-out');
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
    const big = Buffer.alloc(10 * 1024 * 1024, 7);
    big[big.length - 1] = 9;
    await broker.publish('big', big, 1);
    await until(() => got.length === 1, 'big message', 30000);
    assert.ok(big.equals(got[0].payload as Buffer));
  });

  it('detects client-ID takeover: shows "client ID in use" and warns naming the ID', async () => {
    const id = freshId();
    // Another client with our ID that reconnects quickly, as a second Node-RED with a copied flow would.
    const rival = await connectAsync(broker.url, { clientId: id, clean: false, reconnectPeriod: 50 });
    rival.on('error', () => undefined);
    try {
      await load(consumerFlow(broker.url, [{ topic: 'x' }], { clientId: id, ...fast }));
      const seen = statuses('in1');
      await until(() => seen.some((s) => hasText(s, 'clientIdInUse')), 'client ID in use badge', 25000);
      assert.ok(logged('b1', 'warn', new RegExp(`client ID "${id}" is in use`)));
    } finally {
      rival.end(true);
    }
  });
});

describe('durable mqtt in (Mosquitto)', function () {
  const mosq = mosquittoForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  it('sets msg.dup: false on the first delivery and true when the broker sends the message again', async () => {
    const flow = consumerFlow(mosq().url, [{ topic: 'dup/#', ackOnError: false }], { clientId: freshId(), ...fast });
    await load(flow);
    const got: NodeMessage[] = [];
    // The first delivery fails, so with ackOnError false its PUBACK is withheld and Mosquitto resends it with DUP set.
    getNode('in1-out').on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      got.push(msg);
      done(got.length === 1 ? new Error('first try fails') : undefined);
    });
    await until(() => hasText(lastStatus('in1'), 'status.connected'), 'connected');
    await publishMany(mosq().url, 'dup/a', 1, { qos: 1 });
    await until(() => got.length === 2, 'the message and its redelivery');
    assert.deepEqual(got.map((m) => [m.payload, (m as { dup?: unknown }).dup]), [[0, false], [0, true]]);
  });

  it('delivers, in order, every QoS-1 message published while Node-RED was away, without subscribing again', async () => {
    const id = freshId();
    const flow = consumerFlow(mosq().url, [{ topic: 'seed/#' }], { clientId: id });
    await load(flow);
    await until(() => hasText(lastStatus('in1'), 'status.connected'), 'connected');
    const subsBefore = mosquittoSubscribeCount(mosq());
    await helper.unload();
    await publishMany(mosq().url, 'seed/data', 1000, { qos: 1 });
    await load(flow);
    const got = collect('in1-out');
    await until(() => got.length >= 1000, '1000 messages');
    assert.deepEqual(
      got.map((m) => m.payload),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.equal(mosquittoSubscribeCount(mosq()), subsBefore, 'no SUBSCRIBE with the session present');
    assert.equal(mosquittoUnsubscribeCount(mosq()), 0);
  });

  it('loses nothing across three full redeploys under a steady publisher, and never unsubscribes', async () => {
    const id = freshId();
    const flow = consumerFlow(mosq().url, [{ topic: 'redeploy/#' }], { clientId: id });
    await load(flow);
    const received = new Set<unknown>();
    const track = (): void => {
      onInput('in1-out', (m) => received.add(m.payload));
    };
    track();
    await until(() => mosquittoSubscribeCount(mosq()) > 0 && hasText(lastStatus('in1'), 'status.connected'), 'connected');
    const total = 3000;
    const publishing = publishMany(mosq().url, 'redeploy/n', total, { qos: 1, rate: 1000 });
    for (let i = 0; i < 3; i++) {
      // Each deploy lands mid-stream: after another quarter has arrived, whatever the machine's speed.
      await until(() => received.size >= ((i + 1) * total) / 4, `${((i + 1) * total) / 4} messages before deploy ${i + 1}`, 30000);
      await deploy(flow, 'full');
      track();
    }
    await publishing;
    await until(() => received.size === total, `${total} distinct messages (have ${received.size})`, 30000);
    assert.equal(received.size, total);
    assert.equal(mosquittoUnsubscribeCount(mosq()), 0, 'redeploy does not unsubscribe');
  });

  it('unsubscribes when the consumer node is removed, and subscribes a changed filter', async () => {
    const id = freshId();
    const flow = consumerFlow(mosq().url, [{ topic: 'keep/#' }, { topic: 'gone/#' }], { clientId: id });
    await load(flow);
    await until(() => hasText(lastStatus('in2'), 'status.connected'), 'connected');
    await until(() => mosq().log().includes(`\tgone/# (QoS 1)`), 'gone/# subscribed');
    const unsubs = mosquittoUnsubscribeCount(mosq());
    const withoutSecond = flow.filter((n) => n.id !== 'in2' && n.id !== 'in2-out');
    await deploy(withoutSecond, 'nodes');
    await until(() => mosquittoUnsubscribeCount(mosq()) === unsubs + 1, 'UNSUBSCRIBE for the removed node');
    assert.match(mosq().log(), new RegExp(`${id} gone/#`));
    const changed = withoutSecond.map((n) => (n.id === 'in1' ? { ...n, topic: 'keep/new/#' } : n));
    await deploy(changed, 'nodes');
    await until(() => mosq().log().includes('\tkeep/new/# (QoS 1)'), 'the new filter subscribed');
    const got = collect('in1-out');
    await publishMany(mosq().url, 'keep/new/1', 1, { qos: 1 });
    await until(() => got.length === 1, 'message on the changed filter');
  });

  it('copies MQTT 5 properties onto the msg', async () => {
    await load(consumerFlow(mosq().url, [{ topic: 'v5/#' }], { clientId: freshId(), protocolVersion: 5 }));
    const got = collect('in1-out');
    await until(() => hasText(lastStatus('in1'), 'status.connected'), 'connected');
    await until(() => mosq().log().includes('\tv5/# (QoS 1)'), 'subscribed');
    await publishMany(mosq().url, 'v5/p', 1, {
      qos: 1,
      protocolVersion: 5,
      payload: () => '{"v":5}',
      properties: {
        userProperties: { site: 'north' },
        contentType: 'application/json',
        responseTopic: 'v5/reply',
        correlationData: Buffer.from('c-1'),
        messageExpiryInterval: 3600,
        payloadFormatIndicator: true,
      },
    });
    await until(() => got.length === 1, 'v5 message');
    const m = got[0];
    assert.deepEqual(m.payload, { v: 5 });
    assert.deepEqual({ ...(m.userProperties as object) }, { site: 'north' });
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.responseTopic, 'v5/reply');
    assert.equal(Buffer.from(m.correlationData as Buffer).toString(), 'c-1');
    assert.equal(typeof m.messageExpiryInterval, 'number');
    assert.equal(m.payloadFormatIndicator, true);
  });

  it('detects takeover on MQTT 5 too (Mosquitto 2.0 closes the socket without DISCONNECT 0x8E)', async () => {
    const id = freshId();
    await load(consumerFlow(mosq().url, [{ topic: 'x' }], { clientId: id, protocolVersion: 5, ...fast }));
    const seen = statuses('in1');
    await until(() => hasText(last(seen), 'status.connected'), 'connected');
    const rival = await connectAsync(mosq().url, { clientId: id, protocolVersion: 5, clean: false, reconnectPeriod: 50 });
    rival.on('error', () => undefined);
    try {
      await until(() => seen.some((s) => hasText(s, 'clientIdInUse')), 'client ID in use badge');
      assert.ok(logged('b1', 'warn', new RegExp(`client ID "${id}" is in use`)));
    } finally {
      rival.end(true);
    }
  });
});
