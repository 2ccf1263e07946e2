// Specs for flow-hooks.ts: the runtime's messaging hooks feed one CompletionTracker per runtime, with real core nodes in a test-helper runtime.
import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { CompletionTracker, Finished } from '../nodes/acks/completion';
import { acquireTracker, releaseTracker } from '../nodes/acks/flow-hooks';
import { coreNode, runtimeHooks as hooks } from './support/runtime';
import { helper, load } from './support/nodered';
import { until } from './support/until';

const HOOKS = ['onSend', 'preDeliver', 'onReceive', 'postReceive', 'onComplete'].map((h) => `${h}.durable-mqtt-acks`);

/** How a tracked message ended, as the tracker's callback says it. */
interface Outcome {
  error: unknown;
  stalled?: readonly string[];
  failedBy?: string;
}

/** A message sent into the flow by a `test-source`; `outcome` is set once the tracker calls back. */
interface Sent {
  readonly id: string;
  outcome?: Outcome;
}

/** A `test-source` node: tracks and sends messages as the consumer does (track, send, sent). */
interface Source {
  readonly tracker: CompletionTracker;
  emit(payload: string, timeoutMs?: number): Sent;
}

const sources = new Map<string, Source>();
/** Deliveries a `test-hold` node keeps until the spec completes them, per node id in the flow (a subflow's inner node runs under a new id, its `_alias` the one in the flow). */
const held = new Map<string, { msg: NodeMessage; done: (err?: Error) => void }[]>();
const heldBy = (name: string): { msg: NodeMessage; done: (err?: Error) => void }[] => held.get(name) ?? [];

/** Read through a call: an assert that it is undefined must not narrow what a later callback sets. */
const outcome = (sent: Sent): Outcome | undefined => sent.outcome;

const finished: Finished<Sent> = (sent, error, stalled, failedBy) => void (sent.outcome = { error, stalled, failedBy });

function testNodes(RED: NodeAPI): void {
  // load() hands every node the runtime's own hooks registry (support/nodered.ts), as a real runtime does.
  RED.nodes.registerType('test-source', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const tracker = acquireTracker(RED);
    let seq = 0;
    sources.set(this.id, {
      tracker,
      emit: (payload, timeoutMs = 0) => {
        const sent: Sent = { id: `${this.id}-${process.pid}-${++seq}` };
        tracker.track(sent.id, timeoutMs, finished, sent);
        this.send({ _msgid: sent.id, payload });
        tracker.sent(sent.id);
        return sent;
      },
    });
    this.on('close', () => releaseTracker(RED));
  });
  RED.nodes.registerType('test-hold', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const mine: { msg: NodeMessage; done: (err?: Error) => void }[] = [];
    held.set((this as Node & { _alias?: string })._alias ?? this.id, mine);
    this.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => void mine.push({ msg, done }));
  });
  RED.nodes.registerType('test-relay', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // A new msg, without `_msgid`: Node.send gives it a fresh one.
    this.on('input', (_msg: NodeMessage, send: (m: NodeMessage) => void, done: () => void) => {
      send({ payload: 'made' });
      done();
    });
  });
}

/** A flow on tab f1: `s1` (a test-source) wired to `first`, and `nodes`. */
function flow(first: string, nodes: Record<string, unknown>[]): Record<string, unknown>[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', z: 'f1', type: 'test-source', wires: [[first]] },
    ...nodes.map((n) => ({ z: 'f1', wires: [], ...n })),
  ];
}

const start = (f: Record<string, unknown>[]): Promise<void> =>
  load(f as Parameters<typeof load>[0], {}, [testNodes, coreNode('core/function/10-function.js'), coreNode('core/function/10-switch.js'), coreNode('core/function/rbe.js')]);

function source(id = 's1'): Source {
  const s = sources.get(id);
  if (!s) throw new Error(`no test-source ${id}`);
  return s;
}

