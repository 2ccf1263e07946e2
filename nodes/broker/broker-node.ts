// The `durable-mqtt-broker` config node: owns one session and shares its connection between the in and out nodes that use it.
import type { IPublishPacket } from 'mqtt';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { EventEmitter } from 'node:events';
import { guarded } from '../common/boundary';
import { migrate } from '../common/migrations';
import { displayUrl, parseConfig, type SessionConfig, type TlsOptions } from '../session/config';
import type { QoS } from '../session/cover';
import type { SubscribeFlags } from '../session/flags';
import { stateDirOf, userDirOf } from '../session/durable-file';
import { FileLedger, MemoryLedger, type SubscriptionLedger } from '../session/ledger';
import { IdRouter, TopicRouter } from '../session/router';
import { MAX_TWO_BYTES } from '../session/reasons';
import { MqttSession, type PublishOptions, type Published, type SessionState, type Settle } from '../session/session';
import { carries, inboundTopicError } from '../session/topic';
import { pressureOf } from '../publisher/pressure';
import { brokerMigrations } from './migrations';
import { changeOf, untilApplied } from './until-applied';

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
   * False from flows:stopping until flows:started (and before the first start): nodes may be
   * stopped, so what is inside the flow is withheld and new messages are not sent into it.
   */
  setRunning(running: boolean): void;
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

/** The part of the core `tls-config` node we use. */
interface TlsConfigNode extends Node {
  addTLSOptions(options: TlsOptions): void;
}

/** Core's `http proxy` config node (06-httpproxy.js). */
interface HttpProxyNode extends Node<{ username?: string; password?: string }> {
  url?: string;
  noproxy?: string[];
}

type Parked = [topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle];


