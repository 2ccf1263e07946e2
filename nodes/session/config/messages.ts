// The birth, close and will messages of a broker config, read from core's property names (birthTopic, birthQos, birthMsg…).
import type { IClientOptions, IClientPublishOptions } from 'mqtt';
import type { QoS } from '../subscriptions/cover';
import { propertiesError } from './properties';
import { topicError } from '../subscriptions/topic';
import { asText, blank, numberOf } from './values';

type Kind = 'birth' | 'close' | 'will';

/** Core's MQTT 5 extras of one message (`birthMsg` …), as its dialog saves them. */
interface RawExtras {
  contentType?: unknown;
  userProps?: unknown;
  respTopic?: unknown;
  correl?: unknown;
  expiry?: unknown;
  /** Will only: seconds the broker waits before publishing the will. */
  delay?: unknown;
}

export type RawMessages = { [K in `${Kind}${'Topic' | 'Payload' | 'Qos' | 'Retain' | 'Msg'}`]?: unknown };

/** One message to publish: what MQTT.js's publish takes. */
export interface ConfiguredMessage {
  readonly topic: string;
  readonly payload: string;
  readonly options: IClientPublishOptions & { qos: QoS; retain: boolean };
}

export interface ConfiguredMessages {
  readonly birth?: ConfiguredMessage;
  readonly close?: ConfiguredMessage;
  /** In the form MQTT.js's CONNECT takes it. */
  readonly will?: IClientOptions['will'];
}


/** MQTT 5 publish properties from core's extras; undefined values are left out. */
function properties(x: RawExtras, kind: Kind): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  if (!blank(x.contentType)) out.contentType = asText(x.contentType);
  if (!blank(x.respTopic)) out.responseTopic = asText(x.respTopic);
  if (!blank(x.correl)) out.correlationData = Buffer.from(asText(x.correl));
  const numbers: ['expiry' | 'delay', string][] = [['expiry', 'messageExpiryInterval']];
  if (kind === 'will') numbers.push(['delay', 'willDelayInterval']);
  for (const [from, to] of numbers) {
    if (blank(x[from])) continue;
    const n = numberOf(x[from]);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return `${kind}Msg.${from} must be a whole number of seconds`;
    out[to] = n;
  }
  if (!blank(x.userProps)) {
    let props: unknown = x.userProps;
    try {
      if (typeof props === 'string') props = JSON.parse(props);
    } catch {
      return `${kind}Msg.userProps must be a JSON object`;
    }
    if (typeof props !== 'object' || props === null || Array.isArray(props)) return `${kind}Msg.userProps must be a JSON object`;
    out.userProperties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  return out;
}

/** One message, or undefined when its topic is empty (core's "no birth message"), or an error text. */
function parseOne(raw: RawMessages, kind: Kind, v5: boolean): ConfiguredMessage | undefined | string {
  const topic = raw[`${kind}Topic`];
  if (blank(topic)) return undefined;
  const text = asText(topic).trim();
  // Mosquitto closes the connection on a topic it cannot read: a will such as that would keep every CONNECT from succeeding.
  const why = topicError(text);
  if (why) return `${kind}Topic ${JSON.stringify(text)}: ${why}`;
  const qos = blank(raw[`${kind}Qos`]) ? 0 : numberOf(raw[`${kind}Qos`]);
  if (qos !== 0 && qos !== 1 && qos !== 2) return `${kind}Qos must be 0, 1 or 2`;
  const retainRaw = raw[`${kind}Retain`];
  const payloadRaw = raw[`${kind}Payload`];
  const payload = typeof payloadRaw === 'object' && payloadRaw !== null ? JSON.stringify(payloadRaw) : asText(payloadRaw);
  const extras = raw[`${kind}Msg`];
  const props = v5 && typeof extras === 'object' && extras !== null ? properties(extras, kind) : {};
  if (typeof props === 'string') return props;
  const bad = propertiesError(props);
  if (bad) return `${kind}Msg: invalid ${bad}`;
  const options: ConfiguredMessage['options'] = { qos, retain: retainRaw === true || retainRaw === 'true', ...(Object.keys(props).length > 0 ? { properties: props } : {}) };
  return { topic: text, payload, options };
}

/** Every configured message, checked; a message without a topic is not sent, as in core. */
export function parseMessages(raw: RawMessages, v5: boolean): { messages: ConfiguredMessages } | { error: string } {
  const found: Partial<Record<Kind, ConfiguredMessage>> = {};
  for (const kind of ['birth', 'close', 'will'] as const) {
    const m = parseOne(raw, kind, v5);
    if (typeof m === 'string') return { error: m };
    if (m) found[kind] = m;
  }
  const w = found.will;
  const will = w ? { topic: w.topic, payload: w.payload, qos: w.options.qos, retain: w.options.retain, ...(w.options.properties ? { properties: w.options.properties } : {}) } : undefined;
  return { messages: { birth: found.birth, close: found.close, will: will } };
}
