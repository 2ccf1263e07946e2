// Specs for the session's settings through config.ts (the pure checks live in broker-url.ts and parse-config.ts, with laws in their own specs): URL normalisation, display, parseConfig defaults and limits, and what it reads beyond our own names (core port and usetls, env, user properties, SOCKS, core's http proxy node).
import { strict as assert } from 'node:assert';
import { clientOptions, DEFAULTS, displayUrl, normaliseBrokerUrl, parseConfig, withPort, type SessionConfig } from '../nodes/session/config/config';
import { mosquittoForSuite } from './support/mosquitto';
import { collect, consumerFlow, helper, lastStatus, load } from './support/nodered';
import { until } from './support/until';
import { publishMany } from './support/publisher';
import { startSocksProxy } from './support/socks';

let seq = 0;
const freshId = (): string => `nr-config-${process.pid}-${++seq}`;
const configOf = (raw: Parameters<typeof parseConfig>[0]): SessionConfig => {
  const r = parseConfig(raw);
  if (!r.ok) throw new Error(`expected a valid config, got: ${r.error}`);
  return r.config;
};
const errorOf = (raw: Parameters<typeof parseConfig>[0]): string => {
  const r = parseConfig(raw);
  assert.equal(r.ok, false);
  return r.ok ? '' : r.error;
};

