// Specs for nodes/session/subscriptions/reconcile-plan.ts: what one reconcile sends, and what the SUBACKs and UNSUBACK change, without a broker (on one: subscriptions.test.ts, subscription-ids.test.ts).
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { QoS } from '../nodes/session/subscriptions/cover';
import { flagsKey, type SubscribeFlags } from '../nodes/session/subscriptions/flags';
import { afterSubscribe, afterUnsubscribe, assignIds, MAX_SUBSCRIPTION_ID, planReconcile, type Grant, type ReconcilePlan, type Standing } from '../nodes/session/subscriptions/reconcile-plan';
import { Refusals } from '../nodes/session/connection/refusals';

const filter = fc.constantFrom<string>('a', 'b', 'c/#', 'd/+', 'e/f', '$share/g/h', 'i/+/j');
const qos = fc.constantFrom<QoS>(0, 1, 2);
const subs = fc.uniqueArray(fc.tuple(filter, qos), { selector: ([f]) => f, maxLength: 7 }).map((e) => new Map(e));
const flags = fc.record({ nl: fc.boolean(), rap: fc.boolean(), rh: fc.constantFrom<0 | 1 | 2>(0, 1, 2) }, { requiredKeys: [] });

const standing = (s: Partial<Standing>): Standing => ({ held: new Map(), wanted: new Map(), flags: new Map(), flagsSent: new Map(), ids: undefined, refusals: new Refusals(), ...s });
/** A refusals record that has refused `filter` (closed on twice, alone). */
const refusing = (filter: string, code?: number): Refusals => {
  const r = new Refusals();
  r.closedOn([filter], code);
  r.closedOn([filter], code);
  return r;
};
/** The broker grants every filter at the QoS asked for. */
const grantAll = (plan: ReconcilePlan): Grant[] => plan.batches.flat().map(([topic, q]) => ({ topic, qos: q }));

