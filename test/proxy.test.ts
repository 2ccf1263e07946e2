// Specs for nodes/session/connection/proxy.ts: which proxy a WebSocket broker goes through, and a session tunnelled through a real HTTP proxy to Mosquitto's WebSocket listener.
import { strict as assert } from 'node:assert';
import mqtt from 'mqtt';
import { wsProxyFor } from '../nodes/session/connection/proxy';
import { makeCerts, type TestCerts } from './support/certs';
import { startHttpProxy } from './support/http-proxy';
import { startMosquitto, requireMosquitto, type MosquittoHandle } from './support/mosquitto';
import { callsOf, collect, consumerFlow, helper, lastStatus, load } from './support/nodered';
import { until } from './support/until';
import { freePort } from './support/ports';
import { publishMany } from './support/publisher';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpProxyNode = require('@node-red/nodes/core/network/06-httpproxy.js') as unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsConfigNode = require('@node-red/nodes/core/network/05-tls.js') as unknown;

const ENV_NAMES = ['ws_proxy', 'WS_PROXY', 'wss_proxy', 'WSS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY', 'npm_config_proxy', 'npm_config_no_proxy'];

/** Runs `fn` with exactly `vars` among the proxy variables, then puts the environment back. */
async function withEnv<T>(vars: Record<string, string>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(ENV_NAMES.map((k) => [k, process.env[k]]));
  for (const k of ENV_NAMES) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

let seq = 0;
const freshId = (): string => `nr-proxy-${process.pid}-${++seq}`;

describe('proxy', () => {
  describe('wsProxyFor', () => {
    it('uses a configured proxy for ws:// and wss://, and null from a proxy node means direct', async () => {
      await withEnv({ all_proxy: 'http://env:3128' }, () => {
        assert.equal(wsProxyFor('ws://b/mqtt', 'http://p:3128'), 'http://p:3128');
        assert.equal(wsProxyFor('wss://b/mqtt', 'http://p:3128'), 'http://p:3128');
        assert.equal(wsProxyFor('ws://b/mqtt', null), undefined);
      });
    });

    it('reads ws_proxy, wss_proxy and all_proxy as core does, and skips hosts no_proxy names', async () => {
      await withEnv({ ws_proxy: 'http://ws:3128', WSS_PROXY: 'http://wss:3128', no_proxy: 'internal.example,.lan' }, () => {
        assert.equal(wsProxyFor('ws://b/mqtt', undefined), 'http://ws:3128');
        assert.equal(wsProxyFor('wss://b/mqtt', undefined), 'http://wss:3128');
        assert.equal(wsProxyFor('ws://internal.example:8080/mqtt', undefined), undefined);
        assert.equal(wsProxyFor('ws://broker.lan/mqtt', undefined), undefined);
      });
      await withEnv({ ALL_PROXY: 'proxy.example:3128' }, () => {
        // core gives a proxy without a scheme the broker's scheme; https-proxy-agent then speaks plain HTTP to it
        assert.equal(wsProxyFor('ws://b/mqtt', undefined), 'ws://proxy.example:3128');
      });
    });

    it('never proxies mqtt:// or mqtts:// (MQTT.js tunnels those through SOCKS only), and ignores HTTP_PROXY as core does', async () => {
      await withEnv({ all_proxy: 'http://env:3128' }, () => {
        assert.equal(wsProxyFor('mqtt://b:1883', 'http://p:3128'), undefined);
        assert.equal(wsProxyFor('mqtts://b:8883', undefined), undefined);
      });
      const before = process.env.HTTP_PROXY;
      await withEnv({}, () => {
        process.env.HTTP_PROXY = 'http://env:3128';
        try {
          assert.equal(wsProxyFor('ws://b/mqtt', undefined), undefined);
        } finally {
          if (before === undefined) delete process.env.HTTP_PROXY;
          else process.env.HTTP_PROXY = before;
        }
      });
    });
  });

  describe('through a real HTTP proxy to Mosquitto over WebSocket', function () {
    let mosq: MosquittoHandle;
    let wsPort = 0;
    let wssPort = 0;
    let certs: TestCerts;
    const wsUrl = (): string => `ws://127.0.0.1:${wsPort}/mqtt`;

    before(async function () {
      requireMosquitto();
      wsPort = await freePort();
      wssPort = await freePort();
      certs = makeCerts();
      mosq = await startMosquitto({
        extraConfig: [
          `listener ${wsPort} 127.0.0.1`,
          'protocol websockets',
          `listener ${wssPort} 127.0.0.1`,
          'protocol websockets',
          `certfile ${certs.certFile}`,
          `keyfile ${certs.keyFile}`,
          '',
        ].join('\n'),
      });
    });
    after(async () => {
      await mosq?.stop();
    });
    afterEach(async () => {
      await helper.unload();
    });

    /** A persistent session at the broker with `topic` subscribed and `count` QoS 1 messages queued while it is offline. */
    async function queueWhileOffline(clientId: string, topic: string, count: number): Promise<void> {
      const c = await mqtt.connectAsync(mosq.url, { clientId, clean: false, reconnectPeriod: 0 });
      await c.subscribeAsync(topic, { qos: 1 });
      await c.endAsync();
      await publishMany(mosq.url, topic.replace('#', 'x'), count, { qos: 1 });
    }

    it('tunnels through a proxy node with credentials and receives what was queued while offline, keeping the credentials out of the log', async () => {
      const proxy = await startHttpProxy({ credentials: 'pxuser:px-s3cret' });
      const clientId = freshId();
      try {
        await queueWhileOffline(clientId, 'proxied/#', 5);
        const flow = consumerFlow(wsUrl(), [{ topic: 'proxied/#', qos: 1 }], { clientId, proxy: 'p1' });
        flow.push({ id: 'p1', type: 'http proxy', url: proxy.url, noproxy: [] });
        await load(flow, { p1: { username: 'pxuser', password: 'px-s3cret' } }, [httpProxyNode]);
        const got = collect('in1-out');
        await until(() => got.length === 5, 'the five queued messages');
        assert.deepEqual(
          got.map((m) => String(m.payload)),
          ['0', '1', '2', '3', '4'],
        );
        assert.deepEqual(proxy.tunnels(), [`127.0.0.1:${wsPort}`]);
        const said = JSON.stringify(['b1', 'in1'].flatMap((id) => ['log', 'warn', 'error'].flatMap((m) => callsOf(id, m as 'log'))));
        assert.doesNotMatch(said, /px-s3cret/);
      } finally {
        await proxy.close();
      }
    });

    it('runs wss:// TLS inside the tunnel, checked against the tls-config CA', async () => {
      const proxy = await startHttpProxy();
      try {
        const flow = consumerFlow(`wss://localhost:${wssPort}/mqtt`, [{ topic: 'wss/#', qos: 1 }], { clientId: freshId(), proxy: 'p1', tls: 't1' });
        flow.push({ id: 'p1', type: 'http proxy', url: proxy.url, noproxy: [] });
        flow.push({ id: 't1', type: 'tls-config', cert: '', key: '', ca: certs.caFile, verifyservercert: true });
        await load(flow, {}, [httpProxyNode, tlsConfigNode]);
        const got = collect('in1-out');
        await until(() => mosq.log().includes('wss/#'), 'the SUBSCRIBE over wss');
        await publishMany(mosq.url, 'wss/a', 1, { qos: 1 });
        await until(() => got.length === 1, 'the message over wss');
        assert.deepEqual(proxy.tunnels(), [`localhost:${wssPort}`]);
      } finally {
        await proxy.close();
      }
    });

    it('connects directly when the proxy node lists the broker as a no-proxy host', async () => {
      const proxy = await startHttpProxy();
      try {
        const flow = consumerFlow(wsUrl(), [{ topic: 'direct/#' }], { clientId: freshId(), proxy: 'p1' });
        flow.push({ id: 'p1', type: 'http proxy', url: proxy.url, noproxy: ['127.0.0.1'] });
        await load(flow, {}, [httpProxyNode]);
        await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected');
        assert.deepEqual(proxy.tunnels(), []);
      } finally {
        await proxy.close();
      }
    });

    it('follows ws_proxy from the environment as core does, and no_proxy turns it off', async () => {
      const proxy = await startHttpProxy();
      try {
        await withEnv({ ws_proxy: proxy.url }, async () => {
          await load(consumerFlow(wsUrl(), [{ topic: 'env/#' }], { clientId: freshId() }));
          await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected through ws_proxy');
        });
        assert.deepEqual(proxy.tunnels(), [`127.0.0.1:${wsPort}`]);
        await helper.unload();
        await withEnv({ ws_proxy: proxy.url, no_proxy: '127.0.0.1' }, async () => {
          await load(consumerFlow(wsUrl(), [{ topic: 'env/#' }], { clientId: freshId() }));
          await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected directly');
        });
        assert.equal(proxy.tunnels().length, 1);
      } finally {
        await proxy.close();
      }
    });

    it('a proxy that refuses the tunnel shows as a red badge and a log line that names the proxy, and no crash', async () => {
      const proxy = await startHttpProxy({ refuse: true });
      try {
        const flow = consumerFlow(wsUrl(), [{ topic: 'refused/#' }], { clientId: freshId(), proxy: 'p1' });
        flow.push({ id: 'p1', type: 'http proxy', url: proxy.url, noproxy: [] });
        await load(flow, {}, [httpProxyNode]);
        await until(() => lastStatus('in1')?.fill === 'red', 'a red badge');
        await until(() => JSON.stringify(callsOf('b1', 'warn')).includes('HTTP proxy refused the tunnel: 403 Forbidden'), 'the log line');
        assert.ok(proxy.refusals() >= 1);
        assert.deepEqual(proxy.tunnels(), []);
      } finally {
        await proxy.close();
      }
    });
  });
});
