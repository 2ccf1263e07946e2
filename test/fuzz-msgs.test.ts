// Fuzz specs for hostile msgs: random msg objects into durable-mqtt-out and random msg.action shapes into a dynamic durable-mqtt-in, each ending in done() or done(err), with the good traffic after them still going.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { startAedes, type AedesHandle } from './support/aedes';
import { mosquittoForSuite } from './support/mosquitto';
import { callsOf, collect, getNode, helper, lastStatus, load, userDirForSuite } from './support/nodered';
import { until } from './support/until';
import { publishMany } from './support/publisher';
import { runtimeHooks } from './support/runtime';

/** Fixed, so a failure replays; FUZZ_SEED overrides it to explore. Printed with every run. */
const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
/** Batches per property: bounded so the fuzz suite stays within a minute on a 2-core machine. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
/** ms a msg may take to be done: a msg not done by then is a hang. */
const DONE_WITHIN = 10_000;

let seq = 0;
const fresh = (what: string): string => `fuzz-${what}-${process.pid}-${++seq}`;

/** A cycle: an object that holds itself. */
const cyclic = (): Record<string, unknown> => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};

/** Any JS value, the kinds JSON has none for included. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true, maxDepth: 3 }),
  fc.constant(Symbol('fuzz')),
  fc.func(fc.anything()),
  fc.constant(null).map(cyclic),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.float64Array({ maxLength: 8 }),
);

/** Topics: wildcards, control characters, lone surrogates, U+0000, the longest an MQTT string holds and past it, or not a string. */
const topicArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('fuzz/x', 'fuzz/+', 'fuzz/#', '#', '+', '', '/', 'fuzz/\u0000', 'fuzz/\u0001\u001f', 'fuzz/\ud800', 'fuzz/\udfff', '$SYS/x', 'fuzz/\ufffe', `fuzz/${'x'.repeat(65530)}`, `fuzz/${'é'.repeat(40000)}`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `fuzz/${s}`),
  fc.string({ unit: 'binary', maxLength: 20 }),
  anyValue,
);

/**
 * Keys that reach or shadow an object's prototype. Not `hasOwnProperty`: Node-RED's own node.error(err, msg)
 * calls msg.hasOwnProperty (@node-red/runtime lib/flows/Flow.js handleError), so such a msg breaks the
 * runtime's error reporting itself; our boundary turns that into a process warning after done(err).
 */
const POLLUTING = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf'];

/** A msg of random own properties, set with defineProperty so `__proto__` stays an own key (as JSON.parse makes it). */
function msgOf(fields: Record<string, unknown>, extra: [string, unknown][]): Record<string, unknown> {
  const msg: Record<string, unknown> = {};
  for (const [k, v] of [...Object.entries(fields), ...extra]) Object.defineProperty(msg, k, { value: v, enumerable: true, writable: true, configurable: true });
  return msg;
}

const extraArb = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...POLLUTING), fc.string({ maxLength: 8 })), anyValue), { maxLength: 3 });

/** What the out node reads (nodes/publisher/publication.ts), each of any type or absent. */
const outMsgArb = fc
  .tuple(
    fc.record(
      {
        topic: topicArb,
        payload: anyValue,
        qos: fc.oneof(fc.constantFrom(0, 1, 2, '1', 3, -1, 1.5, NaN), anyValue),
        retain: fc.oneof(fc.boolean(), anyValue),
        userProperties: anyValue,
        contentType: anyValue,
        responseTopic: fc.oneof(topicArb, anyValue),
        correlationData: anyValue,
        messageExpiryInterval: fc.oneof(fc.constantFrom(0, 1, -1, 2 ** 32, 1e100), anyValue),
      },
      { requiredKeys: [] },
    ),
    extraArb,
  )
  .map(([fields, extra]) => msgOf(fields, extra));

const actionArb = fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'getSubscriptions', 'connect', 'disconnect', 'Subscribe', ''), anyValue);
const filtersArb: fc.Arbitrary<unknown> = fc.oneof(
  topicArb,
  fc.array(fc.oneof(topicArb, fc.record({ topic: topicArb, qos: anyValue, nl: anyValue, rap: anyValue, rh: anyValue, datatype: anyValue }, { requiredKeys: [] })), { maxLength: 4 }),
  fc.record({ topic: topicArb, qos: anyValue }, { requiredKeys: [] }),
);
const actionMsgArb = fc
  .tuple(fc.record({ action: actionArb, topic: filtersArb, broker: fc.oneof(fc.constant({ force: true }), anyValue) }, { requiredKeys: [] }), extraArb)
  .map(([fields, extra]) => msgOf(fields, extra));

/** How each msg a node got was done: undefined until done, then the error or null. Kept by the msg object itself. */
function doneTracker(nodeId: string): { ended: Map<object, Error | null>; stop: () => void } {
  const ended = new Map<object, Error | null>();
  const name = `onComplete.fuzz${++seq}`;
  runtimeHooks.add(name, (event: { msg: object; error?: Error; node: { id: string } }) => {
    if (event.node.id === nodeId) ended.set(event.msg, event.error ?? null);
  });
  return { ended, stop: () => runtimeHooks.remove(name) };
}

