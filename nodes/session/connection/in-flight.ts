// Which QoS 1/2 publish a broker keeps closing the connection on: the oldest in flight at several closes in a row.
import type { MqttClient, Packet } from 'mqtt';

/**
 * Closes of an established connection in a row with the same publish oldest in flight, after which
 * it is given up. MQTT.js resends what is in flight first on every connection, one at a time, so a
 * message the broker closes the connection on (a malformed packet, one past its max_packet_size
 * over MQTT 3.1.1) would hold up everything behind it for ever. One close may be chance, and a
 * healthy message is acknowledged within a round trip of the CONNACK, so three in a row say it is
 * the message.
 */
export const CLOSES_IN_FLIGHT = 3;

/** Counts the closes in a row at which the same publish was the oldest in flight. */
export class CloseStrikes<K> {
  private suspect?: K;
  private closes = 0;

  constructor(private readonly limit = CLOSES_IN_FLIGHT) {}

  /** An established connection closed with `oldest` the oldest publish in flight (undefined: none). True when it is to be given up. */
  closed(oldest: K | undefined): boolean {
    this.closes = oldest !== undefined && oldest === this.suspect ? this.closes + 1 : 1;
    this.suspect = oldest;
    if (oldest === undefined || this.closes < this.limit) return false;
    this.suspect = undefined;
    this.closes = 0;
    return true;
  }
}

/**
 * The oldest PUBLISH MQTT.js holds to resend. Its default Store keeps them in a Map by packet
 * identifier in the order they were put (mqtt/src/lib/store.ts, `_inflights`), which is the order
 * they are resent in; session.test.ts pins this. The same packet object is resent each time, so it
 * names the message across connections. Undefined with a store of another shape.
 */
export function oldestPublish(client: MqttClient): Packet | undefined {
  const inflights = (client.outgoingStore as unknown as { _inflights?: unknown })._inflights;
  if (!(inflights instanceof Map)) return undefined;
  for (const packet of (inflights as Map<number, Packet>).values()) if (packet.cmd === 'publish') return packet;
  return undefined;
}
