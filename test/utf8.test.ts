// Specs for nodes/session/config/utf8.ts: the strings an MQTT broker takes, as Mosquitto 2.0 checks them (lib/utf8_mosq.c).
import { strict as assert } from 'node:assert';
import { mqttStringError } from '../nodes/session/config/utf8.js';

describe('utf8', () => {
  it('takes text in any script, and characters next to the refused ranges', () => {
    for (const s of ['', 'a/b', 'temp °C', 'Ünïcødé', '温度/传感器', 'emoji 🚀', '\u00a0', '\u0020', '\u007e', '\ufdcf', '\ufdf0', '\ufffd', '\u{10fffd}']) {
      assert.equal(mqttStringError(s), undefined, JSON.stringify(s));
    }
  });

  it('refuses U+0000, the C0 and C1 control characters and DEL, naming the character and where it is', () => {
    for (const c of ['\u0000', '\u0001', '\u0009', '\u000a', '\u001f', '\u007f', '\u0080', '\u009f']) {
      assert.match(mqttStringError(`a${c}b`) ?? '', /control character/, JSON.stringify(c));
    }
    assert.match(mqttStringError('a\u0001b') ?? '', /U\+0001 at position 1/);
  });

  it('refuses the non-characters U+FDD0–U+FDEF and U+xFFFE, U+xFFFF in every plane, as Mosquitto does', () => {
    for (const c of ['\ufdd0', '\ufdef', '\ufffe', '\uffff', '\u{1fffe}', '\u{1ffff}', '\u{10fffe}', '\u{10ffff}']) {
      assert.match(mqttStringError(`x${c}`) ?? '', /non-character/, c.codePointAt(0)?.toString(16));
    }
  });

  it('refuses a lone surrogate, which has no UTF-8 form (it would go as U+FFFD, another string)', () => {
    for (const s of ['\ud800', 'a\udc00', '\udbff/x']) assert.match(mqttStringError(s) ?? '', /surrogate/, JSON.stringify(s));
  });

  it('refuses more than 65,535 bytes of UTF-8, the most its 2-byte length can say', () => {
    assert.equal(mqttStringError('é'.repeat(32767)), undefined);
    assert.match(mqttStringError('é'.repeat(32768)) ?? '', /65536 bytes.*65535/);
  });
});
