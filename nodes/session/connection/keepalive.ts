// Gives MQTT.js's keepalive a PINGRESP now and then while a broker works through our acks, so a slow broker is not taken for a dead one.
import type { MqttClient } from 'mqtt';

/** Acks between two PINGREQs of our own: about 1 % more packets, and a sign of progress every so many. */
export const ACKS_PER_PING = 100;

/**
 * MQTT.js sends PINGREQ after a keepalive period in which no ack came, and drops the connection when
 * no PINGRESP follows within half a period more (`KeepaliveManager`: 1.5 periods in all); a PUBLISH
 * from the broker does not count. A broker reads our packets in order, so that PINGRESP comes only
 * once it has read every PUBACK sent before the PINGREQ. Mosquitto 2.0.11 with `autosave_on_changes`
 * reads one packet per client per loop and saves its database after each loop: after a redelivery of
 * thousands of messages it had not read our PINGREQ 90 s later. MQTT.js dropped the connection, the
 * unread PUBACKs went with it, and the broker sent every one of those messages again, about every
 * 90 s for the rest of a soak run.
 *
 * A PINGREQ after every ACKS_PER_PING acks waits behind at most that many, so a broker that reads
 * our packets at all answers one within the period; one that reads nothing is still given up.
 */
export function keepAlivePatiently(client: MqttClient): void {
  let acks = 0;
  client.on('packetsend', (packet) => {
    if (packet.cmd !== 'puback' && packet.cmd !== 'pubrec') return;
    if (++acks < ACKS_PER_PING) return;
    acks = 0;
    // Once MQTT.js has written this ack: `packetsend` comes before a packet's bytes, and the
    // GatedStream tells an ack's bytes by the last `packetsend` before them.
    process.nextTick(() => {
      if (client.connected) client.sendPing();
    });
  });
  client.on('close', () => {
    acks = 0;
  });
}
