// Sits between MQTT.js and its socket: incoming bytes pass untouched, outgoing PUBACK and PUBREC packets go through an AckGate.
import { Duplex } from 'node:stream';
import type { MqttClient, Packet } from 'mqtt';
import { AckGate } from './ack-gate';
import { ReadPacer } from './read-pacer';

/** The bytes of one ack MQTT.js is writing, collected until the packet is whole. */
interface Capture {
  readonly id: number;
  readonly chunks: Buffer[];
  length: number;
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
  private capture?: Capture;
  private corked = false;
  private readingHeld = false;
  private pinger?: NodeJS.Timeout;

  constructor(
    private readonly inner: Duplex,
    private readonly client: MqttClient,
  ) {
    super({ allowHalfOpen: false });
    this.gate = new AckGate((bytes) => this.send(bytes));
    const onPacketSend = (packet: Packet): void => {
      const id = packet.cmd === 'puback' || packet.cmd === 'pubrec' ? packet.messageId : undefined;
      this.capture = id !== undefined && this.gate.tracks(id) ? { id, chunks: [], length: 0 } : undefined;
    };
    client.on('packetsend', onPacketSend);
    this.pacer = new ReadPacer(inner, this, () => !this.readingHeld);
    inner.on('data', (chunk: Buffer) => this.pacer.data(chunk));
    inner.on('drain', () => this.emit('drain'));
    inner.on('end', () => this.pacer.end());
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      client.off('packetsend', onPacketSend);
      clearInterval(this.pinger);
      this.pacer.close();
    });
  }

  /**
   * Stops reading from the socket (the broker's messages wait in TCP buffers), or starts again.
   * While reading is held no PINGRESP can be read, and MQTT.js's KeepaliveManager would close the
   * connection after 1.5 keepalive periods; so PINGREQs go out on its schedule and its timeout is
   * put off. The broker still sees us alive, and a dead peer shows as a failed write.
   */
  holdReading(hold: boolean): void {
    if (hold === this.readingHeld) return;
    this.readingHeld = hold;
    clearInterval(this.pinger);
    this.pinger = undefined;
    if (hold) {
      this.inner.pause();
      const every = (this.client.options.keepalive ?? 0) * 500;
      if (every > 0) {
        this.pinger = setInterval(() => {
          this.client.sendPing();
          this.client.reschedulePing(true);
        }, every).unref();
      }
    } else {
      this.pacer.release();
    }
  }

  override _read(): void {
    this.pacer.more();
  }

  override write(chunk: Buffer, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    const capture = this.capture;
    if (capture) {
      capture.chunks.push(chunk);
      capture.length += chunk.length;
      const whole = Buffer.concat(capture.chunks, capture.length);
      if (isWhole(whole)) {
        this.capture = undefined;
        this.gate.offer(capture.id, whole);
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
    this.inner.end(callback);
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

/** True once `data` holds a whole packet: its fixed header and the remaining length it announces. */
function isWhole(data: Buffer): boolean {
  let length = 0;
  let multiplier = 1;
  for (let i = 1; i < data.length && i <= 4; i++) {
    length += (data[i] & 0x7f) * multiplier;
    if ((data[i] & 0x80) === 0) return data.length >= i + 1 + length;
    multiplier *= 128;
  }
  return false;
}
