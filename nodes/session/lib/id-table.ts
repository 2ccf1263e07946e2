// A table keyed by integers that come mostly in sequence (MQTT packet identifiers, outbox sequence numbers): a fixed array slot each, a Table for the few that collide.
import { Table } from './table';

/** Slots of the array part: keys this far apart share one, and the one that comes second goes to the Table. */
export const SLOTS = 1024;

/**
 * Per message, the ack gate and the outbox each look up their entry a few times. A Map lookup hashes
 * the key and walks a bucket; here a key that has its slot to itself (every key, while fewer than
 * SLOTS consecutive ones are live) costs one array read and one compare, and its slot makes no
 * garbage. Keys are non-negative safe integers; a value is never undefined.
 */
export class IdTable<V extends object> {
  private readonly keys = new Float64Array(SLOTS).fill(-1);
  private readonly values: (V | undefined)[] = new Array<V | undefined>(SLOTS).fill(undefined);
  private readonly spill = new Table<number, V>();
  private count = 0;

  get(key: number): V | undefined {
    const i = key % SLOTS;
    if (this.keys[i] === key) return this.values[i];
    return this.spill.size > 0 ? this.spill.get(key) : undefined;
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): void {
    const i = key % SLOTS;
    const held = this.keys[i];
    if (held === key) {
      this.values[i] = value;
      return;
    }
    // A key whose slot was taken when it came stays in the Table until it is deleted.
    if (this.spill.size > 0 && this.spill.has(key)) return this.spill.set(key, value);
    this.count++;
    if (held === -1) {
      this.keys[i] = key;
      this.values[i] = value;
    } else {
      this.spill.set(key, value);
    }
  }

  delete(key: number): boolean {
    const i = key % SLOTS;
    if (this.keys[i] === key) {
      this.keys[i] = -1;
      this.values[i] = undefined;
    } else if (this.spill.size === 0 || !this.spill.delete(key)) {
      return false;
    }
    this.count--;
    return true;
  }

  get size(): number {
    return this.count;
  }
}
