// Specifies dynamic subscriptions (msg.action with inputs: 1) as core's mqtt in takes them, and what they keep beyond core: persistence and done() after the broker's answer.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import { parseConsumer } from '../nodes/consumer/settings';
import { DynamicSubscriptions, parseTopics } from '../nodes/consumer/dynamic-subscriptions';
import { MAX_FILTERS_PER_ACTION, MAX_FILTERS_PER_NODE } from '../nodes/consumer/limits';
import { FileDynamicStore, MemoryDynamicStore } from '../nodes/consumer/dynamic-store';
import { startAedes, type AedesHandle } from './support/aedes';
import { mosquittoForSuite } from './support/mosquitto';
import { publishMany } from './support/publisher';
import { callsOf, collect, deploy, getNode, helper, lastStatus, load } from './support/nodered';
import { until } from './support/until';
import { coreNode } from './support/runtime';

const catchNode = coreNode('core/common/25-catch.js');
const completeNode = coreNode('core/common/24-complete.js');

let seq = 0;
/** Under the test helper the dynamic subscriptions live in memory, keyed by node id: every test gets its own ids. */
const fresh = (what: string): string => `dyn-${what}-${process.pid}-${++seq}`;

type Flow = Parameters<typeof load>[0];

/** broker config → a dynamic durable-mqtt-in (saved at version 1, as our editor saves it) → helper, with complete and catch nodes reporting to helpers. */
function dynamicFlow(url: string, inId: string, consumer: Record<string, unknown> = {}, broker: Record<string, unknown> = {}, clientId = fresh('client')): Flow {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'b1', type: 'durable-mqtt-broker', broker: url, clientId, backoffMin: 0.1, backoffMax: 0.5, ...broker },
    { id: inId, z: 'f1', type: 'durable-mqtt-in', broker: 'b1', topic: '', qos: 1, datatype: 'utf8', inputs: 1, version: 1, ...consumer, wires: [['out']] },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'done', z: 'f1', type: 'complete', scope: [inId], uncaught: false, wires: [['done-out']] },
    { id: 'caught', z: 'f1', type: 'catch', scope: [inId], uncaught: false, wires: [['caught-out']] },
    { id: 'done-out', z: 'f1', type: 'helper' },
    { id: 'caught-out', z: 'f1', type: 'helper' },
  ];
}

// The test helper's RED._ gives message keys, not text.
const connected = (id: string): boolean => String(lastStatus(id)?.text) === 'durable-mqtt.status.connected';

/** Loads the flow and waits for the connection; returns what reaches the output, the Complete node and the Catch node. */
async function started(url: string, id: string, consumer: Record<string, unknown> = {}, clientId?: string): Promise<Record<'got' | 'done' | 'caught', NodeMessage[]>> {
  await load(dynamicFlow(url, id, consumer, {}, clientId), {}, [catchNode, completeNode]);
  const taps = { got: collect('out'), done: collect('done-out'), caught: collect('caught-out') };
  await until(() => connected(id), 'connected');
  return taps;
}

const send = (id: string, msg: Record<string, unknown>): void => {
  (getNode(id) as unknown as { receive(m: NodeMessage): void }).receive(msg);
};

const caughtText = (m: NodeMessage): string => String((m as { error?: { message?: string } }).error?.message);

