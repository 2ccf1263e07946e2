// Backpressure from durable-mqtt-out to the consumers: while a connected out node's outbox fills faster than the broker takes it, the consumers hold inbound messages.
import type { NodeAPI } from 'node-red';
import { EventEmitter } from 'node:events';

/**
 * An outbox past half full while its node is connected means the out node cannot keep up: the
 * consumers upstream take messages faster than it publishes them (ackMode receive, or a flow that
 * publishes several messages per input). Past `outboxMaxMessages` it would refuse them. So every
 * consumer of the runtime holds inbound messages until the outbox is back under a quarter; the
 * broker keeps them meanwhile. An out node whose broker is down does not count: holding the
 * consumers would not empty its outbox, and unrelated flows would stop for nothing.
 */
export const PRESSURE = { high: 0.5, low: 0.25 } as const;

/** The out nodes of one runtime that are past the high mark; `change` says whether any is. */
export class OutboxPressure extends EventEmitter<{ change: [pressed: boolean] }> {
  private readonly pressing = new Set<string>();

  get pressed(): boolean {
    return this.pressing.size > 0;
  }

  /** An out node's outbox `fill` (0 to 1) and whether its connection is up (or coming back). */
  report(nodeId: string, fill: number, up: boolean): void {
    const was = this.pressing.has(nodeId);
    const now = up && (was ? fill > PRESSURE.low : fill >= PRESSURE.high);
    if (now === was) return;
    const before = this.pressed;
    if (now) this.pressing.add(nodeId);
    else this.pressing.delete(nodeId);
    if (this.pressed !== before) this.emit('change', this.pressed);
  }

  /** The node closed. */
  forget(nodeId: string): void {
    this.report(nodeId, 0, false);
  }
}

// One per runtime, as the hooks registry is (test helpers start several runtimes in one process).
const registry = new WeakMap<object, OutboxPressure>();

export function pressureOf(RED: NodeAPI): OutboxPressure {
  let p = registry.get(RED.nodes);
  if (!p) {
    p = new OutboxPressure();
    registry.set(RED.nodes, p);
  }
  return p;
}
