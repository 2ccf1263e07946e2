// Reading values from flows, msgs and brokers, which arrive as strings, numbers or booleans depending on who wrote them, and may name anything.

/** A flow value as text: strings as they are, numbers and booleans spelled out, anything else empty. */
export const asText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

/**
 * `table[key]` when `key` is one of the table's own names, else undefined. A name that comes from a
 * flow, a msg or a broker may be `constructor` or `__proto__`: `key in table` and `table[key]` find
 * those on Object.prototype.
 */
export const ownValue = <V>(table: Readonly<Record<string, V>>, key: string): V | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

/**
 * Number(v), or NaN where Number would throw: a flow, a msg or a broker may hand us an object
 * whose toString or valueOf is not a function (`{"toString": ""}` is valid JSON), or a Symbol.
 */
export function numberOf(v: unknown): number {
  try {
    return Number(v);
  } catch {
    return NaN;
  }
}

/** String(v), for a message about it, or a stand-in where String would throw (as numberOf). */
export function textOf(v: unknown): string {
  try {
    return String(v);
  } catch {
    return typeof v === 'object' && v !== null ? '[object that cannot be shown as text]' : `[${typeof v}]`;
  }
}

/** Unset as a flow says it: missing, null or an empty string. */
export const unset = (v: unknown): boolean => v === undefined || v === null || v === '';

/** Unset, or a string of spaces only: what a dialog's empty text field may save. */
export const blank = (v: unknown): boolean => unset(v) || (typeof v === 'string' && v.trim() === '');
