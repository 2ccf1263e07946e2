// The delivery limit of durable-mqtt-in (maxDeliveries): counts the deliveries of each message that failed here, and sends the last one to the `failed` output.
import type { IPublishPacket } from 'mqtt';
import type { NodeMessage } from 'node-red';
import type { AckJob } from '../acks/ack-after-complete';
import type { Reporting } from '../acks/completion';
import type { Verdict } from '../session/inbound/ack-gate';
import type { Settle } from '../session/events';
import { caughtError, deadLetterMessage, type CaughtError, type ErrorSource } from './dead-letter';
import { FailedDeliveries, Received } from './failed-deliveries';
import { textOf } from '../session/config/values';

/** What the node remembers of a message that failed here. */
interface Failure {
  readonly deliveries: number;
  readonly error: CaughtError;
}

export interface LimitHooks {
  /** The received message as its first msg was: built again from the received bytes. */
  rebuild(topic: string, payload: Buffer, packet: IPublishPacket): NodeMessage;
  /** The node that called done(err), as msg.error.source names it; this node itself when none did. */
  source(nodeId?: string): ErrorSource;
  /** Logs, for the sidebar and the log file (not Catch nodes: the failure itself went there). */
  warn(text: string): void;
}

export class DeliveryLimit {
  private readonly failures = new FailedDeliveries<Failure>();

  constructor(
    readonly max: number,
    readonly hooks: LimitHooks,
  ) {}

  /** A QoS 1/2 message received under the limit; `settle` is the broker's. */
  attempt(topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle): Attempt {
    const received = new Received(packet.messageId ?? 0, packet.dup === true, topic, payload);
    return new Attempt(this, received, packet, this.failures.lookup(received), settle);
  }

  remember(a: Attempt, failure: Failure): void {
    this.failures.remember(a.received, failure);
  }

  forget(a: Attempt): void {
    this.failures.forget(a.received);
  }
}

/** One delivery of a message under the limit: which delivery it is, and what becomes of it when it fails. */
export class Attempt {
  /** 1 unless the node saw this message fail before (a redelivery it recognised). */
  readonly deliveries: number;

  constructor(
    private readonly limit: DeliveryLimit,
    readonly received: Received,
    private readonly packet: IPublishPacket,
    private readonly before: Failure | undefined,
    private readonly brokerSettle: Settle,
  ) {
    this.deliveries = (before?.deliveries ?? 0) + 1;
  }

  /**
   * True when it reached the limit before and its dead letter did not complete (its path failed,
   * or a redeploy stopped it): it goes straight to the `failed` output, never into the flow again.
   */
  get exhausted(): boolean {
    return this.before !== undefined && this.before.deliveries >= this.limit.max;
  }

  /** True once this delivery's failure is in the memory, which its ack then clears. */
  private remembered = false;

  /** An acked message is forgotten; a withheld one is remembered (by `failed`) for its redelivery. */
  readonly settle = (verdict: Verdict): void => {
    if (verdict === 'ack' && (this.before || this.remembered)) this.limit.forget(this);
    this.brokerSettle(verdict);
  };

  /** The delivery failed: its dead letter when this was the last delivery allowed, else undefined (it is withheld, to come back). */
  failed(error: unknown, failedBy?: string): DeadLetter | undefined {
    const caught = caughtError(error, this.limit.hooks.source(failedBy));
    this.remembered = true;
    this.limit.remember(this, { deliveries: this.deliveries, error: caught });
    if (this.deliveries < this.limit.max) return undefined;
    // Said once per message: with the failed output unwired, this line is what is left of it.
    this.limit.hooks.warn(`a message on ${this.received.topic} failed at its delivery ${this.deliveries} of ${this.limit.max} (maxDeliveries): sent to the failed output`);
    return this.deadLetter(caught);
  }

  /** The dead letter with the failure remembered from before; only when `exhausted`. */
  deadLetterAgain(): DeadLetter {
    this.remembered = true;
    this.limit.remember(this, { deliveries: this.deliveries, error: (this.before as Failure).error });
    return this.deadLetter((this.before as Failure).error);
  }

  private deadLetter(error: CaughtError): DeadLetter {
    const { topic, payload } = this.received;
    const msg = deadLetterMessage(this.limit.hooks.rebuild(topic, payload, this.packet), error, this.deliveries);
    return new DeadLetter(msg, this, this.limit.hooks);
  }
}

/**
 * The job of a dead letter: sent on the `failed` output, and tracked like any delivery, so the
 * message is acked only once the dead letter's path has called done(). When that path fails, the
 * message is withheld, not acked: it comes back at the next redelivery (backing off) and goes
 * straight to the `failed` output again, so a failing dead-letter path loses nothing and never
 * loops without a pause.
 */
export class DeadLetter implements AckJob, Reporting {
  readonly output = 'failed';
  enteredAt?: number;

  constructor(
    readonly msg: NodeMessage,
    private readonly attempt: Attempt,
    private readonly hooks: LimitHooks,
  ) {}

  settle(verdict: Verdict): void {
    this.attempt.settle(verdict);
  }

  failed(error: unknown): undefined {
    this.hooks.warn(`the dead letter of a message on ${textOf(this.msg.topic)} failed (${textOf(error)}): withheld, it comes back at the next redelivery and goes to the failed output again`);
    return undefined;
  }

  /** Its send threw: the same as a failed path, withheld. */
  report(err: Error): void {
    this.failed(err);
    this.settle('withhold');
  }
}
