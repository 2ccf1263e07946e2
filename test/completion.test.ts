// Specs for CompletionTracker: when a tracked message counts as finished, fed the way the runtime's hooks feed it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompletionTracker, type TrackedMsg } from '../nodes/acks/completion';
import { until } from './support/until';

/** Lets queued microtasks run: a message is declared finished in one, after the completing code has returned. */
const settled = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One delivery of `msg` to `node` whose input handler returns without sending, as the runtime's hooks report it. */
function deliver(tracker: CompletionTracker, msg: TrackedMsg, node: string): void {
  tracker.delivered(msg, node);
  tracker.receiving(msg, node);
  tracker.received(node);
}

describe('CompletionTracker', () => {
  let tracker: CompletionTracker;
  let finished: { id: string; error: unknown; stalled?: readonly string[] }[];
  const onFinished = (id: string, error: unknown, stalled?: readonly string[]): void => void finished.push({ id, error, stalled });
  const track = (id: string, timeoutMs = 0): void => tracker.track(id, timeoutMs, onFinished, id);

  beforeEach(() => {
    tracker = new CompletionTracker();
    finished = [];
  });

  it('finishes a message once the one node it was delivered to completes it', async () => {
    const msg = { _msgid: 'a' };
    track('a');
    tracker.sending('in', msg);
    deliver(tracker, msg, 'sink');
    tracker.sent('a');
    await settled();
    assert.deepEqual(finished, []);
    tracker.completed(msg, 'sink');
    await settled();
    assert.deepEqual(finished, [{ id: 'a', error: undefined, stalled: undefined }]);
  });

  it('waits for every node of a fan-out, and for each delivery when one node gets it twice', async () => {
    const msg = { _msgid: 'a' };
    const copy = { _msgid: 'a' };
    track('a');
    deliver(tracker, msg, 'n1');
    deliver(tracker, copy, 'n2');
    deliver(tracker, { _msgid: 'a' }, 'n1');
    tracker.sent('a');
    tracker.completed(msg, 'n1');
    tracker.completed(copy, 'n2');
    await settled();
    assert.deepEqual(finished, [], 'n1 still holds its second delivery');
    tracker.completed({ _msgid: 'a' }, 'n1');
    await settled();
    assert.equal(finished.length, 1);
  });

  it('finds the message now tracked under an id, not a finished one that had the same id (the last lookup is remembered)', async () => {
    const first = { _msgid: 'a' };
    track('a');
    deliver(tracker, first, 'sink');
    tracker.sent('a');
    tracker.completed(first, 'sink');
    await settled();
    assert.equal(finished.length, 1);
    // A msg with the finished id, not tracked: nothing may be remembered for it.
    deliver(tracker, { _msgid: 'a' }, 'sink');
    assert.deepEqual(tracker.size, { messages: 0, objects: 0 });
    // The same id again (a node may reuse one): its hooks must reach the new entry.
    tracker.track('a', 0, (_token: string, error: unknown) => void finished.push({ id: 'second', error }), 'a');
    const second = { _msgid: 'a' };
    deliver(tracker, second, 'sink');
    tracker.sent('a');
    await settled();
    assert.equal(finished.length, 1, 'the second is still held by sink');
    tracker.completed(second, 'sink');
    await settled();
    assert.deepEqual(finished.map((f) => f.id), ['a', 'second']);
    assert.deepEqual(tracker.size, { messages: 0, objects: 0 });
  });

  it('ignores a completion by a node the message was never delivered to', async () => {
    const msg = { _msgid: 'a' };
    track('a');
    deliver(tracker, msg, 'sink');
    tracker.sent('a');
    tracker.completed(msg, 'catch-node');
    await settled();
    assert.deepEqual(finished, []);
  });

  it('follows a msg whose node deleted _msgid before calling done()', async () => {
    const msg: TrackedMsg = { _msgid: 'a' };
    track('a');
    deliver(tracker, msg, 'split');
    tracker.sent('a');
    delete msg._msgid;
    tracker.completed(msg, 'split');
    await settled();
    assert.equal(finished.length, 1);
  });

  it('reports the first error and, on timeout, the nodes that still hold the message', async () => {
    const msg = { _msgid: 'a' };
    track('a', 1);
    deliver(tracker, msg, 'fails');
    deliver(tracker, { _msgid: 'a' }, 'stuck');
    tracker.sent('a');
    tracker.completed(msg, 'fails', new Error('boom'));
    await until(() => finished.length > 0, 'the timeout sweep');
    assert.match(String(finished[0].error), /boom/);
    assert.deepEqual(finished[0].stalled, ['stuck']);
  });

  it("keeps finishing the others when one message's callback throws, in the microtask and in the timeout sweep, and hands the throw to the owner", async () => {
    const failures: [string, unknown][] = [];
    tracker = new CompletionTracker((err, token) => void failures.push([err.message, token]));
    const throwing = (id: string): void => {
      if (id.startsWith('bad')) throw new Error(`injected: ${id}`);
      finished.push({ id, error: undefined });
    };
    for (const id of ['a', 'bad1', 'b']) {
      tracker.track(id, 0, throwing, id);
      tracker.sent(id);
    }
    assert.deepEqual(finished.map((f) => f.id), ['a', 'b'], 'finished at once: nothing holds them');
    for (const id of ['c', 'bad2', 'd']) {
      const msg = { _msgid: id };
      tracker.track(id, 0, throwing, id);
      deliver(tracker, msg, 'sink');
      tracker.sent(id);
      tracker.completed(msg, 'sink');
    }
    await settled();
    assert.deepEqual(finished.map((f) => f.id), ['a', 'b', 'c', 'd'], 'one microtask for the three, past the throw');
    for (const id of ['e', 'bad3', 'f']) {
      tracker.track(id, 1, throwing, id);
      deliver(tracker, { _msgid: id }, 'stuck');
      tracker.sent(id);
    }
    await until(() => finished.length === 6, 'the sweep finishes the timed-out ones');
    assert.deepEqual(failures, [['injected: bad1', 'bad1'], ['injected: bad2', 'bad2'], ['injected: bad3', 'bad3']]);
    assert.deepEqual(tracker.size, { messages: 0, objects: 0 });
  });

  it('forgets every message and msg object once finished, so nothing accumulates over a drain', async () => {
    for (let i = 0; i < 100; i++) {
      const msg = { _msgid: `m${i}` };
      track(msg._msgid);
      deliver(tracker, msg, 'n1');
      deliver(tracker, { ...msg }, 'n2');
      tracker.sent(msg._msgid);
      tracker.completed(msg, 'n1');
      tracker.completed({ ...msg }, 'n2');
    }
    await settled();
    assert.equal(finished.length, 100);
    assert.deepEqual(tracker.size, { messages: 0, objects: 0 });
  });

  it('keeps a msg object that a newer message was delivered as tied to the newer one when the older finishes', async () => {
    const msg: TrackedMsg = { _msgid: 'a' };
    track('a');
    deliver(tracker, msg, 'n1');
    tracker.sent('a');
    // A node re-sends the same object as a new message while the first is still held.
    msg._msgid = 'b';
    track('b');
    deliver(tracker, msg, 'n2');
    tracker.sent('b');
    tracker.completed({ _msgid: 'a' }, 'n1');
    await settled();
    delete msg._msgid;
    tracker.completed(msg, 'n2');
    await settled();
    assert.deepEqual(finished.map((f) => f.id), ['a', 'b']);
    assert.deepEqual(tracker.size, { messages: 0, objects: 0 });
  });

  it('finishes a message exactly once, in the turn its last delivery completes, under any interleaving of deliveries, completions and turns (fast-check)', async () => {
    type Step = { deliver: string } | { complete: string; error?: string } | 'turn';
    const node = fc.constantFrom('n1', 'n2', 'n3');
    const step: fc.Arbitrary<Step> = fc.oneof(
      node.map((n) => ({ deliver: n })),
      fc.record({ complete: node, error: fc.option(fc.constant('boom'), { nil: undefined }) }),
      fc.constant('turn' as const),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(node, { maxLength: 3 }), fc.array(step, { maxLength: 30 }), async (first, steps) => {
        tracker = new CompletionTracker();
        finished = [];
        const holds = new Map<string, number>();
        const open = (): number => [...holds.values()].reduce((a, b) => a + b, 0);
        let expected = 0;
        let firstError: string | undefined;
        track('a');
        for (const n of first) {
          deliver(tracker, { _msgid: 'a' }, n);
          holds.set(n, (holds.get(n) ?? 0) + 1);
        }
        tracker.sent('a');
        // With no delivery the sender's return finishes it at once; else a completion empties it.
        if (first.length === 0) expected = 1;
        for (const s of [...steps, 'turn' as const]) {
          if (s === 'turn') {
            await settled();
            if (expected === 0 && open() === 0) expected = 1;
            assert.equal(finished.length, expected, expected ? 'finished once, in the turn it emptied' : 'held while a delivery is open');
          } else if (expected === 1) {
            // Finished: later deliveries and completions under its id are not its own any more.
            if ('deliver' in s) deliver(tracker, { _msgid: 'a' }, s.deliver);
            else tracker.completed({ _msgid: 'a' }, s.complete, s.error);
          } else if ('deliver' in s) {
            deliver(tracker, { _msgid: 'a' }, s.deliver);
            holds.set(s.deliver, (holds.get(s.deliver) ?? 0) + 1);
          } else {
            tracker.completed({ _msgid: 'a' }, s.complete, s.error);
            const n = holds.get(s.complete) ?? 0;
            if (n > 0) {
              holds.set(s.complete, n - 1);
              if (s.error !== undefined) firstError ??= s.error;
            }
          }
        }
        assert.ok(finished.length <= 1);
        if (finished.length === 1) assert.equal(finished[0].error, firstError);
        tracker.forgetAll(onFinished);
      }),
      { numRuns: 300 },
    );
  });
});
