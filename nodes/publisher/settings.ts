// The properties of a durable-mqtt-out node, checked and defaulted; no Node-RED runtime needed, so the editor runs the same checks.
import type { NodeDef } from 'node-red';
import { asBool, numberIn } from '../session/config/config';
import { FULL_POLICIES, type FullPolicy, type OutboxLimits } from './limits';
import { topicError, type PublishDefaults } from './publication';
import { numberOf, textOf } from '../session/config/values';

export interface PublisherProps extends NodeDef {
  broker?: string;
  topic?: string;
  /** Empty: msg.qos decides. */
  qos?: number | string;
  /** Empty: msg.retain decides. */
  retain?: boolean | string;
  outboxMaxMessages?: number | string;
  outboxMaxMB?: number | string;
  outboxWhenFull?: string;
}

export interface PublisherSettings extends PublishDefaults {
  readonly outbox: OutboxLimits;
}

export const PUBLISHER_DEFAULTS = { qos: 1, outboxMaxMessages: 10_000, outboxMaxMB: 100, outboxWhenFull: 'refuse' } as const;
const BYTES_PER_MB = 1024 * 1024;

type Parsed = { ok: true; settings: PublisherSettings } | { ok: false; key: string; error: string };

/** Checks a flow's properties: an omitted property gets its default, an empty qos or retain defers to the msg. */
export function parsePublisher(props: PublisherProps): Parsed {
  const topic = (props.topic ?? '').trim();
  const why = topic ? topicError(topic) : undefined;
  if (why) return { ok: false, key: 'invalidTopic', error: `invalid topic "${topic}": ${why}` };
  const qos = props.qos === undefined ? PUBLISHER_DEFAULTS.qos : props.qos === '' ? undefined : numberOf(props.qos);
  if (qos !== undefined && qos !== 0 && qos !== 1 && qos !== 2) return { ok: false, key: 'invalidQos', error: `qos must be 0, 1 or 2, not "${textOf(props.qos)}"` };
  const retain = props.retain === undefined || props.retain === '' ? undefined : asBool(props.retain);
  const maxMessages = numberIn(props.outboxMaxMessages, PUBLISHER_DEFAULTS.outboxMaxMessages, 1, 10_000_000, 'outboxMaxMessages');
  if (typeof maxMessages === 'string') return { ok: false, key: 'invalidOutboxMaxMessages', error: maxMessages };
  const maxMB = numberIn(props.outboxMaxMB, PUBLISHER_DEFAULTS.outboxMaxMB, 0.001, 100_000, 'outboxMaxMB', false);
  if (typeof maxMB === 'string') return { ok: false, key: 'invalidOutboxMaxMB', error: maxMB };
  const whenFull = (props.outboxWhenFull || PUBLISHER_DEFAULTS.outboxWhenFull) as FullPolicy;
  if (!FULL_POLICIES.includes(whenFull)) return { ok: false, key: 'invalidOutboxWhenFull', error: `outboxWhenFull must be one of ${FULL_POLICIES.join(', ')}` };
  return { ok: true, settings: { topic, qos, retain, outbox: { maxMessages, maxBytes: Math.round(maxMB * BYTES_PER_MB), whenFull } } };
}
