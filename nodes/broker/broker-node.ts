// The `durable-mqtt-broker` config node's runtime: owns one session and shares its connection between the in and out nodes that use it.
import type { NodeAPI } from 'node-red';
import type { EventEmitter } from 'node:events';
import type { SessionConfig } from '../session/config/config';
import { MqttSession, type SessionState } from '../session/session';
import { pressureOf } from '../publisher/pressure';
import { Dispatcher } from './dispatch';
import { ledgerFor } from './ledger-location';
import type { BrokerNode, Publisher } from './types';
import { reportSession } from './reporter';
import { planOf } from './subscription-plan';
import { changeOf, untilApplied } from './until-applied';

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
  const publishers = new Set<Publisher>();
  const dispatcher = new Dispatcher({
    subscriptionIds: () => session.subscriptionIds,
    routeFailed: (err, topic, payload) => node.error(`routing the message on ${topic} failed, so it was acknowledged without delivery: ${err.message}`, { topic, payload }),
    debug: (text) => node.debug(text),
  });

  const apply = (): void => {
    const plan = planOf(dispatcher.consumers);
    session.setSubscriptions(plan.wanted, plan.flags);
    session.receiveMaximum = plan.receiveMaximum;
    // With no consumers left, connect only to remove subscriptions the broker still holds, or for publishers.
    if (!session.started && (dispatcher.consumers.size > 0 || publishers.size > 0 || (ledger.load()?.size ?? 0) > 0)) session.start();
  };

  const onStarted = (): void => {
    dispatcher.start();
    apply();
    // Messages a stopped consumer left unfinished were withheld; reconnecting makes the broker resend them.
    session.redeliverWithheld();
    dispatcher.replay();
  };
  const onStopping = (): void => dispatcher.stop();

  session.on('message', dispatcher.route);
  session.on('state', (s) => {
    for (const c of dispatcher.consumers) c.onState(s);
    for (const p of publishers) p.onState(s);
  });
  // The server the session is on or trying; with several, it changes.
  reportSession(node, session, config, () => session.server);
  session.on('subscribeFailed', (filter, code) => dispatcher.refused(filter, code));

  node.register = (c) => {
    dispatcher.add(c);
    c.onState(session.state);
  };
  node.unregister = (c) => dispatcher.delete(c);
  node.resubscribe = (c) => {
    // Before flows:started the connection waits for every node; onStarted applies the change.
    if (!dispatcher.reroute(c) || !dispatcher.running) return Promise.resolve([]);
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
