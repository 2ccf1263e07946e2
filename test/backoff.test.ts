// Specs for nodes/session/connection/backoff.ts: exponential reconnect delays with equal jitter.
import { strict as assert } from 'node:assert';
import { backoffDelay } from '../nodes/session/connection/backoff.js';
import { seeded } from './support/filters';

describe('backoff', () => {
  const opts = { min: 100, max: 1000 };

  it('doubles the delay with every attempt', () => {
    const top = (): number => 1;
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, opts, top)), [100, 200, 400, 800]);
  });

  it('caps the delay at max', () => {
    for (const attempt of [5, 6, 30, 31, 1000, 1e9]) {
      assert.equal(backoffDelay(attempt, opts, () => 1), 1000, `attempt ${attempt}`);
      assert.equal(backoffDelay(attempt, opts, () => 0), 500, `attempt ${attempt}`);
    }
  });

  it('never goes below half the ceiling, whatever the random draw', () => {
    const random = seeded(3);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(opts.max, opts.min * 2 ** (attempt - 1));
      assert.equal(backoffDelay(attempt, opts, () => 0), ceiling / 2);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, opts, random);
        assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d} outside [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  it('treats attempt 0 or below like the first attempt', () => {
    assert.equal(backoffDelay(0, opts, () => 1), 100);
    assert.equal(backoffDelay(-3, opts, () => 1), 100);
  });
});
