// Specs for issue 9: in ackMode complete, a message through each core node is followed to its real end, not to ackTimeout.
//
// Subflows are specified through a whole Node-RED process in test/deploys.test.ts (consumer → subflow → sink);
// how each node handles done() and _msgid, with Node-RED 4.1.15 file:line, is in docs/acks.md.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { aedesRecordingAcks, type AedesHandle } from './support/aedes';
import { coreNode } from './support/runtime';
import { consumerFlow, helper, load } from './support/nodered';
import { until } from './support/until';

const CORE = [
  'core/function/10-function.js',
  'core/function/10-switch.js',
  'core/function/15-change.js',
  'core/function/80-template.js',
  'core/function/89-delay.js',
  'core/function/89-trigger.js',
  'core/function/rbe.js',
  'core/sequence/17-split.js',
  'core/sequence/19-batch.js',
  'core/common/60-link.js',
  'core/common/25-catch.js',
  'core/common/24-complete.js',
  'core/parsers/70-JSON.js',
  'core/parsers/70-CSV.js',
  'core/storage/10-file.js',
  'core/network/21-httprequest.js',
].map(coreNode);

/** ackTimeout of the consumer, in seconds: far beyond any wait below, so an ack only comes from the tracker following the message. */
const ACK_TIMEOUT_S = 3600;
/** How long the flow may take to settle after its real end before a missing PUBACK counts as a stall. */
const SETTLE_MS = 8000;
/** How long a held message is left alone to show that no PUBACK leaves meanwhile. */
const QUIET_MS = 300;

