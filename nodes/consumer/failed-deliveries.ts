// Remembers the messages a durable-mqtt-in saw fail, by packet identifier, so it knows their redeliveries when they come back.
import { createHash } from 'node:crypto';

/**
 * Failed messages one node remembers at once. The broker holds each withheld message in flight
 * until it is acked, so there are never more than its in-flight limit for the session (MQTT 5
 * Receive Maximum: the sum of the windows) plus entries of messages the broker dropped meanwhile
 * (message expiry, a lost session). Past it the oldest is forgotten: that message, if it comes
 * back, counts its deliveries from 1 again. About 300 bytes an entry: 3 MB at the limit.
 */
export const MAX_FAILED_REMEMBERED = 10_000;

/** One received message as the memory sees it; its fingerprint is computed once, and only when needed. */
export class Received {
  private print?: string;

  constructor(
    readonly id: number,
    readonly dup: boolean,
    readonly topic: string,
    readonly payload: Buffer,
  ) {}

  /** Topic and a hash of the payload: what tells a redelivery from another message on the same packet identifier. */
  get fingerprint(): string {
    // U+0000 cannot occur in a topic name (MQTT 5 §4.7.3), so no topic/hash pair reads as another.
    return (this.print ??= `${this.topic}\u0000${createHash('sha1').update(this.payload).digest('base64')}`);
  }
}

interface Entry<T> {
  readonly print: string;
  readonly value: T;
}

/**
 * By packet identifier, since the broker resends an unacknowledged message with its identifier
 * (MQTT 3.1.1 §4.4, MQTT 5 §4.4) and DUP set, also after a reconnect to the same session. The
 * fingerprint checks that it is the same message. A message that arrives without DUP is never a
 * redelivery: no fingerprint, and its identifier's entry, if any, is stale (a broker reuses an
 * identifier only once the message before it was acknowledged or dropped) and goes.
 */
export class FailedDeliveries<T> {
  /** Oldest first (a Map keeps insertion order), for the bound. */
  private readonly byId = new Map<number, Entry<T>>();

  constructor(private readonly limit = MAX_FAILED_REMEMBERED) {}

  get size(): number {
    return this.byId.size;
  }

  /** What was remembered of `r` when it failed here before; with nothing remembered this costs one comparison. */
  lookup(r: Received): T | undefined {
    if (this.byId.size === 0) return undefined;
    const entry = this.byId.get(r.id);
    if (!entry) return undefined;
    if (!r.dup) {
      this.byId.delete(r.id);
      return undefined;
    }
    return entry.print === r.fingerprint ? entry.value : undefined;
  }

  /** `r` failed: `value` is what a redelivery finds. */
  remember(r: Received, value: T): void {
    this.byId.delete(r.id);
    if (this.byId.size >= this.limit) this.byId.delete(this.byId.keys().next().value as number);
    this.byId.set(r.id, { print: r.fingerprint, value });
  }

  /** `r` was acknowledged: the broker will not send it again. */
  forget(r: Received): void {
    const entry = this.byId.get(r.id);
    if (entry && entry.print === r.fingerprint) this.byId.delete(r.id);
  }
}
