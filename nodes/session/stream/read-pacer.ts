// Hands what the socket read to MQTT.js a few dozen packets per turn of the event loop, and holds PUBLISHes back while the application takes no more, never the answers to what we sent.
import type { Duplex } from 'node:stream';
import { Fifo } from '../lib/fifo';
import { PacketBoundaries } from './packet-boundaries';
import { PACKET_TOO_LARGE } from '../connection/reasons';

/**
 * Packets handed to MQTT.js per turn of the event loop. A socket read holds up to 64 kB (some 800
 * small PUBLISHes), which MQTT.js turns into msgs in one go, before Node-RED has delivered any.
 * That many msgs waiting outlived the young generation's collections and the old one grew with the
 * backlog: receive mode peaked at 579 MiB in a 1M drain. Counted in packets, not bytes, so the pace
 * does not depend on the payloads' size.
 */
export const PACKETS_PER_TURN = 50;

/** MQTT control packet type 3 (MQTT 3.1.1 and 5, §2.1.2), in the high nibble of the first byte. */
const PUBLISH = 3;

/**
 * Bytes of PUBLISHes held at most (SessionConfig.heldBytes overrides it). A broker keeps within its
 * in-flight limit or our Receive Maximum; one that has none (Mosquitto `max_inflight_messages 0`),
 * or keeps it loosely (Mosquitto 2.0.11 over MQTT 3.1.1 sent a whole 20,000 backlog to a consumer
 * that acked on arrival), could fill memory while an out node on the same connection keeps reading
 * going. Past this the pacer sheds: see `shed`.
 */
export const HELD_BYTES = 16 * 1024 * 1024;

/** What was dropped past the held bytes on this connection: QoS 1/2 ones come again on the next connection, QoS 0 ones are gone. */
export interface Shed {
  qos12: number;
  qos0: number;
}

/** The readable side the pacer feeds: a Readable's push and destroy. */
export interface PacedSink {
  push(chunk: Buffer | null): boolean;
  destroy(error?: Error): void;
}

/** The owner's word on reading: whether PUBLISHes wait, and whether the socket may pause. */
export interface ReadPolicy {
  /** True while the application takes no more messages (see GatedStream.holdMessages). */
  holding(): boolean;
  /**
   * True while something we sent waits for the broker's answer (PUBACK, SUBACK, PINGRESP…). The
   * socket pauses only when PUBLISHes are held and nothing is awaited: an out node on the same
   * connection waits for its PUBACKs, and pausing then would stop the flow that frees the window.
   */
  awaiting(): boolean;
}

/** A packet read while PUBLISHes are held, collected until it ends. */
interface Partial {
  readonly held: boolean;
  readonly parts: Buffer[];
}

/**
 * While bytes wait here the socket is paused, so at most one read waits in memory. Each turn of
 * the event loop gets a budget of PACKETS_PER_TURN, whether the bytes come from a read in that
 * turn or from one that waited; it is refilled in a setImmediate, after the msgs of the last
 * slice have been delivered.
 *
 * While the owner holds messages, reading goes on packet by packet: PUBLISHes wait here, in order,
 * as bytes, and every other packet goes on at once, so the acks of our own publishes, SUBACKs and
 * PINGRESPs are never stuck behind a full window. Only PUBLISHes are held: the answers to what we
 * sent never refer to a PUBLISH still waiting (the broker sends PUBREL only after our PUBREC), so
 * nothing depends on the order between the two. What the broker may send while we hold is bounded
 * by its own in-flight limit or the Receive Maximum we sent, and by HELD_BYTES (docs/acks.md).
 */
export class ReadPacer {
  private readonly unread: Buffer[] = [];
  /** Whole PUBLISH packets read while holding, oldest first. */
  private readonly held = new Fifo<Buffer>();
  /** The packet being read while holding, when it has not ended yet. */
  private partial?: Partial;
  private readonly boundaries = new PacketBoundaries();
  private budget = PACKETS_PER_TURN;
  private next?: NodeJS.Immediate;
  /** The sink's buffer is full: slices wait for `more()`. */
  private full = false;
  private ended = false;
  private endPushed = false;
  /**
   * Set at the first PUBLISH past the held bytes. From then on every QoS 1/2 PUBLISH is dropped unread,
   * so none overtakes an earlier one; the broker still counts them in flight and resends them all,
   * in order, on the next connection, which the flow control makes once what was taken is settled.
   */
  readonly shed: Shed = { qos12: 0, qos0: 0 };
  heldLimit = HELD_BYTES;
  private heldBytes = 0;
  /** The connection is closing on purpose: no PUBLISH goes on any more (see `drop`). */
  private dropping = false;

  constructor(
    private readonly source: Duplex,
    private readonly sink: PacedSink,
    private readonly policy: ReadPolicy,
  ) {}

  /**
   * The Maximum Packet Size we sent in CONNECT (MQTT 5), in bytes. MQTT.js checks it only once it has
   * parsed the whole packet (handlers/index.js), after buffering all of it; the pacer reads each
   * header first and closes the connection at one that announces more, before its body arrives.
   */
  set packetLimit(bytes: number) {
    this.boundaries.limit = bytes;
  }

  /** Nothing read waits to be handed on. */
  get idle(): boolean {
    return this.unread.length === 0 && this.held.size === 0 && !this.partial?.held;
  }

