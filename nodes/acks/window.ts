// A window of work items in progress, whose size may change; the rest wait in arrival order.
import { Fifo } from '../session/lib/fifo';

/** Starts at most `size` items at once; `finish()` frees a slot and starts what the size allows. */
export class InflightWindow<T> {
  private active = 0;
  private readonly waiting = new Fifo<T>();

  constructor(
    private limit: number,
    private readonly start: (item: T) => void,
  ) {}

  get size(): number {
    return this.limit;
  }

  offer(item: T): void {
    if (this.active < this.limit) {
      this.active++;
      this.start(item);
    } else {
      this.waiting.push(item);
    }
  }

  finish(): void {
    this.active--;
    this.fill();
  }

  /** A smaller size takes effect as items finish; a larger one starts waiting items at once. */
  resize(size: number): void {
    this.limit = size;
    this.fill();
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** Removes and returns every waiting item. */
  clear(): T[] {
    return this.waiting.clear();
  }

  private fill(): void {
    while (this.active < this.limit && this.waiting.size > 0) {
      this.active++;
      this.start(this.waiting.shift() as T);
    }
  }
}
