// The input of a dynamic durable-mqtt-in: core's msg.action (subscribe, unsubscribe, getSubscriptions, connect, disconnect), with done() when the broker has answered.
import type { NodeMessage } from 'node-red';
import type { BrokerNode, Consumer } from '../broker/types';
import { guarded } from '../common/boundary';
import { asError } from '../session/events';
import { carries } from '../session/subscriptions/topic';
import { parseTopics, type DynamicSubscriptions } from './dynamic-subscriptions';

/** Core's action names (10-mqtt.js, MQTTInNode `Actions`). */
export const ACTIONS = ['subscribe', 'unsubscribe', 'getSubscriptions', 'connect', 'disconnect'] as const;
type Action = (typeof ACTIONS)[number];

/** What msg.broker may carry here: `force` alone. The session belongs to one broker and client ID. */
const BROKER_KEYS_ALLOWED = new Set(['force']);

export interface ActionContext {
  readonly broker: BrokerNode;
  readonly consumer: Consumer;
  readonly subscriptions: DynamicSubscriptions;
  /** Sends on the messages output. */
  send(msg: NodeMessage): void;
  /** The one error path: a red badge naming the action's problem (a message key), and done(err) for Catch nodes and the log. */
  fail(key: string, error: Error, done: (err?: Error) => void): void;
  /** The action succeeded: the badge shows the connection again. */
  succeeded(): void;
}

type Msg = NodeMessage & { action?: unknown; broker?: unknown; subscriptions?: unknown };

/**
 * Runs one action. subscribe and unsubscribe are done() once the broker has acknowledged them
 * (SUBACK, UNSUBACK), or once persisted while the connection is down; connect once connected;
 * disconnect once the connection is closed.
 */
export class ActionHandler {
  /** Filters of subscribe actions waiting for their SUBACK, whose refusal their own done(err) reports. */
  private readonly awaited = new Set<string>();

  constructor(private readonly ctx: ActionContext) {}

  /** True when the refusal of broker filter `filter` goes to a waiting action's done(err), so need not be logged apart. */
  awaits(filter: string): boolean {
    for (const f of this.awaited) if (carries(filter, f)) return true;
    return false;
  }

  /**
   * Ends in done() or done(err), whatever the msg holds. The ending itself is behind the boundary: a
   * throw there (a badge on a node being closed, say) would otherwise be an unhandled rejection of a
   * promise nobody awaits, which ends Node-RED, and the msg would never be done.
   */
  handle(msg: Msg, done: (err?: Error) => void): void {
    const finish = guarded<[err?: Error & { key?: unknown }]>(
      (err) => {
        if (err) return this.ctx.fail(typeof err.key === 'string' ? err.key : 'actionFailed', err, done);
        this.ctx.succeeded();
        done();
      },
      (err) => done(err),
    );
    const action = msg.action as Action;
    if (!(ACTIONS as readonly unknown[]).includes(action)) {
      return finish(keyed('invalidAction', `msg.action must be one of ${ACTIONS.join(', ')}, not ${shown(msg.action)}`));
    }
    this.run(action, msg).then(
      () => finish(),
      (err: unknown) => finish(asError(err)),
    );
  }

  private async run(action: Action, msg: Msg): Promise<void> {
    const { broker, consumer, subscriptions } = this.ctx;
    switch (action) {
      case 'getSubscriptions':
        msg.topic = 'subscriptions';
        msg.payload = subscriptions.list();
        this.ctx.send(msg);
        return;
      case 'disconnect':
        return broker.disconnect();
      case 'connect':
        return broker.connect({ force: forceOf(msg.broker) });
      case 'subscribe':
      case 'unsubscribe':
        break;
    }
    const unsubscribe = action === 'unsubscribe';
    const parsed = parseTopics(msg.topic, subscriptions.current, unsubscribe);
    if (!parsed.ok) throw keyed(parsed.key ?? 'invalidSubscription', parsed.error);
    const tooMany = unsubscribe ? undefined : subscriptions.limitError(parsed.subscriptions);
    if (tooMany) throw keyed('tooManyFilters', tooMany);
    let added: string[] = [];
    if (unsubscribe) subscriptions.remove(parsed.subscriptions);
    else added = subscriptions.add(parsed.subscriptions);
    // Core's shape: the list after the change, for a Complete node to read.
    msg.subscriptions = subscriptions.list();
    for (const f of added) this.awaited.add(f);
    try {
      const refused = await broker.resubscribe(consumer);
      if (refused.length > 0) throw keyed('subscribeRefused', `the broker refused the subscription ${refused.join(', ')}`);
    } finally {
      for (const f of added) this.awaited.delete(f);
    }
  }
}

/**
 * Core's connect takes broker settings in msg.broker and reconnects with them. A persistent session
 * is one broker and one client ID, kept in the ledger by both: moving it elsewhere by a msg would leave
 * the queued messages behind. Only `force` (cycle the connection) is taken; anything else is an error.
 */
function forceOf(options: unknown): boolean {
  if (options === undefined || options === null) return false;
  if (typeof options !== 'object') throw keyed('brokerOptions', 'msg.broker must be an object');
  const other = Object.keys(options).filter((k) => !BROKER_KEYS_ALLOWED.has(k));
  if (other.length > 0) {
    throw keyed('brokerOptions', `msg.broker may only hold "force": a persistent session stays with the broker and client ID of its configuration node (got ${other.join(', ')})`);
  }
  const force = (options as { force?: unknown }).force;
  return force === true || force === 'true';
}

/** A value as JSON for an error text, or its type where it has none (a BigInt, a cycle, a throwing toJSON). */
function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

function keyed(key: string, message: string): Error & { key: string } {
  return Object.assign(new Error(message), { key });
}
