// The strings an MQTT broker takes (topics, filters, string properties): MQTT 5 §1.5.4, and what Mosquitto refuses on top (lib/utf8_mosq.c).
import { MAX_TWO_BYTES } from '../connection/reasons';

/** MQTT sends a string behind a 2-byte length. */
export const MAX_STRING_BYTES = MAX_TWO_BYTES;

/**
 * Mosquitto 2.0's mosquitto_validate_utf8 (lib/utf8_mosq.c, v2.0.11) refuses U+0000, every code
 * point up to U+001F and from U+007F to U+009F, the non-characters U+FDD0–U+FDEF and U+xFFFE,
 * U+xFFFF of every plane, and surrogates; a PUBLISH, SUBSCRIBE or CONNECT with such a string is a
 * malformed packet and it closes the connection. MQTT 5 §1.5.4 only forbids U+0000 and surrogates
 * and lets a receiver refuse the rest; these refusals are Mosquitto's. In `u` mode \p{Cs} matches
 * only a lone surrogate, which a JavaScript string may hold and UTF-8 cannot (it would go as U+FFFD).
 */
const REFUSED = new RegExp(
  `[\\u0000-\\u001F\\u007F-\\u009F\\uFDD0-\\uFDEF\\p{Cs}${Array.from({ length: 17 }, (_, plane) => `\\u{${plane.toString(16)}FFFE}\\u{${plane.toString(16)}FFFF}`).join('')}]`,
  'u',
);

/** Why a broker would not take `s` as an MQTT string, or undefined when it would. */
export function mqttStringError(s: string): string | undefined {
  const found = REFUSED.exec(s);
  if (found) {
    const cp = found[0].codePointAt(0) ?? 0;
    const name = `U+${cp.toString(16).toUpperCase().padStart(4, '0')} at position ${found.index}`;
    if (cp <= 0x9f) return `it contains the control character ${name}, which MQTT brokers refuse (Mosquitto closes the connection)`;
    if (cp >= 0xd800 && cp <= 0xdfff) return `it contains a lone surrogate ${name}, which has no UTF-8 form`;
    return `it contains the non-character ${name}, which MQTT brokers refuse (Mosquitto closes the connection)`;
  }
  // Only a long string can be too long: a UTF-16 unit is at most 3 bytes of UTF-8.
  const bytes = s.length * 3 > MAX_STRING_BYTES ? Buffer.byteLength(s) : 0;
  if (bytes > MAX_STRING_BYTES) return `it is ${bytes} bytes of UTF-8, more than the ${MAX_STRING_BYTES} an MQTT string can hold`;
  return undefined;
}