export function registerBroker(RED: NodeAPI): void {
  function DurableMqttBroker(this: Node<BrokerCredentials>, saved: BrokerProps): void {
    RED.nodes.createNode(this, saved);
    const node = this as BrokerNode;
    // Older saves, and core mqtt-broker nodes with their type switched, are read in today's terms first.
    const props = migrate(saved, brokerMigrations);
    const tlsNode = props.tls ? (RED.nodes.getNode(props.tls) as TlsConfigNode | null) : null;
    let tls: TlsOptions | undefined;
    if (tlsNode) tlsNode.addTLSOptions((tls = {}));
    const proxyNode = props.proxy ? (RED.nodes.getNode(props.proxy) as HttpProxyNode | null) : null;
    const httpProxy = proxyNode ? { url: proxyNode.url, noproxy: proxyNode.noproxy, ...proxyNode.credentials } : undefined;
    // A chosen TLS or proxy node that is gone (deleted, disabled, left out of an import) fails closed:
    // without it the credentials would go in plain text, or around the proxy the network requires.
    const dangling = props.tls && !tlsNode ? `TLS configuration node ${props.tls} not found` : props.proxy && !proxyNode ? `HTTP proxy configuration node ${props.proxy} not found` : undefined;
    const parsed = dangling ? ({ ok: false, error: dangling } as const) : parseConfig({ ...props, username: this.credentials?.user, password: this.credentials?.password, tls, httpProxy });
    if (!parsed.ok) {
      node.error(`invalid broker configuration: ${parsed.error}`);
      node.register = (c) => c.onState({ state: 'error', reason: 'invalidConfig', detail: parsed.error });
      node.unregister = () => undefined;
      node.resubscribe = () => Promise.resolve([]);
      node.connect = () => Promise.reject(new Error(`invalid broker configuration: ${parsed.error}`));
      node.disconnect = () => Promise.resolve();
      node.addPublisher = (p) => p.onState({ state: 'error', reason: 'invalidConfig', detail: parsed.error });
      node.removePublisher = () => undefined;
      node.publish = (_topic, _payload, _options, published) => published(new Error(`invalid broker configuration: ${parsed.error}`));
      return;
    }
    node.identity = { url: displayUrl(parsed.config.url), clientId: parsed.config.clientId };
    attachSession(RED, node, parsed.config);
  }
  RED.nodes.registerType<Node<BrokerCredentials>, BrokerProps, unknown, BrokerCredentials>('durable-mqtt-broker', DurableMqttBroker, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

/**
 * Connects once the runtime has started every flow (`flows:started`), so each consumer is
 * registered before the first queued message arrives; a message that finds no consumer while a
 * deploy is under way is parked until the new nodes are in place.
 */
function attachSession(RED: NodeAPI, node: BrokerNode, config: SessionConfig): void {
  // The server the session is on or trying; with several, it changes.
  const where = (): string => `${session.server} as "${config.clientId}"`;
  const ledger = ledgerFor(RED, config);
  let session = new MqttSession(config, ledger, { manualAcks: true });
  // While an out node of this runtime cannot keep up, its upstream must not outrun it (ackMode receive takes no window).
  const pressure = pressureOf(RED);
  const onPressure = (pressed: boolean): void => session.holdIntake(pressed);
  /** The `disconnect` action closed `session`; only `connect` opens a new one. */
  let stopped = false;
  const consumers = new Set<Consumer>();
  const publishers = new Set<Publisher>();
  const router = new TopicRouter<Consumer>();
  let settled = false;
  let parked: Parked[] = [];
  // What this episode of trouble has logged already; an episode ends at the next "connected".
  const logged = new Set<string>();

  // MQTT 5 routing by subscription identifier; rebuilt when the consumers or the held identifiers change.
  let idRouter: IdRouter<Consumer> | undefined;
  let idsSeen: ReadonlyMap<string, number> | undefined;
  const byId = (topic: string, packet: IPublishPacket): ReadonlySet<Consumer> | undefined => {
    const id = packet.properties?.subscriptionIdentifier;
    if (id === undefined) return undefined;
    const ids = session.subscriptionIds;
    if (!idRouter || ids !== idsSeen) {
      idRouter = new IdRouter(ids, new Map([...consumers].map((c) => [c, c.filters])));
      idsSeen = ids;
    }
    return idRouter.match(topic, id);
  };
  const routesChanged = (): void => {
    idRouter = undefined;
  };

  const route = (topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle): void => {
    const bad = inboundTopicError(topic);
    if (bad) throw new Error(bad);
    const viaId = byId(topic, packet);
    const targets = viaId ?? router.match(topic);
    if (targets.size === 0) {
      // Mid-deploy the consumer may be on its way; otherwise nobody wants it (a filter covering theirs matched wider),
      // or it is an MQTT 5 copy of a message another copy brings to every node that wants it.
      if (!settled && (viaId === undefined || router.match(topic).size === 0)) parked.push([topic, payload, packet, settle]);
      else settle('ack');
      return;
    }
    const each = targets.size === 1 ? settle : joinSettles(targets.size, settle);
    for (const c of targets) c.deliver(topic, payload, packet, each);
  };

  const apply = (): void => {
    const wanted = new Map<string, QoS>();
    for (const c of consumers) for (const f of c.filters) wanted.set(f, Math.max(wanted.get(f) ?? 0, c.options?.get(f)?.qos ?? c.qos) as QoS);
    session.setSubscriptions(wanted, [...consumers].flatMap((c) => c.filters.map((f) => [f, c.options?.get(f)?.flags ?? c.flags ?? {}] as const)));
    session.receiveMaximum = receiveMaximum(consumers);
    // With no consumers left, connect only to remove subscriptions the broker still holds, or for publishers.
    if (!session.started && (consumers.size > 0 || publishers.size > 0 || (ledger.load()?.size ?? 0) > 0)) session.start();
  };

  const onStarted = (): void => {
    settled = true;
    for (const c of consumers) c.setRunning(true);
    apply();
    // Messages a stopped consumer left unfinished were withheld; reconnecting makes the broker resend them.
    session.redeliverWithheld();
    const held = parked;
    parked = [];
    for (const [topic, payload, packet, settle] of held) {
      if (router.match(topic).size === 0) node.debug(`no consumer wants ${topic} any more; acknowledged`);
      route(topic, payload, packet, settle);
    }
  };
  // Fires before any node closes, whatever the deploy type and the node order in flows.json.
  const onStopping = (): void => {
    settled = false;
    for (const c of consumers) c.setRunning(false);
  };

  // The boundary of the route: our consumers' deliver has its own, so a throw here comes before the message was settled.
  // Acknowledged rather than withheld: a message that breaks routing would break it again at every redelivery.
  session.on(
    'message',
    guarded(route, (err, topic, payload, _packet, settle) => {
      node.error(`routing the message on ${topic} failed, so it was acknowledged without delivery: ${err.message}`, { topic, payload });
      settle('ack');
    }),
  );
  session.on('state', (s) => {
    logState(node, s, where(), logged);
    for (const c of consumers) c.onState(s);
    for (const p of publishers) p.onState(s);
  });
  session.on('takeover', () => node.warn(`client ID "${config.clientId}" is in use by another client at ${session.server}: the broker keeps disconnecting one of you; backing off`));
  // Once per server left behind: a cluster moves the session with us, independent brokers do not.
  const leftBehind = new Set<string>();
  session.on('moved', ({ from, to }, sessionPresent) => {
    if (sessionPresent || config.cleanSession) return node.log(`moved from ${from} to ${to}`);
    if (leftBehind.has(from)) return node.log(`moved from ${from} to ${to}, which holds no session for "${config.clientId}": subscribed again`);
    leftBehind.add(from);
    node.warn(`moved from ${from} to ${to}, which holds no session for "${config.clientId}" (not one cluster): subscribed again; what ${from} held for this session (queued and unacknowledged messages) stays there until this client connects to it again or the session expires`);
  });
  // Work of the session that failed (ledger, SUBSCRIBE, birth, close message…): once per episode, with its cause, into the log and the debug sidebar.
  session.on('failure', ({ operation, error }) => {
    const key = `failure:${operation}`;
    if (logged.has(key)) return;
    logged.add(key);
    node.warn(`${operation} failed at ${where()}: ${error.message}`);
  });
  session.on('subscribed', (subs) => node.log(`subscribed ${[...subs].map(([f, q]) => `${f} (QoS ${q})`).join(', ')}`));
  session.on('unsubscribed', (filters) => node.log(`unsubscribed ${filters.join(', ')}`));
  session.on('redelivery', (attempt, delayMs) => {
    // The first redelivery may be a redeploy's; a second in a row means a message keeps failing. Once per episode.
    const text = `messages left unacknowledged (ackOnError false, or a redeploy) come back by reconnecting in ${(delayMs / 1000).toFixed(1)} s (redelivery ${attempt} in a row)`;
    if (attempt === 2) node.warn(`${text}; a message that keeps failing comes back with growing delays up to ${config.backoff.max / 1000} s`);
    else node.debug(text);
  });
  let shedWarned = false;
  session.on('shed', ({ qos12, qos0 }) => {
    // Each refetch is a new connection, a new episode; a broker that overshoots keeps doing it, so the warning comes once.
    const say = shedWarned ? (text: string) => node.debug(text) : (text: string) => node.warn(text);
    shedWarned = true;
    say(`${where()} sent more messages than the flows take while they were full, past what is held in memory (a broker with no in-flight limit): ` +
      `${qos12} QoS 1/2 messages are fetched again by reconnecting${qos0 ? `, ${qos0} QoS 0 messages were dropped` : ''}. Set the broker's in-flight limit, or use MQTT 5.`);
  });
  session.on('subscribeFailed', (filter, code) => {
    node.error(`broker refused subscription ${filter} (code 0x${code.toString(16)})`);
    for (const c of consumers) if (c.filters.some((f) => carries(filter, f))) c.onSubscribeFailed(filter, code);
  });

  node.register = (c) => {
    consumers.add(c);
    router.set(c, c.filters);
    routesChanged();
    c.setRunning(settled);
    c.onState(session.state);
  };
  node.unregister = (c) => {
    consumers.delete(c);
    router.delete(c);
    routesChanged();
  };
  node.resubscribe = (c) => {
    router.set(c, c.filters);
    routesChanged();
    // Before flows:started the connection waits for every node; onStarted applies the change.
    if (!settled || !consumers.has(c)) return Promise.resolve([]);
    const before = session.subscriptions;
    apply();
    return untilApplied(session, ledger, changeOf(before, session.subscriptions, c.filters));
  };
  node.disconnect = async () => {
    if (stopped) return;
    stopped = true;
    await session.close();
  };
  node.connect = async ({ force }) => {
    if (force && !stopped) await node.disconnect();
    if (stopped) {
      stopped = false;
      session = reopened(session, new MqttSession(config, ledger, { manualAcks: true }));
      session.holdIntake(pressure.pressed);
      apply();
    }
    await untilConnected(session);
  };

  node.addPublisher = (p) => {
    publishers.add(p);
    p.onState(session.state);
  };
  node.removePublisher = (p) => {
    publishers.delete(p);
  };
  node.publish = (topic, payload, options, published) => session.publish(topic, payload, options, published);

  pressure.on('change', onPressure);
  session.holdIntake(pressure.pressed);
  RED.events.on('flows:started', onStarted);
  RED.events.on('flows:stopping', onStopping);
  node.on('close', (removed: boolean, done: () => void) => {
    RED.events.off('flows:started', onStarted);
    RED.events.off('flows:stopping', onStopping);
    pressure.off('change', onPressure);
    // A deleted config node removes its subscriptions so the broker stops queueing for nobody.
    session.close({ forget: removed }).then(done, done);
  });
}

/**
 * A closed session cannot start again: its successor on the same ledger takes over the listeners
 * this node attached. Listeners that wait for one change have all gone at the close (its state event).
 */
function reopened(old: MqttSession, next: MqttSession): MqttSession {
  // EventEmitter<SessionEvents> types each listener by its event; copying them all needs the untyped view.
  const from = old as unknown as EventEmitter;
  const to = next as unknown as EventEmitter;
  for (const name of from.eventNames()) for (const listener of from.rawListeners(name)) to.on(name, listener as (...args: unknown[]) => void);
  return next;
}

/** Resolves at the next "connected"; rejects at an error or a disconnect, while the session goes on retrying (or stays closed). */
function untilConnected(session: MqttSession): Promise<void> {
  if (session.state.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onState = (s: SessionState): void => {
      if (s.state === 'connecting' || s.state === 'reconnecting' || s.state === 'idle') return;
      session.off('state', onState);
      if (s.state === 'connected') resolve();
      else reject(new Error(`could not connect: ${s.reason ?? s.state}${s.state === 'error' && s.detail ? ` (${s.detail})` : ''}`));
    };
    session.on('state', onState);
  });
}

/** Settles a message delivered to `n` consumers once all have; any withhold withholds it. */
function joinSettles(n: number, settle: Settle): Settle {
  let left = n;
  let verdict: Parameters<Settle>[0] = 'ack';
  return (v) => {
    if (v === 'withhold') verdict = v;
    if (--left === 0) settle(verdict);
  };
}

/** MQTT 5 Receive Maximum: the sum of the consumers' windows, so the broker never sends more than they take. */
function receiveMaximum(consumers: Iterable<Consumer>): number | undefined {
  let sum = 0;
  for (const c of consumers) sum += c.window ?? 0;
  return sum > 0 ? Math.min(sum, MAX_TWO_BYTES) : undefined;
}

function ledgerFor(RED: NodeAPI, config: SessionConfig): SubscriptionLedger {
  const key = `${displayUrl(config.url)}|${config.clientId}`;
  const userDir = userDirOf(RED.settings);
  // Without a userDir (the test helper) or with clean sessions, the ledger lives as long as the process.
  if (config.cleanSession || userDir === undefined) return new MemoryLedger(key);
  return new FileLedger(stateDirOf(userDir), key);
}

/** Connects and disconnects at info level, each failure once per episode at warn; never the password. */
function logState(node: Node, s: SessionState, where: string, logged: Set<string>): void {
  const first = (key: string): boolean => !logged.has(key) && logged.add(key).size > 0;
  switch (s.state) {
    case 'connected':
      logged.clear();
      node.log(`connected to ${where} (session ${s.sessionPresent ? 'present' : 'new'})`);
      break;
    case 'disconnected':
      if (first('disconnected')) node.log(`disconnected from ${where}${s.reason ? `: ${s.reason}` : ''}`);
      break;
    case 'error':
      if (first(s.reason)) node.warn(`cannot stay connected to ${where}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
      break;
    default:
      break;
  }
}
