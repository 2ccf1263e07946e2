// One persistent MQTT session: a thin composition of the connection, reconnect policy, subscriptions and flow control that emits typed events.
import { EventEmitter } from 'node:events';
import type { IConnackPacket, IDisconnectPacket, Packet } from 'mqtt';
import { DEFAULTS, displayUrl, type SessionConfig } from './config/config';
import { Connection, type PublishOptions, type Published } from './connection/connection';
import type { QoS } from './subscriptions/cover';
import { asError, type Operation, type SessionEvents, type SessionState } from './events';
import type { SubscribeFlags } from './subscriptions/flags';
import { FlowControl } from './inbound/flow-control';
import type { SubscriptionLedger } from './subscriptions/ledger';
import { isSubscribeRefusal, reasonFor, reasonForDisconnect, type Reason } from './connection/reasons';
import { HELD_BYTES } from './stream/read-pacer';
import { ReconnectPolicy, SESSION_TAKEN_OVER } from './connection/reconnect-policy';
import { ReturnProbe } from './connection/return-probe';
import { answerTimeoutMs, Subscriptions } from './subscriptions/subscriptions';

export type { PublishOptions, Published } from './connection/connection';
export type { SessionEvents, SessionFailure, SessionState, Settle } from './events';

/** The detail of an MQTT 5 CONNECT the broker closed without an answer. */
export const NO_CONNACK_TO_MQTT5 = 'the broker closed the connection without answering the MQTT 5 CONNECT: it may speak MQTT 3.1.1 only (RabbitMQ 3.10 does); set the protocol to MQTT V3.1.1';

/**
 * Mirrors the Paho async consumer: one object per concern, and this one turns what they see into
 * the session's state and events. The state machine lives here: idle → connecting → connected
 * (once subscribed) → error / disconnected → reconnecting → …
 */
export class MqttSession extends EventEmitter<SessionEvents> {
  private current: SessionState = { state: 'idle' };
  private readonly connection: Connection;
  private readonly policy: ReconnectPolicy;
  private readonly subs: Subscriptions;
  private readonly flow: FlowControl;
  /** The failure the next close is announced with. */
  private pendingError?: { reason: Reason; detail?: string };
  /** The DISCONNECT reason code of the current connection's end, if the broker sent one. */
  private disconnectCode?: number;
  /** The broker sent a CONNACK on the current network connection. */
  private answered = false;
  /** With returnToFirst, while on a later server: watches for the first to answer again. */
  private readonly returnProbe: ReturnProbe;

  /**
   * With `manualAcks` every QoS 1/2 message waits for its `settle` call; without it the session
   * settles each message as soon as the `message` listeners return, as MQTT.js would.
   */
  constructor(
    readonly config: SessionConfig,
    ledger: SubscriptionLedger,
    private readonly options: { manualAcks?: boolean; returnProbeInterval?: number } = {},
  ) {
    super();
    this.returnProbe = new ReturnProbe(options.returnProbeInterval);
    this.connection = new Connection(config, {
      stream: (stream) => this.flow.attach(stream),
      packet: (packet) => this.onPacket(packet),
      connect: (connack) => this.onConnect(connack),
      error: (err) => this.onError(err),
      disconnect: (packet) => this.onDisconnect(packet),
      close: () => this.onClose(),
    });
    this.policy = new ReconnectPolicy(config);
    this.subs = new Subscriptions(config.protocolVersion, ledger, this.connection, this, answerTimeoutMs(config.keepalive));
    this.flow = new FlowControl(
      { readHighWater: config.readHighWater ?? DEFAULTS.readHighWater, heldBytes: config.heldBytes ?? HELD_BYTES, backoff: config.backoff },
      { recycle: () => this.connection.recycle(), redelivery: (attempt, delay) => this.emit('redelivery', attempt, delay), shed: (shed) => this.emit('shed', shed) },
    );
  }

  get state(): SessionState {
    return this.current;
  }

  /** The server the current (or next) connection goes to, without credentials. */
  get server(): string {
    return displayUrl(this.connection.servers.current);
  }

  get started(): boolean {
    return this.connection.client !== undefined;
  }

