// Follows tracked messages through the flow as the runtime's hooks report them, and calls back when each is finished or stalled (the counting: deliveries.ts).
import { guarded } from '../common/boundary';
import { Table } from '../session/lib/table';
import { awaitsForward, complete, deliver, failed, forwarded, forwarding, idle, overdue, type Deliveries } from './deliveries';

/** What the hooks give us of a msg: Node-RED's msg object, whose `_msgid` a node may change or delete. */
export type TrackedMsg = { _msgid?: string };

/** One tracked message: its deliveries (see Deliveries) and what finishing it needs; like its holders, the ids made from it are an array only once there is one. */
interface Tracked extends Deliveries {
  /** The tracked `_msgid`. */
  readonly id: string;
  /** Ids of new msgs made from it (see `sending`). */
  extra?: string[];
  readonly done: Finished<unknown>;
  readonly token: unknown;
  /** The msg objects it was delivered as (see `byObject`), the first one apart. */
  msg?: object;
  msgs?: object[];
}

/**
 * Called once per tracked message with the token it was tracked with: `error` is the first done(err)
 * and `failedBy` the node that called it; `stalled`, set when the timeout struck, names the nodes
 * that still held it. One callback serves every message of its owner and the token says which, so
 * tracking makes no closure per message.
 */
export type Finished<T> = (token: T, error: unknown, stalled?: readonly string[], failedBy?: string) => void;

/** A token whose owner reports a throw from its `Finished` callback itself (the consumer: node.error(err, msg), and a verdict). */
export interface Reporting {
  report(err: Error): void;
}

const reports = (token: unknown): token is Reporting => typeof (token as Partial<Reporting> | null)?.report === 'function';

/** Where a throw goes when its token does not report it: a process warning, which neither stops Node-RED nor vanishes. */
const warn = (err: Error): void => process.emitWarning(`durable-mqtt: a tracked message's completion failed: ${err.message}`);

/** How often timeouts are checked: one timer for all messages, as a timer each cost more than tracking them. */
const SWEEP_MS = 250;

const SENT = { sent: true } as const;
const NOT_SENT = { sent: false } as const;

/**
 * How long a node that never calls done() may hold a msg before it counts as dropped by that node
 * (a switch without a match). The core switch queues what arrives while it is busy and takes one
 * msg per turn of the event loop, so a passed-on msg is seen long before this.
 */
export const FORWARD_SETTLE_MS = 50;

/**
 * Fed by the runtime's messaging hooks. A message is finished when every delivery of it (clones
 * keep `_msgid`, so fan-out counts once per wire) has completed. Only completions of nodes it was
 * delivered to count, so a Complete or Catch node's copy cannot finish a message early.
 *
 * Two things nodes do are followed as well: a node may delete or change `_msgid` on the msg it was
 * given before calling done() (the core split node deletes it), so a delivered msg object is
 * remembered; and a node may build new msgs while it handles one (split parts, a function's
 * `return {payload}`), so what a node sends from inside its input handler counts as the message it
 * is handling.
 */
export class CompletionTracker {
  /** By `_msgid`; a message is also here under the ids of msgs made from it (see `sending`). A Table, not a bare Map: see Table. */
  private readonly tracked = new Table<string, Tracked>();
  /**
   * Delivered msg objects, for nodes that delete or change `_msgid` (see `delivered`). Entries go
   * when the message finishes. Not a WeakMap: a WeakMap entry per message doubled the garbage
   * collector's time in a backlog drain (ephemeron tables are walked at every scavenge). Not a
   * property on the msg either: cloneMessage would deep-copy it with every fan-out.
   */
  private readonly byObject = new Table<object, Tracked>();
  /**
   * Input handlers running now on a tracked message, innermost last (a link node may call another
   * node's receive directly): the node, its message, and whether it sent something while handling it.
   * Three parallel stacks rather than an object per delivery.
   */
  private readonly handlingNode: string[] = [];
  private readonly handlingMsg: Tracked[] = [];
  private readonly handlingSent: boolean[] = [];
  /**
   * The last message found by `_msgid`: the hooks of one send (onSend, preDeliver, onReceive) and the
   * sender's `sent` ask for the same one in a row. Cleared when it is dropped.
   */
  private lastId?: string;
  private lastFound?: Tracked;
  /** Messages whose last delivery completed, looked at again in one microtask for all (see `release`). */
  private emptied: Tracked[] = [];
  private sweeper?: NodeJS.Timeout;

