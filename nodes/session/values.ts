// Reading flow values, which arrive as strings, numbers or booleans depending on who wrote the flow.

/** A flow value as text: strings as they are, numbers and booleans spelled out, anything else empty. */
export const asText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
