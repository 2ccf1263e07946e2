// Specs for Table, the keyed table of per-message entries that moves to a new Map now and then.
import assert from 'node:assert/strict';
import { RENEW_AFTER, Table } from '../nodes/session/lib/table';

describe('Table', () => {
  for (const live of [50, RENEW_AFTER * 3]) {
    it(`keeps its entries, size and values through the Map renewals of a long churn (${live} entries held)`, () => {
      const t = new Table<number, string>();
      // Always `live` entries, oldest deleted first, for several renewals.
      const total = RENEW_AFTER * 5 + live;
      for (let i = 0; i < total; i++) {
        t.set(i, `v${i}`);
        if (i >= live) assert.equal(t.delete(i - live), true);
      }
      const last = total - 1;
      assert.equal(t.size, live);
      assert.deepEqual([...t.values()], Array.from({ length: live }, (_, k) => `v${last - live + 1 + k}`));
      assert.equal(t.get(last), `v${last}`);
      assert.equal(t.has(last - live), false);
      assert.equal(t.delete(last - live), false);
    });
  }
});