describe('dynamic subscriptions: msg.topic as core reads it', () => {
  it('takes a filter, a {topic, qos} object or an array of either; true unsubscribes every one', () => {
    assert.deepEqual(parseTopics('a/+', [], false), { ok: true, subscriptions: [{ topic: 'a/+' }] });
    assert.deepEqual(parseTopics({ topic: 'a/b', qos: '2' }, [], false), { ok: true, subscriptions: [{ topic: 'a/b', qos: 2 }] });
    // An object whose toString is not a function (a msg may carry anything): refused by name, not thrown.
    const hostile = parseTopics({ topic: 'a/b', qos: { toString: '' } }, [], false);
    assert.ok(!hostile.ok && /qos of "a\/b" must be 0, 1 or 2/.test(hostile.error), JSON.stringify(hostile));
    const many = parseTopics(['x', { topic: 'y/#', qos: 0, nl: 'true', rap: false, rh: 2, datatype: 'buffer' }], [], false);
    assert.deepEqual(many, { ok: true, subscriptions: [{ topic: 'x' }, { topic: 'y/#', qos: 0, nl: true, rap: false, rh: 2, datatype: 'buffer' }] });
    const current = [{ topic: 'p' }, { topic: 'q', qos: 2 as const }];
    assert.deepEqual(parseTopics(true, current, true), { ok: true, subscriptions: current });
  });

  it('refuses what core refuses, and a qos, rh or datatype that is not one of its values', () => {
    for (const bad of [undefined, 42, true, null, [], 'a/#/b', '', { qos: 1 }, { topic: 'a+' }, ['ok', 'bad/#/x'], { topic: 'a', qos: 3 }, { topic: 'a', rh: 'x' }, { topic: 'a', datatype: 'xml' }]) {
      const r = parseTopics(bad, [], false);
      assert.equal(r.ok, false, JSON.stringify(bad));
    }
    assert.equal(parseTopics(true, [], false).ok, false, 'true means "all" only for unsubscribe');
  });

  it('refuses a datatype, qos or rh named after an Object.prototype member, which a plain `in` test takes for a known name', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      for (const bad of [{ topic: 'h/#', datatype: name }, { topic: 'h/#', qos: name }, { topic: 'h/#', rh: name }]) {
        const r = parseTopics(bad, [], false);
        assert.equal(r.ok, false, JSON.stringify(bad));
      }
    }
  });

  it(`refuses a msg.topic list of more than ${MAX_FILTERS_PER_ACTION} subscriptions, for subscribe and unsubscribe`, () => {
    const list = Array.from({ length: MAX_FILTERS_PER_ACTION + 1 }, (_, i) => `t/${i}`);
    for (const unsubscribe of [false, true]) assert.equal(parseTopics(list, [], unsubscribe).ok, false);
    assert.equal(parseTopics(list.slice(1), [], false).ok, true);
  });

  it(`keeps at most ${MAX_FILTERS_PER_NODE} filters of a saved list (an earlier version had no limit), the first ones, with one warning`, () => {
    const store = new MemoryDynamicStore(fresh('saved-limit'));
    store.save(Array.from({ length: MAX_FILTERS_PER_NODE + 5 }, (_, i) => ({ topic: `s/${i}` })));
    const opened = DynamicSubscriptions.open(['own/1', 'own/2'], { qos: 1, flags: {} }, store);
    assert.equal(opened.subscriptions.filters.length, MAX_FILTERS_PER_NODE);
    assert.equal(opened.subscriptions.current.at(-1)?.topic, `s/${MAX_FILTERS_PER_NODE - 3}`);
    assert.equal(opened.dropped?.length, 1);
    assert.match(String(opened.dropped?.[0]), /dropped the last 7 saved dynamic subscriptions/);
    assert.equal(DynamicSubscriptions.open([], { qos: 1, flags: {} }, store).subscriptions.filters.length, MAX_FILTERS_PER_NODE - 2, 'saved without them');
  });

  it('drops a saved subscription that is not valid any more, with a warning naming it, and keeps the rest', () => {
    const store = new MemoryDynamicStore(fresh('saved'));
    // A bare string never came from save(); the store's type forbids it, a hand-edited file does not.
    store.save([{ topic: 'h/#', datatype: 'constructor' }, { topic: 'g/#', qos: 2 }, { topic: 'x', qos: 7 }, { topic: 'a/#/b' }, 'nonsense' as unknown as object, { topic: 'k/+', datatype: 'buffer' }]);
    const opened = DynamicSubscriptions.open([], { qos: 1, flags: {} }, store);
    assert.deepEqual(opened.subscriptions.list(), [{ topic: 'g/#', qos: 2 }, { topic: 'k/+', qos: 1, datatype: 'buffer' }]);
    assert.equal(opened.subscriptions.datatypeFor('h/x'), undefined);
    assert.equal(opened.subscriptions.datatypeFor('k/x'), 'buffer');
    assert.equal(opened.error, undefined);
    assert.equal(opened.dropped?.length, 4);
    assert.match(String(opened.dropped?.[0]), /"h\/#".*datatype/);
  });

  it(`refuses a node with more than ${MAX_FILTERS_PER_NODE} filters of its own`, () => {
    const base = { id: 'n', type: 'durable-mqtt-in', name: '', z: '', version: 1 };
    const topic = (n: number): string => Array.from({ length: n }, (_, i) => `t/${i}`).join('\n');
    assert.equal(parseConsumer({ ...base, topic: topic(MAX_FILTERS_PER_NODE) }).ok, true);
    assert.deepEqual(parseConsumer({ ...base, topic: topic(MAX_FILTERS_PER_NODE + 1) }), { ok: false, key: 'tooManyFilters', error: `${MAX_FILTERS_PER_NODE + 1} topic filters; a node holds at most ${MAX_FILTERS_PER_NODE} (MAX_FILTERS_PER_NODE)` });
  });

  it('reads a core dynamic mqtt in: inputs 1 (number or string) and an empty topic', () => {
    const core = { id: 'n', type: 'durable-mqtt-in', name: '', z: '', topic: '', qos: '2', datatype: 'auto-detect', nl: false, rap: true, rh: 0 };
    for (const inputs of [1, '1']) {
      const p = parseConsumer({ ...core, inputs });
      assert.ok(p.ok, String(inputs));
      assert.deepEqual([p.settings.dynamic, p.settings.filters, p.settings.qos, p.settings.datatype], [true, [], 2, 'auto']);
    }
    const statik = parseConsumer({ ...core, inputs: 0 });
    assert.equal(statik.ok, false, 'a static node still needs a filter');
    const leftover = parseConsumer({ ...core, inputs: 1, topic: 'left/over' });
    assert.ok(leftover.ok && leftover.settings.filters.length === 0, "core's dynamic node ignores its topic: a switched flow does too");
    const both = parseConsumer({ ...core, inputs: 1, topic: 'own/#', version: 1 });
    assert.ok(both.ok && both.settings.dynamic && both.settings.filters[0] === 'own/#', 'ours subscribes its own filters too');
  });

  it("gives each dynamic filter its own options over the node's, and a datatype of its own by topic", () => {
    const subs = DynamicSubscriptions.open(['own/#'], { qos: 1, flags: { nl: false, rap: true, rh: 0 } }, new MemoryDynamicStore(fresh('unit'))).subscriptions;
    subs.add([{ topic: 'a/+', qos: 2, rh: 1 }, { topic: '$share/g/b/#', datatype: 'auto' }, { topic: 'own/#', qos: 0 }]);
    assert.deepEqual(subs.filters, ['own/#', 'a/+', '$share/g/b/#']);
    assert.deepEqual(subs.options.get('a/+'), { qos: 2, flags: { nl: false, rap: true, rh: 1 } });
    assert.deepEqual(subs.options.get('own/#'), { qos: 0, flags: { nl: false, rap: true, rh: 0 } });
    assert.equal(subs.datatypeFor('b/c/d'), 'text-or-buffer', "core's per-subscription auto never parses JSON");
    assert.equal(subs.datatypeFor('a/x'), undefined);
    assert.deepEqual(subs.list().map((s) => [s.topic, s.qos]), [['a/+', 2], ['$share/g/b/#', 1], ['own/#', 0]]);
    subs.remove([{ topic: 'own/#' }, { topic: 'never' }]);
    assert.deepEqual(subs.filters, ['own/#', 'a/+', '$share/g/b/#'], 'a static filter stays when its dynamic twin goes');
    assert.equal(subs.options.has('own/#'), false);
  });

  it('persists to a file atomically, and a file that cannot be read starts empty with the error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'durable-dyn-store-'));
    try {
      const store = new FileDynamicStore(dir, 'node.1');
      const defaults = { qos: 1 as const, flags: {} };
      DynamicSubscriptions.open([], defaults, store).subscriptions.add([{ topic: 'k/#', qos: 2 }]);
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
      assert.deepEqual(DynamicSubscriptions.open([], defaults, new FileDynamicStore(dir, 'node.1')).subscriptions.list(), [{ topic: 'k/#', qos: 2 }]);
      const file = join(dir, readdirSync(dir)[0]);
      assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { node: string }).node, 'node.1');
      for (const text of ['null', '"text"', '{"__proto__": {"subscriptions": [{"topic": "p"}]}}']) {
        writeFileSync(file, text);
        assert.match(String(DynamicSubscriptions.open([], defaults, new FileDynamicStore(dir, 'node.1')).error), /holds no subscriptions list/, text);
      }
      writeFileSync(file, '{ torn');
      const broken = DynamicSubscriptions.open([], defaults, new FileDynamicStore(dir, 'node.1'));
      assert.match(String(broken.error), /cannot read the saved dynamic subscriptions/);
      assert.deepEqual(broken.subscriptions.filters, []);
      broken.subscriptions.forget();
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dynamic subscriptions: msg.action (Aedes)', function () {
  this.timeout(30_000);
  let broker: AedesHandle;
  beforeEach(async () => {
    broker = await startAedes();
  });
  afterEach(async () => {
    await helper.unload();
    await broker.close();
  });

  it('subscribe: done() only once the SUBACK is in, msg.subscriptions as core sets it, then messages arrive', async () => {
    const id = fresh('sub');
    const { got, done, caught } = await started(broker.url, id);
    // Hold every SUBSCRIBE until released: done() must wait for its SUBACK.
    const held: (() => void)[] = [];
    broker.broker.authorizeSubscribe = (_client, sub, cb) => held.push(() => cb(null, sub));
    send(id, { action: 'subscribe', topic: 'dyn/a' });
    await until(() => held.length === 1, 'the SUBSCRIBE at the broker');
    assert.equal(done.length, 0, 'not done before the SUBACK');
    held[0]();
    await until(() => done.length === 1, 'done after the SUBACK');
    assert.deepEqual((done[0] as { subscriptions?: unknown }).subscriptions, [{ topic: 'dyn/a', qos: 1 }]);
    await broker.publish('dyn/a', 'hello', 1);
    await until(() => got.length === 1, 'the message');
    assert.deepEqual([got[0].topic, got[0].payload, got[0].qos], ['dyn/a', 'hello', 1]);
    assert.equal(caught.length, 0);
  });

  it('subscribe with an array of strings and {topic, qos, datatype} objects; getSubscriptions sends the list on the output', async () => {
    const id = fresh('list');
    const { got, done } = await started(broker.url, id, { topic: 'own/x' });
    send(id, { action: 'subscribe', topic: ['dyn/s', { topic: 'dyn/q0/#', qos: 0 }, { topic: 'dyn/raw', qos: 2, datatype: 'buffer' }] });
    await until(() => done.length === 1, 'subscribed');
    send(id, { action: 'getSubscriptions', _keep: 'me' });
    await until(() => got.length === 1, 'the list');
    assert.equal(got[0].topic, 'subscriptions');
    assert.equal((got[0] as { _keep?: string })._keep, 'me', 'the msg passes through, as in core');
    assert.deepEqual(got[0].payload, [{ topic: 'dyn/s', qos: 1 }, { topic: 'dyn/q0/#', qos: 0 }, { topic: 'dyn/raw', qos: 2, datatype: 'buffer' }]);
    await broker.publish('dyn/q0/z', 'zero', 1);
    await broker.publish('dyn/raw', 'bytes', 2);
    await broker.publish('own/x', 'mine', 1);
    await until(() => got.length === 4, 'three messages');
    const [q0, raw, own] = got.slice(1);
    assert.deepEqual([q0.topic, q0.qos], ['dyn/q0/z', 0], 'granted at the QoS of the subscription object');
    assert.deepEqual([raw.qos, Buffer.isBuffer(raw.payload)], [2, true], "the subscription's own datatype");
    assert.deepEqual([own.topic, own.payload], ['own/x', 'mine'], 'the filters of the dialog stay');
  });

  it('unsubscribe: the broker gets the UNSUBSCRIBE before done(), and true removes every dynamic subscription', async () => {
    const id = fresh('unsub');
    const { got, done } = await started(broker.url, id);
    send(id, { action: 'subscribe', topic: ['u/1', 'u/2', 'u/3'] });
    await until(() => done.length === 1, 'subscribed');
    const before = broker.unsubscribeCount();
    send(id, { action: 'unsubscribe', topic: 'u/1' });
    await until(() => done.length === 2, 'unsubscribed');
    assert.equal(broker.unsubscribeCount(), before + 1, 'UNSUBSCRIBE sent before done()');
    assert.deepEqual((done[1] as { subscriptions?: unknown }).subscriptions, [{ topic: 'u/2', qos: 1 }, { topic: 'u/3', qos: 1 }]);
    send(id, { action: 'unsubscribe', topic: true });
    await until(() => done.length === 3, 'all unsubscribed');
    assert.deepEqual((done[2] as { subscriptions?: unknown }).subscriptions, []);
    for (const t of ['u/1', 'u/2', 'u/3']) await broker.publish(t, 'gone', 1);
    // A fresh subscription as a sentinel: anything the old ones still delivered would come first.
    send(id, { action: 'subscribe', topic: 'u/sentinel' });
    await until(() => done.length === 4, 'sentinel subscribed');
    await broker.publish('u/sentinel', 'last', 1);
    await until(() => got.length >= 1, 'sentinel');
    assert.deepEqual(got.map((m) => m.topic), ['u/sentinel']);
  });

  it('an invalid action or msg.topic: done(err) for a Catch node, a red badge, and the node carries on', async () => {
    const id = fresh('bad');
    const { done, caught } = await started(broker.url, id);
    send(id, { action: 'subscribe', topic: 'a/#/b' });
    await until(() => caught.length === 1, 'caught');
    assert.match(caughtText(caught[0]), /invalid topic filter "a\/#\/b"/);
    assert.deepEqual(lastStatus(id), { fill: 'red', shape: 'dot', text: 'durable-mqtt.errors.invalidSubscription' });
    for (const msg of [{ action: 'subscribe', topic: 42 }, { action: 'jump' }, { topic: 'x' }, { action: 'connect', broker: { broker: 'elsewhere' } }]) send(id, msg);
    await until(() => caught.length === 5, 'every bad msg caught');
    assert.match(caughtText(caught[2]), /msg\.action must be one of subscribe, unsubscribe, getSubscriptions, connect, disconnect/);
    assert.match(caughtText(caught[4]), /msg\.broker may only hold "force"/);
    assert.equal(done.length, 0);
    send(id, { action: 'subscribe', topic: 'fine' });
    await until(() => done.length === 1, 'a good msg after the bad ones');
    assert.ok(connected(id), 'the badge shows the connection again');
  });

  it('a subscription the broker refuses: done(err) naming it, one error, a red badge', async () => {
    await broker.close();
    broker = await startAedes({ authorizeSubscribe: (t) => !t.startsWith('secret/'), denySubscribeWith: 'suback' });
    const id = fresh('refused');
    const { done, caught } = await started(broker.url, id);
    send(id, { action: 'subscribe', topic: 'secret/x' });
    await until(() => caught.length === 1, 'caught');
    assert.match(caughtText(caught[0]), /refused the subscription secret\/x/);
    assert.equal(done.length, 0);
    assert.equal(callsOf(id, 'error').length, 1, 'reported once, through done(err)');
    assert.deepEqual(lastStatus(id), { fill: 'red', shape: 'dot', text: 'durable-mqtt.errors.subscribeRefused' });
    send(id, { action: 'unsubscribe', topic: 'secret/x' });
    await until(() => done.length === 1, 'unsubscribed');
    assert.ok(connected(id), 'green again once the refused filter is gone');
  });

  it('keeps dynamic subscriptions through a redeploy without subscribing again; deleting the node unsubscribes them', async () => {
    const id = fresh('redeploy');
    const clientId = fresh('client');
    const flow = dynamicFlow(broker.url, id, {}, {}, clientId);
    await load(flow, {}, [catchNode, completeNode]);
    const done = collect('done-out');
    await until(() => connected(id), 'connected');
    send(id, { action: 'subscribe', topic: { topic: 'keep/#', qos: 2 } });
    await until(() => done.length === 1, 'subscribed');
    const subscribes = broker.subscribeCount();
    // A full deploy stops every node (the session stays at the broker); the new nodes must get what it queued.
    await deploy(flow.map((n) => (n.id === id ? { ...n, name: 'changed' } : n)), 'full');
    const got = collect('out');
    await broker.publish('keep/a', 'after', 2);
    await until(() => got.length === 1, 'the message after the redeploy');
    assert.deepEqual([got[0].topic, got[0].qos], ['keep/a', 2]);
    assert.equal(broker.subscribeCount(), subscribes, 'nothing subscribed again: the ledger knows the broker holds it');
    const unsubscribes = broker.unsubscribeCount();
    await deploy(flow.filter((n) => n.id !== id && n.type !== 'complete' && n.type !== 'catch'), 'full');
    await until(() => broker.unsubscribeCount() === unsubscribes + 1, 'UNSUBSCRIBE of the deleted node');
  });

  it('disconnect ends the shared connection without unsubscribing; connect brings it back with what was queued', async () => {
    const id = fresh('conn');
    const { got, done } = await started(broker.url, id);
    send(id, { action: 'subscribe', topic: 'conn/x' });
    await until(() => done.length === 1, 'subscribed');
    send(id, { action: 'connect' });
    await until(() => done.length === 2, 'connect while connected is done at once, as in core');
    const unsubscribes = broker.unsubscribeCount();
    send(id, { action: 'disconnect' });
    await until(() => done.length === 3, 'disconnected');
    assert.equal(String(lastStatus(id)?.text), 'durable-mqtt.status.disconnected');
    await broker.publish('conn/x', 'queued', 1);
    send(id, { action: 'connect' });
    await until(() => done.length === 4, 'connected again');
    await until(() => got.length === 1, 'the queued message');
    assert.equal(got[0].payload, 'queued');
    assert.equal(broker.unsubscribeCount(), unsubscribes, 'disconnect unsubscribes nothing');
    send(id, { action: 'connect', broker: { force: true } });
    await until(() => done.length === 5, 'forced reconnect');
    assert.ok(connected(id));
  });
});

