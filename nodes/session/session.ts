// One persistent MQTT session: connects, subscribes only what the broker lacks, reconnects with backoff, emits typed events.
import { EventEmitter } from 'node:events';
import type { ErrorWithSubackPacket, IClientPublishOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, MqttClient, Packet } from 'mqtt';
import type { Verdict } from './ack-gate';
import { backoffDelay } from './backoff';
import { clientOptions, type SessionConfig } from './config';
import { coverFilters, diffSubscriptions, type QoS, type SubscriptionSet } from './cover';
import type { GatedStream } from './gated-stream';
import type { SubscriptionLedger } from './ledger';
import { reasonFor, reasonForDisconnect, type Reason } from './reasons';
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
}

/** What `publish` passes on to MQTT.js: MQTT 5 properties are sent only on an MQTT 5 connection. */
export type PublishOptions = Pick<IClientPublishOptions, 'qos' | 'retain' | 'properties'>;

const SUBACK_FAILURE = 0x80;
/** Unsettled messages at which we stop reading from the socket, for brokers that ignore any in-flight limit. */
const READ_HIGH_WATER = 1000;
/** Withheld acks at which we reconnect to get those messages back (brokers stop sending when their window is full of them). */
const WITHHELD_RECONNECT = 20;
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
  setSubscriptions(wanted: ReadonlyMap<string, QoS>): void {
    this.wanted = coverFilters(wanted);
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

  /** Reconnects now if messages were withheld, so the broker sends them again. */
  redeliverWithheld(): void {
    if ((this.stream?.gate.withheld ?? 0) > 0) this.recycle();
  }

  start(): void {
    if (this.client || this.closing) return;
    const client = gatedClient(this.config.url, clientOptions(this.config, this.inFlightLimit), (stream) => {
      this.stream = stream;
    });
    this.client = client;
    // `packetreceive` comes before MQTT.js writes the ack, and for QoS 2 at PUBLISH rather than at PUBREL.
    client.on('packetreceive', (packet) => this.onPacket(packet));
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
    const client = this.client;
    if (!client) return;
    if (forget && client.connected) {
      try {
        await this.sync;
        const held = this.held ?? this.ledger.load();
        if (held && held.size > 0) await withTimeout(client.unsubscribeAsync([...held.keys()]), 5000);
        this.ledger.clear();
      } catch {
        // The broker keeps the filters; the ledger keeps knowing them.
      }
    }
    await withTimeout(
      new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve())),
      5000,
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

  private flowControl(stream: GatedStream): void {
    const { pending, withheld } = stream.gate;
    if (pending >= READ_HIGH_WATER) stream.holdReading(true);
    else if (pending <= READ_HIGH_WATER / 2) stream.holdReading(false);
    if (withheld >= Math.min(WITHHELD_RECONNECT, this.inFlightLimit ?? WITHHELD_RECONNECT)) this.recycle();
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
    this.setState({ state: 'connected', sessionPresent: connack.sessionPresent });
    this.reconcile();
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
    if (reason === 'clientIdInUse') this.shortCloses = this.config.takeoverCount;
    this.pendingError = { reason, detail: `broker sent DISCONNECT 0x${(packet.reasonCode ?? 0).toString(16)}` };
  }

  private onClose(): void {
    const since = this.connectedAt;
    this.connectedAt = undefined;
    this.held = undefined;
    this.stream = undefined;
    if (this.closing) return;
    if (this.recycling) {
      this.recycling = false;
      this.setState({ state: 'reconnecting', attempt: 1 });
      this.client?.reconnect();
      return;
    }
    if (since !== undefined) {
      if (Date.now() - since >= this.config.takeoverWindow) {
        this.attempt = 0;
        this.shortCloses = 0;
        this.takeoverRaised = false;
      } else {
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

  /** Brings the broker's subscriptions to `wanted`, one change at a time. */
  private reconcile(): void {
    this.sync = this.sync.then(() => this.syncOnce()).catch(() => {
      // A connection lost mid-change is reconciled again on the next CONNACK.
    });
  }

  private async syncOnce(): Promise<void> {
    const client = this.client;
    if (!client?.connected || this.closing) return;
    const held = this.held;
    // Unknown (session present, no ledger): subscribing again is harmless, missing a filter is not.
    const plan = held ? diffSubscriptions(held, this.wanted) : { subscribe: new Map(this.wanted), unsubscribe: [] };
    const next = new Map(held);
    if (plan.unsubscribe.length > 0) {
      await client.unsubscribeAsync(plan.unsubscribe);
      for (const f of plan.unsubscribe) next.delete(f);
      this.commit(next);
      this.emit('unsubscribed', plan.unsubscribe);
    }
    if (plan.subscribe.size > 0) {
      const request = Object.fromEntries([...plan.subscribe].map(([filter, qos]) => [filter, { qos }]));
      // MQTT.js rejects the whole SUBSCRIBE when any grant is a failure (≥ 0x80); its SUBACK still says which.
      const granted = await client.subscribeAsync(request).catch((err: Partial<ErrorWithSubackPacket> & Error) => {
        const codes = err.packet?.granted;
        const topics = Object.keys(request);
        if (!codes || codes.length !== topics.length) throw err;
        return topics.map((topic, i) => ({ topic, qos: codes[i] as number }));
      });
      const done: SubscriptionSet = new Map();
      for (const g of granted) {
        const qos = plan.subscribe.get(g.topic);
        if (g.qos >= SUBACK_FAILURE) this.emit('subscribeFailed', g.topic, g.qos);
        else if (qos !== undefined) done.set(g.topic, qos);
      }
      for (const [f, q] of done) next.set(f, q);
      this.commit(next);
      if (done.size > 0) this.emit('subscribed', done);
    } else if (!held) {
      this.commit(next);
    }
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
