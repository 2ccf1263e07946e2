// Specs for nodes/session/config/parse-config.ts: the pure check of a config node's properties, the environment given as a value (single cases through parseConfig: config.test.ts).
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { configOf, numberIn, userPropertiesOf, type RawConfig } from '../nodes/session/config/parse-config';

const base: RawConfig = { broker: 'h', clientId: 'c' };

describe('parse-config', () => {
  describe('configOf', () => {
    it('takes MQTTJS_SOCKS_PROXY from the environment it is given, for mqtt:// only, and a proxy set in the node over it', () => {
      const env = { MQTTJS_SOCKS_PROXY: 'socks5://env:1080' };
      const socksOf = (raw: RawConfig, e: object): string | undefined => {
        const r = configOf(raw, e);
        assert.ok(r.ok, r.ok ? '' : r.error);
        return r.config.socksProxy;
      };
      assert.equal(socksOf(base, env), 'socks5://env:1080');
      assert.equal(socksOf({ ...base, broker: 'mqtts://h' }, env), 'socks5://env:1080');
      assert.equal(socksOf({ ...base, broker: 'wss://h' }, env), undefined);
      assert.equal(socksOf({ ...base, socksProxy: 'socks4://own:1080' }, env), 'socks4://own:1080');
      assert.equal(socksOf(base, {}), undefined);
      assert.equal(socksOf(base, { MQTTJS_SOCKS_PROXY: '' }), undefined);
    });

    it('answers any property values with a config or an error text, never a throw', () => {
      const field = fc.oneof(fc.anything({ maxDepth: 2 }), fc.string(), fc.integer(), fc.constantFrom('', 'true', '${X}', '5', 'ws://h', 'socks5://p:1'));
      const raw = fc.record(
        { broker: field, port: field, usetls: field, userProps: field, socksProxy: field, clientId: field, cleanSession: field, protocolVersion: field, sessionExpiry: field, keepalive: field, backoffMin: field, backoffMax: field, maximumPacketSize: field, returnToFirst: field },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(raw, (r) => {
          const out = configOf(r, {});
          if (out.ok) assert.equal(typeof out.config.url, 'string');
          else assert.equal(typeof out.error, 'string');
        }),
      );
    });

    it('keeps the backoff at 100 ms or more, with its maximum never below its minimum, for any seconds given', () => {
      const seconds = fc.double({ min: 0, max: 3600, noNaN: true });
      fc.assert(
        fc.property(seconds, seconds, (min, max) => {
          const r = configOf({ ...base, backoffMin: min, backoffMax: max }, {});
          assert.ok(r.ok, r.ok ? '' : r.error);
          const { backoff } = r.config;
          assert.ok(backoff.min >= 100 && backoff.max >= backoff.min, JSON.stringify(backoff));
          assert.equal(backoff.min, Math.max(100, min * 1000));
          assert.equal(backoff.max, Math.max(100, max * 1000, min * 1000));
        }),
      );
    });
  });

  describe('numberIn', () => {
    it('takes a whole number in range, as a number or as text, and refuses every other one by name', () => {
      fc.assert(
        fc.property(fc.integer({ min: -100, max: 100 }), fc.boolean(), (n, asText) => {
          const out = numberIn(asText ? String(n) : n, 7, 0, 50, 'size');
          if (n >= 0 && n <= 50) assert.equal(out, n);
          else assert.equal(out, 'size must be a whole number from 0 to 50');
        }),
      );
      assert.equal(numberIn(2.5, 7, 0, 50, 'size'), 'size must be a whole number from 0 to 50');
      assert.equal(numberIn(2.5, 7, 0, 50, 'size', false), 2.5);
      for (const missing of [undefined, null, '']) assert.equal(numberIn(missing, 7, 0, 50, 'size'), 7);
    });
  });

  describe('userPropertiesOf', () => {
    it('gives back an object of strings as it was, from the object or from its JSON, a __proto__ name included', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__')), fc.string(), { minKeys: 1, noNullPrototype: true }), (props) => {
          assert.deepEqual(userPropertiesOf(props, 'userProps'), props);
          const parsed = userPropertiesOf(JSON.stringify(props), 'userProps');
          assert.deepEqual(parsed, props);
          assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
        }),
      );
    });
  });
});
