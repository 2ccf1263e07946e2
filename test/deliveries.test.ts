// Specs for deliveries.ts: one message's deliveries and completions, its first error, and the verdict (held, finished, stalled).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { awaitsForward, complete, deliver, failed, forwarded, forwarding, idle, overdue, type Deliveries } from '../nodes/acks/deliveries';

const fresh = (deadline = Infinity): Deliveries => ({ held: 0, deadline });

/** A step of the flow: a node gets a delivery, or calls done() (with an error or without). */
type Step = { deliver: string } | { complete: string; error?: string };

const nodes = fc.constantFrom('a', 'b', 'c');
const step: fc.Arbitrary<Step> = fc.oneof(
  nodes.map((n) => ({ deliver: n })),
  fc.record({ complete: nodes, error: fc.option(fc.constantFrom('e1', 'e2'), { nil: undefined }) }),
);

describe('deliveries', () => {
  it('is idle with no delivery, held while one is open, and idle again once it completes', () => {
    const d = fresh();
    assert.ok(idle(d));
    deliver(d, 'a');
    assert.ok(!idle(d));
    assert.ok(complete(d, 'a'));
    assert.ok(idle(d));
  });

  it('waits for every node of a fan-out, and for each delivery when one node gets it twice', () => {
    const d = fresh();
    deliver(d, 'a');
    deliver(d, 'b');
    deliver(d, 'a');
    assert.ok(complete(d, 'a'));
    assert.ok(complete(d, 'b'));
    assert.ok(!idle(d), 'a holds its second delivery');
    assert.ok(complete(d, 'a'));
    assert.ok(idle(d));
  });

  it('ignores a completion by a node that holds no delivery, and does not take its error', () => {
    const d = fresh();
    deliver(d, 'a');
    assert.equal(complete(d, 'catch', new Error('seen by a Catch node')), false);
    assert.ok(!idle(d));
    assert.equal(d.error, undefined);
  });

  it('keeps the first error and the node that reported it; a failed send counts only when no node failed first', () => {
    const d = fresh();
    deliver(d, 'a');
    deliver(d, 'b');
    complete(d, 'a', 'first');
    complete(d, 'b', 'second');
    failed(d, 'send threw');
    assert.deepEqual([d.error, d.failedBy], ['first', 'a']);
    const e = fresh();
    failed(e, 'send threw');
    assert.deepEqual([e.error, e.failedBy], ['send threw', undefined]);
  });

  it('is overdue only from its deadline on, naming the nodes that still hold it', () => {
    const d = fresh(1000);
    deliver(d, 'a');
    deliver(d, 'b');
    complete(d, 'a');
    assert.equal(overdue(d, 999), undefined);
    assert.deepEqual(overdue(d, 1000), ['b']);
    assert.equal(overdue(fresh(), Number.MAX_VALUE), undefined, 'no deadline: never stalled');
  });

  it('completes a forwarder\'s delivery once it has passed it on, once per delivery', () => {
    const d = fresh();
    deliver(d, 'switch');
    forwarding(d, 'switch');
    assert.ok(awaitsForward(d, 'switch'));
    assert.ok(forwarded(d, 'switch'));
    assert.ok(idle(d));
    assert.equal(forwarded(d, 'switch'), false, 'the timer after a send finds nothing left');
    assert.ok(!awaitsForward(d, 'switch'));
  });

  it('agrees with a count per node under any interleaving of deliveries and completions (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const d = fresh(0);
        const model = new Map<string, number>();
        let firstError: [string, string] | undefined;
        for (const s of steps) {
          if ('deliver' in s) {
            deliver(d, s.deliver);
            model.set(s.deliver, (model.get(s.deliver) ?? 0) + 1);
          } else {
            const holds = model.get(s.complete) ?? 0;
            assert.equal(complete(d, s.complete, s.error), holds > 0, 'counts only a node that holds a delivery');
            if (holds > 0) {
              model.set(s.complete, holds - 1);
              if (s.error !== undefined) firstError ??= [s.error, s.complete];
            }
          }
          const holding = [...model].filter(([, n]) => n > 0).map(([node]) => node).sort();
          assert.equal(idle(d), holding.length === 0);
          assert.deepEqual([...(overdue(d, 0) ?? [])].sort(), holding);
          assert.deepEqual([d.error, d.failedBy], firstError ?? [undefined, undefined]);
        }
      }),
      { numRuns: 500 },
    );
  });
});