  /** PUBLISH packets read and held back. */
  get heldCount(): number {
    return this.held.size;
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

  /**
   * The socket closed: what was read and not sorted goes on at once (a DISCONNECT with its reason
   * among it), as there is no more reading to pace. Held PUBLISHes are forgotten: their acks could
   * not be sent any more, and the broker sends them again on the next connection.
   */
  close(): void {
    this.stop();
    this.held.clear();
    this.heldBytes = 0;
    // The rest of a held PUBLISH begun would reach MQTT.js without its start.
    if (this.partial?.held) this.unread.splice(0);
    this.partial = undefined;
    for (const chunk of this.unread.splice(0)) this.sink.push(chunk);
    if (this.ended) this.pushEnd();
    this.sink.destroy();
  }

  /** The sink wants more (Readable._read). */
  more(): void {
    this.full = false;
    this.drip();
  }

  /** The owner's holding or awaiting changed. */
  update(): void {
    this.drip();
  }

  stop(): void {
    clearImmediate(this.next);
    this.next = undefined;
  }

  /**
   * From now on no PUBLISH reaches MQTT.js, and those held are forgotten: the connection is closing
   * on purpose, so no ack of a message taken now could reach the broker, which resends them all on
   * the next connection. The answers to what we sent still go on.
   */
  drop(): void {
    this.dropping = true;
    this.held.clear();
    this.heldBytes = 0;
    this.drip();
  }

  /** True once PUBLISHes were dropped past HELD_LIMIT on this connection (see `shed`). */
  get shedding(): boolean {
    return this.shed.qos12 + this.shed.qos0 > 0;
  }

  private drip(): void {
    if (this.dropping) {
      this.sort();
    } else if (this.shedding) {
      if (!this.policy.holding()) this.releaseHeld();
      this.sort();
    } else if (this.policy.holding()) {
      this.sort();
    } else if (this.releaseHeld()) {
      this.releaseUnread();
    }
    if (this.budget < PACKETS_PER_TURN) this.next ??= setImmediate(this.refill);
    if (this.unread.length > 0 || this.full || ((this.held.size > 0 || this.shedding) && !this.policy.awaiting())) this.source.pause();
    else if (this.ended && this.idle) this.pushEnd();
    else this.source.resume();
  }

  /** Hands on held PUBLISHes within the turn's budget; true once none is left. */
  private releaseHeld(): boolean {
    while (this.budget > 0 && !this.full && this.held.size > 0) {
      this.budget--;
      const publish = this.held.shift() as Buffer;
      this.heldBytes -= publish.length;
      this.full = !this.sink.push(publish);
    }
    return this.held.size === 0;
  }

  /** Hands on what was read and not sorted, within the turn's budget, after the held PUBLISHes. */
  private releaseUnread(): void {
    if (this.partial) {
      // A PUBLISH begun while holding: its start goes on now, and the boundaries count its end in what follows.
      if (this.partial.held) for (const part of this.partial.parts) this.full = !this.sink.push(part);
      this.partial = undefined;
    }
    while (this.budget > 0 && !this.full && this.unread.length > 0) {
      const head = this.unread[0];
      const end = this.boundaries.cut(head, this.budget);
      if (this.refused(head.subarray(0, end))) return;
      this.budget -= this.boundaries.ended;
      this.consume(end);
      this.full = !this.sink.push(end === head.length ? head : head.subarray(0, end));
    }
  }

  /**
   * Reads packet by packet: a PUBLISH goes to `held`, anything else to the sink at once. A packet
   * begun before holding started goes on whole, since MQTT.js has its first bytes already. Only a
   * packet that continues in the next read is remembered as `partial`: objects per packet were a
   * good part of the garbage per message.
   */
  private sort(): void {
    while (this.unread.length > 0) {
      const head = this.unread[0];
      const partial = this.partial;
      const held = partial ? partial.held : this.boundaries.between && head[0] >> 4 === PUBLISH;
      const end = this.boundaries.cut(head, 1);
      if (this.boundaries.tooLarge !== undefined && this.refused(head.subarray(0, held ? 0 : end))) return;
      const part = end === head.length ? head : head.subarray(0, end);
      this.consume(end);
      if (!held) this.sink.push(part);
      if (this.boundaries.ended === 0) {
        if (!partial) this.partial = { held, parts: held ? [part] : [] };
        else if (held) partial.parts.push(part);
        continue;
      }
      this.partial = undefined;
      if (held) this.keep(partial ? Buffer.concat([...partial.parts, part]) : part);
    }
  }

  /** Holds a whole PUBLISH, or drops it past the held bytes, and a QoS 1/2 one from then on. */
  private keep(publish: Buffer): void {
    if (this.dropping) return;
    const qos = (publish[0] >> 1) & 3;
    if (this.heldBytes + publish.length > this.heldLimit || (qos > 0 && this.shed.qos12 > 0)) {
      if (qos > 0) this.shed.qos12++;
      else this.shed.qos0++;
      return;
    }
    this.held.push(publish);
    this.heldBytes += publish.length;
  }

  /**
   * True once a header announced a packet past `packetLimit`: the whole packets before it (`before`)
   * go on, and on the next turn, once MQTT.js has read them, the connection ends with an error
   * naming both sizes.
   */
  private refused(before: Buffer): boolean {
    const size = this.boundaries.tooLarge;
    if (size === undefined) return false;
    this.dropping = true;
    this.unread.splice(0);
    this.held.clear();
    this.partial = undefined;
    if (before.length > 0) this.sink.push(before);
    const error = new Error(`the broker sent a packet of ${size} bytes, over the Maximum Packet Size of ${this.boundaries.limit} bytes we sent in CONNECT`);
    setImmediate(() => this.sink.destroy(Object.assign(error, { code: PACKET_TOO_LARGE })));
    return true;
  }

  /** Drops the first `end` bytes of what was read. */
  private consume(end: number): void {
    const head = this.unread[0];
    if (end === head.length) this.unread.shift();
    else this.unread[0] = head.subarray(end);
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
