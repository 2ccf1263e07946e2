// Specs for IdTable: it answers as a Map would, whether keys have their array slot to themselves or collide.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdTable, SLOTS } from '../nodes/session/lib/id-table';

type Op = { kind: 'set' | 'delete' | 'get'; key: number };

/** Keys near each other and keys a multiple of SLOTS apart (the same slot), large ones included. */
const keyArb = fc.oneof(
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([slot, lap]) => slot + lap * SLOTS), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 3 * SLOTS }), weight: 1 },
  { arbitrary: fc.integer({ min: 2 ** 40, max: 2 ** 40 + 2 * SLOTS }), weight: 1 },
);
const opArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom('set', 'delete', 'get'), key: keyArb });

describe('IdTable', () => {
  it('gives what a Map gives for any sequence of set, delete and get, colliding keys included', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 200 }), (ops) => {
        const table = new IdTable<{ v: number }>();
        const model = new Map<number, { v: number }>();
        ops.forEach((op, i) => {
          if (op.kind === 'set') {
            const value = { v: i };
            table.set(op.key, value);
            model.set(op.key, value);
          } else if (op.kind === 'delete') {
            assert.equal(table.delete(op.key), model.delete(op.key), `delete ${op.key}`);
          }
          assert.equal(table.get(op.key), model.get(op.key), `get ${op.key} after ${op.kind}`);
          assert.equal(table.has(op.key), model.has(op.key));
          assert.equal(table.size, model.size);
        });
        for (const [key, value] of model) assert.equal(table.get(key), value);
      }),
      { numRuns: 300, seed: 25 },
    );
  });

  it('keeps a long churn of sequential keys, more live than it has slots, and ends empty', () => {
    const table = new IdTable<{ k: number }>();
    const live = SLOTS * 3;
    for (let k = 0; k < SLOTS * 10; k++) {
      table.set(k, { k });
      if (k >= live) assert.equal(table.delete(k - live), true);
    }
    assert.equal(table.size, live);
    for (let k = SLOTS * 10 - live; k < SLOTS * 10; k++) assert.equal(table.get(k)?.k, k);
    for (let k = SLOTS * 10 - live; k < SLOTS * 10; k++) table.delete(k);
    assert.equal(table.size, 0);
    assert.equal(table.get(SLOTS * 10 - 1), undefined);
  });
});
