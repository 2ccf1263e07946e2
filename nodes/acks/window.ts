// A bounded window of work items in progress; the rest wait in arrival order.

/** Starts at most `size` items at once; `finish()` frees a slot and starts the next waiting item. */
export class InflightWindow<T> {
  private active = 0;
  private waiting: T[] = [];
  private head = 0;

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
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head++];
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      }
      this.active++;
      this.start(next);
    }
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Removes and returns every waiting item. */
  clear(): T[] {
    const rest = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    return rest;
  }
}
