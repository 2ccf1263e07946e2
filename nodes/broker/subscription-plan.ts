// What the broker should hold for the consumers of one config node: a pure function of those consumers.
import type { QoS } from '../session/subscriptions/cover';
import type { SubscribeFlags } from '../session/subscriptions/flags';
import { MAX_TWO_BYTES } from '../session/connection/reasons';
import type { Consumer } from './types';

export interface SubscriptionPlan {
  /** Each filter any consumer wants, at the highest QoS any of them asks for it. */
  readonly wanted: ReadonlyMap<string, QoS>;
  /** The MQTT 5 options each consumer asks for each of its filters, as MqttSession.setSubscriptions merges them. */
  readonly flags: readonly (readonly [filter: string, flags: SubscribeFlags])[];
  /** MQTT 5 Receive Maximum: the sum of the consumers' windows, so the broker never sends more than they take; none without a window. */
  readonly receiveMaximum: number | undefined;
}

export function planOf(consumers: Iterable<Consumer>): SubscriptionPlan {
  const wanted = new Map<string, QoS>();
  const flags: (readonly [string, SubscribeFlags])[] = [];
  let windows = 0;
  for (const c of consumers) {
    for (const f of c.filters) {
      const own = c.options?.get(f);
      wanted.set(f, Math.max(wanted.get(f) ?? 0, own?.qos ?? c.qos) as QoS);
      flags.push([f, own?.flags ?? c.flags ?? {}]);
    }
    windows += c.window ?? 0;
  }
  return { wanted, flags, receiveMaximum: windows > 0 ? Math.min(windows, MAX_TWO_BYTES) : undefined };
}
