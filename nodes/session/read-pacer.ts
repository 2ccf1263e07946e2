// Hands what the socket read to MQTT.js a slice per turn of the event loop, so one large read does not become hundreds of msgs at once.
import type { Duplex } from 'node:stream';

/**
 * Bytes handed to MQTT.js per turn: about 200 small PUBLISHes. A socket read holds up to 64 kB
 * (some 800 of them), which MQTT.js turns into msgs in one go, before Node-RED has delivered any.
 * That many msgs waiting outlived the young generation's collections, and the old one grew with
 * the backlog: receive mode peaked at 579 MiB in a 1M drain, 274 MiB paced like this.
 */
export const READ_SLICE_BYTES = 16 * 1024;

/** The readable side the pacer feeds: a Readable's push and destroy. */
export interface PacedSink {
  push(chunk: Buffer | null): boolean;
  destroy(): void;
}

/**
 * While bytes wait here the socket is paused, so at most one read waits in memory; the next slice
 * goes out in a setImmediate, after the msgs of the last one have been delivered.
 */
export class ReadPacer {
  private readonly unread: Buffer[] = [];
  private next?: NodeJS.Immediate;
  /** The sink's buffer is full: slices wait for `more()`. */
  private full = false;
  private ended = false;

  constructor(
    private readonly source: Duplex,
    private readonly sink: PacedSink,
    /** False while the owner holds reading (see GatedStream.holdReading). */
    private readonly mayRead: () => boolean,
  ) {}

  /** Nothing read waits to be handed on. */
  get idle(): boolean {
    return this.unread.length === 0;
  }

  data(chunk: Buffer): void {
    this.unread.push(chunk);
    if (this.next || this.full) this.source.pause();
    else this.drip();
  }

  /** The socket ended: the end goes on once what was read before it has. */
  end(): void {
    this.ended = true;
    if (this.idle) this.sink.push(null);
  }

  /** The socket closed: what is left goes on at once, as there is no more reading to pace. */
  close(): void {
    this.stop();
    for (const chunk of this.unread.splice(0)) this.sink.push(chunk);
    if (this.ended) this.sink.push(null);
    this.sink.destroy();
  }

  /** The sink wants more (Readable._read). Never hands on a slice at once: that would undo the pacing. */
  more(): void {
    this.full = false;
    if (!this.idle) this.next ??= setImmediate(() => this.drip());
    else if (this.mayRead()) this.source.resume();
  }

  stop(): void {
    clearImmediate(this.next);
    this.next = undefined;
  }

  private drip(): void {
    this.next = undefined;
    let budget = READ_SLICE_BYTES;
    while (budget > 0 && !this.full && this.unread.length > 0) {
      const head = this.unread[0];
      const part = head.length <= budget ? (this.unread.shift() as Buffer) : head.subarray(0, budget);
      if (part !== head) this.unread[0] = head.subarray(budget);
      budget -= part.length;
      this.full = !this.sink.push(part);
    }
    if (!this.idle) {
      this.source.pause();
      if (!this.full) this.next = setImmediate(() => this.drip());
    } else if (this.ended) {
      this.sink.push(null);
    } else if (this.full) {
      this.source.pause();
    } else if (this.mayRead()) {
      this.source.resume();
    }
  }
}
