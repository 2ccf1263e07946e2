// Finds which filter a broker refuses by closing the connection on our SUBSCRIBE, and remembers it until the next deploy.
import type { QoS } from '../subscriptions/cover';
import { FAILURE_CODE, reasonForDisconnect, type Reason } from './reasons';

/** The code a filter is reported with when the broker refused it by closing the connection without a reason code: "Unspecified error". */
export const CLOSED_ON_SUBSCRIBE = FAILURE_CODE;
/** Closes during a SUBSCRIBE that carried this filter alone before it counts as refused (one could be a coincidence). */
export const REFUSAL_CLOSES = 2;

/**
 * ejabberd closes the connection on a `$share/…` SUBSCRIBE, and MQTT 5 brokers may send DISCONNECT
 * 0x8F/0x9E/0xA2. A filter asked for alone and closed on again is refused; the others of a closed
 * SUBSCRIBE are asked for one per SUBSCRIBE next time, to find it.
 */
export class Refusals {
  /** Filters the broker closed the connection on, with how many times. */
  private readonly strikes = new Map<string, number>();
  /** Filters refused by a close, with the code; not asked for again until `clear`. */
  private readonly refused = new Map<string, number>();

  /** A deploy may follow a change at the broker (ACL, configuration): ask again for what it refused. */
  clear(): void {
    this.refused.clear();
  }

  /** The refused filters with their codes. */
  entries(): IterableIterator<[string, number]> {
    return this.refused.entries();
  }

  /** The SUBSCRIBEs to send for `plan`: the filters never closed on together, then each suspect alone. */
  batches(plan: ReadonlyMap<string, QoS>): [string, QoS][][] {
    const clear = [...plan].filter(([f]) => !this.strikes.has(f));
    return [clear, ...[...plan].filter(([f]) => this.strikes.has(f)).map((e) => [e])].filter((b) => b.length > 0);
  }

  /** The broker answered for `filter` with a SUBACK: it did not close on it. */
  answered(filter: string): void {
    this.strikes.delete(filter);
  }

  /** The broker closed the connection while `filters` awaited their SUBACK; returns the error the session shows. */
  closedOn(filters: readonly string[], code: number | undefined): { reason: Reason; detail: string } {
    for (const f of filters) {
      const n = filters.length === 1 ? (this.strikes.get(f) ?? 0) + 1 : Math.max(1, this.strikes.get(f) ?? 0);
      if (n >= REFUSAL_CLOSES) {
        this.strikes.delete(f);
        this.refused.set(f, code ?? CLOSED_ON_SUBSCRIBE);
      } else {
        this.strikes.set(f, n);
      }
    }
    const reason = code ? reasonForDisconnect(code) : undefined;
    return {
      reason: reason && reason !== 'connectionLost' ? reason : 'subscriptionRefused',
      detail: `the broker closed the connection after SUBSCRIBE ${filters.join(', ')}${code ? ` (DISCONNECT 0x${code.toString(16)})` : ''}`,
    };
  }
}
