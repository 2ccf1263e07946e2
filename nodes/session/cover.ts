// Turns the filters every consumer wants into the set the connection subscribes to: covered filters dropped, never widened.
import { covers, overlaps, parseFilter } from './topic';

export type QoS = 0 | 1 | 2;

/** Broker-side subscriptions: SUBSCRIBE string → QoS. */
export type SubscriptionSet = Map<string, QoS>;

/**
 * Never wider than asked: a plain filter is dropped only when another wanted filter covers it
 * (`a/#` covers `a/b`), so the broker is never asked for a topic no node wants, and an ACL sees
 * only filters a node names. Filters that overlap without one covering the other (`a/+/c` and
 * `a/b/+`) both stay, at the highest QoS of their overlap group: MQTT 3.1.1 brokers such as
 * Mosquitto send one copy per connection at the QoS of one of the matching subscriptions, and
 * with MQTT 5 subscription identifiers tell the copies apart (see IdRouter). Shared filters stay
 * as written: the group is a different subscription by design.
 */
export function coverFilters(wanted: ReadonlyMap<string, QoS>): SubscriptionSet {
  const out: SubscriptionSet = new Map();
  const plain: [string, QoS][] = [];
  for (const [raw, qos] of wanted) {
    if (parseFilter(raw).group !== undefined) out.set(raw, Math.max(out.get(raw) ?? 0, qos) as QoS);
    else plain.push([raw, qos]);
  }
  // `#` and `+/#` cover each other: of two such, the first in string order stays.
  plain.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const kept: [string, QoS][] = [];
  for (const [f, q] of plain) {
    const wider = plain.find(([g]) => g !== f && covers(g, f) && (!covers(f, g) || g < f));
    if (wider === undefined) kept.push([f, q]);
  }
  // Each survivor at the highest QoS of what it covers, then of its overlap group.
  const qos = kept.map(([f, q]) => plain.reduce<number>((m, [g, p]) => (covers(f, g) ? Math.max(m, p) : m), q));
  const group = kept.map((_, i) => i);
  const root = (i: number): number => (group[i] === i ? i : (group[i] = root(group[i])));
  for (let i = 0; i < kept.length; i++) for (let j = i + 1; j < kept.length; j++) if (overlaps(kept[i][0], kept[j][0])) group[root(j)] = root(i);
  const top = new Map<number, number>();
  for (let i = 0; i < kept.length; i++) top.set(root(i), Math.max(top.get(root(i)) ?? 0, qos[i]));
  for (let i = 0; i < kept.length; i++) out.set(kept[i][0], top.get(root(i)) as QoS);
  return out;
}

/** What to send to move the broker from `have` to `want`: new or re-QoS'd filters, and filters to drop. */
export function diffSubscriptions(have: ReadonlyMap<string, QoS>, want: ReadonlyMap<string, QoS>): { subscribe: SubscriptionSet; unsubscribe: string[] } {
  const subscribe: SubscriptionSet = new Map();
  for (const [f, q] of want) if (have.get(f) !== q) subscribe.set(f, q);
  const unsubscribe = [...have.keys()].filter((f) => !want.has(f));
  return { subscribe, unsubscribe };
}
