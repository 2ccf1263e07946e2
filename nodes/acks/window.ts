// A bounded window of work items in progress; the rest wait in arrival order.
import { Fifo } from '../session/fifo';

/** Starts at most `size` items at once; `finish()` frees a slot and starts the next waiting item. */
export class InflightWindow<T> {
  private active = 0;
  private readonly waiting = new Fifo<T>();

  constructor(
    readonly size: number,
    private readonly start: (item: T) => void,
  ) {}

  offer(item: T): void {
    if (this.active < this.size) {
      this.active++;
      this.start(item);
    } else {
      this.waiting.push(item);
    }
  }

  finish(): void {
    this.active--;
    if (this.waiting.size === 0) return;
    this.active++;
    this.start(this.waiting.shift() as T);
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
}
