// Brings the broker's subscriptions to what the consumers want, one change at a time, and keeps the ledger in step: the MQTT and ledger side of reconcile-plan.ts.
import type { EventEmitter } from 'node:events';
import type { ErrorWithSubackPacket, MqttClient } from 'mqtt';
import { TimeoutError, withTimeout, type Connection } from '../connection/connection';
import { coverFilters, type QoS, type SubscriptionSet } from './cover';
import { asError, type Operation, type SessionEvents } from '../events';
import { coverFlags, flagsKey, type SubscribeFlags } from './flags';
import type { SubscriptionLedger } from './ledger';
import { afterSubscribe, afterUnsubscribe, planReconcile, type Grant } from './reconcile-plan';
import { Refusals } from '../connection/refusals';

/** ms the UNSUBSCRIBE of a deleted config node may take before the session ends without it. */
export const FORGET_TIMEOUT = 5000;
/** How long a SUBSCRIBE or UNSUBSCRIBE waits for its answer when the keepalive sets no other bound (keepalive 0). */
export const ANSWER_TIMEOUT_MS = 30_000;

/**
 * The wait for a SUBACK or UNSUBACK: as long as the keepalive the user set, the time after which
 * MQTT.js gives up on a PINGRESP too. A broker that answers pings but never a SUBSCRIBE would
 * otherwise hold the session at "connecting" for ever, and the out nodes on it with it.
 */
export function answerTimeoutMs(keepaliveS: number): number {
  return keepaliveS > 0 ? keepaliveS * 1000 : ANSWER_TIMEOUT_MS;
}

type Events = Pick<EventEmitter<SessionEvents>, 'emit'>;

/** One change at a time, each planned by planReconcile from what the broker holds; the answers and the ledger kept in step. */
export class Subscriptions {
  /** The cover of every consumer's filters: what the broker should hold. */
  private wanted: SubscriptionSet = new Map();
  /** What the broker holds now, while connected; undefined when unknown. */
  private held?: SubscriptionSet;
  /**
   * MQTT 5: the Subscription Identifier of each held filter, stable for the life of the session
   * (kept in the ledger). Replaced, never changed in place, so a router can tell it changed by identity.
   */
  private idMap: ReadonlyMap<string, number> = new Map();
  /** MQTT 5 and the broker did not say in CONNACK that it lacks Subscription Identifiers. */
  private useIds = false;
  /** MQTT 5 subscription options per broker subscription, and those last sent by this session. */
  private flags = new Map<string, SubscribeFlags>();
  private readonly flagsSent = new Map<string, string>();
  /** The filters of the SUBSCRIBE awaiting its SUBACK, and whether an UNSUBSCRIBE awaits its UNSUBACK. */
  private subscribing?: readonly string[];
  private unsubscribing = false;
  readonly refusals = new Refusals();
  /** The chain of changes; each waits for the one before. */
  private sync: Promise<void> = Promise.resolve();
  /** What the change under way is doing, to name a failure. */
  private step: Operation = 'subscribe';

  constructor(
    private readonly protocolVersion: 4 | 5,
    private readonly ledger: SubscriptionLedger,
    private readonly connection: Connection,
    private readonly events: Events,
    private readonly answerMs = ANSWER_TIMEOUT_MS,
  ) {}

  get current(): ReadonlyMap<string, QoS> {
    return this.wanted;
  }

  /** Held filter → its MQTT 5 Subscription Identifier; empty on MQTT 3.1.1. */
  get ids(): ReadonlyMap<string, number> {
    return this.idMap;
  }

  /** Settles once every change asked for so far is done or has failed. */
  get settled(): Promise<void> {
    return this.sync;
  }

  set(wanted: ReadonlyMap<string, QoS>, flags?: Iterable<readonly [filter: string, flags: SubscribeFlags]>): void {
    this.wanted = coverFilters(wanted);
    this.refusals.clear();
    // MQTT 3.1.1 has no subscription options: those bits of its SUBSCRIBE must be 0.
    this.flags = flags && this.protocolVersion === 5 ? coverFlags(this.wanted, flags) : new Map<string, SubscribeFlags>();
    if (this.connection.client?.connected) this.reconcile();
  }

  /**
   * CONNACK: with a session present the broker holds what the ledger says; without one, nothing.
   * `idsAvailable` is false when the broker's CONNACK says it does not take Subscription Identifiers.
   */
  connected(sessionPresent: boolean, idsAvailable = true): void {
    this.useIds = this.protocolVersion === 5 && idsAvailable;
    if (sessionPresent) {
      this.held = this.ledger.load();
      if (this.ledger.problem) this.failed('ledger', this.ledger.problem);
      const held = this.held;
      this.idMap = this.useIds && held ? new Map([...(this.ledger.loadIds?.() ?? [])].filter(([f]) => held.has(f))) : new Map();
    } else {
      // No session: the broker has forgotten every subscription (first start, expiry, restart without persistence).
      this.held = new Map();
      this.idMap = new Map();
      this.write(() => this.ledger.clear());
    }
  }

  /** The connection ended; returns what was outstanding then, which tells a refusal from a takeover. */
  closed(): { subscribing?: readonly string[]; unsubscribing: boolean } {
    const outstanding = { subscribing: this.subscribing, unsubscribing: this.unsubscribing };
    this.subscribing = undefined;
    this.unsubscribing = false;
    this.held = undefined;
    return outstanding;
  }

