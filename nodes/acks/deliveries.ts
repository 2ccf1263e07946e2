// The bookkeeping of one message inside the flow: which nodes hold a delivery of it, its first error, and the verdict (held, finished, stalled).

/**
 * One message's deliveries not yet completed. Nearly every message is held by one node at a time,
 * so one holder lives in plain fields and a Map is made only when a second node holds it at once
 * (fan-out). The tracker's own record carries these fields, so counting makes no object per message.
 */
export interface Deliveries {
  /** The node holding it while only one does, and how many deliveries of it that node has not completed. */
  holder?: string;
  held: number;
  /** Deliveries not yet completed, per destination node id, once two nodes hold it at once; a node at 0 has no entry. */
  holders?: Map<string, number>;
  /** Deliveries to nodes that never call done() not yet passed on, per node id (see CompletionTracker.forwarder). */
  forwarders?: Map<string, number>;
  /** The first error the message failed with. */
  error?: unknown;
  /** The node whose done(err) set `error`; none when the send threw (see `failed`). */
  failedBy?: string;
  /** Date.now() after which the message counts as stalled; Infinity: never. */
  readonly deadline: number;
}

/** A delivery of the message to `nodeId` begins. */
export function deliver(d: Deliveries, nodeId: string): void {
  if (d.holders) {
    d.holders.set(nodeId, (d.holders.get(nodeId) ?? 0) + 1);
  } else if (d.held === 0 || d.holder === nodeId) {
    d.holder = nodeId;
    d.held++;
  } else {
    d.holders = new Map([[d.holder as string, d.held], [nodeId, 1]]);
    d.holder = undefined;
    d.held = 0;
  }
}

/**
 * `nodeId` completed one delivery, with `error` if it called done(err); the first error is kept.
 * False, and nothing changes, when that node holds none: a Complete or Catch node's copy, or a
 * node the message never reached, cannot finish it early.
 */
export function complete(d: Deliveries, nodeId: string, error?: unknown): boolean {
  if (d.holders) {
    const n = d.holders.get(nodeId);
    if (!n) return false;
    if (n === 1) d.holders.delete(nodeId);
    else d.holders.set(nodeId, n - 1);
  } else if (d.holder === nodeId && d.held > 0) {
    d.held--;
  } else {
    return false;
  }
  if (error !== undefined && error !== null && d.error === undefined) {
    d.error = error;
    d.failedBy = nodeId;
  }
  return true;
}

/** The message's send threw before the flow got it: that is its error unless a node's done(err) came first. */
export function failed(d: Deliveries, error: unknown): void {
  if (d.error === undefined) d.error = error;
}

/**
 * True while no node holds a delivery. The count is derived, not stored: an emptied Map has size 0,
 * and the single holder's count is `held`, so no counter can drift from the holders.
 */
export function idle(d: Deliveries): boolean {
  return d.holders ? d.holders.size === 0 : d.held === 0;
}

/** Past its deadline at `now`: the nodes that still hold it (the stall's culprits), else undefined. */
export function overdue(d: Deliveries, now: number): readonly string[] | undefined {
  if (d.deadline > now) return undefined;
  if (d.holders) return [...d.holders.keys()];
  return d.held > 0 && d.holder !== undefined ? [d.holder] : [];
}

/** `nodeId`, which never calls done(), got a delivery: it ends once the node passes it on (see `forwarded`). */
export function forwarding(d: Deliveries, nodeId: string): void {
  d.forwarders ??= new Map();
  d.forwarders.set(nodeId, (d.forwarders.get(nodeId) ?? 0) + 1);
}

/** True while `nodeId` has a delivery it has not passed on. */
export function awaitsForward(d: Deliveries, nodeId: string): boolean {
  return (d.forwarders?.get(nodeId) ?? 0) > 0;
}

/** `nodeId` passed one delivery on, or dropped it: true when it had one, which then completes (see `complete`). */
export function forwarded(d: Deliveries, nodeId: string): boolean {
  const n = d.forwarders?.get(nodeId);
  if (!n) return false;
  if (n === 1) d.forwarders?.delete(nodeId);
  else d.forwarders?.set(nodeId, n - 1);
  return complete(d, nodeId);
}
