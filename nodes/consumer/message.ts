// Builds the flow msg for a received PUBLISH, shaped like the core `mqtt in` node's so nodes can be swapped.
import type { IPublishPacket } from 'mqtt';
import type { NodeMessage } from 'node-red';

/** MQTT 5 properties copied onto msg under the same names as the core node uses. */
// The core node's list (10-mqtt.js subscriptionHandler); a PUBLISH carries no reasonString, but core copies one if a broker sends it.
const V5_PROPERTIES = ['userProperties', 'contentType', 'responseTopic', 'correlationData', 'messageExpiryInterval', 'payloadFormatIndicator', 'reasonString'] as const;

/**
 * `dup` is the PUBLISH's DUP flag: true when the broker sends a message again that it may have sent
 * before (after a reconnect, or a withheld ack). Core's node leaves it off (node-red issue #3495).
 */
export function toMessage(topic: string, payload: unknown, packet: IPublishPacket): NodeMessage {
  const msg: NodeMessage = { topic, payload, qos: packet.qos, retain: packet.retain, dup: packet.dup === true };
  // mqtt-packet's PUBLISH type lists no reasonString; the decoder keeps whatever property the broker sent.
  const props: Partial<Record<(typeof V5_PROPERTIES)[number], unknown>> | undefined = packet.properties;
  if (props) {
    for (const key of V5_PROPERTIES) {
      if (props[key] !== undefined) msg[key] = props[key];
    }
  }
  return msg;
}
