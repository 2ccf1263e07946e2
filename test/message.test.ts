// Specs for nodes/consumer/message.ts: the msg a consumer sends, with MQTT 5 properties under core's names.
import { strict as assert } from 'node:assert';
import type { IPublishPacket } from 'mqtt';
import { toMessage } from '../nodes/consumer/message.js';

describe('message', () => {
  const packet = (extra: Partial<IPublishPacket> = {}): IPublishPacket => ({
    cmd: 'publish', topic: 't/1', payload: Buffer.from('x'), qos: 1, retain: true, dup: false, messageId: 7, ...extra,
  });

  it('copies topic, payload, qos, retain and the DUP flag', () => {
    assert.deepEqual(toMessage('t/1', 'converted', packet()), { topic: 't/1', payload: 'converted', qos: 1, retain: true, dup: false });
    assert.equal(toMessage('t/1', 'again', packet({ dup: true })).dup, true, 'a PUBLISH the broker sends again');
  });

  it('copies the MQTT 5 properties under the core node\'s names', () => {
    const correlationData = Buffer.from('corr');
    const msg = toMessage('t/1', 'p', packet({
      properties: {
        userProperties: { k: 'v', list: ['a', 'b'] },
        contentType: 'application/json',
        responseTopic: 'reply/here',
        correlationData,
        messageExpiryInterval: 60,
        payloadFormatIndicator: true,
        topicAlias: 3,
      },
    }));
    assert.deepEqual(msg.userProperties, { k: 'v', list: ['a', 'b'] });
    assert.equal(msg.contentType, 'application/json');
    assert.equal(msg.responseTopic, 'reply/here');
    assert.equal(msg.correlationData, correlationData);
    assert.equal(msg.messageExpiryInterval, 60);
    assert.equal(msg.payloadFormatIndicator, true);
    assert.equal('topicAlias' in msg, false);
  });

  it('leaves absent properties off msg instead of setting them undefined', () => {
    const msg = toMessage('t/1', 'p', packet({ properties: { contentType: 'text/plain' } }));
    assert.deepEqual(Object.keys(msg).sort(), ['contentType', 'dup', 'payload', 'qos', 'retain', 'topic']);
  });
});
