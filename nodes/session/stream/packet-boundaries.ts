// Finds where MQTT packets end in a byte stream, from their fixed headers alone, across reads.

/**
 * Follows the stream's packet boundaries one buffer after another: a packet, or its header, may be
 * split over two reads. Reads only each packet's first two to five bytes, so a whole read costs a
 * few steps per packet, whatever the payloads' size.
 */
export class PacketBoundaries {
  /** Bytes of the current packet's body still to come. */
  private body = 0;
  /** Within a header: the remaining length so far, and the weight of its next byte; 0 between packets. */
  private length = 0;
  private weight = 0;
  /** Packets that ended within what the last `cut` returned. */
  ended = 0;
  /** Bytes a whole packet may have (MQTT 5 Maximum Packet Size we sent); a longer one stops `cut` at its header. */
  limit = Infinity;
  /** The size a header announced past `limit`; once set, `cut` reads no further, and returned that packet's start. */
  tooLarge?: number;

  /** True between two packets: the next byte is a packet's first (its type and flags). */
  get between(): boolean {
    return this.body === 0 && this.weight === 0;
  }

  /**
   * The offset in `data` just past the end of its `packets`th packet, counting a packet begun in an
   * earlier buffer as the first; `data.length` when fewer end in it. Advances past what it returns.
   */
  cut(data: Buffer, packets: number): number {
    let at = 0;
    /** Where the current packet began in `data` (0 when in an earlier buffer). */
    let start = 0;
    this.ended = 0;
    if (this.tooLarge !== undefined) return 0;
    while (at < data.length) {
      if (this.body > 0) {
        const take = Math.min(this.body, data.length - at);
        this.body -= take;
        at += take;
        if (this.body > 0) break;
      } else if (this.weight === 0) {
        // The type byte; the remaining length follows.
        start = at++;
        this.length = 0;
        this.weight = 1;
        continue;
      } else {
        const byte = data[at++];
        this.length += (byte & 0x7f) * this.weight;
        // A length over four bytes is malformed; MQTT.js rejects it, so end the header here regardless.
        if (byte & 0x80 && this.weight < 128 ** 3) {
          this.weight *= 128;
          continue;
        }
        // The type byte, the remaining length's own bytes (one per 7 bits of weight), then the body.
        const size = 1 + (Math.log2(this.weight) / 7 + 1) + this.length;
        this.weight = 0;
        if (size > this.limit) {
          // Stops here, before the body: a hostile 256 MB header would otherwise be buffered by MQTT.js's parser whole.
          this.tooLarge = size;
          return start;
        }
        this.body = this.length;
        if (this.body > 0) continue;
      }
      if (++this.ended === packets) return at;
    }
    return at;
  }
}
