// Specs for nodes/consumer/payload.ts: turning the received bytes into msg.payload.
import { strict as assert } from 'node:assert';
import { convertPayload } from '../nodes/consumer/payload.js';

describe('payload', () => {
  const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

  describe('auto', () => {
    it('parses a JSON object', () => {
      assert.deepEqual(convertPayload(buf('{"a":1,"b":[true,null]}'), 'auto'), { ok: true, value: { a: 1, b: [true, null] } });
    });

    it('turns the number string "123" into 123', () => {
      assert.deepEqual(convertPayload(buf('123'), 'auto'), { ok: true, value: 123 });
    });

    it('keeps a plain string as a string', () => {
      assert.deepEqual(convertPayload(buf('hello world'), 'auto'), { ok: true, value: 'hello world' });
    });

    it('keeps a string that only looks like JSON at the start', () => {
      assert.deepEqual(convertPayload(buf('[1, 2'), 'auto'), { ok: true, value: '[1, 2' });
      assert.deepEqual(convertPayload(buf('12 apples'), 'auto'), { ok: true, value: '12 apples' });
    });

    it('gives an empty payload as an empty string', () => {
      assert.deepEqual(convertPayload(Buffer.alloc(0), 'auto'), { ok: true, value: '' });
    });

    it('gives invalid UTF-8 as the Buffer itself', () => {
      const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x00]);
      const r = convertPayload(raw, 'auto');
      assert.equal(r.ok, true);
      assert.ok(Buffer.isBuffer(r.value));
      assert.equal(r.value, raw);
    });
  });

  describe('json', () => {
    it('parses valid JSON', () => {
      assert.deepEqual(convertPayload(buf('"text"'), 'json'), { ok: true, value: 'text' });
    });

    it('reports invalid JSON with ok:false and the raw text as value', () => {
      const r = convertPayload(buf('not json'), 'json');
      assert.equal(r.ok, false);
      assert.equal(r.value, 'not json');
      assert.match((r as { error: string }).error, /not valid JSON/);
    });
  });

  it('gives an error for a name that is not a payload format, even one Object.prototype has, rather than nothing', () => {
    for (const name of ['constructor', 'toString', 'xml']) {
      const converted = convertPayload(buf('{"a":1}'), name as Parameters<typeof convertPayload>[1]);
      assert.equal(converted.ok, false, name);
      assert.deepEqual(converted.value, buf('{"a":1}'));
    }
  });

  it('base64 encodes the bytes', () => {
    assert.deepEqual(convertPayload(Buffer.from([0, 1, 2, 0xff]), 'base64'), { ok: true, value: 'AAEC/w==' });
  });

  it('buffer passes the Buffer through untouched', () => {
    const raw = Buffer.from([1, 2, 3]);
    assert.equal(convertPayload(raw, 'buffer').value, raw);
  });

  it('utf8 decodes to a string, even when the text is JSON', () => {
    assert.deepEqual(convertPayload(buf('{"a":1} €'), 'utf8'), { ok: true, value: '{"a":1} €' });
    assert.deepEqual(convertPayload(buf('123'), 'utf8'), { ok: true, value: '123' });
  });
});
