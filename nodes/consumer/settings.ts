// The properties of a durable-mqtt-in node, checked and defaulted; no Node-RED runtime needed, so the editor runs the same checks.
import type { NodeDef } from 'node-red';
import type { AckOptions } from '../acks/ack-after-complete';
import { asBool, numberIn } from '../session/config';
import type { QoS } from '../session/cover';
import { filterError, splitFilters } from '../session/topic';

/** Output formats for msg.payload. */
export const DATATYPES = ['auto', 'utf8', 'buffer', 'json', 'base64'] as const;
export type Datatype = (typeof DATATYPES)[number];

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
  // The window and the timeout only apply after the flow; on arrival they are ignored, as the editor hides them.
  const complete = ackMode === 'complete';
  const maxInFlight = complete ? numberIn(props.maxInFlight, ACK_DEFAULTS.maxInFlight, 1, 65535, 'maxInFlight') : ACK_DEFAULTS.maxInFlight;
  if (typeof maxInFlight === 'string') return { ok: false, key: 'invalidMaxInFlight', error: maxInFlight };
  const ackTimeout = complete ? numberIn(props.ackTimeout, ACK_DEFAULTS.ackTimeout, 0, 86400, 'ackTimeout', false) : ACK_DEFAULTS.ackTimeout;
  if (typeof ackTimeout === 'string') return { ok: false, key: 'invalidAckTimeout', error: ackTimeout };
  const ackOnError = props.ackOnError === undefined || props.ackOnError === '' ? ACK_DEFAULTS.ackOnError : asBool(props.ackOnError);
  return {
    ok: true,
    settings: { filters, qos, datatype, statusOutput: asBool(props.statusOutput), ackMode, ack: { maxInFlight, timeoutMs: ackTimeout * 1000, ackOnError } },
  };
}
