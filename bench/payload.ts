// The bench's message format: "<seq>,<publish time ms>," padded with 'x' to a fixed size.
// Warm-up messages carry "w" instead of a sequence number, so a sink can tell them apart.

const WARM = 'w';

/** A payload of exactly `size` bytes (or longer, if the header alone does not fit). */
export function makePayload(seq: number, size: number, sentAt: number): string {
  const head = `${seq},${sentAt.toFixed(3)},`;
  return head.length >= size ? head : head + 'x'.repeat(size - head.length);
}

export function makeWarmup(size: number, sentAt: number): string {
  return makePayload(-1, size, sentAt).replace(/^-1/, WARM);
}

export interface Parsed {
  /** -1 for a warm-up message. */
  seq: number;
  sentAt: number;
}

/** Parses what makePayload wrote; NaN fields for anything else. */
export function parsePayload(payload: string | Buffer): Parsed {
  // The first 40 bytes hold the header; decoding only them keeps 1 kB payloads cheap to read.
  const text = typeof payload === 'string' ? payload : payload.toString('latin1', 0, 40);
  const a = text.indexOf(',');
  const b = text.indexOf(',', a + 1);
  const seq = text.startsWith(WARM) ? -1 : Number(text.slice(0, a));
  return { seq, sentAt: Number(text.slice(a + 1, b)) };
}
