// Turns a msg into the publication the out node sends, reading topic, qos, retain and MQTT 5 properties as the core `mqtt out` node does.
import type { NodeMessage } from 'node-red';
import type { QoS } from '../session/cover';
import type { Publication, PublishProperties } from './outbox';

const MAX_TOPIC_BYTES = 65535;

/** Why `topic` cannot be published to, or undefined when it can. */
export function topicError(topic: string): string | undefined {
  if (topic.length === 0) return 'it is empty';
  if (/[+#]/.test(topic)) return 'a topic to publish to cannot contain the wildcards + or #';
  if (topic.includes('\u0000')) return 'it contains a NUL character';
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return `it is longer than ${MAX_TOPIC_BYTES} bytes`;
  return undefined;
}

export type PublicationResult = { ok: true; publication: Publication } | { ok: false; error: string };

type Msg = NodeMessage & Record<string, unknown>;

/** What the node's properties fix; an empty topic and an undefined qos or retain leave it to the msg. */
export interface PublishDefaults {
  readonly topic: string;
  readonly qos?: QoS;
  readonly retain?: boolean;
}

/** The node's property wins when set (as in core); an empty property takes the msg's value. */
export function publicationOf(msg: Msg, s: PublishDefaults): PublicationResult {
  const topic = s.topic || (typeof msg.topic === 'string' ? msg.topic : '');
  if (!topic) return { ok: false, error: 'no topic: set the node\'s topic or msg.topic' };
  // The node's own topic was checked once, when its settings were parsed.
  const why = topic === s.topic ? undefined : topicError(topic);
  if (why) return { ok: false, error: `invalid topic "${topic}": ${why}` };
  const payload = payloadOf(msg.payload);
  if (typeof payload === 'string') return { ok: false, error: payload };
  return { ok: true, publication: { topic, payload, qos: s.qos ?? qosOf(msg.qos), retain: s.retain ?? (msg.retain === true || msg.retain === 'true'), properties: propertiesOf(msg) } };
}

function qosOf(value: unknown): QoS {
  const n = Number(value);
  return value !== undefined && value !== '' && (n === 0 || n === 1 || n === 2) ? n : 1;
}

/** Buffer as is; an object as JSON; anything else as its text; null and undefined as an empty payload. Returns an error text. */
function payloadOf(payload: unknown): Buffer | string {
  if (payload === null || payload === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload);
  if (typeof payload === 'object') {
    try {
      return Buffer.from(JSON.stringify(payload));
    } catch (err) {
      return `payload cannot be serialized as JSON: ${(err as Error).message}`;
    }
  }
  if (typeof payload === 'number' || typeof payload === 'boolean') return Buffer.from(String(payload));
  return `payload of type ${typeof payload} cannot be serialized`;
}

/** The MQTT 5 properties core's out node reads from msg; MQTT.js sends them only on an MQTT 5 connection. */
function propertiesOf(msg: Msg): PublishProperties | undefined {
  const p: PublishProperties = {};
  if (msg.userProperties && typeof msg.userProperties === 'object') p.userProperties = userPropertiesOf(msg.userProperties as Record<string, unknown>);
  if (typeof msg.contentType === 'string' && msg.contentType) p.contentType = msg.contentType;
  if (typeof msg.responseTopic === 'string' && msg.responseTopic) p.responseTopic = msg.responseTopic;
  if (Buffer.isBuffer(msg.correlationData)) p.correlationData = msg.correlationData;
  else if (typeof msg.correlationData === 'string' && msg.correlationData) p.correlationData = Buffer.from(msg.correlationData);
  const expiry = Number(msg.messageExpiryInterval);
  if (msg.messageExpiryInterval !== undefined && Number.isInteger(expiry) && expiry >= 0) p.messageExpiryInterval = expiry;
  return Object.keys(p).length > 0 ? p : undefined;
}

/** MQTT 5 user properties are string pairs; other values go as their text rather than break the packet. */
function userPropertiesOf(props: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.map((x) => textOf(x)) : textOf(v);
  }
  return out;
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    // A BigInt or a circular object: no text to send, so the property goes empty rather than break the packet.
    return '';
  }
}