  /**
   * Brings the broker's subscriptions to `wanted`: new filters first, then the old ones go. `then`
   * runs once that is done, or failed while the connection stays open: a failure is reported, and
   * the connection still serves the out nodes on it. A change the broker does not answer is the
   * exception: the connection is dropped and the next one asks again.
   */
  reconcile(then?: () => void): void {
    this.sync = this.sync
      .then(() => this.syncOnce())
      .then(
        () => true,
        (err: unknown) => {
          // A connection lost mid-change shows as the connection's own error, and is reconciled again on the next CONNACK.
          if (!this.connection.open) return false;
          this.failed(this.step, err);
          if (!(err instanceof TimeoutError)) return true;
          this.connection.recycle();
          return false;
        },
      )
      .then((goOn) => {
        if (goOn && this.connection.open) then?.();
      })
      .catch((err: unknown) => this.failed(this.step, err));
  }

  /** A SUBSCRIBE's or UNSUBSCRIBE's answer, or a TimeoutError that says which went unanswered. */
  private answer<T>(request: Promise<T>, what: string): Promise<T> {
    return withTimeout(request, this.answerMs).catch((err: unknown) => {
      throw err instanceof TimeoutError ? new TimeoutError(`the broker did not answer ${what} within ${this.answerMs / 1000} s; reconnecting`) : err;
    });
  }

  /** Removes every subscription the broker holds (the config node was deleted), then forgets them. */
  async forget(): Promise<void> {
    const client = this.connection.client;
    if (!client?.connected) return;
    await this.sync;
    const held = this.held ?? this.ledger.load();
    if (held && held.size > 0) await withTimeout(client.unsubscribeAsync([...held.keys()]), FORGET_TIMEOUT);
    this.write(() => this.ledger.clear());
  }

  private async syncOnce(): Promise<void> {
    const client = this.connection.client;
    if (!client || !this.connection.open) return;
    const held = this.held;
    const plan = planReconcile({ held, wanted: this.wanted, flags: this.flags, flagsSent: this.flagsSent, ids: this.useIds ? this.idMap : undefined, refusals: this.refusals });
    for (const [f, code] of plan.refused) this.events.emit('subscribeFailed', f, code);
    let next: SubscriptionSet = new Map(held);
    if (plan.subscribe.size > 0) {
      this.step = 'subscribe';
      const grants: Grant[] = [];
      for (const batch of plan.batches) grants.push(...(await this.subscribeBatch(client, batch, plan.ids?.get(batch[0][0]))));
      for (const g of grants) this.refusals.answered(g.topic);
      const answer = afterSubscribe(plan, held, this.idMap, grants);
      for (const [f, code] of answer.failed) this.events.emit('subscribeFailed', f, code);
      for (const f of answer.done.keys()) this.flagsSent.set(f, flagsKey(this.flags.get(f)));
      next = answer.held;
      this.idMap = answer.ids;
      this.commit(next);
      if (answer.done.size > 0) this.events.emit('subscribed', answer.done);
    } else if (!held) {
      this.commit(next);
    }
    // Only now the old filters go: a message published while a filter changes matches one of the two.
    if (plan.unsubscribe.length > 0) {
      this.step = 'unsubscribe';
      this.unsubscribing = true;
      await this.answer(client.unsubscribeAsync(plan.unsubscribe), 'UNSUBSCRIBE');
      this.unsubscribing = false;
      const answer = afterUnsubscribe(next, this.idMap, plan.unsubscribe);
      for (const f of plan.unsubscribe) this.flagsSent.delete(f);
      this.idMap = answer.ids;
      this.commit(answer.held);
      this.events.emit('unsubscribed', plan.unsubscribe);
    }
  }

  private async subscribeBatch(client: MqttClient, batch: [string, QoS][], id?: number): Promise<Grant[]> {
    const request = Object.fromEntries(batch.map(([filter, qos]) => [filter, { qos, ...this.flags.get(filter) }]));
    this.subscribing = Object.keys(request);
    const options = id === undefined ? undefined : { properties: { subscriptionIdentifier: id } };
    // MQTT.js rejects the whole SUBSCRIBE when any grant is a failure (≥ 0x80); its SUBACK still says which.
    const granted = await this.answer(client.subscribeAsync(request, options), 'SUBSCRIBE').catch((err: Partial<ErrorWithSubackPacket> & Error) => {
      const codes = err.packet?.granted;
      const topics = Object.keys(request);
      if (!codes || codes.length !== topics.length) throw err;
      return topics.map((topic, i) => ({ topic, qos: codes[i] as number }));
    });
    this.subscribing = undefined;
    return granted;
  }

  private commit(held: SubscriptionSet): void {
    if (this.connection.client?.connected) this.held = held;
    const ids = this.idMap;
    this.write(() => this.ledger.save(held, ids));
  }

  /** A ledger write that fails leaves the broker's subscriptions as they are: reported, and the change goes on. */
  private write(change: () => void): void {
    try {
      change();
    } catch (err) {
      this.failed('ledger', err);
    }
  }

  private failed(operation: Operation, err: unknown): void {
    this.events.emit('failure', { operation, error: asError(err) });
  }
}
