// Specs for nodes/session/stream/publish-size.ts: the size of a PUBLISH, pinned to what mqtt-packet (MQTT.js's encoder) writes.
import { strict as assert } from 'node:assert';
import { generate, type IPublishPacket } from 'mqtt-packet';
import { MQTT_MAX_PACKET_SIZE, publishSize } from '../nodes/session/stream/publish-size.js';

type Properties = NonNullable<IPublishPacket['properties']>;

describe('publish-size', () => {
  const cases: [string, string, number, 0 | 1 | 2, Properties | undefined][] = [
    ['bare QoS 0', 't', 0, 0, undefined],
    ['QoS 1 with a payload', 'a/b/c', 10, 1, undefined],
    ['a multibyte topic', 'température/室', 300, 2, undefined],
    ['every property the out node sends', 'x', 20_000, 1, { contentType: 'text/plain', responseTopic: 'r/é', correlationData: Buffer.from('c-1'), messageExpiryInterval: 60, userProperties: { k: 'v', list: ['a', 'bb'], ü: 'ö' } }],
    ['the remaining length past two bytes', 'big', 3_000_000, 1, { payloadFormatIndicator: true }],
  ];
  for (const [what, topic, payloadBytes, qos, properties] of cases) {
    for (const protocolVersion of [4, 5] as const) {
      it(`counts ${what} as mqtt-packet writes it (MQTT ${protocolVersion})`, () => {
        const packet: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.alloc(payloadBytes), qos, retain: false, dup: false, messageId: qos > 0 ? 1 : undefined, ...(protocolVersion === 5 ? { properties } : {}) };
        assert.equal(publishSize(topic, payloadBytes, qos, properties, protocolVersion), generate(packet, { protocolVersion }).length);
      });
    }
  }

  it('names the largest packet MQTT can frame: a 4-byte Remaining Length of 268,435,455 behind the header', () => {
    assert.equal(MQTT_MAX_PACKET_SIZE, 268_435_460);
    assert.equal(publishSize('t', 268_435_455 - 5, 1, undefined, 4), MQTT_MAX_PACKET_SIZE);
  });
});
