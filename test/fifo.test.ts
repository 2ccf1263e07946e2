// Specs for the Fifo behind the ack gate and the in-flight window: order, size and clear across its internal cut-backs.
import assert from 'node:assert/strict';
import { Fifo } from '../nodes/session/fifo';
import { InflightWindow } from '../nodes/acks/window';

describe('Fifo', () => {
  it('keeps first-in first-out order across thousands of items taken while more arrive', () => {
    const q = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Always a few items behind, as the gate is in a long drain: the queue never empties.
    for (let round = 0; round < 5000; round++) {
      q.push(next++);
      q.push(next++);
      out.push(q.shift() as number);
      assert.equal(q.size, round + 1);
    }
    while (q.size > 0) out.push(q.shift() as number);
    assert.deepEqual(out, Array.from({ length: next }, (_, i) => i));
    assert.equal(q.shift(), undefined);
    assert.equal(q.peek(), undefined);
  });

  it('peeks without taking, and clear() returns what is left in order', () => {
    const q = new Fifo<string>();
    for (const s of ['a', 'b', 'c', 'd']) q.push(s);
    assert.equal(q.shift(), 'a');
    assert.equal(q.peek(), 'b');
    assert.equal(q.size, 3);
    assert.deepEqual(q.clear(), ['b', 'c', 'd']);
    assert.equal(q.size, 0);
  });
});

describe('InflightWindow', () => {
  it('starts at most `size` items, and the next waiting one each time one finishes', () => {
    const started: number[] = [];
    const w = new InflightWindow<number>(2, (n) => started.push(n));
    for (let i = 0; i < 5; i++) w.offer(i);
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual([w.inFlight, w.queued], [2, 3]);
    w.finish();
    assert.deepEqual(started, [0, 1, 2]);
    assert.deepEqual(w.clear(), [3, 4]);
    w.finish();
    w.finish();
    assert.deepEqual([w.inFlight, w.queued], [0, 0]);
  });

  it('takes a new size: a larger one starts waiting items at once, a smaller one as items finish', () => {
    const started: number[] = [];
    const w = new InflightWindow<number>(1, (n) => started.push(n));
    for (let i = 0; i < 5; i++) w.offer(i);
    w.resize(3);
    assert.deepEqual(started, [0, 1, 2]);
    w.resize(1);
    w.finish();
    w.finish();
    assert.deepEqual(started, [0, 1, 2], 'nothing new while more than the new size are in flight');
    w.finish();
    assert.deepEqual(started, [0, 1, 2, 3]);
    assert.equal(w.size, 1);
  });
});
