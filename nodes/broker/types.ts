// What the broker config node and the in and out nodes that use it say to each other, and the config node's saved properties.
import type { IPublishPacket } from 'mqtt';
import type { Node, NodeDef } from 'node-red';
import type { QoS } from '../session/subscriptions/cover';
import type { SubscribeFlags } from '../session/subscriptions/flags';
import type { PublishOptions, Published, SessionState, Settle } from '../session/session';

export interface BrokerProps extends NodeDef {
  broker?: string;
  clientId?: string;
  cleanSession?: boolean | string;
  protocolVersion?: number | string;
  sessionExpiry?: number | string;
  keepalive?: number | string;
  tls?: string;
  /** A core `http proxy` config node, for ws:// and wss://. */
  proxy?: string;
  backoffMin?: number | string;
  backoffMax?: number | string;
  /** Bytes, MQTT 5 only: SessionConfig.maximumPacketSize. */
  maximumPacketSize?: number | string;
}

export interface BrokerCredentials {
  user?: string;
  password?: string;
}

/** QoS and MQTT 5 options of one filter. */
export interface FilterOptions {
  readonly qos: QoS;
  readonly flags: SubscribeFlags;
}

/** What a consumer node registers with its broker node. */
export interface Consumer {
  /** Read again at each `resubscribe`. */
  readonly filters: readonly string[];
  readonly qos: QoS;
  /** MQTT 5 subscription options for every filter of this consumer. */
  readonly flags?: SubscribeFlags;
  /** Filters with a QoS and options of their own (dynamic subscriptions), instead of `qos` and `flags`. */
  readonly options?: ReadonlyMap<string, FilterOptions>;
  /** Messages this consumer takes into its flow at once before acking; undefined when it acks on arrival. */
  readonly window?: number;
  /**
   * flows:stopping: nodes may be stopped, so what is inside the flow is withheld. Until flows:started
   * the broker node withholds new QoS 1/2 messages itself rather than deliver them (Dispatcher.running).
   */
  stopping(): void;
  /** Must call `settle` once for each message. */
  deliver(topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle): void;
  onState(state: SessionState): void;
  onSubscribeFailed(filter: string, code: number): void;
}

/** What a publisher node registers with its broker node: it only follows the connection's state. */
export interface Publisher {
  onState(state: SessionState): void;
}

export interface BrokerNode extends Node<BrokerCredentials> {
  /** The broker URL without credentials and the client ID, set once the configuration is valid: what an out node's outbox belongs to. */
  identity?: { readonly url: string; readonly clientId: string };
  register(consumer: Consumer): void;
  unregister(consumer: Consumer): void;
  /**
   * A registered consumer's filters changed: they are routed at once, and the promise resolves with
   * the broker filters the broker refused once the SUBACKs and UNSUBACKs are in, or at once while
   * the connection is down (the next connection makes the change).
   */
  resubscribe(consumer: Consumer): Promise<string[]>;
  /** The `connect` action: reconnects after `disconnect` (`force` also cycles a live connection); resolves when connected. */
  connect(options: { force: boolean }): Promise<void>;
  /** The `disconnect` action: ends the shared connection without unsubscribing, until `connect` or the next start of this config node. */
  disconnect(): Promise<void>;
  /** A registered publisher keeps the connection up even when no consumer uses it. */
  addPublisher(publisher: Publisher): void;
  removePublisher(publisher: Publisher): void;
  /** See MqttSession.publish: `published` is called on PUBACK (QoS 1), PUBCOMP (QoS 2) or once written (QoS 0), or with the error. */
  publish(topic: string, payload: Buffer, options: PublishOptions, published: Published): void;
}
