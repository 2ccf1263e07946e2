// One persistent MQTT session: connects, subscribes only what the broker lacks, reconnects with backoff, emits typed events.
import { EventEmitter } from 'node:events';
import type { ErrorWithSubackPacket, IClientPublishOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, MqttClient, Packet } from 'mqtt';
import type { Verdict } from './ack-gate';
import { backoffDelay } from './backoff';
import { clientOptions, DEFAULTS, type SessionConfig } from './config';
import { coverFilters, diffSubscriptions, type QoS, type SubscriptionSet } from './cover';
import { coverFlags, DEFAULT_FLAGS_KEY, flagsKey, type SubscribeFlags } from './flags';
import type { GatedStream } from './gated-stream';
import type { SubscriptionLedger } from './ledger';
import { isSubscribeRefusal, reasonFor, reasonForDisconnect, type Reason } from './reasons';
import { gatedClient } from './transport';

export type SessionState =
  | { readonly state: 'idle' }
  | { readonly state: 'connecting' }
  | { readonly state: 'connected'; readonly sessionPresent: boolean }
  | { readonly state: 'reconnecting'; readonly attempt: number }
  | { readonly state: 'disconnected'; readonly reason?: Reason }
  | { readonly state: 'error'; readonly reason: Reason; readonly detail?: string };

/**
 * Releases (`ack`) or withholds one message's PUBACK/PUBREC. Call it exactly once; acks still leave in
 * arrival order, and a call after the connection it came on has closed does nothing (the broker
 * redelivers the message instead).
 */
export type Settle = (verdict: Verdict) => void;

export interface SessionEvents {
  state: [SessionState];
  /** Every PUBLISH received. Its ack waits until `settle` is called (QoS 0: `settle` does nothing). */
  message: [topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle];
  subscribed: [SubscriptionSet];
  unsubscribed: [string[]];
  /** The broker refused a filter in SUBACK (`code` ≥ 0x80). */
  subscribeFailed: [filter: string, code: number];
  /** Another client keeps taking our client ID; raised once per episode. */
  takeover: [];
  /** Withheld messages will be fetched again by reconnecting in `delayMs`; `attempt` counts the redeliveries in a row. */
  redelivery: [attempt: number, delayMs: number];
}

/** What `publish` passes on to MQTT.js: MQTT 5 properties are sent only on an MQTT 5 connection. */
export type PublishOptions = Pick<IClientPublishOptions, 'qos' | 'retain' | 'properties'>;

const SUBACK_FAILURE = 0x80;
/** The code a filter is reported with when the broker refused it by closing the connection without a reason code. */
const CLOSED_ON_SUBSCRIBE = 0x80;
/** Closes during a SUBSCRIBE that carried this filter alone before it counts as refused (one could be a coincidence). */
const REFUSAL_CLOSES = 2;
/** MQTT 5 DISCONNECT reason "Session taken over" (0x8E): the broker's own word for a takeover. */
const SESSION_TAKEN_OVER = 0x8e;
/** ms the UNSUBSCRIBE of a deleted config node may take before the session ends without it. */
const FORGET_TIMEOUT = 5000;
/** ms the close message may take to reach the broker before the disconnect goes ahead without it (as core). */
const CLOSE_MESSAGE_TIMEOUT = 2000;
/** ms a clean DISCONNECT may take before the socket is destroyed. */
const END_TIMEOUT = 5000;
/**
 * Redeliveries of withheld messages come at most this close together after an error, backing off
 * like reconnects; a quiet spell of twice the longest backoff starts the count again.
 */
const REDELIVERY_QUIET_FACTOR = 2;
const noop: Settle = () => undefined;

/**
 * Mirrors the Paho async consumer: listeners are attached before the first CONNECT so messages
 * queued in the session cannot arrive unheard, and SUBSCRIBE goes out only for what the broker
 * does not already hold.
 */
