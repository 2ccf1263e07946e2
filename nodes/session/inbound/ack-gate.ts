// Holds the acknowledgement of each received QoS 1/2 PUBLISH until the application settles it, and lets acks out in arrival order.
import { Fifo } from '../lib/fifo';
import { IdTable } from '../lib/id-table';

/** What the application decided for one message: send its ack, or withhold it so the broker redelivers it on the next connection. */
export type Verdict = 'ack' | 'withhold';

interface Entry {
  readonly id: number;
  verdict?: Verdict;
  /** The encoded PUBACK (QoS 1) or PUBREC (QoS 2) once MQTT.js has written it. */
  bytes?: Buffer;
}

/**
 * MQTT 3.1.1 §4.6 and MQTT 5 §4.6 require PUBACK and PUBREC to leave in the order the PUBLISH packets
 * arrived, so a settled message waits behind every earlier unsettled one. A withheld message is
 * skipped: its ack is dropped, and the broker resends the PUBLISH when the client reconnects.
 *
 * One gate serves one network connection; packet identifiers are only unique within it.
 */
export class AckGate {
  private readonly queue = new Fifo<Entry>();
  /** Packet identifiers from a broker mostly come in sequence: see IdTable. */
  private readonly byId = new IdTable<Entry>();
  private withheldCount = 0;

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** A PUBLISH with this packet identifier arrived; its ack now waits for `settle`. */
  expect(id: number): void {
    if (this.byId.has(id)) return;
    const entry: Entry = { id };
    this.byId.set(id, entry);
    this.queue.push(entry);
  }

  /** The application is done with the message. Unknown identifiers (an older connection's) are ignored. */
  settle(id: number, verdict: Verdict): void {
    const entry = this.byId.get(id);
    if (!entry || entry.verdict) return;
    entry.verdict = verdict;
    if (verdict === 'withhold') this.withheldCount++;
    this.flush();
  }

  /**
   * MQTT.js has written the ack for `id`; the gate owns the bytes from now on. The caller offers
   * only what `tracks(id)` accepted, so an unknown `id` cannot happen and is ignored.
   */
  offer(id: number, bytes: Buffer): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    entry.bytes = bytes;
    this.flush();
  }

  /** True while the ack for `id` must go through the gate. */
  tracks(id: number): boolean {
    return this.byId.has(id);
  }

  /** Messages received whose ack has not left yet (unsettled, or settled behind an unsettled one). */
  get pending(): number {
    return this.queue.size;
  }

  /** Messages withheld on this connection: each takes one of the broker's in-flight slots until we reconnect. */
  get withheld(): number {
    return this.withheldCount;
  }

  private flush(): void {
    for (let entry = this.queue.peek(); entry; entry = this.queue.peek()) {
      // Wait for the verdict, and for MQTT.js to have produced the bytes so a withheld ack can be dropped.
      if (!entry.verdict || !entry.bytes) return;
      this.queue.shift();
      this.byId.delete(entry.id);
      if (entry.verdict === 'ack') this.write(entry.bytes);
    }
  }
}
