// One MQTT.js client on a GatedStream: connect, reconnect, recycle, publish and the clean close, with the packets the session listens to.
import type { IClientPublishOptions, IConnackPacket, IDisconnectPacket, MqttClient, Packet } from 'mqtt';
import { clientOptions, type SessionConfig } from '../config/config';
import { asError } from '../events';
import type { GatedStream } from '../stream/gated-stream';
import { CLOSES_IN_FLIGHT, CloseStrikes, oldestPublish } from './in-flight';
import { publishSize } from '../stream/publish-size';
import { FAILURE_CODE, PACKET_TOO_LARGE } from './reasons';
import { SendQuota } from './send-quota';
import { ServerList } from './servers';
import { keepAlivePatiently } from './keepalive';
import { gatedClient } from './transport';

/** ms the close message may take to reach the broker before the disconnect goes ahead without it (as core). */
export const CLOSE_MESSAGE_TIMEOUT = 2000;
/** ms a clean DISCONNECT may take before the socket is destroyed. */
export const END_TIMEOUT = 5000;
/** The code a publish given up after CLOSES_IN_FLIGHT closes fails with, when the broker sent no reason of its own: a refusal (≥ 0x80). */
export const CLOSED_ON_PUBLISH = FAILURE_CODE;

/** What `publish` passes on to MQTT.js: MQTT 5 properties are sent only on an MQTT 5 connection. */
export type PublishOptions = Pick<IClientPublishOptions, 'qos' | 'retain' | 'properties'>;
/** How a publish ends: no error once the broker has it; an MQTT 5 refusal carries its reason code as `code`. */
export type Published = (err?: (Error & { code?: unknown }) | null) => void;

/** The session's side of the client's events; each is called as MQTT.js emits it. */
export interface ConnectionHandlers {
  /** A new network connection's stream (one per CONNECT). */
  stream(stream: GatedStream): void;
  /** `packetreceive` comes before MQTT.js writes the ack, and for QoS 2 at PUBLISH rather than at PUBREL. */
  packet(packet: Packet): void;
  connect(connack: IConnackPacket): void;
  error(err: Error & { code?: unknown }): void;
  disconnect(packet: IDisconnectPacket): void;
  close(): void;
}

/** Listeners are attached before the first CONNECT, as in the Paho async consumer, so no queued message arrives unheard. */
export class Connection {
  client?: MqttClient;
  /** MQTT 5 Receive Maximum for the next CONNECT. */
  receiveMaximum?: number;
  private closed = false;
  private recycling = false;
  private readonly quota: SendQuota;
  /** The current network connection's stream. */
  private stream?: GatedStream;
  private readonly strikes = new CloseStrikes<Packet>();
  /** The broker accepted this connection (CONNACK 0). MQTT.js emits `connect` only once it has resent what was in flight and had it acknowledged. */
  private accepted = false;
  /** The Maximum Packet Size in this connection's CONNACK (MQTT 5), when the broker named one. */
  private maxPacketSize?: number;
  /** While `lost` gives a publish up: the error it fails with instead of MQTT.js's "Message removed". */
  private abandoning?: Error;
  /** The server each new connection goes to; the session moves it on. */
  readonly servers: ServerList;

  constructor(
    private readonly config: SessionConfig,
    private readonly on: ConnectionHandlers,
  ) {
    this.quota = new SendQuota(config.protocolVersion);
    this.servers = new ServerList(config.servers ?? [config.url]);
  }

  /** Set once by `beginClose`: nothing reconnects or is sent any more. */
  get closing(): boolean {
    return this.closed;
  }

  /** From now on nothing reconnects, and every publish fails, those waiting for the broker's quota too. */
  beginClose(): void {
    this.closed = true;
    this.quota.release();
  }

  /** Connected, and not closing: the session may send. */
  get open(): boolean {
    return !!this.client?.connected && !this.closing;
  }

