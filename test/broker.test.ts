// Specs for how the broker config node routes and keeps the session through deploys, and for the subscription ledger.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger } from '../nodes/session/subscriptions/ledger';
import { mosquittoForSuite, mosquittoSubscribeCount, mosquittoUnsubscribeCount } from './support/mosquitto';
import type { BrokerNode } from '../nodes/broker/types';
import { startAedes } from './support/aedes';
import { callsOf, collect, consumerFlow, deploy, getNode, helper, lastStatus, load, onInput } from './support/nodered';
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