let clientSeq = 0;
const freshId = (): string => `core-test-${process.pid}-${++clientSeq}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Held = { msg: NodeMessage; done: (err?: Error) => void };
/** Messages held by `test-hold` nodes, per node id (a copy inside a subflow instance under its id in the definition). */
const held = new Map<string, Held[]>();
const heldBy = (id: string): Held[] => held.get(id) ?? [];
const heldCount = (id: string): number => heldBy(id).length;
/** Completes every message `id` holds. */
const release = (id: string): void => {
  for (const h of heldBy(id).splice(0)) h.done();
};

function testNodes(RED: NodeAPI): void {
  RED.nodes.registerType('test-hold', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const mine: Held[] = [];
    // Inside a subflow the node id is generated; _alias is the id it has in the subflow definition.
    held.set((def as NodeDef & { _alias?: string })._alias ?? this.id, mine);
    this.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
      mine.push({ msg, done });
    });
  });
}

type FlowNode = Record<string, unknown>;

/** Broker b1, consumer in1 (ackTimeout far away) wired to `targets`, plus `nodes` on tab f1 unless they name their own z. */
function flow(url: string, targets: string[], nodes: FlowNode[]): FlowNode[] {
  const base = consumerFlow(url, [{ topic: 'core/#' }], { clientId: freshId() });
  const in1 = base.find((n) => n.id === 'in1');
  if (in1) {
    in1.wires = [targets];
    in1.ackTimeout = ACK_TIMEOUT_S;
  }
  // A subflow definition lives on no tab.
  return [...base.filter((n) => n.id !== 'in1-out'), ...nodes.map((n) => (n.type === 'subflow' ? n : { z: 'f1', wires: [], ...n }))];
}

const sink = (id: string): FlowNode => ({ id, type: 'test-hold' });

describe('core nodes: a message is followed to its real end (durable mqtt in on Aedes)', function () {
  this.timeout(60000);
  const recorded = aedesRecordingAcks(() => helper.unload());
  const { acks } = recorded;
  let broker: AedesHandle;

  beforeEach(() => {
    held.clear();
    broker = recorded.broker();
  });

  async function start(f: FlowNode[]): Promise<void> {
    await load(f as Parameters<typeof load>[0], {}, [testNodes, ...CORE]);
    await until(() => broker.subscribeCount() === 1, 'SUBSCRIBE');
  }

  /** Publishes `payloads` at QoS 1, waits until `sinkId` holds `expect` messages, checks nothing is acked meanwhile, releases them, then expects every PUBACK. */
  async function throughToSink(sinkId: string, payloads: string[], expect = payloads.length): Promise<void> {
    for (const p of payloads) await broker.publish('core/x', p, 1);
    await until(() => heldCount(sinkId) >= expect, `${expect} message(s) at ${sinkId}`);
    await sleep(QUIET_MS);
    assert.deepEqual(acks, [], `no PUBACK while ${sinkId} holds the message`);
    release(sinkId);
    await until(() => acks.length === payloads.length, `PUBACK after ${sinkId} finished (a stall waits for ackTimeout)`, SETTLE_MS);
    assert.deepEqual([...acks].sort(), [...payloads].sort());
  }

  /** Publishes `payloads` whose path ends inside a node: every PUBACK comes without a sink. */
  async function endsInside(payloads: string[], what: string): Promise<void> {
    const before = acks.length;
    for (const p of payloads) await broker.publish('core/x', p, 1);
    await until(() => acks.length === before + payloads.length, `PUBACK once ${what} finished with the message`, SETTLE_MS);
  }

  describe('function', () => {
    it('returns msg', async () => {
      await start(flow(broker.url, ['fn'], [
        { id: 'fn', type: 'function', func: 'return msg;', outputs: 1, wires: [['end']] }, sink('end'),
      ]));
      await throughToSink('end', ['m']);
    });

    it('sends asynchronously with node.send and then calls node.done', async () => {
      await start(flow(broker.url, ['fn'], [
        { id: 'fn', type: 'function', func: 'setTimeout(() => { node.send(msg); node.done(); }, 50);\nreturn;', outputs: 1, wires: [['end']] },
        sink('end'),
      ]));
      await throughToSink('end', ['m']);
    });

    it('sends on several outputs', async () => {
      await start(flow(broker.url, ['fn'], [
        { id: 'fn', type: 'function', func: 'return [msg, msg];', outputs: 2, wires: [['end1'], ['end2']] },
        sink('end1'),
        sink('end2'),
      ]));
      await broker.publish('core/x', 'm', 1);
      await until(() => heldCount('end1') === 1 && heldCount('end2') === 1, 'both outputs');
      release('end1');
      await sleep(QUIET_MS);
      assert.deepEqual(acks, [], 'no PUBACK while the second output still holds the message');
      release('end2');
      await until(() => acks.length === 1, 'PUBACK after both outputs finished', SETTLE_MS);
    });

    it('returns null: the message ends in the function', async () => {
      await start(flow(broker.url, ['fn'], [{ id: 'fn', type: 'function', func: 'return null;', outputs: 1, wires: [['end']] }, sink('end')]));
      await endsInside(['m'], 'the function');
      assert.equal(heldCount('end'), 0);
    });
  });

  it('change', async () => {
    await start(flow(broker.url, ['ch'], [
      { id: 'ch', type: 'change', rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'changed', tot: 'str' }], wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['m']);
    assert.equal(acks.length, 1);
  });

  describe('switch', () => {
    const sw = (wires: string[][]): FlowNode => ({
      id: 'sw', type: 'switch', property: 'payload', propertyType: 'msg',
      rules: [{ t: 'eq', v: 'go', vt: 'str' }], checkall: 'true', repair: false, outputs: 1, wires,
    });

    it('match', async () => {
      await start(flow(broker.url, ['sw'], [sw([['end']]), sink('end')]));
      await throughToSink('end', ['go']);
    });

    it('no match: the message ends in the switch', async () => {
      await start(flow(broker.url, ['sw'], [sw([['end']]), sink('end')]));
      await endsInside(['stop'], 'the switch');
      assert.equal(heldCount('end'), 0);
    });
  });

  it('template', async () => {
    await start(flow(broker.url, ['tpl'], [
      { id: 'tpl', type: 'template', field: 'payload', fieldType: 'msg', syntax: 'mustache', template: 'got {{payload}}', output: 'str', wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['m']);
  });

  describe('delay', () => {
    const delay = (extra: FlowNode): FlowNode => ({
      id: 'dl', type: 'delay', timeout: '100', timeoutUnits: 'milliseconds', rate: '1', nbRateUnits: '1',
      rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false,
      allowrate: false, outputs: 1, wires: [['end']], ...extra,
    });

    it('delays', async () => {
      await start(flow(broker.url, ['dl'], [delay({ pauseType: 'delay' }), sink('end')]));
      await throughToSink('end', ['m']);
    });

    it('rate limits, queueing the excess', async () => {
      await start(flow(broker.url, ['dl'], [delay({ pauseType: 'rate', rate: '5' }), sink('end')]));
      await throughToSink('end', ['a', 'b', 'c']);
    });

    it('rate limits, dropping the excess: a dropped message ends in the delay node', async () => {
      await start(flow(broker.url, ['dl'], [delay({ pauseType: 'rate', rate: '1', nbRateUnits: '60', drop: true }), sink('end')]));
      await throughToSink('end', ['first']);
      // PUBACKs leave in arrival order, so this is measured once the first is acked.
      await endsInside(['dropped'], 'the delay node');
      assert.equal(heldCount('end'), 0, 'the second was dropped');
    });

    it('queues per topic', async () => {
      await start(flow(broker.url, ['dl'], [delay({ pauseType: 'queue', rate: '5' }), sink('end')]));
      await throughToSink('end', ['m']);
    });
  });

  it('trigger: sends op1 now and op2 later, both followed', async () => {
    await start(flow(broker.url, ['tr'], [
      { id: 'tr', type: 'trigger', op1: '1', op2: '0', op1type: 'str', op2type: 'str', duration: '100', extend: false,
        overrideDelay: false, units: 'ms', reset: '', bytopic: 'all', topic: 'topic', outputs: 1, wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['m'], 2);
  });

  describe('split / join', () => {
    const split: FlowNode = { id: 'sp', type: 'split', splt: ',', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '' };

    it('split: every part is followed', async () => {
      await start(flow(broker.url, ['sp'], [{ ...split, wires: [['end']] }, sink('end')]));
      await throughToSink('end', ['a,b,c'], 3);
    });

    it('function → split → join (auto) → sink', async () => {
      await start(flow(broker.url, ['fn'], [
        { id: 'fn', type: 'function', func: 'return msg;', outputs: 1, wires: [['sp']] },
        { ...split, wires: [['jn']] },
        { id: 'jn', type: 'join', mode: 'auto', build: 'string', property: 'payload', propertyType: 'msg', key: 'topic',
          joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '', reduceRight: false, wires: [['end']] },
        sink('end'),
      ]));
      await throughToSink('end', ['a,b,c'], 1);
      assert.equal(acks.length, 1);
    });

    it('join (manual, count 2): the joined msg carries the last part, which waits for the sink; the first is acked when the join has finished with it', async () => {
      await start(flow(broker.url, ['jn'], [
        { id: 'jn', type: 'join', mode: 'custom', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic',
          joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '2', reduceRight: false, wires: [['end']] },
        sink('end'),
      ]));
      for (const p of ['part1', 'part2']) await broker.publish('core/x', p, 1);
      await until(() => heldCount('end') === 1, 'the joined msg at end');
      await sleep(QUIET_MS);
      // The joined msg goes on with part2's _msgid: part1 is finished when the join has finished with it.
      assert.deepEqual(acks, ['part1'], 'only part1 is acked while end holds the joined message');
      release('end');
      await until(() => acks.length === 2, 'both PUBACKs after end finished', SETTLE_MS);
    });
  });

  it('batch (count 2): both messages are followed into the batch', async () => {
    await start(flow(broker.url, ['bt'], [
      { id: 'bt', type: 'batch', mode: 'count', count: 2, overlap: 0, interval: 10, allowEmptySequence: false, topics: [], wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['a', 'b'], 2);
  });

  it('link out → link in', async () => {
    // Only the link out names its target: ids that point at each other count as a config-node cycle in Flow.start.
    await start(flow(broker.url, ['lout'], [
      { id: 'lout', type: 'link out', mode: 'link', links: ['lin'] },
      { id: 'lin', type: 'link in', links: [], wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['m']);
  });

  it('link call → link in → function → link out (return) → sink', async () => {
    await start(flow(broker.url, ['lc'], [
      { id: 'lc', type: 'link call', links: ['li'], linkType: 'static', timeout: '30', wires: [['end']] },
      { id: 'li', type: 'link in', links: [], wires: [['fn']] },
      { id: 'fn', type: 'function', func: 'msg.called = true;\nreturn msg;', outputs: 1, wires: [['lo']] },
      { id: 'lo', type: 'link out', mode: 'return', links: [] },
      sink('end'),
    ]));
    await throughToSink('end', ['m']);
    assert.equal(acks.length, 1);
  });

  describe('catch / complete', () => {
    it('catch: an error handled by a Catch node is followed to the end of the catch path', async () => {
      await start(flow(broker.url, ['fn'], [
        { id: 'fn', type: 'function', func: 'node.error("rejected", msg);\nreturn null;', outputs: 1, wires: [[]] },
        { id: 'catcher', type: 'catch', scope: ['fn'], uncaught: false, wires: [['end']] },
        sink('end'),
      ]));
      await throughToSink('end', ['m']);
    });

    it('complete: a Complete node watching the sink adds its own path, which is followed too', async () => {
      await start(flow(broker.url, ['first'], [
        sink('first'),
        { id: 'cpl', type: 'complete', scope: ['first'], uncaught: false, wires: [['end']] },
        sink('end'),
      ]));
      await broker.publish('core/x', 'm', 1);
      await until(() => heldCount('first') === 1, 'held by the first sink');
      release('first');
      await until(() => heldCount('end') === 1, 'the Complete node path');
      await sleep(QUIET_MS);
      assert.deepEqual(acks, [], 'no PUBACK while the Complete path holds the message');
      release('end');
      await until(() => acks.length === 1, 'PUBACK after the Complete path finished', SETTLE_MS);
    });
  });

  it('filter (rbe): the first passes, a repeat is blocked and ends in the filter', async () => {
    await start(flow(broker.url, ['filter'], [
      { id: 'filter', type: 'rbe', func: 'rbe', gap: '', start: '', inout: 'out', septopics: true, property: 'payload', topi: 'topic', wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['same']);
    // PUBACKs leave in arrival order, so the repeat comes once the first is acked.
    await endsInside(['same'], 'the filter');
    assert.equal(heldCount('end'), 0, 'the repeat was blocked');
  });

  it('json', async () => {
    await start(flow(broker.url, ['js'], [{ id: 'js', type: 'json', property: 'payload', action: 'obj', pretty: false, wires: [['end']] }, sink('end')]));
    await throughToSink('end', ['{"a":1}']);
    assert.equal(acks.length, 1);
  });

  it('csv', async () => {
    await start(flow(broker.url, ['csvnode'], [
      { id: 'csvnode', type: 'csv', spec: 'rfc', sep: ',', hdrin: false, hdrout: 'none', multi: 'one', ret: '\\n', temp: 'a,b', skip: '0',
        strings: true, include_empty_strings: false, include_null_values: false, wires: [['end']] },
      sink('end'),
    ]));
    await throughToSink('end', ['1,2']);
  });

  describe('file out and http request', () => {
    let dir: string;
    let server: Server | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'core-nodes-'));
    });
    afterEach(async () => {
      rmSync(dir, { recursive: true, force: true });
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    });

    it('file out', async () => {
      const file = join(dir, 'out.txt');
      await start(flow(broker.url, ['fo'], [
        { id: 'fo', type: 'file', filename: file, filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: 'false', encoding: 'none', wires: [['end']] },
        sink('end'),
      ]));
      await throughToSink('end', ['line']);
      assert.equal(readFileSync(file, 'utf8'), 'line\n');
    });

    it('http request', async () => {
      server = createServer((_req, res) => res.end('pong'));
      await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
      const { port } = server.address() as AddressInfo;
      await start(flow(broker.url, ['hr'], [
        { id: 'hr', type: 'http request', method: 'GET', ret: 'txt', paytoqs: 'ignore', url: `http://127.0.0.1:${port}/`, tls: '',
          persist: false, proxy: '', insecureHTTPParser: false, authType: '', senderr: false, headers: [], wires: [['end']] },
        sink('end'),
      ]));
      await throughToSink('end', ['ping']);
      assert.equal(acks.length, 1);
    });
  });
});
