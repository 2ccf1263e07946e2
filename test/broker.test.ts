// Specs for how the broker config node keeps the session through deploys, refuses a TLS or proxy node it cannot find, and for the subscription ledger.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger } from '../nodes/session/subscriptions/ledger';
import { freePort } from './support/ports';
import { mosquittoForSuite, mosquittoSubscribeCount, mosquittoUnsubscribeCount, requireMosquitto, startMosquitto, type MosquittoHandle } from './support/mosquitto';
import type { BrokerNode } from '../nodes/broker/types';
import { startAedes } from './support/aedes';
import { callsOf, collect, consumerFlow, deploy, getNode, helper, lastStatus, load, onInput, userDirForSuite } from './support/nodered';
import { until } from './support/until';
import { publishMany } from './support/publisher';

let seq = 0;
const freshId = (): string => `nr-broker-${process.pid}-${++seq}`;
const connected = (id: string): boolean => String(lastStatus(id)?.text).includes('status.connected');

describe('subscription ledger (file)', function () {
  it('remembers what the broker holds across instances, and forgets on clear', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'durable-mqtt');
    const a = new FileLedger(dir, 'mqtt://h:1883|id');
    assert.equal(a.load(), undefined, 'unknown before the first save');
    a.save(new Map([['x/#', 1], ['$share/g/y', 2]]));
    const b = new FileLedger(dir, 'mqtt://h:1883|id');
    assert.deepEqual([...(b.load() ?? [])], [['x/#', 1], ['$share/g/y', 2]]);
    assert.equal(new FileLedger(dir, 'mqtt://h:1883|other').load(), undefined, 'keyed by broker and client ID');
    b.clear();
    assert.equal(a.load(), undefined);
  });
});

describe('broker config node: routing (Aedes)', function () {
  it('reports a message whose routing throws on the config node, acknowledges it, and goes on routing the others', async () => {
    const broker = await startAedes();
    try {
      await load(consumerFlow(broker.url, [{ topic: 'route/ok' }], { clientId: freshId() }));
      const got = collect('in1-out');
      // A consumer registered as the nodes register, whose delivery throws: the route has no boundary below it.
      const config = getNode('b1') as unknown as BrokerNode;
      const throwing: Parameters<BrokerNode['register']>[0] = {
        filters: ['route/bad'], qos: 1, stopping: () => undefined, onState: () => undefined, onSubscribeFailed: () => undefined,
        deliver: () => {
          throw new Error('injected: delivery failed');
        },
      };
      await until(() => connected('in1'), 'connected');
      config.register(throwing);
      assert.deepEqual(await config.resubscribe(throwing), []);
      await broker.publish('route/bad', 'x', 1);
      await broker.publish('route/ok', 'y', 1);
      await until(() => got.length === 1, 'the other message');
      assert.equal(got[0].payload, 'y');
      await until(() => callsOf('b1', 'error').length === 1, 'the error on the config node');
      const [err, msg] = callsOf('b1', 'error')[0] as [Error, { topic?: string }];
      assert.match(String(err), /injected: delivery failed/);
      assert.equal(msg.topic, 'route/bad');
    } finally {
      await helper.unload();
      await broker.close();
    }
  });
});

