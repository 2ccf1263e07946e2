// A keyed table for per-message entries that come and go all the time: a Map, renewed now and then.

/** Insertions after which the table moves its entries to a new Map (see Table); more when it holds more. */
export const RENEW_AFTER = 1024;

/**
 * A long-lived Map whose size keeps changing is a garbage collection trap in V8: each time it
 * grows, shrinks or sweeps deleted slots it moves to a new hash table and links the old table to
 * the new one. Once one table is in the old generation, that dead table keeps its successor alive
 * through every young-generation collection, the successor is promoted, and so on: every entry the
 * Map ever held is promoted before a full collection finds it dead. In a drain of 100,000 messages
 * in ackMode complete, that was about 530 kB promoted per young collection, and each collection
 * took 3.5 ms; renewed as below, under 1 kB and 0.3 ms.
 *
 * So every RENEW_AFTER insertions the entries move to a new Map, whose tables nothing old links
 * to; under load none of them lives long enough to be promoted. A table holding more than that
 * waits for as many insertions as it holds, so the copying stays under one entry per insertion
 * (its entries live long anyway). A dictionary-mode object has no such links, but each new string
 * key is interned first, which cost 1 µs per message.
 */
export class Table<K, V> {
  private map = new Map<K, V>();
  private inserted = 0;

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    if (++this.inserted >= RENEW_AFTER && this.inserted >= this.map.size) {
      this.inserted = 0;
      this.map = new Map(this.map);
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