describe('flow hooks (acquireTracker on a test-helper runtime)', function () {
  this.timeout(20000);

  beforeEach(() => {
    sources.clear();
    held.clear();
  });
  afterEach(() => helper.unload());

  it('adds the five messaging hooks for the first user, shares one tracker between users, and removes the hooks after the last', async () => {
    assert.deepEqual(HOOKS.filter((h) => hooks.has(h)), []);
    await start([...flow('sink', [{ id: 'sink', type: 'test-hold' }]), { id: 's2', z: 'f1', type: 'test-source', wires: [] }]);
    assert.deepEqual(HOOKS.filter((h) => hooks.has(h)), HOOKS);
    assert.equal(source('s1').tracker, source('s2').tracker);
    await helper.unload();
    assert.deepEqual(HOOKS.filter((h) => hooks.has(h)), []);
  });

  it('finishes a message once the node it reached calls done(), with the error of a done(err) and that node', async () => {
    await start(flow('hold', [{ id: 'hold', type: 'test-hold' }]));
    const sent = source().emit('m');
    await until(() => heldBy('hold').length === 1, 'the delivery');
    // The node has it a turn after send() returned, and the tracker looked at the message then.
    assert.equal(outcome(sent), undefined, 'held while the node has it');
    heldBy('hold')[0].done(new Error('rejected'));
    await until(() => outcome(sent) !== undefined, 'the message to finish');
    assert.match(String(outcome(sent)?.error), /rejected/);
    assert.equal(outcome(sent)?.failedBy, 'hold');
  });

  it('counts what a node passes on before its own done(): a function node returning msg leaves it held by the next node', async () => {
    await start(flow('fn', [
      { id: 'fn', type: 'function', func: 'return msg;', outputs: 1, wires: [['hold']] },
      { id: 'hold', type: 'test-hold' },
    ]));
    const sent = source().emit('m');
    await until(() => heldBy('hold').length === 1, 'the delivery past the function node');
    // The function node's done() came a turn before this delivery, and its microtask has run.
    assert.equal(outcome(sent), undefined, 'the function node finishing is not the flow finishing');
    heldBy('hold')[0].done();
    await until(() => outcome(sent) !== undefined, 'the message to finish');
    assert.deepEqual(outcome(sent), { error: undefined, stalled: undefined, failedBy: undefined });
  });

  it('follows a new msg that a node sends while it handles a tracked one, as that message', async () => {
    await start(flow('relay', [
      { id: 'relay', type: 'test-relay', wires: [['hold']] },
      { id: 'hold', type: 'test-hold' },
    ]));
    const sent = source().emit('m');
    await until(() => heldBy('hold').length === 1, 'the new msg');
    assert.equal(heldBy('hold')[0].msg.payload, 'made');
    assert.notEqual(heldBy('hold')[0].msg._msgid, sent.id, 'a msg of its own id');
    assert.equal(outcome(sent), undefined, 'held while the new msg is');
    heldBy('hold')[0].done();
    await until(() => outcome(sent) !== undefined, 'the message to finish');
  });

  it('takes a switch, which never calls done(), as done once it passes the msg on, and ends a msg it does not match there', async () => {
    await start(flow('sw', [
      { id: 'sw', type: 'switch', property: 'payload', propertyType: 'msg', rules: [{ t: 'eq', v: 'pass', vt: 'str' }], checkall: 'true', outputs: 1, wires: [['hold']] },
      { id: 'hold', type: 'test-hold' },
    ]));
    // A timeout, so a switch the tracker lost would show as stalled rather than hang the spec.
    const dropped = source().emit('other', 5000);
    await until(() => outcome(dropped) !== undefined, 'the unmatched msg to end in the switch');
    assert.deepEqual(outcome(dropped), { error: undefined, stalled: undefined, failedBy: undefined });
    const passed = source().emit('pass', 5000);
    await until(() => heldBy('hold').length === 1, 'the matched msg past the switch');
    assert.equal(outcome(passed), undefined, 'held by the node after the switch');
    heldBy('hold')[0].done();
    await until(() => outcome(passed) !== undefined, 'the matched msg to finish');
    assert.equal(outcome(passed)?.stalled, undefined);
  });

  it('follows the first msg through a filter (rbe) node, and ends a repeat it blocks there', async () => {
    await start(flow('filter', [
      { id: 'filter', type: 'rbe', func: 'rbe', gap: '', start: '', inout: 'out', septopics: true, property: 'payload', topi: 'topic', wires: [['hold']] },
      { id: 'hold', type: 'test-hold' },
    ]));
    const first = source().emit('x', 5000);
    await until(() => heldBy('hold').length === 1, 'the first msg past the filter');
    assert.equal(outcome(first), undefined);
    heldBy('hold')[0].done();
    await until(() => outcome(first) !== undefined, 'the first to finish');
    const repeat = source().emit('x', 5000);
    await until(() => outcome(repeat) !== undefined, 'the repeat to end in the filter');
    assert.deepEqual([outcome(first)?.stalled, outcome(repeat)?.stalled], [undefined, undefined]);
    assert.equal(heldBy('hold').length, 1, 'the repeat was blocked');
  });

  it('follows a msg into a subflow instance, to the node inside that holds it', async () => {
    await start([
      { id: 'sf1', type: 'subflow', name: 'holding subflow', in: [{ x: 0, y: 0, wires: [{ id: 'inner' }] }], out: [] },
      // Positions: the runtime takes a node without x and y for a config node, and starts no subflow instance from one.
      { id: 'inner', z: 'sf1', type: 'test-hold', x: 0, y: 0, wires: [] },
      ...flow('sfi', [{ id: 'sfi', type: 'subflow:sf1', x: 0, y: 0 }]),
    ]);
    const sent = source().emit('m', 5000);
    await until(() => heldBy('inner').length === 1, 'the delivery inside the subflow');
    assert.equal(outcome(sent), undefined, 'held by the node inside');
    heldBy('inner')[0].done();
    await until(() => outcome(sent) !== undefined, 'the message to finish');
    assert.equal(outcome(sent)?.stalled, undefined, 'finished, not timed out');
  });

  it('names the node still holding a message when its timeout strikes', async () => {
    await start(flow('hold', [{ id: 'hold', type: 'test-hold' }]));
    const sent = source().emit('m', 300);
    await until(() => outcome(sent) !== undefined, 'the timeout');
    assert.deepEqual(outcome(sent)?.stalled, ['hold']);
  });
});
