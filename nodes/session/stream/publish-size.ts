// How many bytes a PUBLISH packet takes on the wire, to hold it to a Maximum Packet Size before it is sent.
import type { IClientPublishOptions } from 'mqtt';

/**
 * The largest packet MQTT can frame: a Remaining Length of at most 268,435,455 (four bytes of
 * Variable Byte Integer), behind a one-byte header and those four bytes. The default Maximum
 * Packet Size when the broker names none; a larger message cannot be sent at all.
 */
export const MQTT_MAX_PACKET_SIZE = 268_435_455 + 1 + 4;

type Properties = NonNullable<IClientPublishOptions['properties']>;

/** Bytes of a Variable Byte Integer (MQTT 5 §1.5.5). */
const varIntBytes = (n: number): number => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4);

/** A string or binary property: identifier, 2-byte length, bytes. */
const field = (value: string | Buffer | undefined): number => (value === undefined ? 0 : 1 + 2 + Buffer.byteLength(value));

/**
 * The PUBLISH packet's size, header included (MQTT 5 §3.3), as mqtt-packet encodes it (the spec
 * pins the two together). `properties` count only with MQTT 5; MQTT.js leaves them off with 3.1.1.
 */
export function publishSize(topic: string, payloadBytes: number, qos: number, properties: Properties | undefined, protocolVersion: 4 | 5): number {
  let remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  if (protocolVersion === 5) {
    const p = propertiesBytes(properties);
    remaining += varIntBytes(p) + p;
  }
  return 1 + varIntBytes(remaining) + remaining;
}

function propertiesBytes(p: Properties | undefined): number {
  if (!p) return 0;
  let n = field(p.contentType) + field(p.responseTopic) + field(p.correlationData);
  if (p.messageExpiryInterval !== undefined) n += 1 + 4;
  if (p.payloadFormatIndicator !== undefined) n += 1 + 1;
  if (p.topicAlias !== undefined) n += 1 + 2;
  for (const id of [p.subscriptionIdentifier ?? []].flat()) n += 1 + varIntBytes(id);
  // mqtt-packet writes each own name once per value; a value goes as its text.
  for (const name of Object.getOwnPropertyNames(p.userProperties ?? {})) {
    for (const value of [p.userProperties?.[name] ?? []].flat()) n += 1 + 2 + Buffer.byteLength(name) + 2 + Buffer.byteLength(String(value));
  }
  return n;
}
