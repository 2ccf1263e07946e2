// The `durable-mqtt-broker` config node's runtime: owns one session and shares its connection between the in and out nodes that use it.
import type { NodeAPI } from 'node-red';
import type { SessionConfig } from '../session/config/config';
import { MqttSession } from '../session/session';
import { pressureOf } from '../common/pressure';
import { Dispatcher } from './dispatch';
import { ledgerFor } from './ledger-location';
import type { BrokerNode, Publisher } from './types';
import { reportSession } from './reporter';
import { SessionHandle } from './session-handle';
import { planOf } from './subscription-plan';
import { changeOf, untilApplied } from './until-applied';

/**
 * Connects once the runtime has started every flow (`flows:started`), so each consumer is
 * registered before the first queued message arrives; a message that finds no consumer while a
 * deploy is under way is parked until the new nodes are in place.
 */
export function attachSession(RED: NodeAPI, node: BrokerNode, config: SessionConfig): void {
  const ledger = ledgerFor(RED.settings, config);
  // While an out node of this runtime cannot keep up, its upstream must not outrun it (ackMode receive takes no window).
  const pressure = pressureOf(RED);
  const handle = new SessionHandle(() => {
    const session = new MqttSession(config, ledger, { manualAcks: true });
    session.holdIntake(pressure.pressed);
    return session;
  });
  const onPressure = (pressed: boolean): void => handle.current.holdIntake(pressed);
  const publishers = new Set<Publisher>();
  const dispatcher = new Dispatcher({
    subscriptionIds: () => handle.current.subscriptionIds,
    routeFailed: (err, topic, payload) => node.error(`routing the message on ${topic} failed, so it was acknowledged without delivery: ${err.message}`, { topic, payload }),
    debug: (text) => node.debug(text),
  });

  const apply = (): void => {
    const session = handle.current;
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
    handle.current.redeliverWithheld();
    dispatcher.replay();
  };
  const onStopping = (): void => dispatcher.stop();

  handle.on('message', dispatcher.route);
  handle.on('state', (s) => {
    for (const c of dispatcher.consumers) c.onState(s);
    for (const p of publishers) p.onState(s);
  });
  // The server the session is on or trying; with several, it changes.
  reportSession(node, handle, config, () => handle.current.server);
  handle.on('subscribeFailed', (filter, code) => dispatcher.refused(filter, code));

  node.register = (c) => {
    dispatcher.add(c);
    c.onState(handle.current.state);
  };
  node.unregister = (c) => dispatcher.delete(c);
  node.resubscribe = (c) => {
    // Before flows:started the connection waits for every node; onStarted applies the change.
    if (!dispatcher.reroute(c) || !dispatcher.running) return Promise.resolve([]);
    const session = handle.current;
    const before = session.subscriptions;
    apply();
    return untilApplied(session, ledger, changeOf(before, session.subscriptions, c.filters));
  };
  node.disconnect = () => handle.disconnect();
  node.connect = async ({ force }) => {
    if (force) await handle.disconnect();
    if (handle.reopen()) apply();
    await handle.untilConnected();
  };

  node.addPublisher = (p) => {
    publishers.add(p);
    p.onState(handle.current.state);
  };
  node.removePublisher = (p) => {
    publishers.delete(p);
  };
  node.publish = (topic, payload, options, published) => handle.current.publish(topic, payload, options, published);

  pressure.on('change', onPressure);
  RED.events.on('flows:started', onStarted);
  RED.events.on('flows:stopping', onStopping);
  node.on('close', (removed: boolean, done: () => void) => {
    RED.events.off('flows:started', onStarted);
    RED.events.off('flows:stopping', onStopping);
    pressure.off('change', onPressure);
    // A deleted config node removes its subscriptions so the broker stops queueing for nobody.
    handle.close({ forget: removed }).then(done, done);
  });
}
