// Specs for nodes/session/config/properties.ts: the MQTT 5 properties a broker takes, and why it would refuse others, named by property.
import { strict as assert } from 'node:assert';
import { propertiesError } from '../nodes/session/config/properties';

describe('properties', () => {
  it('takes no properties, and readable strings, a plain response topic, correlation data and user properties', () => {
    assert.equal(propertiesError(undefined), undefined);
    assert.equal(propertiesError({ contentType: 'application/json', responseTopic: 'reply/to', correlationData: Buffer.from('id'), userProperties: { a: 'b', c: ['d', 'e'] } }), undefined);
  });

  it('names the property a broker would refuse, starting with its MQTT name', () => {
    assert.match(propertiesError({ contentType: 'a\u0000b' }) ?? '', /^contentType: .*U\+0000/);
    assert.match(propertiesError({ responseTopic: 'reply/#' }) ?? '', /^responseTopic "reply\/#": /);
    assert.match(propertiesError({ correlationData: Buffer.alloc(65536) }) ?? '', /^correlationData: it is 65536 bytes/);
    assert.match(propertiesError({ userProperties: { 'bad\u0001': 'v' } }) ?? '', /^userProperties name "bad\\u0001": /);
    assert.match(propertiesError({ userProperties: { k: ['ok', 'no\u007f'] } }) ?? '', /^userProperties\.k: .*U\+007F/);
  });
});
