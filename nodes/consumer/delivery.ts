// One received message on its way through the flow in ackMode complete: what the ack window holds, and who reports a throw on its way.
import type { NodeMessage } from 'node-red';
import type { AckJob } from '../acks/ack-after-complete';
import type { Reporting } from '../acks/completion';
import type { Settle } from '../session/session';
import type { Attempt, DeadLetter } from './delivery-limit';

/**
 * The consumer's one error path for a received message: Catch nodes see it, and the broker gets its
 * verdict; under a delivery limit (`attempt`) the failure counts, and the last one becomes a dead letter.
 */
export type MessageFailed = (err: Error | string, msg: NodeMessage, settle: Settle, attempt?: Attempt) => void;

/** A class rather than a literal with a closure: one object per message, as the window's job was before. */
export class Delivery implements AckJob, Reporting {
  constructor(
    readonly msg: NodeMessage,
    readonly settle: Settle,
    private readonly onError: MessageFailed,
    private readonly attempt?: Attempt,
  ) {}

  report(err: Error): void {
    this.onError(err, this.msg, this.settle, this.attempt);
  }

  /** The flow failed it: without a delivery limit it is withheld; under one, see Attempt.failed. */
  failed(error: unknown, failedBy?: string): DeadLetter | undefined {
    return this.attempt?.failed(error, failedBy);
  }
}
