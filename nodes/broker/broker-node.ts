// The `durable-mqtt-broker` config node's runtime: owns one session and shares its connection between the in and out nodes that use it.
import type { IPublishPacket } from 'mqtt';
import type { NodeAPI } from 'node-red';
import type { EventEmitter } from 'node:events';
import { guarded } from '../common/boundary';
import type { SessionConfig } from '../session/config/config';
import { IdRouter, TopicRouter } from '../session/subscriptions/router';
import { MqttSession, type SessionState, type Settle } from '../session/session';
import { carries, inboundTopicError } from '../session/subscriptions/topic';
import { pressureOf } from '../publisher/pressure';
import { ledgerFor } from './ledger-location';
import type { BrokerNode, Consumer, Publisher } from './types';
import { reportSession } from './reporter';
import { planOf } from './subscription-plan';
import { changeOf, untilApplied } from './until-applied';

type Parked = [topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle];

/**
 * Connects once the runtime has started every flow (`flows:started`), so each consumer is
 * registered before the first queued message arrives; a message that finds no consumer while a
 * deploy is under way is parked until the new nodes are in place.
 */
export function attachSession(RED: NodeAPI, node: BrokerNode, config: SessionConfig): void {
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
    const plan = planOf(consumers);
    session.setSubscriptions(plan.wanted, plan.flags);
    session.receiveMaximum = plan.receiveMaximum;
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
    for (const c of consumers) c.onState(s);
    for (const p of publishers) p.onState(s);
  });
  // The server the session is on or trying; with several, it changes.
  reportSession(node, session, config, () => session.server);
  session.on('subscribeFailed', (filter, code) => {
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
