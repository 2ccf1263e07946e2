// Specs for what parseConfig reads beyond our own names: core's port and usetls, env references, user properties, the SOCKS proxy.
import { strict as assert } from 'node:assert';
import { clientOptions, parseConfig, withPort } from '../nodes/session/config';
import { mosquittoForSuite } from './support/mosquitto';
import { collect, consumerFlow, helper, lastStatus, load, until } from './support/nodered';
import { publishMany } from './support/publisher';
import { startSocksProxy } from './support/socks';

let seq = 0;
const freshId = (): string => `nr-config-${process.pid}-${++seq}`;
const errorOf = (raw: Parameters<typeof parseConfig>[0]): string => {
  const r = parseConfig(raw);
  assert.equal(r.ok, false);
  return r.ok ? '' : r.error;
};

describe('config', () => {
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
