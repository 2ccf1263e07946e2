// Specs for the in-flight window of a complete-mode consumer: how many messages it starts, and resizing.
import assert from 'node:assert/strict';
import { InflightWindow } from '../nodes/acks/window';

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
