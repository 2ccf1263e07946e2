// Specs for nodes/session/connection/reasons.ts: every MQTT reason code the broker can send has a reason, and every reason a text.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSubscribeRefusal, reasonFor, reasonForDisconnect } from '../nodes/session/connection/reasons';

const err = (code: string | number, message = 'boom'): Error & { code: string | number } => Object.assign(new Error(message), { code });

const catalog = (lang: string): Record<string, string> =>
  (JSON.parse(readFileSync(join(__dirname, '..', 'nodes', 'locales', lang, 'durable-mqtt.json'), 'utf8')) as { 'durable-mqtt': { reason: Record<string, string> } })['durable-mqtt'].reason;

describe('reasons', () => {
  const codes = Array.from({ length: 0xa2 - 0x80 + 1 }, (_, i) => 0x80 + i);

  for (const lang of ['en-US', 'zh-CN']) {
    it(`gives every MQTT 5 CONNACK/DISCONNECT code 0x80–0xA2 and every 3.1.1 CONNACK code a text in ${lang}`, () => {
      const texts = catalog(lang);
      const reasons = new Set([
        ...codes.map((c) => reasonForDisconnect(c)),
        ...codes.map((c) => reasonFor(Object.assign(new Error('x'), { code: c }), 5)),
        ...[1, 2, 3, 4, 5].map((c) => reasonFor(Object.assign(new Error('x'), { code: c }), 4)),
        'subscriptionRefused',
      ]);
      for (const r of reasons) assert.ok(r && texts[r], `no ${lang} text for reason ${r}`);
    });
  }

  it('names 0x93, 0x95, 0x97, 0x9C, 0x9D and 0x9E for what they are', () => {
    assert.deepEqual([0x93, 0x95, 0x97, 0x9c, 0x9d, 0x9e].map((c) => reasonForDisconnect(c)), [
      'receiveMaximumExceeded', 'packetTooLarge', 'quotaExceeded', 'useAnotherServer', 'serverMoved', 'sharedNotSupported',
    ]);
  });

  it('counts a bare close and DISCONNECT 0x8F/0x9E/0xA2 during a SUBSCRIBE as its refusal, not a takeover (0x8E) or a shutdown (0x8B)', () => {
    for (const c of [undefined, 0x8f, 0x9e, 0xa2, 0x87]) assert.equal(isSubscribeRefusal(c), true, String(c));
    for (const c of [0x8e, 0x8b, 0x98, 0x9c]) assert.equal(isSubscribeRefusal(c), false, String(c));
  });

  it('maps MQTT 3.1.1 CONNACK 4 to badCredentials and 5 to notAuthorized', () => {
    assert.equal(reasonFor(err(4), 4), 'badCredentials');
    assert.equal(reasonFor(err(5), 4), 'notAuthorized');
    assert.equal(reasonFor(err(2), 4), 'clientIdRejected');
    assert.equal(reasonFor(err(3), 4), 'serverUnavailable');
  });

  it('maps MQTT 5 codes 0x86, 0x87 and 0x8E', () => {
    assert.equal(reasonFor(err(0x86), 5), 'badCredentials');
    assert.equal(reasonFor(err(0x87), 5), 'notAuthorized');
    assert.equal(reasonFor(err(0x8e), 5), 'clientIdInUse');
  });

  it('reads a numeric code by the protocol version in use', () => {
    assert.equal(reasonFor(err(4), 5), 'refused');
    assert.equal(reasonFor(err(0x87), 4), 'refused');
  });

  it('maps ECONNREFUSED to unreachable and ENOTFOUND / EAI_AGAIN to unknownHost', () => {
    assert.equal(reasonFor(err('ECONNREFUSED'), 4), 'unreachable');
    assert.equal(reasonFor(err('ENOTFOUND'), 5), 'unknownHost');
    assert.equal(reasonFor(err('EAI_AGAIN'), 4), 'unknownHost');
    assert.equal(reasonFor(err('ECONNRESET'), 4), 'connectionLost');
  });

  it('maps TLS verification and handshake codes to tlsError', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      assert.equal(reasonFor(err(code), 4), 'tlsError', code);
    }
  });

  it('falls back to refused for an error without a known code', () => {
    assert.equal(reasonFor(new Error('odd'), 4), 'refused');
    assert.equal(reasonFor(err('EWHATEVER'), 4), 'refused');
  });

  it('maps a DISCONNECT 0x8E to clientIdInUse, an unknown code to connectionLost, and a normal one to nothing', () => {
    assert.equal(reasonForDisconnect(0x8e), 'clientIdInUse');
    assert.equal(reasonForDisconnect(0x8b), 'serverUnavailable');
    assert.equal(reasonForDisconnect(0x99), 'connectionLost');
    assert.equal(reasonForDisconnect(0), undefined);
    assert.equal(reasonForDisconnect(undefined), undefined);
  });
});