export class MqttSession extends EventEmitter<SessionEvents> {
  private client?: MqttClient;
  private current: SessionState = { state: 'idle' };
  /** The cover of every consumer's filters: what the broker should hold. */
  private wanted: SubscriptionSet = new Map();
  /** What the broker holds now, while connected; undefined when unknown. */
  private held?: SubscriptionSet;
  private attempt = 0;
  private shortCloses = 0;
  private takeoverRaised = false;
  private connectedAt?: number;
  private pendingError?: { reason: Reason; detail?: string };
  private timer?: NodeJS.Timeout;
  private closing = false;
  private sync: Promise<void> = Promise.resolve();
  /** The current connection's stream; acks for messages from older ones are never sent. */
  private stream?: GatedStream;
  private recycling = false;
  private inFlightLimit?: number;
  private redeliveryTimer?: NodeJS.Timeout;
  private redeliveries = 0;
  private lastRedelivery = 0;
  /** The filters of the SUBSCRIBE awaiting its SUBACK, and whether an UNSUBSCRIBE awaits its UNSUBACK. */
  private subscribing?: readonly string[];
  private unsubscribing = false;
  /** The DISCONNECT reason code of the current connection's end, if the broker sent one. */
  private disconnectCode?: number;
  /** Filters the broker closed the connection on, with how many times; sent one per SUBSCRIBE until decided. */
  private strikes = new Map<string, number>();
  /** Filters the broker refused by closing the connection, with the code; not asked for again until the next setSubscriptions. */
  private refused = new Map<string, number>();
  /** MQTT 5 subscription options per broker subscription, and those last sent by this session. */
  private flags = new Map<string, SubscribeFlags>();
  private flagsSent = new Map<string, string>();

  /**
   * With `manualAcks` every QoS 1/2 message waits for its `settle` call; without it the session
   * settles each message as soon as the `message` listeners return, as MQTT.js would.
   */
  constructor(
    readonly config: SessionConfig,
    private readonly ledger: SubscriptionLedger,
    private readonly options: { manualAcks?: boolean } = {},
  ) {
    super();
  }

  get state(): SessionState {
    return this.current;
  }

  get started(): boolean {
    return this.client !== undefined;
  }

  /** The filters the broker should hold, as the union of every consumer's filters with their QoS. */
  setSubscriptions(wanted: ReadonlyMap<string, QoS>, flags?: Iterable<readonly [filter: string, flags: SubscribeFlags]>): void {
    this.wanted = coverFilters(wanted);
    // A deploy may follow a change at the broker (ACL, configuration): ask again for what it refused.
    this.refused.clear();
    // MQTT 3.1.1 has no subscription options: those bits of its SUBSCRIBE must be 0.
    this.flags = flags && this.config.protocolVersion === 5 ? coverFlags(this.wanted, flags) : new Map<string, SubscribeFlags>();
    if (this.client?.connected) this.reconcile();
  }

  /** The broker subscriptions currently wanted (after merging overlapping filters). */
  get subscriptions(): ReadonlyMap<string, QoS> {
    return this.wanted;
  }

  /**
   * The most unsettled messages the application takes at once. With MQTT 5 it is sent as Receive
   * Maximum, so the broker stops sending while that many await acks; it applies from the next start.
   */
  set receiveMaximum(limit: number | undefined) {
    this.inFlightLimit = limit;
  }

  /**
   * Publishes one message on this session's connection. Resolves when the broker has it: PUBACK for
   * QoS 1, PUBCOMP for QoS 2, and for QoS 0 once MQTT.js has written it. A QoS 1/2 publish that is
   * in flight when the connection drops is resent by MQTT.js on the next connection, so the promise
   * spans reconnects; it rejects when the broker refuses the message (MQTT 5 reason code ≥ 0x80,
   * the error's `code`) or the session is not started or is closing.
   */
  publish(topic: string, payload: Buffer, options: PublishOptions): Promise<void> {
    const client = this.client;
    if (!client || this.closing) return Promise.reject(new Error('the session is not started'));
    // The GatedStream holds only the PUBACK/PUBREC we send for inbound messages; our PUBLISH and PUBREL pass through.
    return client.publishAsync(topic, payload, options).then(() => undefined);
  }

  /** Reconnects now if messages were withheld (flows were redeployed), so the broker sends them again. */
  redeliverWithheld(): void {
    if ((this.stream?.gate.withheld ?? 0) > 0) this.recycle();
  }

  start(): void {
    if (this.client || this.closing) return;
    const client = gatedClient(this.config.url, clientOptions(this.config), (stream) => {
      this.stream = stream;
    });
    this.client = client;
    // `packetreceive` comes before MQTT.js writes the ack, and for QoS 2 at PUBLISH rather than at PUBREL.
    client.on('packetreceive', (packet) => this.onPacket(packet));
    client.on('packetsend', (packet) => this.onSend(packet));
    client.on('connect', (connack) => this.onConnect(connack));
    client.on('error', (err) => this.onError(err));
    client.on('disconnect', (packet) => this.onDisconnect(packet));
    client.on('close', () => this.onClose());
    this.setState({ state: 'connecting' });
    client.connect();
  }

