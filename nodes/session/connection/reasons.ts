// Maps MQTT.js errors, CONNACK codes and DISCONNECT reasons to a short, stable reason key.
import { ownValue } from '../config/values';

/** MQTT 5 reason codes from this one up say no (PUBACK, PUBREC, SUBACK grants, DISCONNECT); 0x80 itself is "Unspecified error". */
export const FAILURE_CODE = 0x80;

/** The most a two-byte MQTT integer holds: Receive Maximum, Keep Alive, a string's length. */
export const MAX_TWO_BYTES = 65535;

/** MQTT 5 reason code "Packet too large": a publish past the broker's Maximum Packet Size, or a packet past ours (MQTT.js's own check gives it too). */
export const PACKET_TOO_LARGE = 0x95;

/** Stable keys for why a session is not connected; the nodes translate them into status text. */
export type Reason =
  | 'notAuthorized'
  | 'badCredentials'
  | 'unreachable'
  | 'unknownHost'
  | 'clientIdInUse'
  | 'clientIdRejected'
  | 'serverUnavailable'
  | 'tlsError'
  | 'protocolError'
  | 'connectionLost'
  | 'refused'
  | 'invalidConfig'
  | 'subscriptionRefused'
  | 'topicFilterInvalid'
  | 'receiveMaximumExceeded'
  | 'packetTooLarge'
  | 'quotaExceeded'
  | 'administrativeAction'
  | 'useAnotherServer'
  | 'serverMoved'
  | 'sharedNotSupported'
  | 'connectionRateExceeded'
  | 'wildcardNotSupported';

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
const V4_CONNACK: Record<number, Reason> = { 1: 'protocolError', 2: 'clientIdRejected', 3: 'serverUnavailable', 4: 'badCredentials', 5: 'notAuthorized' };

/** MQTT 5 CONNACK / DISCONNECT reason codes (§3.2.2.2, §3.14.2.1). */
const V5_CODES: Record<number, Reason> = {
  0x81: 'protocolError',
  0x82: 'protocolError',
  0x84: 'protocolError',
  0x85: 'clientIdRejected',
  0x86: 'badCredentials',
  0x87: 'notAuthorized',
  0x88: 'serverUnavailable',
  0x89: 'serverUnavailable',
  0x8a: 'notAuthorized',
  0x8c: 'badCredentials',
  0x8e: 'clientIdInUse',
  0x8b: 'serverUnavailable',
  0x8f: 'topicFilterInvalid',
  0x93: 'receiveMaximumExceeded',
  0x95: 'packetTooLarge',
  0x97: 'quotaExceeded',
  0x98: 'administrativeAction',
  0x9c: 'useAnotherServer',
  0x9d: 'serverMoved',
  0x9e: 'sharedNotSupported',
  0x9f: 'connectionRateExceeded',
  0xa2: 'wildcardNotSupported',
};

/**
 * DISCONNECT codes that, arriving while a SUBSCRIBE awaits its SUBACK, refuse that SUBSCRIBE
 * (unspecified, malformed, protocol error, implementation specific, not authorized, topic filter
 * invalid, quota, shared / subscription identifiers / wildcards not supported).
 */
const SUBSCRIBE_REFUSALS = new Set([0x80, 0x81, 0x82, 0x83, 0x87, 0x8f, 0x97, 0x9e, 0xa1, 0xa2]);

const NETWORK: Record<string, Reason> = {
  ECONNREFUSED: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ETIMEDOUT: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOTFOUND: 'unknownHost',
  EAI_AGAIN: 'unknownHost',
  ECONNRESET: 'connectionLost',
  EPIPE: 'connectionLost',
};

/** A reason key for an error MQTT.js emitted, given the protocol version in use. */
export function reasonFor(err: Error & { code?: unknown }, protocolVersion: 4 | 5): Reason {
  const { code } = err;
  if (typeof code === 'number') {
    return (protocolVersion === 5 ? V5_CODES[code] : V4_CONNACK[code]) ?? 'refused';
  }
  if (typeof code === 'string') {
    const network = ownValue(NETWORK, code);
    if (network) return network;
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) return 'tlsError';
  }
  return 'refused';
}

/** A reason key for a DISCONNECT the broker sent (MQTT 5 only), or undefined for a normal one. */
export function reasonForDisconnect(reasonCode: number | undefined): Reason | undefined {
  if (!reasonCode) return undefined;
  return V5_CODES[reasonCode] ?? 'connectionLost';
}

/** Whether a connection that ended with this DISCONNECT code (undefined: a bare close) during a SUBSCRIBE refused it. */
export function isSubscribeRefusal(disconnectCode: number | undefined): boolean {
  return disconnectCode === undefined || SUBSCRIBE_REFUSALS.has(disconnectCode);
}
