// The broker's Receive Maximum on our side: QoS 1/2 publishes past it wait until earlier ones end.
import { Fifo } from './fifo';

/**
 * MQTT 3.1.1 has no Receive Maximum. Mosquitto 2.0 takes its max_inflight_messages (20 by default)
 * QoS 2 PUBLISHes unacknowledged from a 3.1.1 client and drops the rest after acknowledging them:
 * of 300 sent at once, 20 reached a subscriber. So over 3.1.1 at most this many QoS 2 publishes
 * are in flight; QoS 1 ones, which it does not drop, are not held.
 */
export const QOS2_IN_FLIGHT_MQTT3 = 20;

/**
 * MQTT 5 §4.9: a client must not have more QoS 1 and 2 PUBLISH packets unacknowledged than the
 * Receive Maximum the broker sent in CONNACK. MQTT.js does not hold to it, and a broker refuses the
 * excess: Mosquitto 2.0 answers PUBREC 0x97 (quota exceeded) past its max_inflight_messages.
 * One quota serves one client, whatever number of nodes publish through it.
 */
export class SendQuota {
  private inFlight = 0;
  private limit: number;
  private readonly minQos: 1 | 2;
  private readonly waiting = new Fifo<() => void>();

  constructor(private readonly protocolVersion: 4 | 5) {
    this.minQos = protocolVersion === 5 ? 1 : 2;
    this.limit = protocolVersion === 5 ? Infinity : QOS2_IN_FLIGHT_MQTT3;
  }

  /** True when a publish of this QoS goes through the quota. */
  counts(qos: number | undefined): boolean {
    return (qos ?? 0) >= this.minQos;
  }

  /** A new connection: with MQTT 5 the limit is the Receive Maximum in its CONNACK (none there: no limit). */
  connected(receiveMaximum: number | undefined): void {
    if (this.protocolVersion === 5) this.limit = receiveMaximum ?? Infinity;
    this.next();
  }

  /** Calls `send` now if the quota allows, else once earlier sends have ended, in order; each call of `send` must be followed by one `ended()`. */
  run(send: () => void): void {
    if (this.waiting.size === 0 && this.inFlight < this.limit) {
      this.inFlight++;
      send();
    } else {
      this.waiting.push(send);
    }
  }

  /** A publish was acknowledged, refused or failed. */
  ended(): void {
    this.inFlight--;
    this.next();
  }

  /** Lets every waiting send go (the client is closing, so each fails at once and goes back to its sender). */
  release(): void {
    this.limit = Infinity;
    this.next();
  }

  /** Publishes waiting now. */
  get queued(): number {
    return this.waiting.size;
  }

  private next(): void {
    while (this.waiting.size > 0 && this.inFlight < this.limit) {
      this.inFlight++;
      (this.waiting.shift() as () => void)();
    }
  }
}
