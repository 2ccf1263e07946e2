// Proves the shared test helpers in test/support work before other specs rely on them.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from './support/ports.js';
import { startAedes, type AedesHandle } from './support/aedes.js';
import { makeCerts, type TestCerts } from './support/certs.js';
import { publishMany } from './support/publisher.js';
import { smallFsForEach } from './support/small-fs.js';
import {
  requireMosquitto, startMosquitto, mosquittoSubscribeCount, mosquittoUnsubscribeCount, type MosquittoHandle,
} from './support/mosquitto.js';
import { until } from './support/until';

interface Connected {
  client: mqtt.MqttClient;
  connack: mqtt.IConnackPacket;
  messages: string[];
}

/** Connects with the message listener attached before CONNACK, so queued messages are not missed. */
function connectCollecting(url: string, opts: mqtt.IClientOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
    const messages: string[] = [];
    client.on('message', (_topic, payload) => messages.push(payload.toString()));
    client.once('connect', (connack) => resolve({ client, connack, messages }));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

const range = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

describe('test support', function () {
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });

  it('freePort returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536, `bad port ${port}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  describe('aedes', () => {
    let broker: AedesHandle | undefined;
    afterEach(async () => {
      await broker?.close();
      broker = undefined;
    });

    it('counts SUBSCRIBE/UNSUBSCRIBE packets, publishes, closes and restarts on the same port', async () => {
      broker = await startAedes();
      const { client, messages } = await connectCollecting(broker.url, { clientId: 'sup-aedes', clean: false });
      clients.push(client);
      // Two topics in one packet must count once.
      await client.subscribeAsync(['t/1', 't/2'], { qos: 1 });
      assert.equal(broker.subscribeCount(), 1);
      await broker.publish('t/1', 'from-broker', 1);
      await until(() => messages.length === 1, 'broker publish');
      assert.deepEqual(messages, ['from-broker']);
      await client.unsubscribeAsync('t/2');
      assert.equal(broker.unsubscribeCount(), 1);

      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const started = Date.now();
      await broker.close();
      await closed;
      assert.ok(Date.now() - started < 2000, 'close() must not wait for clients to leave');

      // Same port, fresh broker: the old persistent session is gone.
      const port = broker.port;
      broker = await startAedes({ port });
      assert.equal(broker.port, port);
      assert.equal(broker.subscribeCount(), 0);
      const again = await connectCollecting(broker.url, { clientId: 'sup-aedes', clean: false });
      clients.push(again.client);
      assert.equal(again.connack.sessionPresent, false);
    });

    it('authenticate rejects a wrong password with return code 4', async () => {
      broker = await startAedes({ authenticate: (u, p) => u === 'alice' && p === 'secret' });
      await assert.rejects(connectCollecting(broker.url, { username: 'alice', password: 'nope' }), { code: 4 });
      const ok = await connectCollecting(broker.url, { username: 'alice', password: 'secret' });
      clients.push(ok.client);
      assert.equal(ok.client.connected, true);
    });

    it('authorizeSubscribe denies a topic (default: connection dropped, still counted)', async () => {
      broker = await startAedes({ authorizeSubscribe: (topic) => topic !== 'secret/#' });
      const { client } = await connectCollecting(broker.url, {});
      clients.push(client);
      await client.subscribeAsync('open/#');
      await assert.rejects(client.subscribeAsync('secret/#'));
      assert.equal(broker.subscribeCount(), 2);
    });

    it('publishMany delivers every message in order', async () => {
      broker = await startAedes();
      const { client, messages } = await connectCollecting(broker.url, {});
      clients.push(client);
      await client.subscribeAsync('bulk', { qos: 1 });
      await publishMany(broker.url, 'bulk', 550, { qos: 1 });
      await until(() => messages.length >= 550, '550 messages');
      assert.deepEqual(messages, range(550));
    });
  });

  describe('tls', () => {
    let certs: TestCerts;
    before(() => {
      certs = makeCerts();
    });

    it('Aedes over TLS accepts mqtts with the CA and refuses without it', async () => {
      const broker = await startAedes({ tls: { key: certs.key, cert: certs.cert } });
      try {
        assert.match(broker.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
        const ok = await connectCollecting(broker.url, { ca: certs.ca, rejectUnauthorized: true });
        clients.push(ok.client);
        assert.equal(ok.client.connected, true);
        // Without our CA the chain must fail verification, which proves the check is real.
        await assert.rejects(connectCollecting(broker.url, { rejectUnauthorized: true }), /self.signed|unable to (get|verify)/i);
      } finally {
        await broker.close();
      }
    });

    it('Mosquitto over TLS accepts mqtts with the CA', async function () {
      requireMosquitto();
      const broker = await startMosquitto({ tls: { cafile: certs.caFile, certfile: certs.certFile, keyfile: certs.keyFile } });
      try {
        const ok = await connectCollecting(broker.url, { ca: certs.ca, rejectUnauthorized: true });
        clients.push(ok.client);
        assert.equal(ok.client.connected, true);
      } finally {
        await broker.stop();
      }
    });
  });

  describe('mosquitto', function () {
    let broker: MosquittoHandle | undefined;
    before(function () {
      requireMosquitto();
    });
    afterEach(async () => {
      await broker?.stop();
      broker = undefined;
    });

    it('queues QoS 1 for an offline persistent session, counts SUBSCRIBEs, survives restart()', async () => {
      const b = (broker = await startMosquitto({ persistence: true }));
      const opts = { clientId: 'sup-mosq', clean: false, protocolVersion: 4 as const };
      const first = await connectCollecting(b.url, opts);
      await first.client.subscribeAsync('q/#', { qos: 1 });
      await first.client.unsubscribeAsync('unused');
      await until(() => mosquittoSubscribeCount(b) === 1, 'SUBSCRIBE in log');
      assert.equal(mosquittoUnsubscribeCount(b), 1);
      assert.match(b.log(), /Received SUBSCRIBE from sup-mosq/);
      await first.client.endAsync();

      await publishMany(b.url, 'q/x', 200, { qos: 1 });
      // SIGTERM makes Mosquitto write its DB, so session and queue survive the restart.
      await b.restart();
      const second = await connectCollecting(b.url, opts);
      clients.push(second.client);
      assert.equal(second.connack.sessionPresent, true);
      await until(() => second.messages.length >= 200, '200 queued messages');
      assert.deepEqual(second.messages, range(200));
      // Resuming the session must not have needed a new SUBSCRIBE.
      assert.equal(mosquittoSubscribeCount(b), 1);
    });

    it('with users, rejects a wrong password and accepts the right one', async () => {
      broker = await startMosquitto({ users: { alice: 'secret' } });
      await assert.rejects(
        connectCollecting(broker.url, { username: 'alice', password: 'wrong' }),
        (err: Error & { code?: number }) => err.code === 4 || err.code === 5,
      );
      await assert.rejects(connectCollecting(broker.url, {}), (err: Error & { code?: number }) => err.code === 5);
      const ok = await connectCollecting(broker.url, { username: 'alice', password: 'secret' });
      clients.push(ok.client);
      assert.equal(ok.client.connected, true);
    });
  });

  describe('small filesystem', () => {
    const small = smallFsForEach('1m');

    it('fills to the last byte, so even a one-byte file cannot be written, and has room again once freed', () => {
      small().fill();
      assert.throws(() => writeFileSync(join(small().dir, 'one'), 'x'), { code: 'ENOSPC' });
      small().free();
      writeFileSync(join(small().dir, 'one'), 'x');
    });
  });
});