  /**
   * `failed` hears of a throw from a `Finished` callback whose token does not report it. Callbacks
   * run in a microtask, the sweep's timer or the sender's call: behind the boundary, one that throws
   * is reported and the others still finish.
   */
  constructor(private readonly failed: (err: Error, token: unknown) => void = warn) {}

  /** Messages tracked now, and msg objects remembered for them: both go back to 0 once every message has finished. */
  get size(): { messages: number; objects: number } {
    return { messages: new Set(this.tracked.values()).size, objects: this.byObject.size };
  }

  /** The message's delivery failed before the flow got it (its send threw): it finishes with `error` unless a node's done(err) came first. */
  fail(msgid: string, error: unknown): void {
    const t = this.tracked.get(msgid);
    if (t) failed(t, error);
  }

  /** Starts tracking `msgid`; `done(token, …)` is called once, on completion or about `timeoutMs` later (0: never). */
  track<T>(msgid: string, timeoutMs: number, done: Finished<T>, token: T): void {
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    if (msgid === this.lastId) this.lastId = this.lastFound = undefined;
    this.tracked.set(msgid, { id: msgid, held: 0, deadline, done: done as Finished<unknown>, token });
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /**
   * The deadline (a Date.now(); Infinity: none) of the tracked message `msg` belongs to, while one
   * does: its consumer acknowledges it only when the flow has finished it or then. Undefined for
   * a msg no tracked message holds.
   */
  deadlineOf(msg: TrackedMsg): number | undefined {
    return this.lookup(msg)?.deadline;
  }

  /** `onSend`: msgs a node sends while handling a tracked message belong to that message. */
  sending(source: string, msg: TrackedMsg): void {
    const top = this.handlingNode.length - 1;
    if (top < 0 || this.handlingNode[top] !== source) return this.passedOn(source, msg);
    this.handlingSent[top] = true;
    const id = msg._msgid;
    if (!id || this.tracked.has(id)) return;
    const t = this.handlingMsg[top];
    (t.extra ??= []).push(id);
    this.tracked.set(id, t);
  }

  /**
   * `postReceive` of a node whose input handler takes only msg, so the runtime never hears it
   * finish: the core switch and filter (rbe) nodes, and a subflow instance node. Its delivery
   * ends once it has passed the msg on (its sends' deliveries are counted by then), or after
   * FORWARD_SETTLE_MS if it sends nothing.
   */
  forwarder(msg: TrackedMsg, nodeId: string, sentWhileHandling: boolean): void {
    const t = this.lookup(msg);
    if (!t) return;
    if (sentWhileHandling) return this.release(t, nodeId);
    forwarding(t, nodeId);
    setTimeout(() => this.passOn(t, nodeId), FORWARD_SETTLE_MS).unref();
  }

  /** A send outside the node's input handler: a forwarder passing on a msg it had queued. */
  private passedOn(source: string, msg: TrackedMsg): void {
    const t = this.lookup(msg);
    // After the send has counted its deliveries: they run synchronously once onSend returns.
    if (t && awaitsForward(t, source)) queueMicrotask(() => this.passOn(t, source));
  }

  private passOn(t: Tracked, nodeId: string): void {
    if (forwarded(t, nodeId)) this.lookAgain(t);
  }

  /** `preDeliver`. */
  delivered(msg: TrackedMsg, nodeId: string): void {
    const t = this.lookup(msg);
    if (!t) return;
    if (this.byObject.get(msg) !== t) {
      this.byObject.set(msg, t);
      if (t.msg === undefined) t.msg = msg;
      else (t.msgs ??= []).push(msg);
    }
    deliver(t, nodeId);
  }

  /** `onReceive`: the node's input handler is about to run. */
  receiving(msg: TrackedMsg, nodeId: string): void {
    const t = this.lookup(msg);
    if (!t) return;
    this.handlingNode.push(nodeId);
    this.handlingMsg.push(t);
    this.handlingSent.push(false);
  }

  /** `postReceive`: the node's input handler has returned. */
  received(nodeId: string): { sent: boolean } | undefined {
    // By node alone: the handler may have deleted or changed the msg's `_msgid`.
    const top = this.handlingNode.length - 1;
    if (top < 0 || this.handlingNode[top] !== nodeId) return undefined;
    this.handlingNode.pop();
    this.handlingMsg.pop();
    return (this.handlingSent.pop() as boolean) ? SENT : NOT_SENT;
  }

  /** `onComplete`. */
  completed(msg: TrackedMsg, nodeId: string, error?: unknown): void {
    const t = this.lookup(msg);
    if (t) this.release(t, nodeId, error);
  }

  private release(t: Tracked, nodeId: string, error?: unknown): void {
    if (complete(t, nodeId, error)) this.lookAgain(t);
  }

  /**
   * Some nodes call done() just before they send (the core trigger node): a message no node holds
   * is looked at again once the running code has finished, when such a send has counted its deliveries.
   */
  private lookAgain(t: Tracked): void {
    if (!idle(t)) return;
    if (this.emptied.length === 0) queueMicrotask(this.finishEmptied);
    this.emptied.push(t);
  }

  private readonly finishEmptied = (): void => {
    const batch = this.emptied;
    // Messages emptied while these finish (the next message of a window) go in a microtask of their own.
    this.emptied = [];
    for (const t of batch) if (idle(t)) this.finish(t);
  };

  /** The sender's `node.send` has returned: with sync hooks every delivery is counted by now. */
  sent(msgid: string): void {
    const t = this.byId(msgid);
    if (t && idle(t)) this.finish(t);
  }

  /** Stops tracking, without calling it, every message tracked with `done`, and returns their tokens (the flows are stopping). */
  forgetAll<T>(done: Finished<T>): T[] {
    const tokens: T[] = [];
    for (const t of new Set(this.tracked.values())) {
      if (t.done === done && this.drop(t)) tokens.push(t.token as T);
    }
    return tokens;
  }

  private lookup(msg: TrackedMsg): Tracked | undefined {
    return (msg._msgid !== undefined ? this.byId(msg._msgid) : undefined) ?? this.byObject.get(msg);
  }

  private byId(msgid: string): Tracked | undefined {
    if (msgid === this.lastId) return this.lastFound;
    const t = this.tracked.get(msgid);
    if (t) {
      this.lastId = msgid;
      this.lastFound = t;
    }
    return t;
  }

  private drop(t: Tracked): boolean {
    if (this.tracked.get(t.id) !== t) return false;
    if (this.lastFound === t) this.lastId = this.lastFound = undefined;
    this.tracked.delete(t.id);
    if (t.extra) for (const id of t.extra) this.tracked.delete(id);
    if (t.msg) this.unmap(t.msg, t);
    if (t.msgs) for (const m of t.msgs) this.unmap(m, t);
    return true;
  }

  /** A msg object may have been delivered again as part of a later message: only this one's entry goes. */
  private unmap(msg: object, t: Tracked): void {
    if (this.byObject.get(msg) === t) this.byObject.delete(msg);
  }

  /** Dropped before its callback runs, so a callback that throws leaves nothing tracked. */
  private readonly finish = guarded<[t: Tracked, stalled?: readonly string[]]>(
    (t: Tracked, stalled?: readonly string[]) => {
      if (this.drop(t)) t.done(t.token, t.error, stalled, t.failedBy);
    },
    (err, t) => (reports(t.token) ? t.token.report(err) : this.failed(err, t.token)),
  );

  private sweep(): void {
    const now = Date.now();
    for (const t of new Set(this.tracked.values())) {
      const stalled = overdue(t, now);
      if (stalled) this.finish(t, stalled);
    }
    if (this.tracked.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
