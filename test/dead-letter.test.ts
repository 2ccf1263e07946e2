// Specs for the delivery limit of durable-mqtt-in (maxDeliveries) and its `failed` output, in the Node-RED test helper against Mosquitto (redeliveries need its reconnects).
import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import { mosquittoForSuite } from './support/mosquitto';
import { getNode, helper, lastStatus, load, logged } from './support/nodered';
import { until } from './support/until';
import { publishMany } from './support/publisher';

/** Fast redeliveries: the session reconnects 0.1 s after a withheld message, backing off to 0.5 s. */
const fast = { backoffMin: 0.1, backoffMax: 0.5 };
let clientSeq = 0;
const freshId = (): string => `dlq-test-${process.pid}-${++clientSeq}`;

type Msg = NodeMessage & { deliveries?: number; error?: { message: string; source: { id: string; type: string; name?: string } } };

/** durable-mqtt-in `in1` (ackMode complete, ackOnError false, UTF-8) wired to `work` and, with a limit, `failed`. */
function flow(url: string, consumer: Record<string, unknown>): Record<string, unknown>[] {
  const limited = Number(consumer.maxDeliveries ?? 0) > 0;
  return [
    { id: 'f1', type: 'tab' },
    { id: 'b1', type: 'durable-mqtt-broker', broker: url, clientId: freshId(), ...fast },
    {
      id: 'in1', z: 'f1', type: 'durable-mqtt-in', name: 'orders', broker: 'b1', topic: 'dlq/#', qos: 1, datatype: 'utf8', ackOnError: false,
      outputs: limited ? 2 : 1, ...consumer, wires: limited ? [['work'], ['failed']] : [['work']],
    },
    { id: 'work', z: 'f1', type: 'helper', name: 'worker' },
    { id: 'failed', z: 'f1', type: 'helper' },
  ];
}

/** Records what a helper node receives and completes each with what `verdict` says (an error fails it). */
function handle(id: string, verdict: (msg: Msg, seen: Msg[]) => Error | undefined = () => undefined): Msg[] {
  const seen: Msg[] = [];
  getNode(id).on('input', (msg: Msg, _send: unknown, done: (err?: Error) => void) => {
    seen.push(msg);
    done(verdict(msg, seen));
  });
  return seen;
}

const payloads = (msgs: Msg[]): unknown[] => msgs.map((m) => m.payload);
const ofPayload = (msgs: Msg[], p: string): Msg[] => msgs.filter((m) => m.payload === p);

