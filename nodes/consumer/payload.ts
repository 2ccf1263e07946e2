// Turns a received payload into the msg.payload the user chose with `datatype`.
import { isUtf8 } from 'node:buffer';
import type { Datatype } from './settings';

/** A failed conversion keeps the payload: its text, or the original bytes when it is not UTF-8 (decoding would replace them). */
export type Converted = { ok: true; value: unknown } | { ok: false; value: string | Buffer; error: string };

// isUtf8 arrived in Node 18.14; older 18.x falls back to a strict decoder.
const strict = new TextDecoder('utf-8', { fatal: true });
const utf8 = (b: Buffer): boolean => {
  if (typeof isUtf8 === 'function') return isUtf8(b);
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
};

/** JSON can only start with one of these, so most plain strings skip JSON.parse and its exception. */
const JSON_START = new Set('{["-0123456789tfn');

export function convertPayload(payload: Buffer, datatype: Datatype): Converted {
  switch (datatype) {
    case 'buffer':
      return { ok: true, value: payload };
    case 'utf8':
      return { ok: true, value: payload.toString('utf8') };
    case 'base64':
      return { ok: true, value: payload.toString('base64') };
    case 'json': {
      if (!utf8(payload)) return { ok: false, value: payload, error: 'payload is not valid JSON: it is not UTF-8 text' };
      const text = payload.toString('utf8');
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch (e) {
        return { ok: false, value: text, error: `payload is not valid JSON: ${(e as Error).message}` };
      }
    }
    case 'text-or-buffer':
      // What core's older `auto` gives: text when it is UTF-8, else the Buffer; never parsed.
      return { ok: true, value: utf8(payload) ? payload.toString('utf8') : payload };
    case 'auto': {
      if (!utf8(payload)) return { ok: true, value: payload };
      const text = payload.toString('utf8');
      if (JSON_START.has(text.trimStart()[0] ?? '')) {
        try {
          return { ok: true, value: JSON.parse(text) as unknown };
        } catch {
          // Not JSON after all: a string.
        }
      }
      return { ok: true, value: text };
    }
  }
  // Unreachable for a checked Datatype; a name that slipped past a check converts nothing rather than throw at delivery.
  return { ok: false, value: payload, error: `unknown payload format ${JSON.stringify(datatype)}` };
}
