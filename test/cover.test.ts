// Specs for nodes/session/subscriptions/cover.ts: which wanted filters become broker subscriptions (covered ones dropped, never widened), and the plan from held to wanted.
import { strict as assert } from 'node:assert';
import { coverFilters, diffSubscriptions, type QoS } from '../nodes/session/subscriptions/cover.js';
import { covers, overlaps } from '../nodes/session/subscriptions/topic.js';
import { matches, randomFilter, referenceCover, seeded, topicUniverse } from './support/filters';

describe('cover', () => {
  describe('coverFilters', () => {
    it('merges a/# and a/b into a/# at the higher QoS', () => {
      assert.deepEqual(coverFilters(new Map<string, QoS>([['a/#', 0], ['a/b', 1]])), new Map([['a/#', 1]]));
      assert.deepEqual(coverFilters(new Map<string, QoS>([['a/b', 2], ['a/#', 1]])), new Map([['a/#', 2]]));
    });

    it('keeps a/+/c and a/b/+ as they are, never a/+/+, both at the higher QoS of the two', () => {
      assert.deepEqual(coverFilters(new Map<string, QoS>([['a/+/c', 1], ['a/b/+', 0]])), new Map<string, QoS>([['a/+/c', 1], ['a/b/+', 1]]));
    });

    it('keeps one of # and +/#, which cover each other', () => {
      assert.deepEqual(coverFilters(new Map<string, QoS>([['+/#', 1], ['#', 0]])), new Map([['#', 1]]));
    });

    it('keeps a shared subscription separate from a plain filter it overlaps', () => {
      const out = coverFilters(new Map<string, QoS>([['$share/g/a/#', 1], ['a/b', 0]]));
      assert.deepEqual(out, new Map<string, QoS>([['$share/g/a/#', 1], ['a/b', 0]]));
    });

    it('leaves disjoint filters untouched, including $SYS/# next to #', () => {
      const wanted = new Map<string, QoS>([['a/b', 0], ['c/+', 1], ['$SYS/#', 2]]);
      assert.deepEqual(coverFilters(wanted), wanted);
      const withHash = new Map<string, QoS>([['#', 1], ['$SYS/x', 0]]);
      assert.deepEqual(coverFilters(withHash), withHash);
    });

    it('raises the QoS across a chain of overlaps, and leaves a filter that meets none of them alone', () => {
      // a/+/c and a/+/x never meet, but each meets a/b/+ (on a/b/c, a/b/x): one group. a/z/z meets none of them.
      const out = coverFilters(new Map<string, QoS>([['a/z/z', 2], ['a/+/c', 0], ['a/b/+', 1], ['a/+/x', 0]]));
      assert.deepEqual(out, new Map<string, QoS>([['a/+/c', 1], ['a/+/x', 1], ['a/b/+', 1], ['a/z/z', 2]]));
    });

    it('never widens, keeps no covered filter, gives overlapping filters one QoS, and covers every wanted filter at least at its QoS, for random batches', () => {
      const random = seeded(20240601);
      const universe = topicUniverse();
      for (let run = 0; run < 200; run++) {
        const wanted = new Map<string, QoS>();
        const n = 1 + Math.floor(random() * 8);
        for (let i = 0; i < n; i++) wanted.set(randomFilter(random), Math.floor(random() * 3) as QoS);
        const out = [...coverFilters(wanted)];
        const context = `run ${run}: ${JSON.stringify([...wanted])} -> ${JSON.stringify(out)}`;
        for (const [f] of out) assert.ok(wanted.has(f), `${context}: ${f} was never asked for`);
        for (let i = 0; i < out.length; i++) {
          for (let j = i + 1; j < out.length; j++) {
            assert.ok(!covers(out[i][0], out[j][0]) && !covers(out[j][0], out[i][0]), `${context}: one covers the other`);
            if (overlaps(out[i][0], out[j][0])) assert.equal(out[i][1], out[j][1], `${context}: overlapping filters at different QoS`);
          }
        }
        for (const [filter, qos] of wanted) {
          for (const t of universe.filter((topic) => matches(filter, topic))) {
            assert.ok(out.some(([f, q]) => matches(f, t) && q >= qos), `${context}: ${t} (via ${filter}) lost`);
          }
        }
      }
    });
  });

  describe('coverFilters at scale', () => {
    it('gives the same subscriptions as comparing every pair, for random batches of up to 40 filters', () => {
      const random = seeded(20261207);
      for (let run = 0; run < 500; run++) {
        const wanted = new Map<string, QoS>();
        const n = 1 + Math.floor(random() * 40);
        for (let i = 0; i < n; i++) wanted.set(randomFilter(random), Math.floor(random() * 3) as QoS);
        assert.deepEqual([...coverFilters(wanted)], [...referenceCover(wanted)], `run ${run}: ${JSON.stringify([...wanted])}`);
      }
    });

    it('covers 20,000 filters, such as one msg.action may bring, and raises a whole overlap group to its highest QoS', () => {
      const wanted = new Map<string, QoS>();
      for (let i = 0; i < 20_000; i++) wanted.set(i % 2 ? `dev/${i}/temp` : `dev/${i}/+`, (i % 3) as QoS);
      // Covers every dev/<odd>/temp, and meets every dev/<even>/+ and dev/7/# (on dev/<i>/temp).
      wanted.set('dev/+/temp', 2);
      wanted.set('dev/7/#', 0);
      const out = coverFilters(wanted);
      assert.equal(out.size, 10_000 + 2);
      assert.deepEqual(new Set(out.values()), new Set([2]));
      assert.equal(out.has('dev/9/temp'), false);
      assert.equal(out.get('dev/7/#'), 2);
    });
  });

  describe('diffSubscriptions', () => {
    it('subscribes new and re-QoSed filters and unsubscribes dropped ones', () => {
      const have = new Map<string, QoS>([['keep', 1], ['requalify', 0], ['drop', 1]]);
      const want = new Map<string, QoS>([['keep', 1], ['requalify', 2], ['new', 0]]);
      const { subscribe, unsubscribe } = diffSubscriptions(have, want);
      assert.deepEqual(subscribe, new Map<string, QoS>([['requalify', 2], ['new', 0]]));
      assert.deepEqual(unsubscribe, ['drop']);
    });

    it('plans nothing when the broker already holds what is wanted', () => {
      const same = new Map<string, QoS>([['a/#', 1]]);
      const { subscribe, unsubscribe } = diffSubscriptions(same, new Map(same));
      assert.equal(subscribe.size, 0);
      assert.deepEqual(unsubscribe, []);
    });
  });
});
