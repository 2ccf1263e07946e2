// Specs for nodes/session/connection/connection.ts on Aedes: one client, recycled on purpose, ended cleanly, and the close message's failure reported.
import { strict as assert } from 'node:assert';
import { once, EventEmitter } from 'node:events';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config.js';
import { Connection } from '../nodes/session/connection/connection.js';
import { startAedes, type AedesHandle } from './support/aedes.js';

let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

function config(url: string, extra: Record<string, unknown> = {}): SessionConfig {
  const parsed = parseConfig({ broker: url, clientId: unique('conn'), ...extra });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}

/** A connection whose handlers re-emit as events, with the streams it built counted. */
function connection(c: SessionConfig): { conn: Connection; seen: EventEmitter; streams: () => number } {
  const seen = new EventEmitter();
  let streams = 0;
  const conn = new Connection(c, {
    stream: () => void streams++,
    packet: (p) => seen.emit('packet', p),
    connect: (ack) => seen.emit('connect', ack),
    error: (err) => seen.emit('fail', err),
    disconnect: (p) => seen.emit('disconnect', p),
    close: () => seen.emit('close'),
  });
  return { conn, seen, streams: () => streams };
}

describe('connection', function () {
  let broker: AedesHandle;
  beforeEach(async () => {
    broker = await startAedes();
  });
  afterEach(async () => {
    await broker.close();
  });

  it('connects on a GatedStream, and a recycle closes it once on purpose before it reconnects', async () => {
    const { conn, seen, streams } = connection(config(broker.url));
    conn.create();
    const connected = once(seen, 'connect');
    conn.connect();
    await connected;
    assert.equal(conn.open, true);
    assert.equal(streams(), 1);
    const closed = once(seen, 'close');
    conn.recycle();
    await closed;
    assert.equal(conn.recycled(), true);
    assert.equal(conn.recycled(), false, 'once');
    const again = once(seen, 'connect');
    conn.reconnect();
    await again;
    assert.equal(streams(), 2);
    conn.beginClose();
    await conn.end();
    assert.equal(conn.open, false);
    const published = new Promise((resolve, reject) => conn.publish('t', Buffer.from('x'), { qos: 1 }, (err) => (err ? reject(err) : resolve(undefined))));
    await assert.rejects(published, /not started/);
  });

  it('fails a QoS 0 publish made while the client is not connected, rather than let MQTT.js queue it in memory (queueQoSZero off)', async () => {
    const { conn, seen } = connection(config(broker.url));
    conn.create();
    const connected = once(seen, 'connect');
    conn.connect();
    await connected;
    const closed = once(seen, 'close');
    conn.recycle();
    await closed;
    const err = await new Promise<Error | undefined>((resolve) => conn.publish('c/qos0', 'x', { qos: 0 }, (e) => resolve(e ?? undefined)));
    // MqttClient._storePacket (node_modules/mqtt/build/lib/client.js) with queueQoSZero false.
    assert.match(String(err?.message), /No connection to broker/);
    conn.beginClose();
    await conn.end();
  });

  it('rejects end() with the close message the broker did not take, after disconnecting anyway', async () => {
    const { conn, seen } = connection(config(broker.url, { closeTopic: 'st/bye', closePayload: 'bye', closeQos: '1' }));
    broker.broker.authorizePublish = (_client, _packet, done) => done(new Error('not allowed'));
    conn.create();
    const connected = once(seen, 'connect');
    conn.connect();
    await connected;
    conn.beginClose();
    await assert.rejects(conn.end());
    assert.equal(conn.open, false);
  });
});
