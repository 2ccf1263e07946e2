// What of the outbox stays in memory: the read-ahead's bounds, when to read from disk again, and which records an open keeps in memory.

/**
 * What the outbox holds in memory of the entries not yet handed out: at least what sending needs
 * next, at most about this much; the rest stays on disk and is read in key order as sending takes
 * from the front. Above 5,000 messages, the half of the default `outboxMaxMessages` past which the
 * consumers upstream are held (pressure.ts), so a bridge at the defaults never reads back what it
 * has just written; 8 MiB of payload is a few seconds of sending at the rates we measured, and
 * small next to what Node-RED itself takes. A record is read whole, so up to one group more.
 */
export const READ_AHEAD = { count: 8192, bytes: 8 * 1024 * 1024 } as const;
/** Reading from disk starts again once the read-ahead is down to this share of its bounds. */
export const REFILL_AT = 0.5;

/** Low enough to read from disk again. */
export function low(count: number, bytes: number): boolean {
  return count <= READ_AHEAD.count * REFILL_AT && bytes <= READ_AHEAD.bytes * REFILL_AT;
}

/** Full: no more records go into memory (the last one read may have passed the bounds). */
export function full(count: number, bytes: number): boolean {
  return count >= READ_AHEAD.count || bytes >= READ_AHEAD.bytes;
}

/**
 * An open's split of the records it reads in key order: the first ones into memory until the
 * read-ahead's bounds are reached, every later one counted as on disk only. Once one record stays
 * on disk, all later ones do: the read-ahead is the front of the order.
 */
export class OpenSplit {
  /** Entries counted as on disk only. */
  onDisk = 0;
  private count = 0;
  private bytes = 0;

  /** Whether a record of `entries` entries and `bytes` bytes, next in key order, goes into memory. */
  keep(entries: number, bytes: number): boolean {
    if (this.onDisk === 0 && this.count < READ_AHEAD.count && this.bytes < READ_AHEAD.bytes) {
      this.count += entries;
      this.bytes += bytes;
      return true;
    }
    this.onDisk += entries;
    return false;
  }
}