  /**
   * Ends the connection without unsubscribing, so the broker keeps queueing for us. With `forget`
   * (the config node was deleted) the subscriptions are removed first, so nothing piles up.
   */
  async close({ forget = false } = {}): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    clearTimeout(this.redeliveryTimer);
    const client = this.client;
    if (!client) return;
    if (forget && client.connected) {
      try {
        await this.sync;
        const held = this.held ?? this.ledger.load();
        if (held && held.size > 0) await withTimeout(client.unsubscribeAsync([...held.keys()]), FORGET_TIMEOUT);
        this.ledger.clear();
      } catch {
        // The broker keeps the filters; the ledger keeps knowing them.
      }
    }
    const last = this.config.messages?.close;
    if (last && client.connected) {
      // As core: the close message goes out before a clean disconnect, if the broker takes it in time.
      await withTimeout(client.publishAsync(last.topic, last.payload, last.options), CLOSE_MESSAGE_TIMEOUT).catch(() => undefined);
    }
    await withTimeout(
      new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve())),
      END_TIMEOUT,
    ).catch(() => client.end(true));
    this.setState({ state: 'disconnected' });
  }

  private setState(next: SessionState): void {
    // MQTT.js reports one failure as both `error` and `close`; announce each state once.
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    this.emit('state', next);
  }

  private onPacket(packet: Packet): void {
    if (packet.cmd !== 'publish') return;
    const stream = this.stream;
    let settle = noop;
    if (packet.qos > 0 && packet.messageId !== undefined && stream) {
      const id = packet.messageId;
      stream.gate.expect(id);
      settle = (verdict) => {
        if (stream !== this.stream) return;
        stream.gate.settle(id, verdict);
        this.flowControl(stream);
      };
      this.flowControl(stream);
    }
    this.emit('message', packet.topic, packet.payload as Buffer, packet, settle);
    if (!this.options.manualAcks) settle('ack');
  }

  /**
   * Receive Maximum goes into the CONNECT packet here rather than through MQTT.js's option: MQTT.js
   * would also enforce it on inbound QoS 2 and drop the connection when a broker overshoots by one
   * (Mosquitto 2.0.11 does), so a QoS 2 backlog would never drain. `packetsend` comes with the packet
   * object before it is encoded (MqttClient._writePacket).
   */
  private onSend(packet: Packet): void {
    if (packet.cmd !== 'connect' || this.config.protocolVersion !== 5 || this.inFlightLimit === undefined) return;
    packet.properties = { ...packet.properties, receiveMaximum: this.inFlightLimit };
  }

  private flowControl(stream: GatedStream): void {
    const { pending, withheld } = stream.gate;
    const highWater = this.config.readHighWater ?? DEFAULTS.readHighWater;
    if (pending >= highWater) stream.holdReading(true);
    else if (pending <= highWater / 2) stream.holdReading(false);
    if (withheld > 0) this.scheduleRedelivery();
  }

  /**
   * A withheld message comes back only on a new connection. Reconnecting at once after each error
   * would loop (the broker resends it first, it fails again), so the reconnect backs off.
   */
  private scheduleRedelivery(): void {
    if (this.redeliveryTimer || this.closing) return;
    const now = Date.now();
    if (now - this.lastRedelivery > REDELIVERY_QUIET_FACTOR * this.config.backoff.max) this.redeliveries = 0;
    const attempt = ++this.redeliveries;
    const delay = backoffDelay(attempt, this.config.backoff);
    this.emit('redelivery', attempt, delay);
    this.redeliveryTimer = setTimeout(() => {
      this.redeliveryTimer = undefined;
      this.lastRedelivery = Date.now();
      this.recycle();
    }, delay);
  }

  /** Drops the connection and reconnects at once: the broker resends every unacknowledged message. */
  private recycle(): void {
    if (this.recycling || this.closing || !this.client?.connected) return;
    this.recycling = true;
    this.client.stream.destroy();
  }

  private onConnect(connack: IConnackPacket): void {
    if (this.closing) return;
    this.connectedAt = Date.now();
    this.pendingError = undefined;
    if (connack.sessionPresent && !this.config.cleanSession) {
      this.held = this.ledger.load();
    } else {
      // No session: the broker has forgotten every subscription (first start, expiry, restart without persistence).
      this.held = new Map();
      this.ledger.clear();
    }
    this.disconnectCode = undefined;
    // "connected" means subscribed: it is announced once the SUBACKs of this connection are in.
    const sessionPresent = connack.sessionPresent;
    this.reconcile(() => {
      if (this.client?.connected && !this.closing) this.setState({ state: 'connected', sessionPresent });
    });
    const birth = this.config.messages?.birth;
    // After the subscriptions are in place, as core sends it; a failed publish shows as the connection's own error.
    if (birth) void this.sync.then(() => this.client?.connected && this.client.publish(birth.topic, birth.payload, birth.options, () => undefined));
  }

  private onError(err: Error & { code?: unknown }): void {
    if (this.closing) return;
    const reason = this.client?.connected && typeof err.code !== 'number' ? 'connectionLost' : reasonFor(err, this.config.protocolVersion);
    this.pendingError = { reason, detail: err.message };
    this.setState({ state: 'error', reason, detail: err.message });
  }

  private onDisconnect(packet: IDisconnectPacket): void {
    const reason = reasonForDisconnect(packet.reasonCode);
    if (!reason || this.closing) return;
    this.disconnectCode = packet.reasonCode;
    if (reason === 'clientIdInUse') this.shortCloses = this.config.takeoverCount;
    this.pendingError = { reason, detail: `broker sent DISCONNECT 0x${(packet.reasonCode ?? 0).toString(16)}` };
  }

  private onClose(): void {
    const since = this.connectedAt;
    this.connectedAt = undefined;
    // What was outstanding when the connection ended tells a refusal from a takeover.
    const subscribing = this.subscribing;
    const unsubscribing = this.unsubscribing;
    const code = this.disconnectCode;
    this.subscribing = undefined;
    this.unsubscribing = false;
    this.disconnectCode = undefined;
    this.held = undefined;
    this.stream = undefined;
    // Any reconnect brings the withheld messages back; no separate one is needed.
    clearTimeout(this.redeliveryTimer);
    this.redeliveryTimer = undefined;
    if (this.closing) return;
    if (this.recycling) {
      this.recycling = false;
      this.setState({ state: 'reconnecting', attempt: 1 });
      this.client?.reconnect();
      return;
    }
    const refusal = !this.closing && subscribing !== undefined && isSubscribeRefusal(code);
    if (refusal) this.onRefusedByClose(subscribing, code);
    if (since !== undefined && !refusal) {
      if (Date.now() - since >= this.config.takeoverWindow) {
        this.attempt = 0;
        this.shortCloses = 0;
        this.takeoverRaised = false;
      } else if (!unsubscribing && (code === undefined || code === SESSION_TAKEN_OVER)) {
        // A kick: Mosquitto 2.0 closes the old client's socket while nothing of ours is outstanding.
        this.shortCloses++;
      }
    }
    if (this.shortCloses >= this.config.takeoverCount) {
      // Keep the broker's own word (MQTT 5 DISCONNECT 0x8E) when it gave one.
      if (this.pendingError?.reason !== 'clientIdInUse') this.pendingError = { reason: 'clientIdInUse', detail: 'the broker keeps closing the connection soon after CONNACK' };
      if (!this.takeoverRaised) {
        this.takeoverRaised = true;
        this.emit('takeover');
      }
    }
    if (this.pendingError) this.setState({ state: 'error', ...this.pendingError });
    else this.setState({ state: 'disconnected', reason: since !== undefined ? 'connectionLost' : undefined });
    this.scheduleReconnect();
  }

  /**
   * The broker ended the connection while our SUBSCRIBE awaited its SUBACK (ejabberd does so for
   * `$share/…`; MQTT 5 brokers may send DISCONNECT 0x8F/0x9E/0xA2). A filter asked for alone and
   * closed on again is refused; the others are asked for one per SUBSCRIBE next time, to find it.
   */
  private onRefusedByClose(filters: readonly string[], code: number | undefined): void {
    for (const f of filters) {
      const n = filters.length === 1 ? (this.strikes.get(f) ?? 0) + 1 : Math.max(1, this.strikes.get(f) ?? 0);
      if (n >= REFUSAL_CLOSES) {
        this.strikes.delete(f);
        this.refused.set(f, code ?? CLOSED_ON_SUBSCRIBE);
      } else {
        this.strikes.set(f, n);
      }
    }
    const reason = code ? reasonForDisconnect(code) : undefined;
    this.pendingError = {
      reason: reason && reason !== 'connectionLost' ? reason : 'subscriptionRefused',
      detail: `the broker closed the connection after SUBSCRIBE ${filters.join(', ')}${code ? ` (DISCONNECT 0x${code.toString(16)})` : ''}`,
    };
  }

  private scheduleReconnect(): void {
    this.attempt++;
    const attempt = this.attempt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closing || !this.client) return;
      this.setState({ state: 'reconnecting', attempt });
      this.client.reconnect();
    }, backoffDelay(attempt, this.config.backoff));
  }

  /** Brings the broker's subscriptions to `wanted`, one change at a time: new filters first, then the old ones go. */
  private reconcile(then?: () => void): void {
    this.sync = this.sync
      .then(() => this.syncOnce())
      .then(then)
      .catch(() => {
        // A connection lost mid-change is reconciled again on the next CONNACK.
      });
  }

  private async syncOnce(): Promise<void> {
    const client = this.client;
    if (!client?.connected || this.closing) return;
    const held = this.held;
    // Unknown (session present, no ledger): subscribing again is harmless, missing a filter is not.
    const plan = held ? diffSubscriptions(held, this.wanted) : { subscribe: new Map(this.wanted), unsubscribe: [] };
    // The ledger keeps no options: a filter whose options this session has not sent yet is subscribed again (once per start).
    for (const [f, q] of this.wanted) if (flagsKey(this.flags.get(f)) !== (this.flagsSent.get(f) ?? DEFAULT_FLAGS_KEY)) plan.subscribe.set(f, q);
    const next = new Map(held);
    for (const [f, code] of this.refused) {
      plan.subscribe.delete(f);
      this.emit('subscribeFailed', f, code);
    }
    if (plan.subscribe.size > 0) {
      // Filters the broker closed on go one per SUBSCRIBE, after the rest, so a refusal names its filter.
      const clear = [...plan.subscribe].filter(([f]) => !this.strikes.has(f));
      const batches = [clear, ...[...plan.subscribe].filter(([f]) => this.strikes.has(f)).map((e) => [e])].filter((b) => b.length > 0);
      const granted: { topic: string; qos: number }[] = [];
      for (const batch of batches) granted.push(...(await this.subscribeBatch(client, batch)));
      const done: SubscriptionSet = new Map();
      for (const g of granted) {
        const qos = plan.subscribe.get(g.topic);
        if (g.qos >= SUBACK_FAILURE) this.emit('subscribeFailed', g.topic, g.qos);
        else if (qos !== undefined) {
          done.set(g.topic, qos);
          this.flagsSent.set(g.topic, flagsKey(this.flags.get(g.topic)));
        }
        this.strikes.delete(g.topic);
      }
      for (const [f, q] of done) next.set(f, q);
      this.commit(next);
      if (done.size > 0) this.emit('subscribed', done);
    } else if (!held) {
      this.commit(next);
    }
    // Only now the old filters go: a message published while a filter changes matches one of the two.
    if (plan.unsubscribe.length > 0) {
      this.unsubscribing = true;
      await client.unsubscribeAsync(plan.unsubscribe);
      this.unsubscribing = false;
      for (const f of plan.unsubscribe) {
        next.delete(f);
        this.flagsSent.delete(f);
      }
      this.commit(next);
      this.emit('unsubscribed', plan.unsubscribe);
    }
  }

  private async subscribeBatch(client: MqttClient, batch: [string, QoS][]): Promise<{ topic: string; qos: number }[]> {
    const request = Object.fromEntries(batch.map(([filter, qos]) => [filter, { qos, ...this.flags.get(filter) }]));
    this.subscribing = Object.keys(request);
    // MQTT.js rejects the whole SUBSCRIBE when any grant is a failure (≥ 0x80); its SUBACK still says which.
    const granted = await client.subscribeAsync(request).catch((err: Partial<ErrorWithSubackPacket> & Error) => {
      const codes = err.packet?.granted;
      const topics = Object.keys(request);
      if (!codes || codes.length !== topics.length) throw err;
      return topics.map((topic, i) => ({ topic, qos: codes[i] as number }));
    });
    this.subscribing = undefined;
    return granted;
  }

  private commit(held: SubscriptionSet): void {
    if (this.client?.connected) this.held = held;
    this.ledger.save(held);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