// Mosquitto rather than Aedes: Aedes adds thousands of subscriptions in the test's own process, in time that grows faster than their number.
describe('dynamic subscriptions: limits (Mosquitto)', function () {
  this.timeout(60_000);
  const mosq = mosquittoForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  it(`refuses with done(err) a subscribe of more than ${MAX_FILTERS_PER_ACTION} filters, and one that would give the node more than ${MAX_FILTERS_PER_NODE}; a node at the limit subscribes and delivers`, async () => {
    const id = fresh('limit');
    const { got, done, caught } = await started(mosq().url, id, { topic: 'own/a' });
    const topics = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}/${i}`);
    send(id, { action: 'subscribe', topic: topics('big', MAX_FILTERS_PER_ACTION + 1) });
    await until(() => caught.length === 1, 'the list too long for one action refused');
    assert.match(caughtText(caught[0]), new RegExp(`msg.topic lists ${MAX_FILTERS_PER_ACTION + 1} subscriptions; one action takes at most ${MAX_FILTERS_PER_ACTION}`));
    assert.deepEqual(lastStatus(id), { fill: 'red', shape: 'dot', text: 'durable-mqtt.errors.tooManyFilters' });
    // The node's own filter and two actions make exactly the node's limit.
    send(id, { action: 'subscribe', topic: topics('a', MAX_FILTERS_PER_ACTION) });
    send(id, { action: 'subscribe', topic: topics('b', MAX_FILTERS_PER_NODE - MAX_FILTERS_PER_ACTION - 1) });
    await until(() => done.length === 2, 'both subscribed', 30_000);
    send(id, { action: 'subscribe', topic: ['c/0', 'a/0'] });
    await until(() => caught.length === 2, 'one more refused');
    assert.match(caughtText(caught[1]), new RegExp(`the node would hold ${MAX_FILTERS_PER_NODE + 1} topic filters; a node holds at most ${MAX_FILTERS_PER_NODE}`));
    await publishMany(mosq().url, `b/${MAX_FILTERS_PER_NODE - MAX_FILTERS_PER_ACTION - 2}`, 1, { qos: 1, payload: () => 'last' });
    await publishMany(mosq().url, 'own/a', 1, { qos: 1, payload: () => 'own' });
    await until(() => got.length === 2, 'messages on the node at its limit');
    send(id, { action: 'getSubscriptions' });
    await until(() => got.length === 3, 'the list');
    assert.equal((got[2].payload as unknown[]).length, MAX_FILTERS_PER_NODE - 1, 'the refused ones were not added');
  });

});
