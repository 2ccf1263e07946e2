// Follows what we sent that waits for the broker's answer (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK, PINGRESP), from MQTT.js's packet events.
import type { Packet } from 'mqtt';

/**
 * The read pacer may pause the socket only while this is empty: an answer we wait for is never
 * left unread behind inbound messages the application is not taking yet. Counted per connection
 * from `packetsend` and `packetreceive`, so it needs nothing of MQTT.js's internals; packet
 * identifiers are unique among our unanswered QoS 1/2 PUBLISH, PUBREL, SUBSCRIBE and UNSUBSCRIBE.
 */
export class AwaitedAnswers {
  /** One bit per packet identifier (1..65535), set while its answer is awaited: 8 kB, and no hashing or garbage per packet as with a Set. */
  private readonly ids = new Uint32Array(2048);
  private count = 0;
  private pinging = false;

  get any(): boolean {
    return this.pinging || this.count > 0;
  }

  sent(packet: Packet): void {
    switch (packet.cmd) {
      case 'publish':
        if (packet.qos > 0 && packet.messageId !== undefined) this.add(packet.messageId);
        break;
      case 'pubrel':
      case 'subscribe':
      case 'unsubscribe':
        if (packet.messageId !== undefined) this.add(packet.messageId);
        break;
      case 'pingreq':
        this.pinging = true;
        break;
      default:
        break;
    }
  }

  received(packet: Packet): void {
    switch (packet.cmd) {
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
      case 'suback':
      case 'unsuback':
        if (packet.messageId !== undefined) this.remove(packet.messageId);
        break;
      case 'pingresp':
        this.pinging = false;
        break;
      default:
        break;
    }
  }

  private add(id: number): void {
    const word = (id >>> 5) & 2047;
    const bit = 1 << (id & 31);
    if ((this.ids[word] & bit) !== 0) return;
    this.ids[word] |= bit;
    this.count++;
  }

  private remove(id: number): void {
    const word = (id >>> 5) & 2047;
    const bit = 1 << (id & 31);
    if ((this.ids[word] & bit) === 0) return;
    this.ids[word] &= ~bit;
    this.count--;
  }
}
