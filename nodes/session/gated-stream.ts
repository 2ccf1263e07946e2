// Sits between MQTT.js and its socket: incoming bytes pass untouched, outgoing PUBACK and PUBREC packets go through an AckGate.
import { Duplex } from 'node:stream';
import { AckGate } from './ack-gate';

const PUBACK = 4;
const PUBREC = 5;

/**
 * MQTT.js acknowledges a PUBLISH as soon as `handleMessage` calls back, and handles packets strictly
 * one at a time, so holding that callback would stall every later packet, PINGRESP included. Instead
 * MQTT.js runs unhindered and this stream holds the ack bytes it writes until the message is settled.
 * Outgoing bytes are cut into whole MQTT packets first, so a released ack never lands inside another
 * packet.
 */
export class GatedStream extends Duplex {
  readonly gate: AckGate;
  private partial: Buffer = Buffer.alloc(0);
  private corked = false;
  private readingHeld = false;

  constructor(private readonly inner: Duplex) {
    super({ allowHalfOpen: false });
    this.gate = new AckGate((bytes) => this.send(bytes));
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  /** Stops reading from the socket (the broker's messages wait in TCP buffers), or starts again. */
  holdReading(hold: boolean): void {
    if (hold === this.readingHeld) return;
    this.readingHeld = hold;
    if (hold) this.inner.pause();
    else this.inner.resume();
  }

  override _read(): void {
    if (!this.readingHeld) this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.forward(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }

  /** Passes whole packets through, hands acks to the gate, keeps a trailing partial packet for the next write. */
  private forward(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const data = this.partial.length > 0 || chunks.length > 1 ? Buffer.concat([this.partial, ...chunks]) : chunks[0];
    const out: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const f = frame(data, offset);
      if (f === undefined) break;
      const packet = data.subarray(offset, offset + f.size);
      offset += f.size;
      const type = packet[0] >> 4;
      if ((type === PUBACK || type === PUBREC) && f.size >= f.headerSize + 2) {
        // A gated ack is owned by the gate; copy it out of a buffer MQTT.js may reuse.
        if (this.gate.offer(packet.readUInt16BE(f.headerSize), Buffer.from(packet))) continue;
      }
      out.push(packet);
    }
    this.partial = offset < data.length ? Buffer.from(data.subarray(offset)) : Buffer.alloc(0);
    if (out.length === 0) return callback();
    if (this.inner.write(out.length === 1 ? out[0] : Buffer.concat(out))) callback();
    else this.inner.once('drain', () => callback());
  }

  /** Writes a released ack; acks released together leave in one TCP segment. */
  private send(bytes: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.inner.cork();
      process.nextTick(() => {
        this.corked = false;
        this.inner.uncork();
      });
    }
    this.inner.write(bytes);
  }
}

/** Where a whole packet starting at `offset` ends and its variable header starts, or undefined when it is not all there yet. */
function frame(data: Buffer, offset: number): { size: number; headerSize: number } | undefined {
  let length = 0;
  let multiplier = 1;
  for (let i = offset + 1; i < data.length && i <= offset + 4; i++) {
    const byte = data[i];
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      const headerSize = i - offset + 1;
      return offset + headerSize + length <= data.length ? { size: headerSize + length, headerSize } : undefined;
    }
    multiplier *= 128;
  }
  return undefined;
}
