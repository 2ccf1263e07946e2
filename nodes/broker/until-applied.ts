// Waits until the broker holds what a subscription change asked for: the SUBACKs and UNSUBACKs are in, as the ledger records them.
import { carriersOf, type QoS } from '../session/subscriptions/cover';
import type { SubscriptionLedger } from '../session/subscriptions/ledger';
import type { MqttSession } from '../session/session';

/** The broker filters a change needs held (with their QoS) and those it needs gone. */
export interface Change {
  readonly need: ReadonlyMap<string, QoS>;
  readonly gone: readonly string[];
}

/**
 * The change between two wanted sets (MqttSession.subscriptions before and after), restricted on
 * the subscribe side to the broker filters that carry one of `filters` (a merged filter covers them).
 */
export function changeOf(before: ReadonlyMap<string, QoS>, after: ReadonlyMap<string, QoS>, filters: readonly string[]): Change {
  // As `carries`, for every filter at once: the broker filter equal to it, and the plain ones that cover a plain one.
  const carriers = new Set<string>();
  for (const f of filters) for (const broker of carriersOf(after, f)) carriers.add(broker);
  const need = new Map([...after].filter(([broker]) => carriers.has(broker)));
  return { need, gone: [...before.keys()].filter((f) => !after.has(f)) };
}

/**
 * Resolves with the filters of `change.need` the broker refused, once each other one is held at
 * its QoS and every `gone` one is unsubscribed. The session commits each SUBACK and UNSUBACK to
 * the ledger before it emits `subscribed` / `unsubscribed` (subscriptions.ts, syncOnce), so the
 * ledger's copy in memory is what is checked: no disk read per event. It also resolves as soon as
 * the session is not connected: the change is then made on the next connection, from the filters
 * the consumers hold (persisted for dynamic ones).
 */
export function untilApplied(session: MqttSession, ledger: Pick<SubscriptionLedger, 'held'>, change: Change): Promise<string[]> {
  const refused = new Set<string>();
  return new Promise((resolve) => {
    const check = (): void => {
      const held = ledger.held ?? new Map<string, QoS>();
      const applied = [...change.need].every(([f, q]) => refused.has(f) || held.get(f) === q) && change.gone.every((f) => !held.has(f));
      if (!applied && session.state.state === 'connected') return;
      session.off('subscribed', check);
      session.off('unsubscribed', check);
      session.off('state', check);
      session.off('subscribeFailed', onRefused);
      resolve([...refused]);
    };
    const onRefused = (filter: string): void => {
      if (!change.need.has(filter)) return;
      refused.add(filter);
      check();
    };
    session.on('subscribed', check);
    session.on('unsubscribed', check);
    session.on('state', check);
    session.on('subscribeFailed', onRefused);
    check();
  });
}