describe('broker config node across deploys (Mosquitto)', function () {
  const mosq = mosquittoForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  it('keeps the connection through a deploy that restarts only the consumer, and loses nothing meanwhile', async () => {
    const flow = consumerFlow(mosq().url, [{ topic: 'nodes/#', name: 'v0' }], { clientId: freshId() });
    await load(flow);
    const received = new Set<unknown>();
    const track = (): void => {
      onInput('in1-out', (m) => received.add(m.payload));
    };
    track();
    await until(() => connected('in1'), 'connected');
    // Mosquitto's log reaches us through a pipe, possibly after the SUBACK: wait for the first SUBSCRIBE line.
    await until(() => mosquittoSubscribeCount(mosq()) > 0, 'Mosquitto to log the SUBSCRIBE');
    const subs = mosquittoSubscribeCount(mosq());
    const total = 2000;
    const publishing = publishMany(mosq().url, 'nodes/n', total, { qos: 1, rate: 1000 });
    for (let i = 1; i <= 3; i++) {
      // Each deploy lands mid-stream: after another quarter has arrived, whatever the machine's speed.
      await until(() => received.size >= (i * total) / 4, `${(i * total) / 4} messages before deploy ${i}`, 30000);
      // A changed name restarts the consumer (and its output node) but not the config node.
      await deploy(
        flow.map((n) => (n.id === 'in1' ? { ...n, name: `v${i}` } : n)),
        'nodes',
      );
      track();
    }
    await publishing;
    await until(() => received.size === total, `${total} distinct messages (have ${received.size})`, 30000);
    assert.equal(mosquittoSubscribeCount(mosq()), subs, 'the filter did not change, so no SUBSCRIBE');
    assert.equal(mosquittoUnsubscribeCount(mosq()), 0);
  });

  it('unsubscribes everything when the config node and its consumers are deleted', async () => {
    const id = freshId();
    const flow = consumerFlow(mosq().url, [{ topic: 'del/a' }, { topic: 'del/b/#' }], { clientId: id });
    await load(flow);
    await until(() => connected('in1') && mosq().log().includes('\tdel/b/# (QoS 1)'), 'subscribed');
    const unsubs = mosquittoUnsubscribeCount(mosq());
    await deploy([{ id: 'f1', type: 'tab' }], 'full');
    await until(() => mosquittoUnsubscribeCount(mosq()) === unsubs + 1, 'UNSUBSCRIBE');
    assert.match(mosq().log(), new RegExp(`${id} del/a`));
    assert.match(mosq().log(), new RegExp(`${id} del/b/#`));
  });
});

describe('broker config node: a TLS or proxy node it cannot find (Mosquitto)', function () {
  const USER = 'alice';
  const PASSWORD = 'tls-only-s3cret';
  let wsPort = 0;
  let broker: MosquittoHandle | undefined;
  const mosq = (): MosquittoHandle => broker ?? assert.fail('Mosquitto is not running');
  before(async () => {
    requireMosquitto();
    wsPort = await freePort();
    broker = await startMosquitto({ users: { [USER]: PASSWORD }, extraConfig: `listener ${wsPort} 127.0.0.1\nprotocol websockets\n` });
  });
  after(async () => {
    await broker?.stop();
  });
  userDirForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  /** b1 with `broker` (one consumer in1, one out node out1), the user's credentials, and a TLS or proxy id nothing in the flow has. */
  async function loadDangling(broker: Record<string, unknown>): Promise<string> {
    const clientId = freshId();
    const flow = consumerFlow('', [{ topic: 'dangling/#' }], { clientId, ...broker });
    flow.push({ id: 'out1', z: 'f1', type: 'durable-mqtt-out', broker: 'b1', topic: 'dangling/out' });
    await load(flow, { b1: { user: USER, password: PASSWORD } });
    const settled = (id: string): boolean => /status\.connected|reason\./.test(String(lastStatus(id)?.text));
    await until(() => settled('in1') && settled('out1'), 'a badge that says connected or why not');
    return clientId;
  }

  for (const [what, broker, named] of [
    // No scheme: a chosen TLS node makes it mqtts://; without one it would be plain mqtt:// with the password.
    ['a TLS node', { broker: '', tls: 'gone-tls' }, /TLS configuration node gone-tls not found/],
    ['a proxy node', { broker: 'ws', proxy: 'gone-proxy' }, /HTTP proxy configuration node gone-proxy not found/],
  ] as const) {
    it(`treats ${what} that does not resolve as an invalid configuration: red badges, an error, and no connection`, async () => {
      const url = broker.broker === 'ws' ? `ws://127.0.0.1:${wsPort}/mqtt` : `127.0.0.1:${mosq().port}`;
      const clientId = await loadDangling({ ...broker, broker: url });
      for (const id of ['in1', 'out1']) assert.equal(lastStatus(id)?.text, 'durable-mqtt.reason.invalidConfig', `${id}'s badge`);
      assert.ok(callsOf('b1', 'error').some(([m]) => named.test(String(m))), JSON.stringify(callsOf('b1', 'error')));
      assert.doesNotMatch(mosq().log(), new RegExp(`as ${clientId}`), 'the broker never saw the client');
    });
  }
});