/** Hands each msg to the node and waits until every one is done; a msg never done fails the spec, naming it. Returns how many were done(err). */
async function sendAll(nodeId: string, ended: Map<object, Error | null>, msgs: Record<string, unknown>[]): Promise<number> {
  const node = getNode(nodeId);
  for (const msg of msgs) node.receive(msg);
  await until(() => msgs.every((m) => ended.has(m)), 'every msg done', DONE_WITHIN).catch(() => {
    const hung = msgs.filter((m) => !ended.has(m));
    const said = ['b1', nodeId].flatMap((id) => (['error', 'warn', 'log'] as const).flatMap((m) => callsOf(id, m).map(([x]) => `${id}.${m}: ${x instanceof Error ? x.message : String(x)}`)));
    throw new Error(`${hung.length} of ${msgs.length} msgs never done, e.g. ${fc.stringify(hung[0])}; the nodes said:\n${said.join('\n')}`);
  });
  return msgs.filter((m) => ended.get(m) !== null).length;
}

/**
 * Runs RUNS random batches of `arb` into node `nodeId`, each followed by `after(batch, good)`, where
 * `good` sends a well-formed msg and asserts it ends in done(). Returns the msgs sent and those done(err).
 */
async function batches(nodeId: string, arb: fc.Arbitrary<Record<string, unknown>>, after: (batch: number, good: (msg: Record<string, unknown>) => Promise<void>) => Promise<void>): Promise<{ msgs: number; failed: number }> {
  const { ended, stop } = doneTracker(nodeId);
  const totals = { msgs: 0, failed: 0 };
  const good = async (msg: Record<string, unknown>): Promise<void> => {
    await sendAll(nodeId, ended, [msg]);
    assert.equal(ended.get(msg), null, `the good msg ${fc.stringify(msg)} failed: ${ended.get(msg)?.message}`);
  };
  let batch = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: 8 }), async (msgs) => {
        totals.failed += await sendAll(nodeId, ended, msgs);
        totals.msgs += msgs.length;
        await after(++batch, good);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  } finally {
    stop();
  }
  return totals;
}

describe('hostile msgs (fuzz, fast-check)', function () {
  this.timeout(120_000);
  userDirForSuite();
  const mosq = mosquittoForSuite();
  let aedes: AedesHandle;
  before(async () => {
    aedes = await startAedes();
    console.log(`      fuzz seed ${SEED}, ${RUNS} batches per property (FUZZ_SEED, FUZZ_RUNS)`);
  });
  after(async () => {
    await aedes.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  for (const [on, protocolVersion] of [['Aedes, MQTT 3.1.1', 4], ['Mosquitto, MQTT 5 with properties', 5]] as const) {
    it(`durable-mqtt-out (${on}): every random msg ends in done() or done(err), and a good msg after each batch reaches a subscriber`, async () => {
      const url = protocolVersion === 5 ? mosq().url : aedes.url;
      const sub = mqtt.connect(url, { clientId: fresh('sub'), reconnectPeriod: 100 });
      const received: string[] = [];
      sub.on('message', (topic, payload) => {
        if (topic === 'fuzz-good/out') received.push(payload.toString());
      });
      await new Promise<void>((resolve) => sub.subscribe('fuzz-good/out', { qos: 1 }, () => resolve()));
      await load([
        { id: 'f1', type: 'tab' },
        { id: 'b1', type: 'durable-mqtt-broker', broker: url, clientId: fresh('out'), protocolVersion, backoffMin: 0.1, backoffMax: 0.5 },
        { id: 'out1', z: 'f1', type: 'durable-mqtt-out', broker: 'b1' },
      ]);
      try {
        await until(() => String(lastStatus('out1')?.text).includes('connected'), 'connected');
        const totals = await batches('out1', outMsgArb, async (batch, good) => {
          const marker = `good-${batch}`;
          await good(msgOf({ topic: 'fuzz-good/out', payload: marker, qos: 1 }, []));
          await until(() => received.includes(marker), `${marker} at the subscriber`);
        });
        console.log(`      out: ${totals.msgs} random msgs, ${totals.failed} done(err), ${totals.msgs - totals.failed} done()`);
      } finally {
        sub.end(true);
      }
    });
  }

  it('dynamic durable-mqtt-in: every random msg.action ends in done() or done(err), and the consumer still receives after each batch', async () => {
    await load([
      { id: 'f1', type: 'tab' },
      { id: 'b1', type: 'durable-mqtt-broker', broker: aedes.url, clientId: fresh('in'), backoffMin: 0.1, backoffMax: 0.5 },
      { id: 'in1', z: 'f1', type: 'durable-mqtt-in', broker: 'b1', topic: '', qos: 1, datatype: 'utf8', inputs: 1, version: 1, wires: [['in1-out']] },
      { id: 'in1-out', z: 'f1', type: 'helper' },
    ]);
    const got = collect('in1-out');
    const totals = await batches('in1', actionMsgArb, async (batch, good) => {
      // A random batch may have disconnected or unsubscribed: connect and subscribe the good filter again.
      await good(msgOf({ action: 'connect' }, []));
      await good(msgOf({ action: 'subscribe', topic: 'fuzz-good/in' }, []));
      const marker = `good-${batch}`;
      await publishMany(aedes.url, 'fuzz-good/in', 1, { qos: 1, payload: () => marker });
      await until(() => got.some((m) => m.topic === 'fuzz-good/in' && m.payload === marker), `${marker} delivered`);
    });
    console.log(`      in: ${totals.msgs} random msg.action msgs, ${totals.failed} done(err), ${totals.msgs - totals.failed} done()`);
  });
});
