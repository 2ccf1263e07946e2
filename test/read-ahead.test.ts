// Specs for nodes/publisher/read-ahead.ts: the bounds of what the outbox keeps in memory, and which records an open keeps.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { full, low, OpenSplit, READ_AHEAD, REFILL_AT } from '../nodes/publisher/read-ahead';

describe('read-ahead', () => {
  it('is full at either bound, and low again only once both are down to REFILL_AT', () => {
    assert.equal(full(READ_AHEAD.count, 0), true);
    assert.equal(full(0, READ_AHEAD.bytes), true);
    assert.equal(full(READ_AHEAD.count - 1, READ_AHEAD.bytes - 1), false);
    const countAt = READ_AHEAD.count * REFILL_AT;
    const bytesAt = READ_AHEAD.bytes * REFILL_AT;
    assert.equal(low(countAt, bytesAt), true);
    assert.equal(low(countAt + 1, 0), false);
    assert.equal(low(0, bytesAt + 1), false);
  });

  it('an open keeps a front of the records in memory and counts every one after it as on disk, even a small one', () => {
    const record = fc.record({ entries: fc.integer({ min: 1, max: 1024 }), bytes: fc.integer({ min: 1, max: 1024 * 1024 }) });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 200 }), (records) => {
        const split = new OpenSplit();
        const kept = records.map((r) => split.keep(r.entries, r.bytes));
        const front = kept.indexOf(false) === -1 ? kept.length : kept.indexOf(false);
        assert.ok(kept.slice(front).every((k) => !k), 'a record kept after one left on disk');
        assert.equal(split.onDisk, records.slice(front).reduce((sum, r) => sum + r.entries, 0));
        // Every record but the last kept started below both bounds: at most one record past them.
        const before = records.slice(0, Math.max(0, front - 1));
        assert.ok(before.reduce((s, r) => s + r.entries, 0) < READ_AHEAD.count && before.reduce((s, r) => s + r.bytes, 0) < READ_AHEAD.bytes);
        // Left on disk only once a bound was reached.
        if (front < records.length) {
          const inMemory = records.slice(0, front);
          assert.ok(inMemory.reduce((s, r) => s + r.entries, 0) >= READ_AHEAD.count || inMemory.reduce((s, r) => s + r.bytes, 0) >= READ_AHEAD.bytes);
        }
      }),
    );
  });
});
