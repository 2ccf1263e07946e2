// The `durable-mqtt-in` node: turns session events into msgs, status badges and errors a Catch node sees.
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { AckAfterComplete } from '../acks/ack-after-complete';
import { acquireTracker, releaseTracker } from '../acks/flow-hooks';
import type { BrokerNode, Consumer } from '../broker/broker-node';
import { configErrorStatus, statusFor, statusPayload, type Translate } from '../common/status';
import type { SessionState } from '../session/session';
import { convertPayload } from './payload';
import { toMessage } from './message';
import { messageIds } from './message-id';
import { parseConsumer, type ConsumerProps } from './settings';

// Badge refreshes for the in-flight count, at most this often: a status goes to every open editor.
const STATUS_INTERVAL_MS = 250;

export function registerConsumer(RED: NodeAPI): void {
  const newId = messageIds();
  // A bare key is translated by each editor in its own language; text with values in it cannot be, so the runtime fills it in.
  const t: Translate = (key, subs) => (subs ? RED._(key, subs) : key);

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
    const send = (msg: NodeMessage): void => this.send(statusOutput ? [msg, null] : msg);

    let state: SessionState = { state: 'idle' };
    let stalledNode: string | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    const showStatus = (): void => {
      statusTimer = undefined;
      const inFlight = acks?.inFlight ?? 0;
      if (state.state !== 'connected') this.status(statusFor(state, t));
      else if (stalledNode) this.status({ fill: 'yellow', shape: 'dot', text: t('durable-mqtt.status.ackTimeout', { node: stalledNode }) });
      else if (inFlight > 0) this.status({ fill: 'green', shape: 'dot', text: t('durable-mqtt.status.inflight', { count: inFlight }) });
      else this.status(statusFor(state, t));
    };

    const warned = new Set<string>();
    const acks =
      ackMode === 'complete' && qos > 0
        ? new AckAfterComplete(acquireTracker(RED), ack, {
            send,
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

    const consumer: Consumer = {
      filters,
      qos,
      flags,
      window: acks ? ack.maxInFlight : undefined,
      deliver: (topic, payload, packet, settle) => {
        const converted = convertPayload(payload, datatype);
        const msg = toMessage(topic, converted.value, packet);
        if (!converted.ok) {
          // A payload that does not convert goes to Catch nodes with the raw text, never silently away.
          this.error(converted.error, msg);
          settle(acks && !ack.ackOnError ? 'withhold' : 'ack');
        } else if (acks && packet.qos > 0) {
          acks.offer({ msg, settle });
        } else {
          msg._msgid = newId();
          send(msg);
          settle('ack');
        }
      },
      onState: (s) => {
        state = s;
        showStatus();
        if (statusOutput && s.state !== 'idle') this.send([null, { topic: 'status', payload: statusPayload(s) }]);
      },
      onSubscribeFailed: (filter, code) => {
        this.status(configErrorStatus(t, 'subscribeRefused'));
        this.error(`the broker refused the subscription ${filter} (code 0x${code.toString(16)})`);
      },
    };
    broker.register(consumer);
    this.on('close', (_removed: boolean, done: () => void) => {
      clearTimeout(statusTimer);
      broker.unregister(consumer);
      if (acks) {
        acks.close();
        releaseTracker(RED);
      }
      done();
    });
  }
  RED.nodes.registerType('durable-mqtt-in', DurableMqttIn);
}

/** "name (type)" or the type, for naming a node in a warning. */
function labelOf(RED: NodeAPI, id: string): string {
  const n = RED.nodes.getNode(id) as (Node & { name?: string }) | null;
  if (!n) return id;
  return n.name ? `"${n.name}" (${n.type})` : `${n.type} ${id}`;
}
