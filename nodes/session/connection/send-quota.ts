// The broker's Receive Maximum on our side: QoS 1/2 publishes past it wait until earlier ones end.
import { Fifo } from '../lib/fifo';

/** A publish waiting its turn; `counted` ones take one of the broker's slots. */
interface Waiting {
  readonly send: () => void;
  readonly counted: boolean;
}

/**
 * MQTT 3.1.1 has no Receive Maximum, and Mosquitto 2.0 holds a 3.1.1 client to its
 * max_inflight_messages (20 by default) all the same: a QoS 1 or 2 PUBLISH that comes while its
 * in-flight quota is used up is acknowledged and dropped. A QoS 2 message takes a slot until its
 * PUBREL; a QoS 1 message only while the broker handles it. Of 300 QoS 2 messages sent at once, 20
 * reached a subscriber; with 20 QoS 2 ones in flight, QoS 1 messages from the same client were lost
 * too. So over 3.1.1 at most 19 QoS 2 publishes are in flight, which leaves a QoS 1 one its slot,
 * and QoS 1 ones are not held.
 */
export const QOS2_IN_FLIGHT_MQTT3 = 19;

/**
 * MQTT 5 §4.9: a client must not have more QoS 1 and 2 PUBLISH packets unacknowledged than the
 * Receive Maximum the broker sent in CONNACK. MQTT.js does not hold to it, and a broker refuses the
 * excess: Mosquitto 2.0 answers PUBACK or PUBREC 0x97 (quota exceeded) past its max_inflight_messages.
 * One quota serves one client, whatever number of nodes publish through it.
 */
export class SendQuota {
  private inFlight = 0;
  private limit: number;
  private readonly minQos: 1 | 2;
  private readonly waiting = new Fifo<Waiting>();
  /** True while `next` is sending: a send that ends at once must not start a nested round. */
  private sending = false;

  constructor(private readonly protocolVersion: 4 | 5) {
    this.minQos = protocolVersion === 5 ? 1 : 2;
    this.limit = protocolVersion === 5 ? Infinity : QOS2_IN_FLIGHT_MQTT3;
  }

  /** True when a publish of this QoS takes one of the broker's slots. */
  counts(qos: number | undefined): boolean {
    return (qos ?? 0) >= this.minQos;
  }

  /** A new connection: with MQTT 5 the limit is the Receive Maximum in its CONNACK (none there: no limit). */
  connected(receiveMaximum: number | undefined): void {
    if (this.protocolVersion === 5) this.limit = receiveMaximum ?? Infinity;
    this.next();
  }

  /**
   * Calls `send` now if nothing waits and, when `counted`, the quota has a slot; else in turn, so
   * publishes leave in the order they came, whatever their QoS. Each call of a counted send must be
   * followed by one `ended()`.
   */
  run(send: () => void, counted: boolean): void {
    if (this.enter(counted)) send();
    else this.waiting.push({ send, counted });
  }

  /** `run` without a function to call later: true (and the slot taken, when `counted`) when a publish may go now; false when it must go through `run`. */
  enter(counted: boolean): boolean {
    if (this.waiting.size > 0 || (counted && this.inFlight >= this.limit)) return false;
    if (counted) this.inFlight++;
    return true;
  }

  /** A counted publish was acknowledged, refused or failed. */
  ended(): void {
    this.inFlight--;
    this.next();
  }

  /** Calls every waiting send now, whatever the quota: the client is closing, so each fails at once back to its sender. */
  release(): void {
    for (const w of this.waiting.clear()) {
      if (w.counted) this.inFlight++;
      w.send();
    }
  }

  /** Publishes waiting now. */
  get queued(): number {
    return this.waiting.size;
  }

  private next(): void {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let w = this.waiting.peek(); w && (!w.counted || this.inFlight < this.limit); w = this.waiting.peek()) {
        this.waiting.shift();
        if (w.counted) this.inFlight++;
        w.send();
      }
    } finally {
      this.sending = false;
    }
  }
}
