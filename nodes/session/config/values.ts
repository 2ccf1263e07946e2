// Reading values from flows, msgs and brokers, which arrive as strings, numbers or booleans depending on who wrote them, and may name anything.

/** A flow value as text: strings as they are, numbers and booleans spelled out, anything else empty. */
export const asText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

/**
 * `table[key]` when `key` is one of the table's own names, else undefined. A name that comes from a
 * flow, a msg or a broker may be `constructor` or `__proto__`: `key in table` and `table[key]` find
 * those on Object.prototype.
 */
export const ownValue = <V>(table: Readonly<Record<string, V>>, key: string): V | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

/** Unset as a flow says it: missing, null or an empty string. */
export const unset = (v: unknown): boolean => v === undefined || v === null || v === '';

/** Unset, or a string of spaces only: what a dialog's empty text field may save. */
export const blank = (v: unknown): boolean => unset(v) || (typeof v === 'string' && v.trim() === '');
