// Specs for nodes/session/subscriptions/filter-index.ts: the same answers as covers() and overlaps() in topic.ts, without testing every pair.
import { strict as assert } from 'node:assert';
import { FilterIndex } from '../nodes/session/subscriptions/filter-index.js';
import { covers, overlaps } from '../nodes/session/subscriptions/topic.js';
import { randomFilter, seeded } from './support/filters';

describe('filter-index', () => {
  it('finds exactly the filters that cover, and that overlap, a filter, as covers() and overlaps() say, for random sets', () => {
    const random = seeded(20261207);
    for (let run = 0; run < 300; run++) {
      const filters = [...new Set(Array.from({ length: 1 + Math.floor(random() * 12) }, () => randomFilter(random)))];
      const index = new FilterIndex<string>();
      for (const f of filters) index.add(f, f);
      for (const probe of [...filters, ...Array.from({ length: 4 }, () => randomFilter(random))]) {
        const context = `run ${run}: ${probe} in ${JSON.stringify(filters)}`;
        assert.deepEqual(index.covering(probe).sort(), filters.filter((f) => covers(f, probe)).sort(), `${context}: covering`);
        assert.deepEqual(index.overlapping(probe).sort(), filters.filter((f) => overlaps(probe, f)).sort(), `${context}: overlapping`);
      }
    }
  });

  it('forgets a deleted filter, keeps another value of the same filter, and finds what is added again', () => {
    const index = new FilterIndex<number>();
    index.add('a/+', 1);
    index.add('a/+', 2);
    index.add('a/b/#', 3);
    index.delete('a/+', 1);
    assert.deepEqual(index.covering('a/b'), [2, 3]);
    index.delete('a/+', 2);
    index.delete('a/b/#', 3);
    index.delete('never/there', 4);
    assert.deepEqual(index.overlapping('#'), []);
    index.add('a/+', 5);
    assert.deepEqual(index.overlapping('+/x'), [5]);
  });
});
