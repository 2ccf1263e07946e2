// The `durable-mqtt-in` node: turns session events into msgs, status badges and errors a Catch node sees.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { BrokerNode, Consumer } from '../broker/broker-node';
import { configErrorStatus, statusFor, statusPayload, type Translate } from '../common/status';
import type { QoS } from '../session/cover';
import { filterError, splitFilters } from '../session/topic';
import { convertPayload, DATATYPES, type Datatype } from './payload';
import { toMessage } from './message';

export interface ConsumerProps extends NodeDef {
  broker?: string;
  topic?: string;
  qos?: number | string;
  datatype?: string;
  statusOutput?: boolean | string;
}

export type ConsumerSettings = { filters: string[]; qos: QoS; datatype: Datatype; statusOutput: boolean };

/** Checks a flow's properties, applying defaults; an error names the property and the problem. */
export function parseConsumer(props: ConsumerProps): { ok: true; settings: ConsumerSettings } | { ok: false; key: string; error: string } {
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
  return { ok: true, settings: { filters, qos, datatype, statusOutput: props.statusOutput === true || props.statusOutput === 'true' } };
}

export function registerConsumer(RED: NodeAPI): void {
  const t: Translate = (key, subs) => RED._(key, subs);

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
    const { filters, qos, datatype, statusOutput } = parsed.settings;
    const send = (msg: NodeMessage): void => this.send(statusOutput ? [msg, null] : msg);

    const consumer: Consumer = {
      filters,
      qos,
      deliver: (topic, payload, packet) => {
        const converted = convertPayload(payload, datatype);
        const msg = toMessage(topic, converted.value, packet);
        // A payload that does not convert goes to Catch nodes with the raw text, never silently away.
        if (!converted.ok) this.error(converted.error, msg);
        else send(msg);
      },
      onState: (s) => {
        this.status(statusFor(s, t));
        if (statusOutput && s.state !== 'idle') this.send([null, { topic: 'status', payload: statusPayload(s) }]);
      },
      onSubscribeFailed: (filter, code) => {
        this.status(configErrorStatus(t, 'subscribeRefused'));
        this.error(`the broker refused the subscription ${filter} (code 0x${code.toString(16)})`);
      },
    };
    broker.register(consumer);
    this.on('close', (_removed: boolean, done: () => void) => {
      broker.unregister(consumer);
      done();
    });
  }
  RED.nodes.registerType('durable-mqtt-in', DurableMqttIn);
}
