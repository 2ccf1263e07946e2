// Brings the broker's subscriptions to what the consumers want, one change at a time, and keeps the ledger in step.
import type { EventEmitter } from 'node:events';
import type { ErrorWithSubackPacket, MqttClient } from 'mqtt';
import { TimeoutError, withTimeout, type Connection } from './connection';
import { coverFilters, diffSubscriptions, type QoS, type SubscriptionSet } from './cover';
import { asError, type Operation, type SessionEvents } from './events';
import { coverFlags, DEFAULT_FLAGS_KEY, flagsKey, type SubscribeFlags } from './flags';
import type { SubscriptionLedger } from './ledger';
import { FAILURE_CODE } from './reasons';
import { Refusals } from './refusals';

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

/** The largest MQTT 5 Subscription Identifier (a Variable Byte Integer, §3.8.2.1.2). */
export const MAX_SUBSCRIPTION_ID = 268_435_455;

type Events = Pick<EventEmitter<SessionEvents>, 'emit'>;

/** SUBSCRIBE goes out only for what the broker does not already hold, as the Paho consumer's persistent session expects. */
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
    // Unknown (session present, no ledger): subscribing again is harmless, missing a filter is not.
    const plan = held ? diffSubscriptions(held, this.wanted) : { subscribe: new Map(this.wanted), unsubscribe: [] };
    // The ledger keeps no options: a filter whose options this session has not sent yet is subscribed again (once per start).
    for (const [f, q] of this.wanted) if (flagsKey(this.flags.get(f)) !== (this.flagsSent.get(f) ?? DEFAULT_FLAGS_KEY)) plan.subscribe.set(f, q);
    // MQTT 5: a filter held without an identifier (subscribed by an older version) is subscribed again with one.
    if (this.useIds) for (const [f, q] of this.wanted) if (!this.idMap.has(f)) plan.subscribe.set(f, q);
    const next = new Map(held);
    for (const [f, code] of this.refusals.entries()) {
      plan.subscribe.delete(f);
      this.events.emit('subscribeFailed', f, code);
    }
    if (plan.subscribe.size > 0) {
      this.step = 'subscribe';
      const granted: { topic: string; qos: number }[] = [];
      const ids = this.useIds ? assignIds(this.idMap, plan.subscribe.keys()) : undefined;
      // Filters the broker closed on go one per SUBSCRIBE, after the rest, so a refusal names its filter.
      // MQTT 5: the identifier is a property of the whole SUBSCRIBE, so each filter goes in its own.
      const batches = ids ? [...plan.subscribe].map((e) => [e]) : this.refusals.batches(plan.subscribe);
      for (const batch of batches) granted.push(...(await this.subscribeBatch(client, batch, ids?.get(batch[0][0]))));
      const nextIds = new Map(this.idMap);
      const done: SubscriptionSet = new Map();
      for (const g of granted) {
        const qos = plan.subscribe.get(g.topic);
        if (g.qos >= FAILURE_CODE) this.events.emit('subscribeFailed', g.topic, g.qos);
        else if (qos !== undefined) {
          done.set(g.topic, qos);
          this.flagsSent.set(g.topic, flagsKey(this.flags.get(g.topic)));
          const id = ids?.get(g.topic);
          if (id !== undefined) nextIds.set(g.topic, id);
        }
        this.refusals.answered(g.topic);
      }
      for (const [f, q] of done) next.set(f, q);
      if (ids) this.idMap = nextIds;
      this.commit(next);
      if (done.size > 0) this.events.emit('subscribed', done);
    } else if (!held) {
      this.commit(next);
    }
    // Only now the old filters go: a message published while a filter changes matches one of the two.
    if (plan.unsubscribe.length > 0) {
      this.step = 'unsubscribe';
      this.unsubscribing = true;
      await this.answer(client.unsubscribeAsync(plan.unsubscribe), 'UNSUBSCRIBE');
      this.unsubscribing = false;
      const nextIds = new Map(this.idMap);
      for (const f of plan.unsubscribe) {
        next.delete(f);
        nextIds.delete(f);
        this.flagsSent.delete(f);
      }
      this.idMap = nextIds;
      this.commit(next);
      this.events.emit('unsubscribed', plan.unsubscribe);
    }
  }

  private async subscribeBatch(client: MqttClient, batch: [string, QoS][], id?: number): Promise<{ topic: string; qos: number }[]> {
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

/** The identifier of each filter: the one it holds, or the next free one above every held identifier. */
function assignIds(held: ReadonlyMap<string, number>, filters: Iterable<string>): Map<string, number> {
  const used = new Set(held.values());
  let next = 0;
  for (const id of used) next = Math.max(next, id);
  const out = new Map<string, number>();
  for (const f of filters) {
    const id = held.get(f);
    if (id !== undefined) {
      out.set(f, id);
      continue;
    }
    // Past the largest identifier, the lowest free one is taken (a session holds far fewer filters than that).
    do next = next >= MAX_SUBSCRIPTION_ID ? 1 : next + 1;
    while (used.has(next));
    used.add(next);
    out.set(f, next);
  }
  return out;
}
