// Turns the filters every consumer wants into the set the connection subscribes to, with no two overlapping.
import { generalise, overlaps, parseFilter } from './topic';

export type QoS = 0 | 1 | 2;

/** Broker-side subscriptions: SUBSCRIBE string → QoS. */
export type SubscriptionSet = Map<string, QoS>;

/**
 * Plain filters that overlap are merged into one that covers both, so the broker sends each message
 * once per connection even when it copies a message per matching subscription (Mosquitto 2 does);
 * the router then gives it to every node that wants it. Shared filters stay as written: the group
 * is a different subscription by design.
 */
export function coverFilters(wanted: ReadonlyMap<string, QoS>): SubscriptionSet {
  const plain: { filter: string; qos: QoS }[] = [];
  const out: SubscriptionSet = new Map();
  for (const [raw, qos] of wanted) {
    if (parseFilter(raw).group !== undefined) {
      out.set(raw, Math.max(out.get(raw) ?? 0, qos) as QoS);
      continue;
    }
    let merged = { filter: raw, qos };
    // Merging can make the result overlap an earlier survivor, so keep folding until nothing overlaps.
    for (let i = 0; i < plain.length; ) {
      if (overlaps(plain[i].filter, merged.filter)) {
        merged = { filter: generalise(plain[i].filter, merged.filter), qos: Math.max(plain[i].qos, merged.qos) as QoS };
        plain.splice(i, 1);
        i = 0;
      } else {
        i++;
      }
    }
    plain.push(merged);
  }
  for (const { filter, qos } of plain) out.set(filter, qos);
  return out;
}

/** What to send to move the broker from `have` to `want`: new or re-QoS'd filters, and filters to drop. */
export function diffSubscriptions(have: ReadonlyMap<string, QoS>, want: ReadonlyMap<string, QoS>): { subscribe: SubscriptionSet; unsubscribe: string[] } {
  const subscribe: SubscriptionSet = new Map();
  for (const [f, q] of want) if (have.get(f) !== q) subscribe.set(f, q);
  const unsubscribe = [...have.keys()].filter((f) => !want.has(f));
  return { subscribe, unsubscribe };
}
