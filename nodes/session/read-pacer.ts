// Hands what the socket read to MQTT.js a few dozen packets per turn of the event loop, so one large read does not become hundreds of msgs at once.
import type { Duplex } from 'node:stream';
import { PacketBoundaries } from './packet-boundaries';

/**
 * Packets handed to MQTT.js per turn of the event loop. A socket read holds up to 64 kB (some 800
 * small PUBLISHes), which MQTT.js turns into msgs in one go, before Node-RED has delivered any.
 * That many msgs waiting outlived the young generation's collections and the old one grew with the
 * backlog: receive mode peaked at 579 MiB in a 1M drain. Counted in packets, not bytes, so the pace
 * does not depend on the payloads' size.
 */
export const PACKETS_PER_TURN = 50;

/** The readable side the pacer feeds: a Readable's push and destroy. */
export interface PacedSink {
  push(chunk: Buffer | null): boolean;
  destroy(): void;
}

/**
 * While bytes wait here the socket is paused, so at most one read waits in memory. Each turn of
 * the event loop gets a budget of PACKETS_PER_TURN, whether the bytes come from a read in that
 * turn or from one that waited; it is refilled in a setImmediate, after the msgs of the last
 * slice have been delivered. While the owner holds reading, what was read waits here as bytes.
 */
export class ReadPacer {
  private readonly unread: Buffer[] = [];
  private readonly boundaries = new PacketBoundaries();
  private budget = PACKETS_PER_TURN;
  private next?: NodeJS.Immediate;
  /** The sink's buffer is full: slices wait for `more()`. */
  private full = false;
  private ended = false;
  private endPushed = false;

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
    this.drip();
  }

  /** The socket ended: the end goes on once what was read before it has. */
  end(): void {
    this.ended = true;
    if (this.idle) this.pushEnd();
  }

  /** The socket closed: what is left goes on at once, as there is no more reading to pace. */
  close(): void {
    this.stop();
    for (const chunk of this.unread.splice(0)) this.sink.push(chunk);
    if (this.ended) this.pushEnd();
    this.sink.destroy();
  }

  /** The sink wants more (Readable._read). */
  more(): void {
    this.full = false;
    this.drip();
  }

  /** The owner lets reading go on again. */
  release(): void {
    this.drip();
  }

  stop(): void {
    clearImmediate(this.next);
    this.next = undefined;
  }

  private drip(): void {
    while (this.budget > 0 && !this.full && this.unread.length > 0 && this.mayRead()) {
      const head = this.unread[0];
      const end = this.boundaries.cut(head, this.budget);
      this.budget -= this.boundaries.ended;
      if (end === head.length) this.unread.shift();
      else this.unread[0] = head.subarray(end);
      this.full = !this.sink.push(end === head.length ? head : head.subarray(0, end));
    }
    if (this.budget < PACKETS_PER_TURN) this.next ??= setImmediate(this.refill);
    if (!this.idle || this.full || !this.mayRead()) this.source.pause();
    else if (this.ended) this.pushEnd();
    else this.source.resume();
  }

  private pushEnd(): void {
    if (this.endPushed) return;
    this.endPushed = true;
    this.sink.push(null);
  }

  private readonly refill = (): void => {
    this.next = undefined;
    this.budget = PACKETS_PER_TURN;
    this.drip();
  };
}