  /** The filters the broker should hold, as the union of every consumer's filters with their QoS. */
  setSubscriptions(wanted: ReadonlyMap<string, QoS>, flags?: Iterable<readonly [filter: string, flags: SubscribeFlags]>): void {
    this.subs.set(wanted, flags);
  }

  /** The broker subscriptions currently wanted (covered filters dropped, never widened). */
  get subscriptions(): ReadonlyMap<string, QoS> {
    return this.subs.current;
  }

  /** MQTT 5: the Subscription Identifier of each filter the broker holds; a new map after each change. */
  get subscriptionIds(): ReadonlyMap<string, number> {
    return this.subs.ids;
  }

  /**
   * The most unsettled messages the application takes at once. With MQTT 5 it is sent as Receive
   * Maximum, so the broker stops sending while that many await acks; it applies from the next start.
   * With any version, reading stops soon past it (see FlowControl.taking); that applies at once.
   */
  set receiveMaximum(limit: number | undefined) {
    this.connection.receiveMaximum = limit;
    this.flow.taking(limit);
  }

  /**
   * Publishes one message on this session's connection. `published` is called without an error when
   * the broker has it: PUBACK for QoS 1, PUBCOMP for QoS 2, and for QoS 0 once MQTT.js has written it.
   * A QoS 1/2 publish that is in flight when the connection drops is resent by MQTT.js on the next
   * connection, so the call spans reconnects; it gets an error when the broker refuses the message
   * (MQTT 5 reason code ≥ 0x80, the error's `code`) or the session is not started or is closing.
   */
  publish(topic: string, payload: Buffer, options: PublishOptions, published: Published): void {
    this.connection.publish(topic, payload, options, published);
  }

  /** While true, inbound PUBLISHes wait whatever the window (an out node cannot keep up); the acks of our publishes are still read. */
  holdIntake(hold: boolean): void {
    this.flow.holdIntake(hold);
  }

  /** PUBLISHes the current connection dropped past its held limit, to be fetched again once the flow is settled. */
  get shedding(): number {
    return this.flow.shedding;
  }

  /** Reconnects now if messages were withheld (flows were redeployed), so the broker sends them again. */
  redeliverWithheld(): void {
    if (this.flow.withheld > 0) this.connection.recycle();
  }

  start(): void {
    if (this.started || this.connection.closing) return;
    this.connection.create();
    this.setState({ state: 'connecting' });
    this.connection.connect();
  }

  /**
   * Ends the connection without unsubscribing, so the broker keeps queueing for us. With `forget`
   * (the config node was deleted) the subscriptions are removed first, so nothing piles up.
   */
  async close({ forget = false } = {}): Promise<void> {
    this.connection.beginClose();
    this.policy.cancel();
    this.returnProbe.stop();
    this.flow.stop();
    if (!this.started) return;
    // Neither failure stops the close: the broker keeps the filters (and the ledger keeps knowing them), the disconnect goes ahead.
    if (forget) await this.subs.forget().catch((err: unknown) => this.failed('forget', err));
    await this.connection.end().catch((err: unknown) => this.failed('closeMessage', err));
    this.setState({ state: 'disconnected' });
  }

  private failed(operation: Operation, err: unknown): void {
    this.emit('failure', { operation, error: asError(err) });
  }

  private setState(next: SessionState): void {
    // MQTT.js reports one failure as both `error` and `close`; announce each state once.
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    this.emit('state', next);
  }

  private onPacket(packet: Packet): void {
    if (packet.cmd === 'connack') this.answered = true;
    if (packet.cmd !== 'publish') return;
    const settle = this.flow.track(packet);
    this.emit('message', packet.topic, packet.payload as Buffer, packet, settle);
    if (!this.options.manualAcks) settle('ack');
  }

  private onConnect(connack: IConnackPacket): void {
    if (this.connection.closing) return;
    this.policy.connected();
    this.pendingError = undefined;
    this.disconnectCode = undefined;
    this.subs.connected(connack.sessionPresent && !this.config.cleanSession, connack.properties?.subscriptionIdentifiersAvailable !== false);
    // "connected" means subscribed: it is announced once the SUBACKs of this connection are in.
    const sessionPresent = connack.sessionPresent;
    const servers = this.connection.servers;
    const move = servers.accepted();
    if (move) this.emit('moved', move, sessionPresent);
    const server = servers.several ? this.server : undefined;
    this.subs.reconcile(() => {
      if (this.connection.open) this.setState({ state: 'connected', sessionPresent, ...(server ? { server } : {}) });
    });
    if (this.config.returnToFirst && servers.away) {
      this.returnProbe.start(servers.urls[0], () => {
        servers.first();
        this.connection.recycle();
      });
    }
    void this.connection.birth(this.subs.settled).catch((err: unknown) => this.failed('birth', err));
  }

