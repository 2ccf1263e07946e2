// The typed events an MqttSession emits, and the states and failures they carry.
import type { IPublishPacket } from 'mqtt';
import type { Verdict } from './inbound/ack-gate';
import type { SubscriptionSet } from './subscriptions/cover';
import type { Shed } from './stream/read-pacer';
import type { Reason } from './connection/reasons';
import type { Move } from './connection/servers';
import { textOf } from './config/values';

export type SessionState =
  | { readonly state: 'idle' }
  | { readonly state: 'connecting' }
  /** `server`: the display URL of the server, when the broker property lists several. */
  | { readonly state: 'connected'; readonly sessionPresent: boolean; readonly server?: string }
  | { readonly state: 'reconnecting'; readonly attempt: number }
  | { readonly state: 'disconnected'; readonly reason?: Reason }
  | { readonly state: 'error'; readonly reason: Reason; readonly detail?: string };

/**
 * Releases (`ack`) or withholds one message's PUBACK/PUBREC. Call it exactly once; acks still leave in
 * arrival order, and a call after the connection it came on has closed does nothing (the broker
 * redelivers the message instead).
 */
export type Settle = (verdict: Verdict) => void;

/** What the session was doing when a failure the connection state does not show happened. */
export type Operation = 'subscribe' | 'unsubscribe' | 'ledger' | 'birth' | 'closeMessage' | 'forget';

/** One such failure, with its cause; the config node logs it once per episode. */
export interface SessionFailure {
  readonly operation: Operation;
  readonly error: Error;
}

export interface SessionEvents {
  state: [SessionState];
  /** Every PUBLISH received. Its ack waits until `settle` is called (QoS 0: `settle` does nothing). */
  message: [topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle];
  subscribed: [SubscriptionSet];
  unsubscribed: [string[]];
  /** The broker refused a filter in SUBACK (`code` ≥ 0x80). */
  subscribeFailed: [filter: string, code: number];
  /** A server of the list other than the last one accepted us; `sessionPresent` false means the old one keeps what it held for us. */
  moved: [move: Move, sessionPresent: boolean];
  /** Another client keeps taking our client ID; raised once per episode. */
  takeover: [];
  /** Withheld messages will be fetched again by reconnecting in `delayMs`; `attempt` counts the redeliveries in a row. */
  redelivery: [attempt: number, delayMs: number];
  /** The broker sent past HELD_LIMIT while the flows took no more; the connection is recycled to fetch the QoS 1/2 ones again. */
  shed: [Shed];
  /** Work of the session failed in a way `state` does not show (a ledger write, a SUBSCRIBE on a live connection, the birth message…). */
  failure: [SessionFailure];
}

/** Any failure as an Error, for a rejection that may carry something else. */
export function asError(err: unknown): Error {
  // textOf: a thrown object whose toString is not a function must not throw again here, in the error path.
  return err instanceof Error ? err : new Error(textOf(err));
}
