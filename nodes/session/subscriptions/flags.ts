// MQTT 5 subscription options (No Local, Retain As Published, Retain Handling) per broker subscription.
import { carriersOf, type QoS } from './cover';

/** As MQTT.js's subscribe takes them (MQTT 5 §3.8.3.1). */
export interface SubscribeFlags {
  /** No Local: the broker does not send back what this connection published. */
  readonly nl?: boolean;
  /** Retain As Published: keep the publisher's retain flag on forwarded messages. */
  readonly rap?: boolean;
  /** Retain Handling: 0 send retained messages on subscribe, 1 only for a new subscription, 2 never. */
  readonly rh?: 0 | 1 | 2;
}

/** What MQTT sends when a SUBSCRIBE carries no options; a filter with these needs no second SUBSCRIBE. */
export const DEFAULT_FLAGS_KEY = 'nl0 rap0 rh0';

export const flagsKey = (f: SubscribeFlags | undefined): string => `nl${f?.nl ? 1 : 0} rap${f?.rap ? 1 : 0} rh${f?.rh ?? 0}`;

/**
 * The options of each broker subscription, from those of the filters it covers (merged filters carry
 * several nodes' wishes). Each option takes the value that withholds nothing some node wants:
 * No Local only if every node asks for it, Retain As Published if any does, the lowest Retain Handling.
 */
export function coverFlags(subscriptions: ReadonlyMap<string, QoS>, wanted: Iterable<readonly [filter: string, flags: SubscribeFlags]>): Map<string, SubscribeFlags> {
  const parts = new Map<string, SubscribeFlags[]>();
  for (const [f, flags] of wanted) {
    for (const broker of carriersOf(subscriptions, f)) {
      const list = parts.get(broker);
      if (list) list.push(flags);
      else parts.set(broker, [flags]);
    }
  }
  const out = new Map<string, SubscribeFlags>();
  for (const broker of subscriptions.keys()) {
    const p = parts.get(broker);
    if (!p) continue;
    out.set(broker, {
      nl: p.every((x) => x.nl === true),
      rap: p.some((x) => x.rap === true),
      rh: p.reduce<number>((low, x) => Math.min(low, x.rh ?? 0), 2) as 0 | 1 | 2,
    });
  }
  return out;
}

