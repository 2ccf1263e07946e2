// The `durable-mqtt-in` node: turns session events into msgs, status badges and errors a Catch node sees.
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import { AckAfterComplete } from '../acks/ack-after-complete';
import { acquireTracker, releaseTracker } from '../acks/flow-hooks';
import type { BrokerNode, Consumer } from '../broker/types';
import { guarded } from '../common/boundary';
import { configErrorStatus, inFlightStatus, STATUS_INTERVAL_MS, statusFor, statusPayload, translator } from '../common/status';
import type { SessionState } from '../session/session';
import { carries } from '../session/subscriptions/topic';
import { convertPayload } from './payload';
import { toMessage } from './message';
import { messageIds } from './message-id';
import { hasDeliveryLimit, parseConsumer, type ConsumerProps } from './settings';
import { DeliveryLimit } from './delivery-limit';
import { onPort, outputPorts, type Port } from './outputs';
import { ActionHandler } from './actions';
import { dynamicStoreFor } from './dynamic-store';
import { DynamicSubscriptions } from './dynamic-subscriptions';
import { Delivery, type MessageFailed } from './delivery';
import type { ErrorSource } from './dead-letter';

export function registerConsumer(RED: NodeAPI): void {
  const newId = messageIds();
  // Text in the runtime's language, so a Status node sees what the badge says rather than a message key
  // (core sends keys, which only editors translate). Editors show such text as it is.
  const t = translator(RED);

  function DurableMqttIn(this: Node, props: ConsumerProps): void {
    RED.nodes.createNode(this, props);
    const broker = props.broker ? (RED.nodes.getNode(props.broker) as BrokerNode | null) : null;
    const parsed = parseConsumer(props);
    const fail = (key: string, error: string): void => {
      this.status(configErrorStatus(t, key));
      this.error(error);
    };
    if (!broker) return fail('noBroker', 'no broker configuration selected, or it was not found');
    if (!parsed.ok) return fail(parsed.key, parsed.error);
    const { filters, qos, datatype, statusOutput, ackMode, ack, flags } = parsed.settings;
    const ports = outputPorts({ failed: hasDeliveryLimit(parsed.settings), status: statusOutput });
    const sendOn = (port: Port, msg: NodeMessage): void => {
      const out = onPort(ports, port, msg);
      if (out) this.send(out);
    };
    const send = (msg: NodeMessage): void => sendOn('messages', msg);
    // Loaded before registering: after a restart the broker's queued messages for these filters find this node.
    const store = dynamicStoreFor(RED.settings, this.id);
    const opened = parsed.settings.dynamic ? DynamicSubscriptions.open(filters, { qos, flags }, store) : (store.clear(), undefined);
    const dynamic = opened?.subscriptions;
    if (opened?.error) this.error(opened.error);
    for (const warning of opened?.dropped ?? []) this.warn(warning);

    let state: SessionState = { state: 'idle' };
    let stalledNode: string | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    /** Filters of this node the broker refused; the badge stays red for them while connected. */
    const refused = new Set<string>();
    let shown = '';
    // A status goes to every editor and Status node: send it only when it changes.
    const status = (s: NodeStatus): void => {
      const key = JSON.stringify(s);
      if (key === shown) return;
      shown = key;
      this.status(s);
    };
    const showStatus = (): void => {
      statusTimer = undefined;
      const inFlight = acks?.inFlight ?? 0;
      if (state.state !== 'connected') status(statusFor(state, t));
      else if (refused.size > 0) status(configErrorStatus(t, 'subscribeRefused'));
      else if (stalledNode) status({ fill: 'yellow', shape: 'dot', text: t('durable-mqtt.status.ackTimeout', { node: stalledNode }) });
      else if (inFlight > 0) status(inFlightStatus(state, inFlight, t));
      else status(statusFor(state, t));
    };

    const warned = new Set<string>();
    const reported = new Set<string>();
    const tracker = ackMode === 'complete' && (qos > 0 || dynamic) ? acquireTracker(RED) : undefined;
    /**
     * The boundary where a msg is handed to the runtime: one whose send throws goes to Catch nodes,
     * and in complete mode the tracker finishes it as failed (acked unless ackOnError is false).
     */
    const sendMessage = guarded(sendOn, (err, _port, msg) => {
      this.error(err, msg);
      if (msg._msgid !== undefined) tracker?.fail(msg._msgid, err);
    });
    const acks = tracker
      ? new AckAfterComplete(tracker, ack, {
          send: (job) => sendMessage(job.output ?? 'messages', job.msg),
          newId,
          changed: () => {
            statusTimer ??= setTimeout(showStatus, STATUS_INTERVAL_MS);
          },
          stalled: (ids) => {
            const names = ids.map((id) => labelOf(RED, id));
            stalledNode = names.join(', ');
            for (const [i, id] of ids.entries()) {
              if (warned.has(id)) continue;
              warned.add(id);
              this.warn(`node ${names[i]} did not call done() within ${ack.timeoutMs / 1000} s; the message was acknowledged anyway (ackTimeout)`);
            }
          },
        })
      : undefined;
    const self: ErrorSource = { id: this.id, type: this.type, name: this.name };
    const limit =
      acks && hasDeliveryLimit(parsed.settings)
        ? new DeliveryLimit(parsed.settings.maxDeliveries, {
            rebuild: (topic, payload, packet) => toMessage(topic, convertPayload(payload, dynamic?.datatypeFor(topic) ?? datatype).value, packet),
            source: (id) => (id === undefined ? self : sourceOf(RED, id)),
            warn: (text) => this.warn(text),
          })
        : undefined;
    const messageFailed: MessageFailed = (err, msg, settle, attempt) => {
      this.error(err, msg);
      const dead = attempt?.failed(err);
      if (dead) acks?.offer(dead);
      else settle(acks && !ack.ackOnError ? 'withhold' : 'ack');
    };

    const consumer: Consumer = {
      get filters() {
        return dynamic?.filters ?? filters;
      },
      get options() {
        return dynamic?.options;
      },
      qos,
      flags,
      window: acks ? ack.maxInFlight : undefined,
      stopping: () => acks?.withholdAll(),
      // The boundary of a delivery: a throw before the msg is handed on goes the way of a failed conversion.
      deliver: guarded(
        (topic, payload, packet, brokerSettle) => {
          const attempt = limit && packet.qos > 0 ? limit.attempt(topic, payload, packet, brokerSettle) : undefined;
          // It reached the limit before and its dead letter did not complete: the dead letter again, not the flow.
          if (attempt?.exhausted) return acks?.offer(attempt.deadLetterAgain());
          const settle = attempt?.settle ?? brokerSettle;
          const converted = convertPayload(payload, dynamic?.datatypeFor(topic) ?? datatype);
          const msg = toMessage(topic, converted.value, packet);
          if (attempt && attempt.deliveries > 1) msg.deliveries = attempt.deliveries;
          // A payload that does not convert goes to Catch nodes with the raw text, never silently away.
          if (!converted.ok) {
            messageFailed(converted.error, msg, settle, attempt);
          } else if (acks && packet.qos > 0) {
            acks.offer(new Delivery(msg, settle, messageFailed, attempt));
          } else {
            msg._msgid = newId();
            sendMessage('messages', msg);
            settle('ack');
          }
        },
        (err, topic, payload, _packet, settle) => messageFailed(err, { topic, payload }, settle),
      ),
      onState: (s) => {
        // A new connection asks the broker again; a filter it still refuses is reported again before "connected".
        if (s.state !== 'connected') refused.clear();
        state = s;
        showStatus();
        if (s.state !== 'idle') sendOn('status', { topic: 'status', payload: statusPayload(s) });
      },
      onSubscribeFailed: (filter, code) => {
        refused.add(filter);
        showStatus();
        // The session reports it again after every reconnect; one error per filter is enough for a Catch node and the log.
        if (reported.has(filter)) return;
        reported.add(filter);
        if (actions?.awaits(filter)) return;
        this.error(`the broker refused the subscription ${filter} (code 0x${code.toString(16)})`);
      },
    };
    broker.register(consumer);
    // msg.action (core's dynamic subscriptions): the input exists only with `inputs: 1`.
    const failed = (key: string, err: Error, done: (err?: Error) => void): void => {
      status(configErrorStatus(t, key));
      done(err);
    };
    const succeeded = (): void => {
      // A refused filter that was unsubscribed since no longer makes the badge red.
      for (const f of refused) if (!consumer.filters.some((mine) => carries(f, mine))) refused.delete(f);
      showStatus();
    };
    const actions = dynamic && new ActionHandler({ broker, consumer, subscriptions: dynamic, send, fail: failed, succeeded });
    if (actions) this.on('input', (msg, _send, done) => actions.handle(msg, done));
    this.on('close', (removed: boolean, done: () => void) => {
      clearTimeout(statusTimer);
      // As core's mqtt nodes do on close (10-mqtt.js, deregister): after Stop or a redeploy the badge is not left green.
      this.status(statusFor({ state: 'disconnected' }, t));
      broker.unregister(consumer);
      if (removed) dynamic?.forget();
      if (acks) {
        acks.withholdAll();
        releaseTracker(RED);
      }
      done();
    });
  }
  RED.nodes.registerType('durable-mqtt-in', DurableMqttIn);
}

/** A node as msg.error.source names it; a node gone since (a redeploy) by its id alone. */
function sourceOf(RED: NodeAPI, id: string): ErrorSource {
  const n = RED.nodes.getNode(id) as (Node & { name?: string }) | null;
  return n ? { id, type: n.type, name: n.name } : { id, type: 'unknown' };
}

/** "name (type)" or the type, for naming a node in a warning. */
function labelOf(RED: NodeAPI, id: string): string {
  const n = RED.nodes.getNode(id) as (Node & { name?: string }) | null;
  if (!n) return id;
  return n.name ? `"${n.name}" (${n.type})` : `${n.type} ${id}`;
}
