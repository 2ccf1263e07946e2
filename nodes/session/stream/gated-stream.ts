// Sits between MQTT.js and its socket: incoming bytes pass untouched, outgoing PUBACK and PUBREC packets go through an AckGate.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { MqttClient, Packet } from 'mqtt';
import { AckGate } from '../inbound/ack-gate';
import { AwaitedAnswers } from './awaited';
import { PacketBoundaries } from './packet-boundaries';
import { ReadPacer, type Shed } from './read-pacer';

/** ms a broker has to close its side after our FIN in closeGently before the socket is destroyed. */
export const GENTLE_CLOSE_MS = 2000;

/** The bytes of the ack MQTT.js is writing, collected until the packet is whole; one per stream, reused for every ack. */
interface Capture {
  /** False between acks: writes go straight to the socket. */
  active: boolean;
  id: number;
  readonly chunks: Buffer[];
  length: number;
  /** Reads the chunks as they come: the ack is whole once its fixed header's remaining length has arrived. */
  boundaries: PacketBoundaries;
}

/**
 * MQTT.js acknowledges a PUBLISH as soon as `handleMessage` calls back, and handles packets strictly
 * one at a time, so holding that callback would stall every later packet, PINGRESP included. Instead
 * MQTT.js runs unhindered and this stream holds the ack bytes it writes until the message is settled.
 *
 * MQTT.js emits `packetsend` with each packet just before it writes the packet's bytes, all in one
 * synchronous call; that says which writes belong to an ack, with no parsing of the byte stream.
 * Writes go straight to the socket rather than through Writable's buffering, which per ack cost more
 * than everything else this stream does.
 */
export class GatedStream extends Duplex {
  readonly gate: AckGate;
  private readonly pacer: ReadPacer;
  private readonly capture: Capture = { active: false, id: 0, chunks: [], length: 0, boundaries: new PacketBoundaries() };
  private corked = false;
  private holding = false;
  private readonly awaited = new AwaitedAnswers();
  private updating = false;
  /** Called after each ack MQTT.js wrote reached the gate: what is pending may have dropped. */
  acked?: () => void;
  /** closeGently was called: writes after it are dropped, as the socket is ending. */
  private ending = false;

