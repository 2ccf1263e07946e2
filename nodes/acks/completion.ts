// Counts where each tracked message is inside the flow and says when every node it reached has finished with it.

export interface Outcome {
  /** The first error a node reported with `done(err)`. */
  readonly error?: unknown;
  /** Set when the timeout struck: the nodes that still held the message. */
  readonly stalled?: readonly string[];
}

interface Tracked {
  /** Deliveries not yet completed, per destination node id. */
  readonly holders: Map<string, number>;
  count: number;
  error?: unknown;
  /** Date.now() after which the message counts as stalled. */
  readonly deadline: number;
  readonly done: (outcome: Outcome) => void;
}

/** How often timeouts are checked: one timer for all messages, as a timer each cost more than tracking them. */
const SWEEP_MS = 250;

/**
 * Fed by the runtime's `preDeliver` and `onComplete` hooks. A message is finished when every
 * delivery of it (clones keep `_msgid`, so fan-out counts once per wire) has completed. Only
 * completions of nodes it was delivered to count, so a Complete or Catch node's copy cannot finish
 * a message early.
 */
export class CompletionTracker {
  private readonly tracked = new Map<string, Tracked>();
  private sweeper?: NodeJS.Timeout;

  /** Starts tracking `msgid`; `done` is called once, on completion or about `timeoutMs` later (0: never). */
  track(msgid: string, timeoutMs: number, done: (outcome: Outcome) => void): void {
    this.tracked.set(msgid, { holders: new Map(), count: 0, deadline: timeoutMs > 0 ? Date.now() + timeoutMs : Infinity, done });
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  delivered(msgid: string, nodeId: string): void {
    const t = this.tracked.get(msgid);
    if (!t) return;
    t.holders.set(nodeId, (t.holders.get(nodeId) ?? 0) + 1);
    t.count++;
  }

  completed(msgid: string, nodeId: string, error?: unknown): void {
    const t = this.tracked.get(msgid);
    const held = t?.holders.get(nodeId);
    if (!t || !held) return;
    if (held === 1) t.holders.delete(nodeId);
    else t.holders.set(nodeId, held - 1);
    t.count--;
    if (error !== undefined && error !== null && t.error === undefined) t.error = error;
    if (t.count === 0) this.finish(msgid, t, { error: t.error });
  }

  /** The sender's `node.send` has returned: with sync hooks every delivery is counted by now. */
  sent(msgid: string): void {
    const t = this.tracked.get(msgid);
    if (t && t.count === 0) this.finish(msgid, t, { error: t.error });
  }

  /** Stops tracking without calling `done` (the consumer is closing). */
  forget(msgid: string): void {
    this.tracked.delete(msgid);
  }

  private finish(msgid: string, t: Tracked, outcome: Outcome): void {
    if (this.tracked.get(msgid) !== t) return;
    this.tracked.delete(msgid);
    t.done(outcome);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [msgid, t] of this.tracked) {
      if (t.deadline <= now) this.finish(msgid, t, { error: t.error, stalled: [...t.holders.keys()] });
    }
    if (this.tracked.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
