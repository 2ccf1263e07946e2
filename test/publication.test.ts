// Specs for nodes/publisher/publication.ts: what a msg may ask durable-mqtt-out to publish, refused before the outbox when a broker would not take it.
import { strict as assert } from 'node:assert';
import mqttPacket from 'mqtt-packet';
import { publicationOf } from '../nodes/publisher/publication.js';

const defaults = { topic: '', qos: 1 as const };
const refusal = (msg: Record<string, unknown>, maxPacketSize?: number): string => {
  const r = publicationOf(msg, defaults, maxPacketSize);
  return r.ok ? '' : r.error;
};

describe('publication', () => {
  it('refuses a topic a broker closes the connection on: control characters, non-characters, lone surrogates, too long', () => {
    assert.match(refusal({ topic: 'a\u0001b', payload: 'x' }), /^invalid topic "a\\u0001b": .*control character U\+0001/);
    for (const topic of ['a\u0000', 'a\u007f', 'a\u0085', 'a\ufdd0', 'a\uffff', 'a\ud800', 'x'.repeat(65536)]) {
      assert.notEqual(refusal({ topic, payload: 'x' }), '', JSON.stringify(topic.slice(0, 3)));
    }
  });

  it('refuses MQTT 5 properties a broker would not take, naming the property', () => {
    assert.match(refusal({ topic: 't', responseTopic: 'r/#' }), /^invalid msg\.responseTopic "r\/#": .*wildcards/);
    assert.match(refusal({ topic: 't', responseTopic: 'r\u0002' }), /msg\.responseTopic.*U\+0002/);
    assert.match(refusal({ topic: 't', contentType: 'text/\u0000' }), /^invalid msg\.contentType: .*U\+0000/);
    assert.match(refusal({ topic: 't', userProperties: { 'k\u0001': 'v' } }), /^invalid msg\.userProperties name "k\\u0001": /);
    assert.match(refusal({ topic: 't', userProperties: { k: ['ok', 'v\u001f'] } }), /^invalid msg\.userProperties\.k: .*U\+001F/);
    assert.match(refusal({ topic: 't', correlationData: Buffer.alloc(65536) }), /msg\.correlationData: it is 65536 bytes/);
    assert.match(refusal({ topic: 't', messageExpiryInterval: 2 ** 32 }), /msg\.messageExpiryInterval/);
  });

  it('sends user properties as strings, a property named __proto__ included', () => {
    const r = publicationOf({ topic: 't', userProperties: JSON.parse('{"__proto__": ["x"], "n": 1, "o": {"a": true}}') as object }, defaults);
    assert.ok(r.ok);
    const props = r.publication.properties?.userProperties ?? {};
    assert.deepEqual(Object.entries(props), [['__proto__', ['x']], ['n', '1'], ['o', '{"a":true}']]);
    assert.equal(Object.getPrototypeOf(props), Object.prototype);
  });

  it('sends no user properties when the msg\'s hold no pair (an empty object, a Set, a Map, an empty list), which mqtt-packet would not write at all', () => {
    for (const userProperties of [{}, [], new Set(['a', 1]), new Map([['k', 'v']]), { k: [] }]) {
      const r = publicationOf({ topic: 't', payload: 'x', userProperties }, defaults);
      assert.ok(r.ok);
      assert.equal(r.publication.properties, undefined, userProperties.constructor.name);
    }
    // Why (mqtt-packet writeToStream.js getProperties): a PUBLISH with empty user properties comes out as no bytes, no error,
    // so MQTT.js waits for the PUBACK of a packet never sent. Fails, and can go, once mqtt-packet writes it.
    const packet = { cmd: 'publish', topic: 't', payload: 'x', qos: 1, messageId: 1, dup: false, retain: false, properties: { userProperties: {} } } as const;
    assert.equal(mqttPacket.generate(packet, { protocolVersion: 5 }).length, 0);
  });

  it('refuses a message larger than the Maximum Packet Size as a PUBLISH, topic and properties counted', () => {
    // Topic 2+1, packet id 2, properties 1+(1+2+10), payload 80: a remaining length of 99, so 101 bytes with the fixed header.
    const msg = { topic: 't', payload: Buffer.alloc(80), contentType: 'text/plain' };
    assert.equal(refusal(msg, 101), '');
    assert.match(refusal(msg, 100), /101 bytes as a PUBLISH packet, more than the Maximum Packet Size of 100 bytes/);
  });
  it('reads a msg.qos or msg.messageExpiryInterval that is an object with no usable toString as unset, never a throw', () => {
    const r = publicationOf({ topic: 't', payload: 'x', qos: { toString: '' }, messageExpiryInterval: { valueOf: '' } }, defaults);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.publication.qos, 1);
    assert.equal(r.publication.properties?.messageExpiryInterval, undefined);
  });
});