describe('delivery limit (durable mqtt in on Mosquitto)', function () {
  this.timeout(60000);
  const mosq = mosquittoForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  async function start(consumer: Record<string, unknown>): Promise<void> {
    await load(flow(mosq().url, consumer) as Parameters<typeof load>[0]);
    await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected');
  }

  /** A message that fails on its first delivery only, and its redelivery: once it is back, every message withheld before it came back too. */
  async function barrier(work: Msg[]): Promise<void> {
    await publishMany(mosq().url, 'dlq/barrier', 1, { qos: 1, payload: () => 'fails once' });
    await until(() => ofPayload(work, 'fails once').length === 2, 'the redelivery of a message that failed once');
  }
  const failsOnce = (m: Msg, seen: Msg[]): Error | undefined => (m.payload === 'fails once' && ofPayload(seen, 'fails once').length === 1 ? new Error('first try') : undefined);

  it('sends a message that always fails to the failed output once, at its third delivery, acks it, and lets the messages around it through', async () => {
    await start({ maxDeliveries: 3 });
    const work = handle('work', (m, seen) => (m.payload === 'poison' ? new Error('poison pill') : failsOnce(m, seen)));
    const failed = handle('failed');
    await publishMany(mosq().url, 'dlq/orders', 3, { qos: 1, payload: (i) => ['before', 'poison', 'after'][i] });
    await until(() => failed.length === 1, 'the dead letter');
    assert.deepEqual(ofPayload(work, 'poison').map((m) => m.deliveries), [undefined, 2, 3], 'msg.deliveries from the second delivery on');
    assert.deepEqual([ofPayload(work, 'before').length, ofPayload(work, 'after').length], [1, 1]);
    const dead = failed[0];
    assert.equal(dead.topic, 'dlq/orders');
    assert.equal(dead.payload, 'poison');
    assert.equal(dead.deliveries, 3);
    assert.equal((dead as { qos?: unknown }).qos, 1);
    assert.match(String(dead.error?.message), /poison pill/);
    assert.deepEqual(dead.error?.source, { id: 'work', type: 'helper', name: 'worker' });
    assert.ok(logged('in1', 'warn', /a message on dlq\/orders failed at its delivery 3 of 3 \(maxDeliveries\): sent to the failed output/));
    // Acked: the next reconnect brings only the barrier back.
    await barrier(work);
    assert.equal(ofPayload(work, 'poison').length, 3, 'not delivered again');
    assert.equal(failed.length, 1);
  });

  it('counts a payload that does not convert, and sends its raw text to the failed output with this node as the source', async () => {
    await start({ maxDeliveries: 2, datatype: 'json' });
    const work = handle('work');
    const failed = handle('failed');
    await publishMany(mosq().url, 'dlq/json', 2, { qos: 1, payload: (i) => ['{oops', '{"ok":true}'][i] });
    await until(() => failed.length === 1, 'the dead letter');
    assert.deepEqual(payloads(work), [{ ok: true }]);
    assert.equal(failed[0].payload, '{oops');
    assert.equal(failed[0].deliveries, 2);
    assert.match(String(failed[0].error?.message), /not valid JSON/);
    assert.deepEqual(failed[0].error?.source, { id: 'in1', type: 'durable-mqtt-in', name: 'orders' });
  });

  it('withholds a message whose dead letter failed, and sends it straight to the failed output again at its next delivery', async () => {
    await start({ maxDeliveries: 2 });
    const work = handle('work', (m, seen) => (m.payload === 'poison' ? new Error('poison pill') : failsOnce(m, seen)));
    const failed = handle('failed', (_m, seen) => (seen.length === 1 ? new Error('dead-letter store down') : undefined));
    await publishMany(mosq().url, 'dlq/orders', 1, { qos: 1, payload: () => 'poison' });
    await until(() => failed.length === 2, 'the dead letter, twice');
    assert.equal(work.length, 2, 'the flow saw it twice, the limit, and not again');
    assert.deepEqual(failed.map((m) => m.deliveries), [2, 3]);
    assert.match(String(failed[1].error?.message), /poison pill/, 'the flow\'s failure, not the dead letter\'s');
    // The second dead letter succeeded: acked, so a reconnect brings nothing back.
    await barrier(work);
    assert.equal(failed.length, 2);
    assert.equal(ofPayload(work, 'poison').length, 2);
  });

  it('refuses a maxDeliveries that is not a whole number from 0 to 1000: a red status and the reason in the log', async () => {
    await load(flow(mosq().url, { maxDeliveries: '2.5' }) as Parameters<typeof load>[0]);
    await until(() => String(lastStatus('in1')?.text).includes('errors.invalidMaxDeliveries'), 'the red status');
    assert.ok(logged('in1', 'error', /maxDeliveries must be a whole number from 0 to 1000/));
  });

  it('without maxDeliveries redelivers a failing message for ever, as before, and sets no msg.deliveries', async () => {
    await start({});
    const work = handle('work', (_m, seen) => (seen.length < 5 ? new Error(`failure ${seen.length}`) : undefined));
    await publishMany(mosq().url, 'dlq/orders', 1, { qos: 1, payload: () => 'flaky' });
    await until(() => work.length === 5, 'five deliveries');
    assert.deepEqual(work.map((m) => m.deliveries), [undefined, undefined, undefined, undefined, undefined]);
    assert.deepEqual(work.map((m) => (m as { dup?: boolean }).dup), [false, true, true, true, true]);
  });
});