  /** Builds the client and attaches every listener; `connect` sends the first CONNECT. */
  create(): void {
    if (this.client || this.closing) return;
    const client = gatedClient(() => this.servers.current, clientOptions(this.config), (stream) => {
      this.stream = stream;
      if (this.config.protocolVersion === 5) stream.packetLimit = this.config.maximumPacketSize;
      this.on.stream(stream);
    }, this.config.httpProxy);
    this.client = client;
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') this.onConnack(packet);
      this.on.packet(packet);
    });
    client.on('packetsend', (packet) => this.onSend(packet));
    client.on('connect', (connack) => {
      this.quota.connected(connack.properties?.receiveMaximum);
      this.on.connect(connack);
    });
    client.on('error', (err) => {
      this.on.error(err);
      // MQTT.js only reports a malformed packet (its parser's error) and goes on with a parser that reads no more: the
      // connection would stay open and deliver nothing. The spec closes it (MQTT-4.13.1-1); the session reconnects.
      if (client.connected) this.stream?.destroy();
    });
    client.on('disconnect', (packet) => this.on.disconnect(packet));
    client.on('close', () => this.on.close());
    keepAlivePatiently(client);
  }

  connect(): void {
    this.client?.connect();
  }

  /**
   * With the client's stores: `reconnect()` without them gives MQTT.js empty ones, so the publishes
   * in flight would be neither resent nor called back, and their senders would wait for ever.
   */
  reconnect(): void {
    const client = this.client;
    if (!client || this.closing) return;
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
  }

  /** Drops the connection so that it reconnects at once: the broker resends every unacknowledged message. */
  recycle(): void {
    if (this.recycling || !this.open) return;
    this.recycling = true;
    this.stream?.closeGently();
  }

  /**
   * An established connection closed without our asking (session.ts onClose). When the same
   * publish was the oldest in flight at CLOSES_IN_FLIGHT such closes in a row, it leaves MQTT.js's
   * store (which resends it first on every connection) and fails with a refusal's code, so the out
   * node takes it out of its outbox with done(err) and the messages behind it go.
   */
  lost(disconnectCode: number | undefined): void {
    const client = this.client;
    const accepted = this.accepted;
    this.accepted = false;
    if (!client || !accepted) return;
    const oldest = oldestPublish(client);
    if (!this.strikes.closed(oldest) || oldest?.messageId === undefined) return;
    const said = disconnectCode ? ` (DISCONNECT 0x${disconnectCode.toString(16)})` : '';
    const error = new Error(`the broker closed the connection ${CLOSES_IN_FLIGHT} times in a row while this message was the oldest in flight${said}; it was given up so that the messages behind it can go`);
    const messageId = oldest.messageId;
    const reason = Object.assign(error, { code: disconnectCode && disconnectCode >= CLOSED_ON_PUBLISH ? disconnectCode : CLOSED_ON_PUBLISH });
    // After MQTT.js's own close listener (registered after ours): until it has run, a publish the freed quota slot
    // lets out would join MQTT.js's resend queue and fail with "Connection closed". The reconnect comes after a timer.
    process.nextTick(() => {
      this.abandoning = reason;
      try {
        // Calls the publish's callback at once with "Message removed", which `send` replaces with the reason.
        client.removeOutgoingMessage(messageId);
      } finally {
        this.abandoning = undefined;
      }
    });
  }

  private onConnack(connack: IConnackPacket): void {
    this.accepted = (connack.reasonCode ?? connack.returnCode ?? 0) === 0;
    this.maxPacketSize = connack.properties?.maximumPacketSize;
  }

  /** True on the close a `recycle` caused (once). */
  recycled(): boolean {
    const was = this.recycling;
    this.recycling = false;
    return was;
  }

  /** A callback rather than a promise: the out node publishes every message through here, and a promise chain per message showed in its profile. */
  publish(topic: string, payload: Buffer | string, options: PublishOptions, published: Published): void {
    const client = this.client;
    if (!client || this.closing) return published(notStarted());
    this.send(client, topic, payload, options, published, false);
  }

  /**
   * Publishes the birth message, if there is one, once `after` settles: after the subscriptions are
   * in place, as core sends it. Rejects when the broker refuses it; one lost with the connection
   * shows as the connection's own error, and MQTT.js resends a QoS 1/2 one on the next connection.
   */
  async birth(after: Promise<void>): Promise<void> {
    const birth = this.config.messages?.birth;
    const client = this.client;
    if (!birth || !client) return;
    await after;
    if (!client.connected) return;
    await promised((done) => this.publish(birth.topic, birth.payload, birth.options, done)).catch((err: unknown) => {
      if (client.connected && !this.closing) throw err;
    });
  }

  /**
   * Sends the close message if there is one, then a clean DISCONNECT; a broker that takes neither in
   * time gets the socket destroyed. Rejects with the close message's failure after the disconnect.
   */
  async end(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const last = this.config.messages?.close;
    let unsent: Error | undefined;
    if (last && client.connected) {
      // As core: the close message goes out before a clean disconnect, if the broker takes it in time.
      // Through the quota like every publish, but allowed while closing.
      await withTimeout(promised((done) => this.send(client, last.topic, last.payload, last.options, done, true)), CLOSE_MESSAGE_TIMEOUT).catch((err: unknown) => {
        unsent = asError(err);
      });
    }
    await withTimeout(
      new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve())),
      END_TIMEOUT,
    ).catch(() => client.end(true));
    if (unsent) throw unsent;
  }

  /**
   * Every publish goes through the broker's quota, in order (the GatedStream holds only the
   * PUBACK/PUBREC we send for inbound messages; our PUBLISH and PUBREL pass through it). One that
   * waited fails once the connection is closing, unless it is the close message (`last`).
   */
  private send(client: MqttClient, topic: string, payload: Buffer | string, options: PublishOptions, published: Published, last: boolean): void {
    const counted = this.quota.counts(options.qos);
    // A publish that may go at once makes no function to be called later: one per message otherwise.
    if (this.quota.enter(counted)) this.publishNow(client, topic, payload, options, published, last, counted);
    else this.quota.run(() => this.publishNow(client, topic, payload, options, published, last, counted), counted);
  }

  /** Its turn in the quota has come (and its slot is taken, when `counted`). */
  private publishNow(client: MqttClient, topic: string, payload: Buffer | string, options: PublishOptions, published: Published, last: boolean, counted: boolean): void {
    const refused = this.closing && !last ? notStarted() : this.tooLarge(topic, payload, options);
    if (refused) {
      if (counted) this.quota.ended();
      return published(refused);
    }
    if (!options.qos) {
      client.publish(topic, payload, options, published);
      return;
    }
    client.publish(topic, payload, options, (err) => {
      if (counted) this.quota.ended();
      // While `lost` runs, only the publish it removes from MQTT.js's store is called back: it fails with the reason.
      published(this.abandoning ?? err);
    });
  }

  /**
   * A publish past the Maximum Packet Size the broker named in CONNACK: refused here, since the
   * broker would close the connection on it (MQTT 5 §3.1.2.11.4; Mosquitto sends DISCONNECT 0x95)
   * and MQTT.js would send it again on the next one.
   */
  private tooLarge(topic: string, payload: Buffer | string, options: PublishOptions): Error | undefined {
    const max = this.maxPacketSize;
    if (max === undefined) return undefined;
    const size = publishSize(topic, Buffer.byteLength(payload), options.qos ?? 0, options.properties, this.config.protocolVersion);
    if (size <= max) return undefined;
    return Object.assign(new Error(`the message is ${size} bytes as a PUBLISH packet, more than the broker's Maximum Packet Size of ${max} bytes`), { code: PACKET_TOO_LARGE });
  }

  /**
   * Receive Maximum goes into the CONNECT packet here rather than through MQTT.js's option: MQTT.js
   * would also enforce it on inbound QoS 2 and drop the connection when a broker overshoots by one
   * (Mosquitto 2.0.11 does), so a QoS 2 backlog would never drain. `packetsend` comes with the packet
   * object before it is encoded (MqttClient._writePacket).
   */
  private onSend(packet: Packet): void {
    if (packet.cmd !== 'connect' || this.config.protocolVersion !== 5 || this.receiveMaximum === undefined) return;
    packet.properties = { ...packet.properties, receiveMaximum: this.receiveMaximum };
  }
}

function notStarted(): Error {
  return new Error('the session is not started');
}

/** A promise for one callback-style publish. */
function promised(publish: (done: Published) => void): Promise<void> {
  return new Promise((resolve, reject) => publish((err) => (err ? reject(err) : resolve())));
}

/** What withTimeout rejects with, so a caller can tell "no answer" from a refusal. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