describe('config', () => {
  describe('normaliseBrokerUrl', () => {
    it('reads a bare host as mqtt://host', () => {
      assert.deepEqual(normaliseBrokerUrl('broker.local'), { url: 'mqtt://broker.local' });
      assert.deepEqual(normaliseBrokerUrl('  broker.local  '), { url: 'mqtt://broker.local' });
    });

    it('reads host:port as mqtt://host:port', () => {
      assert.deepEqual(normaliseBrokerUrl('broker.local:1884'), { url: 'mqtt://broker.local:1884' });
    });

    it('turns tcp:// into mqtt:// and ssl:// into mqtts://', () => {
      assert.deepEqual(normaliseBrokerUrl('tcp://h:1883'), { url: 'mqtt://h:1883' });
      assert.deepEqual(normaliseBrokerUrl('ssl://h:8883'), { url: 'mqtts://h:8883' });
    });

    it('gives ws:// the /mqtt path when it has none, and keeps an explicit path', () => {
      assert.deepEqual(normaliseBrokerUrl('ws://h:8080'), { url: 'ws://h:8080/mqtt' });
      assert.deepEqual(normaliseBrokerUrl('ws://h:8080/custom'), { url: 'ws://h:8080/custom' });
    });

    it('keeps credentials in the URL', () => {
      assert.deepEqual(normaliseBrokerUrl('mqtt://u:p@h:1883'), { url: 'mqtt://u:p@h:1883' });
    });

    it('rejects http://', () => {
      assert.match((normaliseBrokerUrl('http://h') as { error: string }).error, /unsupported scheme "http:"/);
    });

    it('rejects garbage, an empty string and a URL without a host', () => {
      for (const bad of ['not a url', '::::', 'h:abc', '', '   ', 'mqtt://']) {
        assert.ok('error' in normaliseBrokerUrl(bad), JSON.stringify(bad));
      }
    });

    it('with useTls turns mqtt into mqtts and ws into wss', () => {
      assert.deepEqual(normaliseBrokerUrl('mqtt://h:8883', true), { url: 'mqtts://h:8883' });
      assert.deepEqual(normaliseBrokerUrl('h', true), { url: 'mqtts://h' });
      assert.deepEqual(normaliseBrokerUrl('ws://h', true), { url: 'wss://h/mqtt' });
      assert.deepEqual(normaliseBrokerUrl('mqtts://h', true), { url: 'mqtts://h' });
    });
  });

  describe('displayUrl', () => {
    it('strips user and password', () => {
      assert.equal(displayUrl('mqtt://user:pass@h:1883'), 'mqtt://h:1883');
      assert.equal(displayUrl('mqtts://user@h'), 'mqtts://h');
      assert.equal(displayUrl('ws://u:p@h:8080/mqtt'), 'ws://h:8080/mqtt');
    });

    it('leaves a URL without credentials as it is', () => {
      assert.equal(displayUrl('mqtt://h:1883'), 'mqtt://h:1883');
    });
  });

  describe('parseConfig', () => {
    it('applies the defaults: MQTT 3.1.1, 86400 s expiry, 60 s keepalive, persistent session', () => {
      const c = configOf({ broker: 'h', clientId: 'c1' });
      assert.equal(c.url, 'mqtt://h');
      assert.equal(c.clientId, 'c1');
      assert.equal(c.protocolVersion, 4);
      assert.equal(c.sessionExpiry, 86400);
      assert.equal(c.keepalive, 60);
      assert.equal(c.cleanSession, false);
      assert.deepEqual(c.backoff, { min: DEFAULTS.backoff.min, max: DEFAULTS.backoff.max });
      assert.equal(c.takeoverWindow, 30000);
      assert.equal(c.takeoverCount, 3);
    });

    it('sends a Maximum Packet Size of 16 MiB in an MQTT 5 CONNECT by default, the one set when given, and none on MQTT 3.1.1', () => {
      assert.equal(clientOptions(configOf({ broker: 'h', clientId: 'c', protocolVersion: 5 })).properties?.maximumPacketSize, 16 * 1024 * 1024);
      assert.equal(clientOptions(configOf({ broker: 'h', clientId: 'c', protocolVersion: 5, maximumPacketSize: '65536' })).properties?.maximumPacketSize, 65536);
      assert.equal(clientOptions(configOf({ broker: 'h', clientId: 'c' })).properties, undefined);
      for (const bad of ['12', '268435461', '1.5', 'big']) assert.match(errorOf({ broker: 'h', clientId: 'c', maximumPacketSize: bad }), /maximumPacketSize must be a whole number from 1024 to 268435460/);
    });

    it('requires a client ID for a persistent session', () => {
      assert.match(errorOf({ broker: 'h' }), /client ID/);
      assert.match(errorOf({ broker: 'h', clientId: '   ' }), /client ID/);
    });

    it('accepts a missing client ID with clean session on', () => {
      assert.equal(configOf({ broker: 'h', cleanSession: true }).clientId, '');
      assert.equal(configOf({ broker: 'h', cleanSession: 'true' }).cleanSession, true);
    });

    it('rejects a keepalive that is negative, too large, fractional or not a number', () => {
      for (const keepalive of [-1, 65536, 1.5, 'abc']) assert.match(errorOf({ broker: 'h', clientId: 'c', keepalive }), /keepalive/, String(keepalive));
    });

    it('rejects a protocol version other than 4 or 5', () => {
      assert.match(errorOf({ broker: 'h', clientId: 'c', protocolVersion: 3 }), /protocolVersion/);
    });

    it('rejects a bad broker URL', () => {
      assert.match(errorOf({ broker: 'http://h', clientId: 'c' }), /scheme/);
      assert.match(errorOf({ clientId: 'c' }), /empty/);
    });

    it('accepts numbers given as strings', () => {
      const c = configOf({ broker: 'h', clientId: 'c', keepalive: '30', sessionExpiry: '3600', protocolVersion: '5', backoffMin: '2', backoffMax: '10' });
      assert.equal(c.keepalive, 30);
      assert.equal(c.sessionExpiry, 3600);
      assert.equal(c.protocolVersion, 5);
      assert.deepEqual(c.backoff, { min: 2000, max: 10000 });
    });

    it('treats empty strings as missing and applies the default', () => {
      const c = configOf({ broker: 'h', clientId: 'c', keepalive: '', sessionExpiry: '' });
      assert.equal(c.keepalive, 60);
      assert.equal(c.sessionExpiry, 86400);
    });

    it('takes the backoff in seconds, fractions included', () => {
      assert.deepEqual(configOf({ broker: 'h', clientId: 'c', backoffMin: 0.1, backoffMax: '0.4' }).backoff, { min: 100, max: 400 });
      assert.match(errorOf({ broker: 'h', clientId: 'c', backoffMin: -1 }), /backoffMin/);
      assert.match(errorOf({ broker: 'h', clientId: 'c', backoffMax: 'soon' }), /backoffMax/);
    });

    it('floors the backoff at 100 ms and never lets max fall below min', () => {
      assert.deepEqual(configOf({ broker: 'h', clientId: 'c', backoffMin: 0, backoffMax: 0 }).backoff, { min: 100, max: 100 });
      assert.deepEqual(configOf({ broker: 'h', clientId: 'c', backoffMin: 5, backoffMax: 1 }).backoff, { min: 5000, max: 5000 });
    });

    it('turns mqtt:// into mqtts:// when TLS settings are given', () => {
      const c = configOf({ broker: 'mqtt://h:8883', clientId: 'c', tls: { rejectUnauthorized: true } });
      assert.equal(c.url, 'mqtts://h:8883');
      assert.deepEqual(c.tls, { rejectUnauthorized: true });
    });
  });

  describe('parseConfig with core properties', () => {
    it("joins core's separate port to a bare host, and ignores it with a URL, as core builds its URL", () => {
      assert.equal(withPort('h', '1884'), 'h:1884');
      assert.equal(withPort('h:1885', '1884'), 'h:1885');
      assert.equal(withPort('ws://h/mqtt', '1884'), 'ws://h/mqtt');
      assert.equal(withPort('fe80::1', 1883), '[fe80::1]:1883');
      assert.equal(withPort('h', ''), 'h');
    });

    it('turns on TLS for "Use TLS" without TLS settings', () => {
      const r = parseConfig({ broker: 'h', port: '8883', clientId: 'c', usetls: 'true' });
      assert.ok(r.ok);
      assert.equal(r.config.url, 'mqtts://h:8883');
    });

    it('names an environment variable that Node-RED left in place because it is not set', () => {
      assert.equal(errorOf({ broker: 'h', clientId: 'c', keepalive: '${KEEPALIVE}' }), 'keepalive is ${KEEPALIVE}, an environment variable that is not set');
    });

    it("sends core's userProps with an MQTT 5 CONNECT, values as strings", () => {
      const r = parseConfig({ broker: 'h', clientId: 'c', protocolVersion: 5, userProps: '{"site":"a","n":2}' });
      assert.ok(r.ok);
      assert.deepEqual(clientOptions(r.config).properties?.userProperties, { site: 'a', n: '2' });
      assert.match(errorOf({ broker: 'h', clientId: 'c', userProps: '[1]' }), /userProps must be a JSON object/);
    });

    it('takes a SOCKS proxy for mqtt:// and mqtts://, and refuses one for WebSockets, which MQTT.js cannot proxy', () => {
      const r = parseConfig({ broker: 'h', clientId: 'c', socksProxy: 'socks5h://p:1080' });
      assert.ok(r.ok);
      assert.equal(clientOptions(r.config).socksProxy, 'socks5h://p:1080');
      assert.match(errorOf({ broker: 'ws://h', clientId: 'c', socksProxy: 'socks5://p:1080' }), /mqtt:\/\/ and mqtts:\/\/ only/);
      assert.match(errorOf({ broker: 'h', clientId: 'c', socksProxy: 'http://p:3128' }), /socksProxy must be/);
    });

    it("takes core's http proxy node for ws:// and wss:// with its credentials, and refuses it for mqtt://", () => {
      const proxy = { url: 'http://p.example:3128', noproxy: ['internal'], username: 'u@x', password: 'p:w' };
      assert.equal(configOf({ broker: 'ws://h', clientId: 'c', httpProxy: proxy }).httpProxy, 'http://u%40x:p%3Aw@p.example:3128/');
      assert.equal(configOf({ broker: 'wss://internal:443', clientId: 'c', httpProxy: proxy }).httpProxy, null);
      assert.equal(configOf({ broker: 'ws://h', clientId: 'c' }).httpProxy, undefined);
      assert.match(errorOf({ broker: 'mqtt://h', clientId: 'c', httpProxy: proxy }), /ws:\/\/ and wss:\/\/ only .*socksProxy/);
      assert.match(errorOf({ broker: 'ws://h', clientId: 'c', httpProxy: { url: 'socks5://p:1080' } }), /must be an http:\/\/ or https:\/\/ URL/);
      assert.match(errorOf({ broker: 'ws://h', clientId: 'c', httpProxy: { url: '' } }), /must be an http:\/\/ or https:\/\/ URL/);
    });

    it('reads MQTTJS_SOCKS_PROXY when no proxy is set, as MQTT.js does', () => {
      const before = process.env.MQTTJS_SOCKS_PROXY;
      process.env.MQTTJS_SOCKS_PROXY = 'socks5://env:1080';
      try {
        const r = parseConfig({ broker: 'h', clientId: 'c' });
        assert.ok(r.ok);
        assert.equal(r.config.socksProxy, 'socks5://env:1080');
        const ws = parseConfig({ broker: 'ws://h', clientId: 'c' });
        assert.ok(ws.ok);
        assert.equal(ws.config.socksProxy, undefined);
      } finally {
        if (before === undefined) delete process.env.MQTTJS_SOCKS_PROXY;
        else process.env.MQTTJS_SOCKS_PROXY = before;
      }
    });
  });

  describe('in a flow (Mosquitto)', function () {
    const mosq = mosquittoForSuite();
    afterEach(async () => {
      await helper.unload();
    });

    it('connects through a SOCKS5 proxy and delivers', async () => {
      const socks = await startSocksProxy();
      try {
        await load(consumerFlow(mosq().url, [{ topic: 'socks/#' }], { clientId: freshId(), socksProxy: socks.url }));
        const got = collect('in1-out');
        await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected');
        await until(() => mosq().log().includes('socks/#'), 'the SUBSCRIBE');
        await publishMany(mosq().url, 'socks/a', 5, { qos: 1 });
        await until(() => got.length === 5, 'five messages');
        assert.equal(socks.connections(), 1);
      } finally {
        await socks.close();
      }
    });

    it('is not sent an MQTT 5 message larger than its Maximum Packet Size: the broker drops it (MQTT 5 §3.1.2.11.4), and delivers the one below it', async () => {
      await load(consumerFlow(mosq().url, [{ topic: 'size/#', qos: 1 }], { clientId: freshId(), protocolVersion: 5, maximumPacketSize: 2048 }));
      const got = collect('in1-out');
      await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected');
      await publishMany(mosq().url, 'size/large', 1, { qos: 1, payload: () => 'a'.repeat(4096) });
      await publishMany(mosq().url, 'size/small', 1, { qos: 1, payload: () => 'a'.repeat(1024) });
      await until(() => got.some((m) => m.topic === 'size/small'), 'the message below the limit');
      assert.deepEqual(got.map((m) => m.topic), ['size/small']);
    });

    it("reads core's port and a keepalive from ${VAR} properties that Node-RED substituted", async () => {
      process.env.DURABLE_TEST_PORT = String(mosq().port);
      process.env.DURABLE_TEST_KEEPALIVE = '15';
      try {
        await load(consumerFlow('127.0.0.1', [{ topic: 'env/#' }], { clientId: freshId(), port: '${DURABLE_TEST_PORT}', keepalive: '${DURABLE_TEST_KEEPALIVE}' }));
        const got = collect('in1-out');
        await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected on the substituted port');
        await until(() => mosq().log().includes('env/#'), 'the SUBSCRIBE');
        await publishMany(mosq().url, 'env/a', 1, { qos: 1 });
        await until(() => got.length === 1, 'the message');
      } finally {
        delete process.env.DURABLE_TEST_PORT;
        delete process.env.DURABLE_TEST_KEEPALIVE;
      }
    });
  });
});
