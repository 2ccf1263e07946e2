// Feeds a CompletionTracker from the runtime's messaging hooks, registered only while some node needs them.
import type { NodeAPI } from 'node-red';
import { CompletionTracker, type TrackedMsg } from './completion';

const LABEL = 'durable-mqtt-acks';

type Hooks = NodeAPI['hooks'];
interface Registration {
  readonly tracker: CompletionTracker;
  users: number;
}

// One registration per runtime (the test helper starts several runtimes in one process).
const registrations = new WeakMap<Hooks, Registration>();

/**
 * Returns the shared tracker, adding the hooks for the first user. Hooks run for every message in
 * every flow of the runtime, so they exist only while a consumer in `complete` mode does, and for a
 * message we do not track each costs at most two Map lookups (by `_msgid`, then by msg object).
 */
export function acquireTracker(RED: NodeAPI): CompletionTracker {
  let reg = registrations.get(RED.hooks);
  if (!reg) {
    const tracker = new CompletionTracker();
    reg = { tracker, users: 0 };
    registrations.set(RED.hooks, reg);
  }
  if (reg.users++ === 0) {
    const { tracker } = reg;
    // One-argument handlers are synchronous for the runtime, so a sender's deliveries are counted before its own done().
    RED.hooks.add(`onSend.${LABEL}`, (events: { msg: TrackedMsg; source: { id: string } }[]) => {
      for (const ev of events) tracker.sending(ev.source.id, ev.msg);
    });
    RED.hooks.add(`preDeliver.${LABEL}`, (ev: { msg: TrackedMsg; destination: { id: string } }) => tracker.delivered(ev.msg, ev.destination.id));
    RED.hooks.add(`onReceive.${LABEL}`, (ev: { msg: TrackedMsg; destination: { id: string } }) => tracker.receiving(ev.msg, ev.destination.id));
    RED.hooks.add(`postReceive.${LABEL}`, (ev: { msg: TrackedMsg; destination: { id: string; node?: { type?: string } } }) => {
      const handled = tracker.received(ev.destination.id);
      const node = ev.destination.node;
      if (isSubflowInstance(node) || FORWARDERS.has(node?.type ?? '')) tracker.forwarder(ev.msg, ev.destination.id, handled?.sent ?? false);
    });
    RED.hooks.add(`onComplete.${LABEL}`, (ev: { msg: TrackedMsg; node: { id: string }; error?: unknown }) => tracker.completed(ev.msg, ev.node.id, ev.error));
  }
  return reg.tracker;
}

/** The shared tracker while some node uses it, without becoming a user: undefined when no consumer tracks messages. */
export function activeTracker(RED: NodeAPI): CompletionTracker | undefined {
  const reg = registrations.get(RED.hooks);
  return reg && reg.users > 0 ? reg.tracker : undefined;
}

export function releaseTracker(RED: NodeAPI): void {
  const reg = registrations.get(RED.hooks);
  if (!reg || reg.users === 0) return;
  if (--reg.users === 0) RED.hooks.remove(`*.${LABEL}`);
}

/**
 * Core nodes whose input handler takes only msg, so they never call done() (10-switch.js, rbe.js in
 * Node-RED 4.1), and that pass each msg on or drop it. A subflow instance node is the third such.
 * test/flow-hooks.test.ts runs all three, so a runtime that changes them fails there.
 */
const FORWARDERS = new Set(['switch', 'rbe']);

/**
 * The node a Subflow creates to stand for its instance: Subflow.js builds it with `_flow` set to the
 * subflow, which keeps it as `node` (an inner node's `_flow` is the subflow too, but is not its `node`).
 * This also holds for subflow modules, whose type is not `subflow:…`.
 */
function isSubflowInstance(node: unknown): boolean {
  const n = node as { _flow?: { node?: unknown } } | undefined;
  return n?._flow?.node === node && node !== undefined;
}
