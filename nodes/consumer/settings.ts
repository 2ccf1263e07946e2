// The properties of a durable-mqtt-in node, checked and defaulted; no Node-RED runtime needed, so the editor runs the same checks.
import type { NodeDef } from 'node-red';
import type { AckOptions } from '../acks/ack-after-complete';
import { migrate } from '../common/migrations';
import { asBool, numberIn } from '../session/config/config';
import type { QoS } from '../session/subscriptions/cover';
import type { SubscribeFlags } from '../session/subscriptions/flags';
import { MAX_TWO_BYTES } from '../session/connection/reasons';
import { filterError, splitFilters } from '../session/subscriptions/topic';
import { numberOf, textOf, unset } from '../session/config/values';
import { MAX_DELIVERIES, MAX_FILTERS_PER_NODE } from './limits';
import { consumerMigrations } from './migrations';

/** Output formats for msg.payload. `auto` is what core calls `auto-detect`; `text-or-buffer` is what core's older `auto` does. */
export const DATATYPES = ['auto', 'text-or-buffer', 'utf8', 'buffer', 'json', 'base64'] as const;
export type Datatype = (typeof DATATYPES)[number];
/** Core's name for our `auto`, accepted as written. */
const AUTO_DETECT = 'auto-detect';

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
  /** With ackOnError false: the delivery that fails this many times goes to the `failed` output and is acked; 0 or absent: no limit. */
  maxDeliveries?: number | string;
  /** MQTT 5 subscription options, as core's mqtt in saves them. */
  nl?: boolean | string;
  rap?: boolean | string;
  rh?: number | string;
  /** 1: the node has an input and takes core's msg.action (dynamic subscriptions); core's name and values. */
  inputs?: number | string;
  /** Which version of these properties the node was saved with (nodes/consumer/migrations.ts). */
  version?: number;
}

export type AckMode = 'complete' | 'receive';

export type ConsumerSettings = {
  filters: string[];
  qos: QoS;
  datatype: Datatype;
  statusOutput: boolean;
  ackMode: AckMode;
  ack: AckOptions;
  /** Deliveries of one message at most before it goes to the `failed` output (ackMode complete, ackOnError false); 0: no limit. */
  maxDeliveries: number;
  flags: SubscribeFlags;
  dynamic: boolean;
};

/** maxDeliveries 0: a saved flow without the property keeps redelivering a failed message for ever, as before it existed. */
export const ACK_DEFAULTS = { ackMode: 'complete', maxInFlight: 1000, ackTimeout: 30, ackOnError: true, maxDeliveries: 0 } as const;

/** True when the node has the `failed` output: a delivery limit that applies (complete mode, failed messages withheld). */
export const hasDeliveryLimit = (s: Pick<ConsumerSettings, 'ackMode' | 'ack' | 'maxDeliveries'>): boolean => s.ackMode === 'complete' && !s.ack.ackOnError && s.maxDeliveries > 0;

type Parsed = { ok: true; settings: ConsumerSettings } | { ok: false; key: string; error: string };

/** Checks a flow's properties, after upgrading them to the current version and applying defaults; an error names the property and the problem. */
export function parseConsumer(saved: ConsumerProps): Parsed {
  const props = migrate(saved, consumerMigrations);
  const filters = splitFilters(props.topic ?? '');
  // Core's test (10-mqtt.js: `n.inputs == 1`): a dynamic node may start with no filter of its own, as core's always does.
  const dynamic = numberOf(props.inputs) === 1;
  if (filters.length === 0 && !dynamic) return { ok: false, key: 'noTopic', error: 'no topic filter given' };
  if (filters.length > MAX_FILTERS_PER_NODE) return { ok: false, key: 'tooManyFilters', error: `${filters.length} topic filters; a node holds at most ${MAX_FILTERS_PER_NODE} (MAX_FILTERS_PER_NODE)` };
  for (const f of filters) {
    const why = filterError(f);
    if (why) return { ok: false, key: 'invalidTopic', error: `invalid topic filter "${f}": ${why}` };
  }
  const qos = props.qos === undefined || props.qos === '' ? 1 : numberOf(props.qos);
  if (qos !== 0 && qos !== 1 && qos !== 2) return { ok: false, key: 'invalidQos', error: `qos must be 0, 1 or 2, not "${textOf(props.qos)}"` };
  const datatype = (!props.datatype || props.datatype === AUTO_DETECT ? 'auto' : props.datatype) as Datatype;
  if (!DATATYPES.includes(datatype)) return { ok: false, key: 'invalidDatatype', error: `datatype must be one of ${[...DATATYPES, AUTO_DETECT].join(', ')}` };
  const ackMode = props.ackMode || ACK_DEFAULTS.ackMode;
  if (ackMode !== 'complete' && ackMode !== 'receive') return { ok: false, key: 'invalidAckMode', error: `ackMode must be "complete" or "receive", not "${ackMode}"` };
  // The window and the timeout only apply after the flow; on arrival they are ignored, as the editor hides them.
  const complete = ackMode === 'complete';
  const maxInFlight = complete ? numberIn(props.maxInFlight, ACK_DEFAULTS.maxInFlight, 1, MAX_TWO_BYTES, 'maxInFlight') : ACK_DEFAULTS.maxInFlight;
  if (typeof maxInFlight === 'string') return { ok: false, key: 'invalidMaxInFlight', error: maxInFlight };
  const ackTimeout = complete ? numberIn(props.ackTimeout, ACK_DEFAULTS.ackTimeout, 0, 86400, 'ackTimeout', false) : ACK_DEFAULTS.ackTimeout;
  if (typeof ackTimeout === 'string') return { ok: false, key: 'invalidAckTimeout', error: ackTimeout };
  const ackOnError = props.ackOnError === undefined || props.ackOnError === '' ? ACK_DEFAULTS.ackOnError : asBool(props.ackOnError);
  // Only a withheld message comes back to be counted: with ackOnError true the editor hides the limit, and it is ignored.
  const limited = complete && !ackOnError;
  const maxDeliveries = limited ? numberIn(props.maxDeliveries, ACK_DEFAULTS.maxDeliveries, 0, MAX_DELIVERIES, 'maxDeliveries') : ACK_DEFAULTS.maxDeliveries;
  if (typeof maxDeliveries === 'string') return { ok: false, key: 'invalidMaxDeliveries', error: maxDeliveries };
  const rh = unset(props.rh) ? 0 : numberOf(props.rh);
  if (rh !== 0 && rh !== 1 && rh !== 2) return { ok: false, key: 'invalidRh', error: `rh (retain handling) must be 0, 1 or 2, not "${textOf(props.rh)}"` };
  const flags: SubscribeFlags = { nl: asBool(props.nl), rap: asBool(props.rap), rh };
  return {
    ok: true,
    settings: { filters, qos, datatype, statusOutput: asBool(props.statusOutput), ackMode, ack: { maxInFlight, timeoutMs: ackTimeout * 1000, ackOnError }, maxDeliveries, flags, dynamic },
  };
}
