// Flow control of received messages: a settle per QoS 1/2 PUBLISH, reading held at the high water, withheld messages fetched again by a backed-off reconnect.
import type { IPublishPacket } from 'mqtt';
import { backoffDelay, type BackoffOptions } from '../connection/backoff';
import type { Settle } from '../events';
import type { GatedStream } from '../stream/gated-stream';
import { PACKETS_PER_TURN, type Shed } from '../stream/read-pacer';

/**
 * Redeliveries of withheld messages come at most this close together after an error, backing off
 * like reconnects; a quiet spell of twice the longest backoff starts the count again.
 */
export const REDELIVERY_QUIET_FACTOR = 2;

export interface FlowLimits {
  /** Unsettled messages at which inbound PUBLISHes are held; they go on again at half. */
  readonly readHighWater: number;
  /** Bytes of PUBLISHes held at most before the pacer sheds (ReadPacer.shed). */
  readonly heldBytes: number;
  readonly backoff: BackoffOptions;
}

export interface FlowHooks {
  /** Drop the connection so the broker resends every unacknowledged message. */
  recycle(): void;
  /** The broker sent past HELD_LIMIT while the application took no more: the connection is recycled to fetch those again (QoS 0 ones are gone). */
  shed(shed: Shed): void;
  /** A redelivery is scheduled in `delayMs`; `attempt` counts them in a row. */
  redelivery(attempt: number, delayMs: number): void;
}

const noop: Settle = () => undefined;

/** One per session; it follows the current connection's GatedStream and forgets it when the connection ends. */
export class FlowControl {
  /** The current connection's stream; acks for messages from older ones are never sent. */
  private stream?: GatedStream;
  private timer?: NodeJS.Timeout;
  private redeliveries = 0;
  private lastRedelivery = 0;
  private stopped = false;
  private intakeHeld = false;
  /** The stream recycled to fetch again what it shed. */
  private refetched?: GatedStream;
  private highWater: number;

  constructor(
    private readonly limits: FlowLimits,
    private readonly hooks: FlowHooks,
  ) {
    this.highWater = limits.readHighWater;
  }

  /**
   * The application takes at most `limit` unsettled messages at once (undefined: it sets no limit).
   * PUBLISHes are then held a turn's worth of packets past it, never past `readHighWater`, so with a
   * broker that sends past its in-flight limit the rest waits as bytes (in the pacer, or in TCP
   * buffers while nothing we sent awaits an answer), not here as msgs:
   * a thousand msgs queued behind a window of ten lived long enough to be promoted to the old
   * generation, and the garbage collector's work per message doubled.
   */
  taking(limit: number | undefined): void {
    this.highWater = limit === undefined ? this.limits.readHighWater : Math.min(this.limits.readHighWater, limit + PACKETS_PER_TURN);
  }

  /** A new connection's stream (MQTT.js builds one per CONNECT). */
  attach(stream: GatedStream): void {
    this.stream = stream;
    stream.heldLimit = this.limits.heldBytes;
    // An ack settled before MQTT.js wrote it leaves the gate only then, with no settle to look again.
    stream.acked = () => this.check(stream);
  }

  /** The connection ended. Any reconnect brings the withheld messages back, so no separate one is needed. */
  detach(): void {
    this.stream = undefined;
    this.cancel();
  }

  /** The session is closing: nothing is scheduled any more. */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** PUBLISHes dropped past the held limit on the current connection, to be fetched again (see ReadPacer.shed). */
  get shedding(): number {
    const shed = this.stream?.shed;
    return shed ? shed.qos12 + shed.qos0 : 0;
  }

  /** Messages withheld on the current connection. */
  get withheld(): number {
    return this.stream?.gate.withheld ?? 0;
  }

  /** Starts tracking the ack of `packet` and returns the function that releases or withholds it. */
  track(packet: IPublishPacket): Settle {
    const stream = this.stream;
    if (packet.qos === 0 || packet.messageId === undefined || !stream) return noop;
    const id = packet.messageId;
    stream.gate.expect(id);
    this.check(stream);
    return (verdict) => {
      if (stream !== this.stream) return;
      stream.gate.settle(id, verdict);
      this.check(stream);
    };
  }

  /** Holds inbound PUBLISHes whatever the window, while an out node cannot keep up (nodes/common/pressure.ts). */
  holdIntake(hold: boolean): void {
    this.intakeHeld = hold;
    if (this.stream) this.check(this.stream);
  }

  private check(stream: GatedStream): void {
    const { pending, withheld } = stream.gate;
    if (pending >= this.highWater || this.intakeHeld) stream.holdMessages(true);
    else if (pending <= this.highWater / 2) stream.holdMessages(false);
    if (withheld > 0) this.schedule();
    // What was shed comes back, in order, on the next connection; recycling once nothing taken is
    // unsettled brings no message into the flow twice.
    if (stream.shed.qos12 + stream.shed.qos0 > 0 && pending === 0 && stream.held === 0 && this.refetched !== stream && !this.stopped) {
      this.refetched = stream;
      this.hooks.shed({ ...stream.shed });
      this.hooks.recycle();
    }
  }

  /**
   * A withheld message comes back only on a new connection. Reconnecting at once after each error
   * would loop (the broker resends it first, it fails again), so the reconnect backs off.
   */
  private schedule(): void {
    if (this.timer || this.stopped) return;
    const now = Date.now();
    if (now - this.lastRedelivery > REDELIVERY_QUIET_FACTOR * this.limits.backoff.max) this.redeliveries = 0;
    const attempt = ++this.redeliveries;
    const delay = backoffDelay(attempt, this.limits.backoff);
    this.hooks.redelivery(attempt, delay);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastRedelivery = Date.now();
      this.hooks.recycle();
    }, delay);
  }

  private cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
