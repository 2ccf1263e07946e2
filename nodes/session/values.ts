// Reading values from flows, msgs and brokers, which arrive as strings, numbers or booleans depending on who wrote them, and may name anything.

/** A flow value as text: strings as they are, numbers and booleans spelled out, anything else empty. */
export const asText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

/**
 * `table[key]` when `key` is one of the table's own names, else undefined. A name that comes from a
 * flow, a msg or a broker may be `constructor` or `__proto__`: `key in table` and `table[key]` find
 * those on Object.prototype.
 */
export const ownValue = <V>(table: Readonly<Record<string, V>>, key: string): V | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);
