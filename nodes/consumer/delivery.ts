// One received message on its way through the flow in ackMode complete: what the ack window holds, and who reports a throw on its way.
import type { NodeMessage } from 'node-red';
import type { AckJob } from '../acks/ack-after-complete';
import type { Reporting } from '../acks/completion';
import type { Settle } from '../session/session';

/** The consumer's one error path for a received message: Catch nodes see it, and the broker gets its verdict. */
export type MessageFailed = (err: Error | string, msg: NodeMessage, settle: Settle) => void;

/** A class rather than a literal with a closure: one object per message, as the window's job was before. */
export class Delivery implements AckJob, Reporting {
  constructor(
    readonly msg: NodeMessage,
    readonly settle: Settle,
    private readonly failed: MessageFailed,
  ) {}

  report(err: Error): void {
    this.failed(err, this.msg, this.settle);
  }
}
