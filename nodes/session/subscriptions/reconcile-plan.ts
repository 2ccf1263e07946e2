// What one reconcile sends to bring the broker's subscriptions to what is wanted, and what the broker's answers change: pure, no client and no ledger.
import { diffSubscriptions, type QoS, type SubscriptionSet } from './cover';
import { DEFAULT_FLAGS_KEY, flagsKey, type SubscribeFlags } from './flags';
import { FAILURE_CODE } from '../connection/reasons';
import type { Refusals } from '../connection/refusals';

/** The largest MQTT 5 Subscription Identifier (a Variable Byte Integer, §3.8.2.1.2). */
export const MAX_SUBSCRIPTION_ID = 268_435_455;

/** What the session knows as a change starts. */
export interface Standing {
  /** What the broker holds; undefined when unknown (a session present and no ledger). */
  readonly held: ReadonlyMap<string, QoS> | undefined;
  /** The cover of every consumer's filters: what the broker should hold. */
  readonly wanted: ReadonlyMap<string, QoS>;
  /** MQTT 5 options per broker subscription, and the flagsKey of those this session last sent for each. */
  readonly flags: ReadonlyMap<string, SubscribeFlags>;
  readonly flagsSent: ReadonlyMap<string, string>;
  /** The Subscription Identifier of each held filter, when the session uses them (MQTT 5, and CONNACK did not refuse them). */
  readonly ids: ReadonlyMap<string, number> | undefined;
  /** The filters a close refused, and how to split a SUBSCRIBE to find the next one. */
  readonly refusals: Pick<Refusals, 'entries' | 'batches'>;
}

export interface ReconcilePlan {
  /** Each filter to SUBSCRIBE, at its QoS. */
  readonly subscribe: ReadonlyMap<string, QoS>;
  /** The SUBSCRIBEs that carry them, in the order they go. */
  readonly batches: readonly [string, QoS][][];
  /** MQTT 5: the identifier each filter is subscribed with. */
  readonly ids: ReadonlyMap<string, number> | undefined;
  /** Filters a close refused, with their codes: reported, not asked for. */
  readonly refused: readonly (readonly [filter: string, code: number])[];
  /** Filters to UNSUBSCRIBE, once the new ones are held. */
  readonly unsubscribe: string[];
}

/** SUBSCRIBE goes out only for what the broker does not already hold, as the Paho consumer's persistent session expects. */
export function planReconcile(s: Standing): ReconcilePlan {
  // Unknown (session present, no ledger): subscribing again is harmless, missing a filter is not.
  const { subscribe, unsubscribe } = s.held ? diffSubscriptions(s.held, s.wanted) : { subscribe: new Map(s.wanted), unsubscribe: [] };
  // The ledger keeps no options: a filter whose options this session has not sent yet is subscribed again (once per start).
  for (const [f, q] of s.wanted) if (flagsKey(s.flags.get(f)) !== (s.flagsSent.get(f) ?? DEFAULT_FLAGS_KEY)) subscribe.set(f, q);
  // MQTT 5: a filter held without an identifier (subscribed by an older version) is subscribed again with one.
  if (s.ids) for (const [f, q] of s.wanted) if (!s.ids.has(f)) subscribe.set(f, q);
  const refused = [...s.refusals.entries()];
  for (const [f] of refused) subscribe.delete(f);
  const ids = s.ids && assignIds(s.ids, subscribe.keys());
  // Filters the broker closed on go one per SUBSCRIBE, after the rest, so a refusal names its filter.
  // MQTT 5: the identifier is a property of the whole SUBSCRIBE, so each filter goes in its own.
  const batches = ids ? [...subscribe].map((e) => [e]) : s.refusals.batches(subscribe);
  return { subscribe, batches, ids, refused, unsubscribe };
}

/** A SUBACK's answer for one filter: the QoS granted, or a failure code (0x80 or more). */
export interface Grant {
  readonly topic: string;
  readonly qos: number;
}

export interface Subscribed {
  /** What the broker holds now: what it held, with each granted filter at the QoS asked for. */
  readonly held: SubscriptionSet;
  /** The identifiers of the held filters; the same map when the plan used none, a new one when it did. */
  readonly ids: ReadonlyMap<string, number>;
  /** The filters granted, at the QoS asked for. */
  readonly done: SubscriptionSet;
  /** The filters refused in a SUBACK, with its code, in the order answered. */
  readonly failed: [filter: string, code: number][];
}

/** What the SUBACKs to a plan change. */
export function afterSubscribe(plan: ReconcilePlan, held: ReadonlyMap<string, QoS> | undefined, ids: ReadonlyMap<string, number>, grants: readonly Grant[]): Subscribed {
  const done: SubscriptionSet = new Map();
  const failed: [string, number][] = [];
  const nextIds = new Map(ids);
  for (const g of grants) {
    const qos = plan.subscribe.get(g.topic);
    if (g.qos >= FAILURE_CODE) failed.push([g.topic, g.qos]);
    else if (qos !== undefined) {
      done.set(g.topic, qos);
      const id = plan.ids?.get(g.topic);
      if (id !== undefined) nextIds.set(g.topic, id);
    }
  }
  const next = new Map(held);
  for (const [f, q] of done) next.set(f, q);
  return { held: next, ids: plan.ids ? nextIds : ids, done, failed };
}

/** What an UNSUBACK changes: the filters and their identifiers gone (the identifiers in a new map, so a router sees the change). */
export function afterUnsubscribe(held: ReadonlyMap<string, QoS>, ids: ReadonlyMap<string, number>, filters: readonly string[]): { held: SubscriptionSet; ids: ReadonlyMap<string, number> } {
  const next = new Map(held);
  const nextIds = new Map(ids);
  for (const f of filters) {
    next.delete(f);
    nextIds.delete(f);
  }
  return { held: next, ids: nextIds };
}

/** The identifier of each filter: the one it holds, or the next free one above every held identifier. */
export function assignIds(held: ReadonlyMap<string, number>, filters: Iterable<string>): Map<string, number> {
  const used = new Set(held.values());
  let next = 0;
  for (const id of used) next = Math.max(next, id);
  const out = new Map<string, number>();
  for (const f of filters) {
    const id = held.get(f);
    if (id !== undefined) {
      out.set(f, id);
      continue;
    }
    // Past the largest identifier, the lowest free one is taken (a session holds far fewer filters than that).
    do next = next >= MAX_SUBSCRIPTION_ID ? 1 : next + 1;
    while (used.has(next));
    used.add(next);
    out.set(f, next);
  }
  return out;
}
