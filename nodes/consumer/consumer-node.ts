// The `durable-mqtt-in` node: turns session events into msgs, status badges and errors a Catch node sees.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { AckAfterComplete, type AckOptions } from '../acks/ack-after-complete';
import { acquireTracker, releaseTracker } from '../acks/flow-hooks';
import type { BrokerNode, Consumer } from '../broker/broker-node';
import { configErrorStatus, statusFor, statusPayload, type Translate } from '../common/status';
import { asBool, numberIn } from '../session/config';
import type { QoS } from '../session/cover';
import type { SessionState } from '../session/session';
import { filterError, splitFilters } from '../session/topic';
import { convertPayload, DATATYPES, type Datatype } from './payload';
import { toMessage } from './message';

export interface ConsumerProps extends NodeDef {
  broker?: string;
  topic?: string;
  qos?: number | string;
  datatype?: string;
  statusOutput?: boolean | string;
  ackMode?: string;
  maxInFlight?: number | string;
  ackTimeout?: number | string;
  ackOnError?: boolean | string;
}

export type AckMode = 'complete' | 'receive';

export type ConsumerSettings = { filters: string[]; qos: QoS; datatype: Datatype; statusOutput: boolean; ackMode: AckMode; ack: AckOptions };

export const ACK_DEFAULTS = { ackMode: 'complete', maxInFlight: 10, ackTimeout: 30, ackOnError: true } as const;

type Parsed = { ok: true; settings: ConsumerSettings } | { ok: false; key: string; error: string };

/** Checks a flow's properties, applying defaults; an error names the property and the problem. */
export function parseConsumer(props: ConsumerProps): Parsed {
  const filters = splitFilters(props.topic ?? '');
  if (filters.length === 0) return { ok: false, key: 'noTopic', error: 'no topic filter given' };
  for (const f of filters) {
    const why = filterError(f);
    if (why) return { ok: false, key: 'invalidTopic', error: `invalid topic filter "${f}": ${why}` };
  }
  const qos = props.qos === undefined || props.qos === '' ? 1 : Number(props.qos);
  if (qos !== 0 && qos !== 1 && qos !== 2) return { ok: false, key: 'invalidQos', error: `qos must be 0, 1 or 2, not "${String(props.qos)}"` };
  const datatype = (props.datatype || 'auto') as Datatype;
  if (!DATATYPES.includes(datatype)) return { ok: false, key: 'invalidDatatype', error: `datatype must be one of ${DATATYPES.join(', ')}` };
  const ackMode = props.ackMode || ACK_DEFAULTS.ackMode;
  if (ackMode !== 'complete' && ackMode !== 'receive') return { ok: false, key: 'invalidAckMode', error: `ackMode must be "complete" or "receive", not "${ackMode}"` };
  const maxInFlight = numberIn(props.maxInFlight, ACK_DEFAULTS.maxInFlight, 1, 65535, 'maxInFlight');
  if (typeof maxInFlight === 'string') return { ok: false, key: 'invalidMaxInFlight', error: maxInFlight };
  const ackTimeout = numberIn(props.ackTimeout, ACK_DEFAULTS.ackTimeout, 0, 86400, 'ackTimeout', false);
  if (typeof ackTimeout === 'string') return { ok: false, key: 'invalidAckTimeout', error: ackTimeout };
  const ackOnError = props.ackOnError === undefined || props.ackOnError === '' ? ACK_DEFAULTS.ackOnError : asBool(props.ackOnError);
  return {
    ok: true,
    settings: { filters, qos, datatype, statusOutput: asBool(props.statusOutput), ackMode, ack: { maxInFlight, timeoutMs: ackTimeout * 1000, ackOnError } },
  };
}

// Badge refreshes for the in-flight count, at most this often: a status goes to every open editor.
const STATUS_INTERVAL_MS = 250;

export function registerConsumer(RED: NodeAPI): void {
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
    const { filters, qos, datatype, statusOutput, ackMode, ack } = parsed.settings;
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
            newId: () => RED.util.generateId(),
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