  private onError(err: Error & { code?: unknown }): void {
    if (this.connection.closing) return;
    const reason = this.connection.client?.connected && typeof err.code !== 'number' ? 'connectionLost' : reasonFor(err, this.config.protocolVersion);
    this.pendingError = { reason, detail: err.message };
    this.setState({ state: 'error', reason, detail: err.message });
  }

  private onDisconnect(packet: IDisconnectPacket): void {
    const reason = reasonForDisconnect(packet.reasonCode);
    if (!reason || this.connection.closing) return;
    this.disconnectCode = packet.reasonCode;
    if (reason === 'clientIdInUse') this.policy.takenOver();
    this.pendingError = { reason, detail: `broker sent DISCONNECT 0x${(packet.reasonCode ?? 0).toString(16)}` };
  }

  private onClose(): void {
    const { subscribing, unsubscribing } = this.subs.closed();
    const code = this.disconnectCode;
    this.disconnectCode = undefined;
    const answered = this.answered;
    this.answered = false;
    this.flow.detach();
    this.returnProbe.stop();
    if (this.connection.closing) return;
    if (this.connection.recycled()) {
      this.policy.closedOnPurpose();
      this.setState({ state: 'reconnecting', attempt: 1 });
      this.connection.reconnect();
      return;
    }
    if (this.pendingError?.reason === 'unreachable') this.policy.unreachable();
    const refusal = subscribing !== undefined && isSubscribeRefusal(code);
    if (refusal) this.pendingError = this.subs.refusals.closedOn(subscribing, code);
    const { wasConnected, lasted, takeover, firstTakeover } = this.policy.closed({ refusal, unsubscribing, code });
    // A publish the broker keeps closing on is given up after a few closes (the connection counts those after a CONNACK:
    // `wasConnected` waits for MQTT.js's `connect`, which waits for the resent publishes). Not when the broker said another
    // client took our ID (0x8E); a bare close may be either, and ReconnectPolicy may take it for a takeover, but a healthy
    // publish is acked within a round trip of each CONNACK, so it is not the oldest in flight three closes in a row.
    if (code !== SESSION_TAKEN_OVER) this.connection.lost(code);
    if (takeover) {
      // Keep the broker's own word (MQTT 5 DISCONNECT 0x8E) when it gave one.
      if (this.pendingError?.reason !== 'clientIdInUse') this.pendingError = { reason: 'clientIdInUse', detail: 'the broker keeps closing the connection soon after CONNACK' };
      if (firstTakeover) this.emit('takeover');
    }
    // A broker that speaks MQTT 3.1.1 only may close on an MQTT 5 CONNECT without a CONNACK (RabbitMQ 3.10 does): say so, rather than a bare "disconnected".
    if (!answered && !this.pendingError && this.config.protocolVersion === 5) this.pendingError = { reason: 'protocolError', detail: NO_CONNACK_TO_MQTT5 };
    if (this.pendingError) this.setState({ state: 'error', ...this.pendingError });
    else this.setState({ state: 'disconnected', reason: wasConnected ? 'connectionLost' : undefined });
    const reconnect = (attempt: number): void => {
      if (this.connection.closing) return;
      this.setState({ state: 'reconnecting', attempt });
      this.connection.reconnect();
    };
    // Several servers: every failure moves on to the next. After a connection that worked (for at least the first backoff)
    // the next goes at once; one closed sooner, a refusal or a takeover backs off as with one server, so servers that all
    // close at once are not tried in a tight loop.
    const servers = this.connection.servers;
    servers.next();
    if (servers.several && !takeover && !refusal && (lasted ?? 0) >= this.config.backoff.min) this.policy.scheduleNow(reconnect);
    else this.policy.schedule(reconnect);
  }
}
