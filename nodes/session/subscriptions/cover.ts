// Turns the filters every consumer wants into the set the connection subscribes to: covered filters dropped, never widened.
import { FilterIndex, plainIndexOf } from './filter-index';
import { covers, parseFilter } from './topic';

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
  const index = new FilterIndex<number>();
  plain.forEach(([f], i) => index.add(f, i));
  // Each filter's covering filters (itself among them) are found by walking its levels rather than testing every pair.
  const kept = plain.map(([f], i) => !index.covering(f).some((j) => j !== i && (!covers(f, plain[j][0]) || plain[j][0] < f)));
  // Each survivor at the highest QoS of what it covers (only dropped filters: no survivor covers another), then of its
  // overlap group; each dropped filter's survivors carry it.
  const qos = plain.map(([, q]) => q as number);
  const dropped = new Map<string, string[]>();
  plain.forEach(([f, q], i) => {
    if (kept[i]) return;
    const by: string[] = [];
    for (const j of index.covering(f)) {
      if (!kept[j]) continue;
      qos[j] = Math.max(qos[j], q);
      by.push(plain[j][0]);
    }
    dropped.set(f, by);
    index.delete(f, i);
  });
  raiseToGroup(plain, kept, qos, index);
  plain.forEach(([f], i) => {
    if (kept[i]) out.set(f, qos[i] as QoS);
  });
  carried.set(out, dropped);
  return out;
}

/** Per set coverFilters made: the broker filters that carry each wanted filter it dropped. */
const carried = new WeakMap<ReadonlyMap<string, QoS>, ReadonlyMap<string, readonly string[]>>();

/**
 * The broker filters of `subscriptions` that deliver what `filter` asks for: itself when it is one
 * of them, and the plain ones that cover it when both are plain (a shared subscription carries only
 * its own filter). The options of each subscription (flags.ts) and the change a resubscribe waits
 * for (until-applied.ts) need this for every filter: for a set coverFilters made and a filter it
 * was given, the answer is known (no filter of a cover covers another, and the dropped ones were
 * looked up), which costs far less than asking an index for each.
 */
export function carriersOf(subscriptions: ReadonlyMap<string, QoS>, filter: string): readonly string[] {
  const known = subscriptions.has(filter) ? [filter] : carried.get(subscriptions)?.get(filter);
  if (known && carried.has(subscriptions)) return known;
  const carriers = new Set(parseFilter(filter).group === undefined ? plainIndexOf(subscriptions).covering(filter) : []);
  if (subscriptions.has(filter)) carriers.add(filter);
  return [...carriers];
}

/**
 * Gives each kept filter the highest QoS of the kept filters it overlaps, directly or through a
 * chain. From each filter at QoS 2, then at QoS 1, the filters it reaches are found and taken out of
 * `index` (which holds the kept ones), so each is reached once: near-linear, where finding the
 * groups from every overlapping pair was quadratic.
 */
function raiseToGroup(plain: readonly [string, QoS][], kept: readonly boolean[], qos: number[], index: FilterIndex<number>): void {
  const levels = new Set(qos.filter((_, i) => kept[i]));
  if (levels.size < 2) return;
  const reached = kept.map((k) => !k);
  for (const top of [2, 1]) {
    for (let seed = 0; seed < plain.length; seed++) {
      if (reached[seed] || qos[seed] !== top) continue;
      reached[seed] = true;
      index.delete(plain[seed][0], seed);
      for (const queue = [seed]; queue.length > 0; ) {
        for (const next of index.overlapping(plain[queue.pop() as number][0])) {
          reached[next] = true;
          qos[next] = top;
          index.delete(plain[next][0], next);
          queue.push(next);
        }
      }
    }
  }
}

/** What to send to move the broker from `have` to `want`: new or re-QoS'd filters, and filters to drop. */
export function diffSubscriptions(have: ReadonlyMap<string, QoS>, want: ReadonlyMap<string, QoS>): { subscribe: SubscriptionSet; unsubscribe: string[] } {
  const subscribe: SubscriptionSet = new Map();
  for (const [f, q] of want) if (have.get(f) !== q) subscribe.set(f, q);
  const unsubscribe = [...have.keys()].filter((f) => !want.has(f));
  return { subscribe, unsubscribe };
}