describe('reconcile-plan', () => {
  describe('planReconcile', () => {
    it('subscribes what the broker does not hold at its QoS, and unsubscribes what it holds and no one wants', () => {
      fc.assert(
        fc.property(subs, subs, (held, wanted) => {
          const plan = planReconcile(standing({ held, wanted }));
          assert.deepEqual(plan.subscribe, new Map([...wanted].filter(([f, q]) => held.get(f) !== q)));
          assert.deepEqual(plan.unsubscribe, [...held.keys()].filter((f) => !wanted.has(f)));
        }),
      );
    });

    it('subscribes everything and unsubscribes nothing when what the broker holds is unknown', () => {
      fc.assert(
        fc.property(subs, (wanted) => {
          const plan = planReconcile(standing({ held: undefined, wanted }));
          assert.deepEqual(plan.subscribe, wanted);
          assert.deepEqual(plan.unsubscribe, []);
        }),
      );
    });

    it('brings the broker to what is wanted in one round, after which the next plan sends nothing, with or without identifiers and options', () => {
      fc.assert(
        fc.property(subs, subs, fc.boolean(), fc.dictionary(filter, flags), (held, wanted, useIds, flagsOf) => {
          const options = new Map(Object.entries(flagsOf).filter(([f]) => wanted.has(f)) as [string, SubscribeFlags][]);
          const heldIds = new Map([...held.keys()].map((f, i) => [f, i + 1]));
          const before = standing({ held, wanted, flags: options, ids: useIds ? heldIds : undefined });
          const plan = planReconcile(before);
          const subscribed = afterSubscribe(plan, held, heldIds, grantAll(plan));
          const unsubscribed = afterUnsubscribe(subscribed.held, subscribed.ids, plan.unsubscribe);
          assert.deepEqual(unsubscribed.held, wanted);
          if (useIds) assert.deepEqual(new Set(unsubscribed.ids.keys()), new Set(wanted.keys()));
          const sent = new Map([...subscribed.done.keys()].map((f) => [f, flagsKey(options.get(f))]));
          const again = planReconcile({ ...before, held: unsubscribed.held, flagsSent: sent, ids: useIds ? unsubscribed.ids : undefined });
          assert.deepEqual([again.subscribe.size, again.unsubscribe.length], [0, 0]);
        }),
      );
    });

    it('subscribes a held filter again while this session has not sent its options, and once sent, not again', () => {
      const held = new Map<string, QoS>([['a', 1], ['b', 1]]);
      const options = new Map<string, SubscribeFlags>([['a', { nl: true }], ['b', {}]]);
      assert.deepEqual([...planReconcile(standing({ held, wanted: held, flags: options })).subscribe], [['a', 1]]);
      const sent = new Map([['a', flagsKey({ nl: true })]]);
      assert.equal(planReconcile(standing({ held, wanted: held, flags: options, flagsSent: sent })).subscribe.size, 0);
    });

    it('subscribes a held filter again when it has no identifier, and keeps the identifier of one that has', () => {
      const held = new Map<string, QoS>([['a', 1], ['b', 1]]);
      const plan = planReconcile(standing({ held, wanted: held, ids: new Map([['a', 4]]) }));
      assert.deepEqual([...plan.subscribe], [['b', 1]]);
      assert.deepEqual([...(plan.ids ?? [])], [['b', 5]]);
    });

    it('reports each refused filter with its code and asks for none of them', () => {
      const refusals = refusing('c/#', 0x8f);
      const plan = planReconcile(standing({ held: new Map(), wanted: new Map<string, QoS>([['a', 1], ['c/#', 1]]), refusals }));
      assert.deepEqual(plan.refused, [['c/#', 0x8f]]);
      assert.deepEqual([...plan.subscribe], [['a', 1]]);
    });

    it('carries each filter to subscribe in exactly one SUBSCRIBE, one filter per SUBSCRIBE with identifiers, suspects alone and last without', () => {
      fc.assert(
        fc.property(subs, fc.boolean(), fc.option(filter, { nil: undefined }), (wanted, useIds, suspect) => {
          const refusals = new Refusals();
          if (suspect !== undefined) refusals.closedOn([suspect, 'other'], undefined);
          const plan = planReconcile(standing({ wanted, ids: useIds ? new Map() : undefined, refusals }));
          assert.deepEqual(new Map(plan.batches.flat()), plan.subscribe);
          assert.equal(plan.batches.flat().length, plan.subscribe.size);
          if (useIds) assert.ok(plan.batches.every((b) => b.length === 1));
          else if (suspect !== undefined && wanted.has(suspect) && wanted.size > 1) assert.deepEqual(plan.batches.at(-1), [[suspect, wanted.get(suspect)]]);
        }),
      );
    });
  });

  describe('afterSubscribe', () => {
    it('holds a granted filter at the QoS asked for, whatever QoS the broker granted, and lists a failure code as refused', () => {
      const plan = planReconcile(standing({ held: new Map<string, QoS>([['x', 0]]), wanted: new Map<string, QoS>([['x', 0], ['a', 2], ['b', 1]]), ids: new Map([['x', 1]]) }));
      const out = afterSubscribe(plan, new Map([['x', 0]]), new Map([['x', 1]]), [
        { topic: 'a', qos: 1 },
        { topic: 'b', qos: 0x87 },
      ]);
      assert.deepEqual([...out.done], [['a', 2]]);
      assert.deepEqual(out.failed, [['b', 0x87]]);
      assert.deepEqual([...out.held], [['x', 0], ['a', 2]]);
      assert.deepEqual([...out.ids], [['x', 1], ['a', 2]]);
    });

    it('keeps the same identifier map when the plan used none, so a router sees no change', () => {
      const ids = new Map<string, number>();
      const plan = planReconcile(standing({ wanted: new Map<string, QoS>([['a', 1]]) }));
      assert.equal(afterSubscribe(plan, new Map(), ids, grantAll(plan)).ids, ids);
    });
  });

  describe('afterUnsubscribe', () => {
    it('forgets the filters and their identifiers, in a new identifier map', () => {
      const ids = new Map([['a', 1], ['b', 2]]);
      const out = afterUnsubscribe(new Map<string, QoS>([['a', 1], ['b', 1]]), ids, ['b']);
      assert.deepEqual([...out.held], [['a', 1]]);
      assert.deepEqual([...out.ids], [['a', 1]]);
      assert.notEqual(out.ids, ids);
    });
  });

  describe('assignIds', () => {
    it('keeps each held identifier and gives every other filter a distinct free one from 1 to the largest', () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.tuple(filter, fc.integer({ min: 1, max: MAX_SUBSCRIPTION_ID })), { selector: ([f]) => f }), fc.uniqueArray(filter), (heldIds, filters) => {
          const held = new Map(heldIds);
          const out = assignIds(held, filters);
          assert.deepEqual([...out.keys()], filters);
          for (const [f, id] of out) {
            assert.ok(Number.isInteger(id) && id >= 1 && id <= MAX_SUBSCRIPTION_ID, String(id));
            if (held.has(f)) assert.equal(id, held.get(f));
          }
          const fresh = [...out].filter(([f]) => !held.has(f)).map(([, id]) => id);
          const taken = new Set(held.values());
          assert.equal(new Set(fresh).size, fresh.length);
          assert.ok(fresh.every((id) => !taken.has(id)), `${fresh.join(', ')} against ${[...taken].join(', ')}`);
        }),
      );
    });

    it('takes the lowest free identifier once the largest is in use', () => {
      assert.deepEqual([...assignIds(new Map([['x', MAX_SUBSCRIPTION_ID], ['y', 1]]), ['a', 'b'])], [['a', 2], ['b', 3]]);
    });
  });
});
