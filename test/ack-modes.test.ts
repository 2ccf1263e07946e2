// Specs for ackMode on durable-mqtt-in: PUBACKs leave only once the flow has finished with a message (Aedes reports each PUBACK it receives).
import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { aedesRecordingAcks, type AedesHandle } from './support/aedes';
import { coreNode, runtimeHooks as hooks } from './support/runtime';
import { collect, consumerFlow, deploy, helper, lastStatus, load, logged, statuses } from './support/nodered';
import { until } from './support/until';

const functionNode = coreNode('core/function/10-function.js');

let clientSeq = 0;
const freshId = (): string => `ack-test-${process.pid}-${++clientSeq}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Messages held by `test-hold` nodes, per node id, with the done() that completes each. */
const held = new Map<string, { msg: NodeMessage; done: (err?: Error) => void }[]>();
const heldBy = (id: string): { msg: NodeMessage; done: (err?: Error) => void }[] => held.get(id) ?? [];

/** Test node types: one that keeps each message until the test completes it, and an old one-argument node that never calls done(). */
function testNodes(RED: NodeAPI): void {
  RED.nodes.registerType('test-hold', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const mine: { msg: NodeMessage; done: (err?: Error) => void }[] = [];
    held.set(this.id, mine);
    this.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      mine.push({ msg, done });
    });
  });
  RED.nodes.registerType('test-no-done', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // The pre-1.0 handler shape: the runtime never learns that this node has finished.
    this.on('input', (_msg: NodeMessage) => undefined);
  });
}

/** The flow: broker b1, consumer in1 (extra props) wired to `targets`, plus `nodes`. */
function flow(url: string, consumer: Record<string, unknown>, targets: string[], nodes: Record<string, unknown>[]): Record<string, unknown>[] {
  const base = consumerFlow(url, [{ topic: 'ack/#', ...consumer }], { clientId: freshId() });
  const in1 = base.find((n) => n.id === 'in1');
  if (in1) in1.wires = [targets];
  return [...base.filter((n) => n.id !== 'in1-out'), ...nodes.map((n) => ({ z: 'f1', wires: [], ...n }))];
}

describe('ack modes (durable mqtt in on Aedes)', function () {
  this.timeout(30000);
  const recorded = aedesRecordingAcks(() => helper.unload());
  const { acks } = recorded;
  let broker: AedesHandle;

  beforeEach(() => {
    held.clear();
    broker = recorded.broker();
  });

  async function start(f: Record<string, unknown>[]): Promise<void> {
    await load(f as Parameters<typeof load>[0], {}, [testNodes, functionNode]);
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
  }

  it('fan-out: acks only after all three nodes on the wire have finished, the slow one included', async () => {
    await start(flow(broker.url, {}, ['fast1', 'fast2', 'slow'], [
      { id: 'fast1', type: 'helper' },
      { id: 'fast2', type: 'helper' },
      { id: 'slow', type: 'test-hold' },
    ]));
    const a = collect('fast1');
    const b = collect('fast2');
    await broker.publish('ack/x', 'm', 1);
    await until(() => a.length === 1 && b.length === 1 && heldBy('slow').length === 1, 'delivery to all three');
    await sleep(300);
    assert.deepEqual(acks, [], 'no PUBACK while the slow node holds the message');
    heldBy('slow')[0].done();
    await until(() => acks.length === 1, 'PUBACK after the slow node finished');
  });

  it('follows the message through a function node that returns the same msg', async () => {
    await start(flow(broker.url, {}, ['fn'], [
      { id: 'fn', type: 'function', func: 'msg.seen = true;\nreturn msg;', outputs: 1, wires: [['slow']] },
      { id: 'slow', type: 'test-hold' },
    ]));
    await broker.publish('ack/x', 'm', 1);
    await until(() => heldBy('slow').length === 1, 'delivery past the function node');
    assert.equal(heldBy('slow')[0].msg.seen, true);
    await sleep(300);
    assert.deepEqual(acks, [], 'the function node finishing is not the flow finishing');
    heldBy('slow')[0].done();
    await until(() => acks.length === 1, 'PUBACK');
  });

  it('sends PUBACKs in arrival order when the flow finishes messages out of order', async () => {
    await start(flow(broker.url, {}, ['slow'], [{ id: 'slow', type: 'test-hold' }]));
    for (const p of ['0', '1', '2']) await broker.publish('ack/x', p, 1);
    await until(() => heldBy('slow').length === 3, 'three messages held');
    heldBy('slow')[2].done();
    heldBy('slow')[1].done();
    await sleep(300);
    assert.deepEqual(acks, [], 'nothing is acked while the first message is unfinished');
    heldBy('slow')[0].done();
    await until(() => acks.length === 3, 'three PUBACKs');
    assert.deepEqual(acks, ['0', '1', '2']);
  });

  it('acks a message that failed with done(err) by default, and a Catch node sees the error', async () => {
    await start([
      ...flow(broker.url, {}, ['slow'], [{ id: 'slow', type: 'test-hold' }]),
      { id: 'catcher', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ]);
    const caught = collect('caught');
    await broker.publish('ack/x', 'bad', 1);
    await until(() => heldBy('slow').length === 1, 'held');
    heldBy('slow')[0].done(new Error('database down'));
    await until(() => acks.length === 1 && caught.length === 1, 'PUBACK and the Catch node');
    assert.match(String((caught[0].error as { message?: string }).message), /database down/);
  });

  it('with ackOnError false leaves a failed message unacked, acks the next, and gets it redelivered on the next connection', async () => {
    const f = flow(broker.url, { ackOnError: false }, ['slow'], [{ id: 'slow', type: 'test-hold' }]);
    await start(f);
    await broker.publish('ack/x', 'fails', 1);
    await broker.publish('ack/x', 'works', 1);
    await until(() => heldBy('slow').length === 2, 'two held');
    heldBy('slow')[0].done(new Error('rejected'));
    heldBy('slow')[1].done();
    await until(() => acks.length === 1, 'PUBACK of the second');
    assert.deepEqual(acks, ['works']);
    // A full redeploy reconnects; the broker resends what was not acknowledged.
    await deploy(f as Parameters<typeof deploy>[0], 'full');
    await until(() => heldBy('slow').length === 1, 'redelivery');
    assert.equal(String(heldBy('slow')[0].msg.payload), 'fails');
    heldBy('slow')[0].done();
    await until(() => acks.length === 2, 'PUBACK of the redelivered message');
  });

  it('acks after ackTimeout when a node never calls done(), warns once naming it, and shows it in the status', async () => {
    await start(flow(broker.url, { ackTimeout: 0.5 }, ['old'], [{ id: 'old', type: 'test-no-done', name: 'legacy node' }]));
    await broker.publish('ack/x', 'a', 1);
    await broker.publish('ack/x', 'b', 1);
    await until(() => acks.length === 2, 'PUBACKs after the timeout');
    assert.deepEqual(acks, ['a', 'b']);
    const warnings = (helper.log() as unknown as { args: [{ msg?: unknown }][] }).args
      .map(([e]) => (typeof e?.msg === 'string' ? e.msg : ''))
      .filter((m) => /did not call done\(\)/.test(m));
    assert.equal(warnings.length, 1, `one warning, got: ${warnings.join(' | ')}`);
    assert.match(warnings[0], /"legacy node" \(test-no-done\)/);
    assert.ok(logged('in1', 'warn', /legacy node/));
    await until(() => String(lastStatus('in1')?.text).includes('status.ackTimeout'), 'ack-timeout badge');
  });

  it('keeps at most maxInFlight messages inside the flow and shows the count in the badge', async () => {
    await start(flow(broker.url, { maxInFlight: 2 }, ['slow'], [{ id: 'slow', type: 'test-hold' }]));
    const seen: NodeStatus[] = statuses('in1');
    for (const p of ['0', '1', '2', '3']) await broker.publish('ack/x', p, 1);
    await until(() => heldBy('slow').length === 2, 'two in flight');
    await until(() => seen.some((s) => String(s.text).includes('status.inflight')), 'in-flight badge');
    await sleep(300);
    assert.equal(heldBy('slow').length, 2, 'the window holds the other two back');
    heldBy('slow')[0].done();
    await until(() => heldBy('slow').length === 3, 'the third enters when the first finishes');
    for (const h of heldBy('slow').slice(1)) h.done();
    await until(() => heldBy('slow').length === 4, 'the fourth');
    heldBy('slow')[3].done();
    await until(() => acks.length === 4, 'four PUBACKs');
    assert.deepEqual(acks, ['0', '1', '2', '3']);
    await until(() => lastStatus('in1')?.text === 'durable-mqtt.status.connected', 'badge back to connected');
  });

  it('in receive mode acks on arrival, while a node still holds the message, and adds no hooks', async () => {
    await start(flow(broker.url, { ackMode: 'receive' }, ['slow'], [{ id: 'slow', type: 'test-hold' }]));
    assert.equal(hooks.has('preDeliver.durable-mqtt-acks'), false);
    await broker.publish('ack/x', 'm', 1);
    await until(() => heldBy('slow').length === 1 && acks.length === 1, 'held and acked');
  });

  it('registers its runtime hooks only while a complete-mode node exists', async () => {
    assert.equal(hooks.has('preDeliver.durable-mqtt-acks'), false);
    await start(flow(broker.url, {}, ['slow'], [{ id: 'slow', type: 'test-hold' }]));
    assert.equal(hooks.has('preDeliver.durable-mqtt-acks'), true);
    assert.equal(hooks.has('onComplete.durable-mqtt-acks'), true);
    await helper.unload();
    assert.equal(hooks.has('preDeliver.durable-mqtt-acks'), false);
    assert.equal(hooks.has('onComplete.durable-mqtt-acks'), false);
  });
});