  constructor(
    private readonly inner: Duplex,
    client: MqttClient,
  ) {
    super({ allowHalfOpen: false });
    // Writes are already gathered per turn (see send); Nagle would add a round trip's wait (40 ms
    // delayed ACK) to a PUBLISH that follows our own ack on a shared connection.
    if ('setNoDelay' in inner && typeof inner.setNoDelay === 'function') (inner as Socket).setNoDelay(true);
    this.gate = new AckGate((bytes) => this.send(bytes));
    const onPacketSend = (packet: Packet): void => {
      const id = packet.cmd === 'puback' || packet.cmd === 'pubrec' ? packet.messageId : undefined;
      if (id !== undefined && this.gate.tracks(id)) this.startCapture(id);
      else this.capture.active = false;
      const before = this.awaited.any;
      this.awaited.sent(packet);
      this.followed(before);
    };
    const onPacketReceive = (packet: Packet): void => {
      const before = this.awaited.any;
      this.awaited.received(packet);
      this.followed(before);
    };
    client.on('packetsend', onPacketSend);
    client.on('packetreceive', onPacketReceive);
    this.pacer = new ReadPacer(inner, this, { holding: () => this.holding, awaiting: () => this.awaited.any });
    inner.on('data', (chunk: Buffer) => this.pacer.data(chunk));
    inner.on('drain', () => this.emit('drain'));
    inner.on('end', () => this.pacer.end());
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      client.off('packetsend', onPacketSend);
      client.off('packetreceive', onPacketReceive);
      this.pacer.close();
    });
  }

  /**
   * Holds back inbound PUBLISHes while the application takes no more (`hold`), or lets them go on.
   * Reading never stops for the answers to what we sent: an out node on this connection waits for
   * its PUBACKs, and its flow is what frees the window. The socket pauses only while messages are
   * held and nothing we sent is unanswered; MQTT.js's own PINGREQ makes it read again, so the
   * keepalive works as usual (docs/acks.md, "Window and backpressure").
   */
  holdMessages(hold: boolean): void {
    if (hold === this.holding) return;
    this.holding = hold;
    this.pacer.update();
  }

  /**
   * After a change to what is awaited (`before`: whether anything was): when that turns the pause
   * rule, the pacer looks again on the next tick, outside MQTT.js's own packet handling (these are
   * its packet events).
   */
  private followed(before: boolean): void {
    if (this.awaited.any === before || this.updating) return;
    this.updating = true;
    process.nextTick(() => {
      this.updating = false;
      this.pacer.update();
    });
  }

  /** The next write MQTT.js makes is the ack of message `id`: it goes to the gate, not the socket. */
  private startCapture(id: number): void {
    const capture = this.capture;
    // One left unfinished (it never is: MQTT.js writes an ack whole) must not leave its header's state behind.
    if (!capture.boundaries.between) capture.boundaries = new PacketBoundaries();
    capture.active = true;
    capture.id = id;
    capture.chunks.length = 0;
    capture.length = 0;
  }

  /** PUBLISH packets read and held back while holding. */
  get held(): number {
    return this.pacer.heldCount;
  }

  /**
   * Closes the connection on purpose (a recycle) without losing what was written: the acks just
   * released leave before our FIN. Destroying a socket with unread data in it sends a reset
   * instead, and the broker may drop our last acks and send those messages again. No PUBLISH
   * reaches MQTT.js any more (ReadPacer.drop); a broker that does not close within
   * GENTLE_CLOSE_MS is cut off.
   */
  closeGently(): void {
    if (this.ending) return;
    this.ending = true;
    this.pacer.drop();
    this.inner.end();
    setTimeout(() => this.destroy(), GENTLE_CLOSE_MS).unref();
  }

  /** The most bytes of PUBLISHes held before the pacer sheds (HELD_BYTES unless the session sets it). */
  set heldLimit(limit: number) {
    this.pacer.heldLimit = limit;
  }

  /** Our MQTT 5 Maximum Packet Size: a header announcing more ends the connection with an error (ReadPacer.packetLimit). */
  set packetLimit(bytes: number) {
    this.pacer.packetLimit = bytes;
  }

  /** PUBLISHes dropped past the held bytes on this connection; non-zero means it must be recycled once what was taken is settled. */
  get shed(): Shed {
    return this.pacer.shed;
  }

  override _read(): void {
    this.pacer.more();
  }

  override write(chunk: Buffer, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (this.ending) {
      // MQTT.js resends an unacknowledged publish on the next connection; an ack written now has no message the broker would still count.
      if (done) process.nextTick(done);
      return true;
    }
    const capture = this.capture;
    if (capture.active) {
      capture.chunks.push(chunk);
      capture.length += chunk.length;
      capture.boundaries.cut(chunk, 1);
      if (capture.boundaries.ended === 1) {
        capture.active = false;
        // MQTT.js writes an ack in one chunk: nothing to join then.
        const bytes = capture.chunks.length === 1 ? chunk : Buffer.concat(capture.chunks, capture.length);
        capture.chunks.length = 0;
        this.gate.offer(capture.id, bytes);
        this.acked?.();
      }
      if (done) process.nextTick(done);
      return true;
    }
    return this.inner.write(chunk, done);
  }

  override cork(): void {
    this.inner.cork();
  }

  override uncork(): void {
    this.inner.uncork();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Only reached through Writable.end(chunk); MQTT.js ends without one.
    this.inner.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // After closeGently the socket is ending already; ending it twice is an error.
    if (this.ending) callback();
    else this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pacer.stop();
    this.inner.destroy();
    callback(error);
  }

  /**
   * Writes a released ack. MQTT.js handles one packet per tick, so acks are held corked until the
   * next turn of the event loop: the acks of a whole read leave in one write instead of one each.
   */
  private send(bytes: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.inner.cork();
      setImmediate(() => {
        this.corked = false;
        this.inner.uncork();
      });
    }
    this.inner.write(bytes);
  }
}
