// Specs for the subscription change a resubscribe waits for: which broker filters it needs held and gone (which carries which: topic.test.ts).
// untilApplied itself, the wait on a live session, is specified through the `subscribe` action in dynamic-subscriptions.test.ts.
import assert from 'node:assert/strict';
import { changeOf } from '../nodes/broker/until-applied';
import type { QoS } from '../nodes/session/cover';

const subs = (...entries: [string, QoS][]): Map<string, QoS> => new Map(entries);

describe('until-applied', () => {
  describe('changeOf', () => {
    it('needs the broker filters that carry the changed node\'s filters, at their QoS, and nothing else', () => {
      const before = subs(['x/1', 1]);
      const after = subs(['x/1', 1], ['a/#', 2], ['other', 0]);
      const change = changeOf(before, after, ['a/b', 'a/c']);
      assert.deepEqual([...change.need], [['a/#', 2]]);
      assert.deepEqual(change.gone, []);
    });

    it('names what left the broker\'s set as gone', () => {
      const change = changeOf(subs(['a/b', 1], ['c', 1]), subs(['c', 1]), ['c']);
      assert.deepEqual([...change.need], [['c', 1]]);
      assert.deepEqual(change.gone, ['a/b']);
    });

    it('needs nothing for a filter the new set no longer has', () => {
      const change = changeOf(subs(['a/b', 1]), subs(), ['a/b']);
      assert.deepEqual([...change.need], []);
      assert.deepEqual(change.gone, ['a/b']);
    });
  });
});
