// Specs for nodes/broker/registration.ts: a broker config node whose chosen TLS or proxy node is gone fails closed.
import assert from 'node:assert/strict';
import { freePort } from './support/ports';
import { requireMosquitto, startMosquitto, type MosquittoHandle } from './support/mosquitto';
import { callsOf, consumerFlow, helper, lastStatus, load, userDirForSuite } from './support/nodered';
import { until } from './support/until';

let seq = 0;
const freshId = (): string => `nr-registration-${process.pid}-${++seq}`;

describe('broker config node: a TLS or proxy node it cannot find (Mosquitto)', function () {
  const USER = 'alice';
  const PASSWORD = 'tls-only-s3cret';
  let wsPort = 0;
  let broker: MosquittoHandle | undefined;
  const mosq = (): MosquittoHandle => broker ?? assert.fail('Mosquitto is not running');
  before(async () => {
    requireMosquitto();
    wsPort = await freePort();
    broker = await startMosquitto({ users: { [USER]: PASSWORD }, extraConfig: `listener ${wsPort} 127.0.0.1\nprotocol websockets\n` });
  });
  after(async () => {
    await broker?.stop();
  });
  userDirForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  /** b1 with `broker` (one consumer in1, one out node out1), the user's credentials, and a TLS or proxy id nothing in the flow has. */
  async function loadDangling(broker: Record<string, unknown>): Promise<string> {
    const clientId = freshId();
    const flow = consumerFlow('', [{ topic: 'dangling/#' }], { clientId, ...broker });
    flow.push({ id: 'out1', z: 'f1', type: 'durable-mqtt-out', broker: 'b1', topic: 'dangling/out' });
    await load(flow, { b1: { user: USER, password: PASSWORD } });
    const settled = (id: string): boolean => /status\.connected|reason\./.test(String(lastStatus(id)?.text));
    await until(() => settled('in1') && settled('out1'), 'a badge that says connected or why not');
    return clientId;
  }

  for (const [what, broker, named] of [
    // No scheme: a chosen TLS node makes it mqtts://; without one it would be plain mqtt:// with the password.
    ['a TLS node', { broker: '', tls: 'gone-tls' }, /TLS configuration node gone-tls not found/],
    ['a proxy node', { broker: 'ws', proxy: 'gone-proxy' }, /HTTP proxy configuration node gone-proxy not found/],
  ] as const) {
    it(`treats ${what} that does not resolve as an invalid configuration: red badges, an error, and no connection`, async () => {
      const url = broker.broker === 'ws' ? `ws://127.0.0.1:${wsPort}/mqtt` : `127.0.0.1:${mosq().port}`;
      const clientId = await loadDangling({ ...broker, broker: url });
      for (const id of ['in1', 'out1']) assert.equal(lastStatus(id)?.text, 'durable-mqtt.reason.invalidConfig', `${id}'s badge`);
      assert.ok(callsOf('b1', 'error').some(([m]) => named.test(String(m))), JSON.stringify(callsOf('b1', 'error')));
      assert.doesNotMatch(mosq().log(), new RegExp(`as ${clientId}`), 'the broker never saw the client');
    });
  }
});
