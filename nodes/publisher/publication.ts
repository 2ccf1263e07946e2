// Turns a msg into the publication the out node sends, reading topic, qos, retain and MQTT 5 properties as the core `mqtt out` node does, and refusing what a broker would not take.
import type { NodeMessage } from 'node-red';
import type { QoS } from '../session/subscriptions/cover';
import { MQTT_MAX_PACKET_SIZE, publishSize } from '../session/stream/publish-size';
import { topicError } from '../session/subscriptions/topic';
import { propertiesError } from '../session/config/properties';
import { numberOf } from '../session/config/values';
import type { Publication, PublishProperties } from './outbox';

export { topicError };

/** MQTT 5 §3.3.2.3.3: the Message Expiry Interval is a four-byte integer. */
const MAX_EXPIRY = 0xffff_ffff;

export type PublicationResult = { ok: true; publication: Publication } | { ok: false; error: string };

type Msg = NodeMessage & Record<string, unknown>;

/** What the node's properties fix; an empty topic and an undefined qos or retain leave it to the msg. */
export interface PublishDefaults {
  readonly topic: string;
  readonly qos?: QoS;
  readonly retain?: boolean;
}

/**
 * The node's property wins when set (as in core); an empty property takes the msg's value. What a
 * broker would not take is refused here, before the outbox: Mosquitto closes the connection on a
 * malformed PUBLISH, and MQTT.js resends it first on every connection, so one such message held up
 * everything behind it for ever. `maxPacketSize` is the Maximum Packet Size when no broker has
 * named a smaller one (the connection checks that one, see Connection).
 */
export function publicationOf(msg: Msg, s: PublishDefaults, maxPacketSize = MQTT_MAX_PACKET_SIZE): PublicationResult {
  const topic = s.topic || (typeof msg.topic === 'string' ? msg.topic : '');
  if (!topic) return { ok: false, error: 'no topic: set the node\'s topic or msg.topic' };
  // The node's own topic was checked once, when its settings were parsed.
  const why = topic === s.topic ? undefined : topicError(topic);
  if (why) return { ok: false, error: `invalid topic ${JSON.stringify(topic)}: ${why}` };
  const payload = payloadOf(msg.payload);
  if (typeof payload === 'string') return { ok: false, error: payload };
  const properties = propertiesOf(msg);
  const bad = propertiesError(properties);
  if (bad) return { ok: false, error: `invalid msg.${bad}` };
  // mqtt-packet destroys the connection's stream on a larger one, and MQTT.js would send it again on the next.
  if ((properties?.messageExpiryInterval ?? 0) > MAX_EXPIRY) return { ok: false, error: `msg.messageExpiryInterval must be at most ${MAX_EXPIRY} seconds` };
  const qos = s.qos ?? qosOf(msg.qos);
  // Counted as MQTT 5 sends it: with 3.1.1 the properties stay off and the packet is smaller.
  const size = publishSize(topic, payload.length, qos, properties, 5);
  if (size > maxPacketSize) return { ok: false, error: `the message is ${size} bytes as a PUBLISH packet, more than the Maximum Packet Size of ${maxPacketSize} bytes` };
  return { ok: true, publication: { topic, payload, qos, retain: s.retain ?? (msg.retain === true || msg.retain === 'true'), properties } };
}

function qosOf(value: unknown): QoS {
  const n = numberOf(value);
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
  const userProperties = msg.userProperties && typeof msg.userProperties === 'object' ? userPropertiesOf(msg.userProperties as Record<string, unknown>) : {};
  // None rather than an empty set: mqtt-packet writes nothing at all for a PUBLISH with empty user properties
  // (writeToStream.js getProperties: a property of length 0 fails the packet) and MQTT.js waits for its ack for ever.
  if (Object.keys(userProperties).length > 0) p.userProperties = userProperties;
  if (typeof msg.contentType === 'string' && msg.contentType) p.contentType = msg.contentType;
  if (typeof msg.responseTopic === 'string' && msg.responseTopic) p.responseTopic = msg.responseTopic;
  if (Buffer.isBuffer(msg.correlationData)) p.correlationData = msg.correlationData;
  else if (typeof msg.correlationData === 'string' && msg.correlationData) p.correlationData = Buffer.from(msg.correlationData);
  const expiry = numberOf(msg.messageExpiryInterval);
  if (msg.messageExpiryInterval !== undefined && Number.isInteger(expiry) && expiry >= 0) p.messageExpiryInterval = expiry;
  return Object.keys(p).length > 0 ? p : undefined;
}

/**
 * MQTT 5 user properties are string pairs; other values go as their text rather than break the
 * packet. fromEntries, not out[k] = …: a name such as __proto__ stays a property instead of
 * setting the prototype.
 */
function userPropertiesOf(props: Record<string, unknown>): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(props)
      // An empty list sends no pair, so it goes like undefined (see propertiesOf).
      .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => propertyText(x)) : propertyText(v)]),
  );
}

function propertyText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    // A BigInt or a circular object: no text to send, so the property goes empty rather than break the packet.
    return '';
  }
}
