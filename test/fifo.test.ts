// Specs for the Fifo behind the ack gate and the in-flight window: order, size and clear across its internal cut-backs.
import assert from 'node:assert/strict';
import { Fifo } from '../nodes/session/lib/fifo';

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
