// Specifications of MqttSession against real brokers (in-process Aedes and a Mosquitto child process).
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import mqtt, { type IPublishPacket } from 'mqtt';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config.js';
import type { QoS } from '../nodes/session/subscriptions/cover.js';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger.js';
import { CLOSES_IN_FLIGHT } from '../nodes/session/connection/in-flight.js';
import { MqttSession, type SessionState } from '../nodes/session/session.js';
import { startAedes, type AedesHandle } from './support/aedes.js';
import { makeCerts, type TestCerts } from './support/certs.js';
import {
  requireMosquitto, mosquittoSubscribeCount, startMosquitto, type MosquittoHandle,
} from './support/mosquitto.js';
import { freePort } from './support/ports.js';
import { publishMany } from './support/publisher.js';
import { startRefusingPeer } from './support/refusing-peer.js';
import { startScriptedBroker } from './support/scripted-broker.js';
import { until } from './support/until';

interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** Everything a session emitted, recorded from before start(). */
interface Recorder {
  states: SessionState[];
  messages: Received[];
  subscribed: Map<string, QoS>[];
  unsubscribed: string[][];
  subscribeFailed: { filter: string; code: number }[];
  takeovers: number;
}

let seq = 0;
/** A client ID / ledger key no other test (or earlier run against a persistent broker) uses. */
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

const range = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

/** A session config as the config node builds it, with a fast backoff (100–400 ms). */
function sessionConfig(url: string, clientId: string, extra: Partial<SessionConfig> = {}): SessionConfig {
  const parsed = parseConfig({ broker: url, clientId, backoffMin: 0.1, backoffMax: 0.4 });
  if (!parsed.ok) throw new Error(parsed.error);
  return { ...parsed.config, ...extra };
}


/** Log lines of a Mosquitto handle matching `re` (global flag not needed). */
const logCount = (broker: MosquittoHandle, re: RegExp): number => broker.log().split('\n').filter((l) => re.test(l)).length;

const hasState = (r: Recorder, pred: (s: SessionState) => boolean): boolean => r.states.some(pred);

describe('session', function () {
  const sessions: MqttSession[] = [];
  const clients: mqtt.MqttClient[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  /** A session on a fresh MemoryLedger(key), with every event recorded; closed after the test. */
  function session(config: SessionConfig, key: string, filters: Record<string, QoS> = {}): { s: MqttSession; r: Recorder; ledger: MemoryLedger } {
    const ledger = new MemoryLedger(key);
    const s = new MqttSession(config, ledger);
    const r: Recorder = { states: [], messages: [], subscribed: [], unsubscribed: [], subscribeFailed: [], takeovers: 0 };
    s.on('state', (st) => r.states.push(st));
    s.on('message', (topic, payload, packet) => r.messages.push({ topic, payload, packet }));
    s.on('subscribed', (subs) => r.subscribed.push(new Map(subs)));
    s.on('unsubscribed', (f) => r.unsubscribed.push([...f]));
    s.on('subscribeFailed', (filter, code) => r.subscribeFailed.push({ filter, code }));
    s.on('takeover', () => r.takeovers++);
    s.setSubscriptions(new Map(Object.entries(filters)));
    sessions.push(s);
    return { s, r, ledger };
  }

  async function aedes(opts: Parameters<typeof startAedes>[0] = {}): Promise<AedesHandle> {
    const b = await startAedes(opts);
    cleanups.push(() => b.close());
    return b;
  }

  async function mosquitto(opts: Parameters<typeof startMosquitto>[0] = {}): Promise<MosquittoHandle> {
    const b = await startMosquitto(opts);
    cleanups.push(() => b.stop());
    return b;
  }

  function bare(url: string, opts: mqtt.IClientOptions): mqtt.MqttClient {
    const c = mqtt.connect(url, opts);
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Connects, subscribes `seed/#`, leaves without unsubscribing, lets 1,000 QoS 1 messages queue, comes back. */
  async function seedScenario(url: string, subscribeCount: () => number, acked: (clientId: string) => number, protocolVersion: 4 | 5 = 4): Promise<void> {
    const clientId = unique('seed');
    const key = unique('ledger');
    const config = sessionConfig(url, clientId, { protocolVersion });

    const first = session(config, key, { 'seed/#': 1 });
    first.s.start();
    await until(() => first.r.subscribed.length === 1 && subscribeCount() === 1, 'first SUBSCRIBE');
    assert.deepEqual(first.r.subscribed[0], new Map([['seed/#', 1]]));
    await first.s.close();

    await publishMany(url, 'seed/x', 1000, { qos: 1, protocolVersion });

    // A new session object, as after a Node-RED restart: same client ID, same ledger key.
    const second = session(config, key, { 'seed/#': 1 });
    second.s.start();
    // The broker pushes the queued messages right after CONNACK, before any code of ours runs;
    // the 'message' listener is attached before CONNECT, so none of the 1,000 may be missed.
    await until(() => second.r.messages.length >= 1000, '1,000 queued messages', 20000);
    // Every PUBACK follows any SUBSCRIBE the session might have sent, so once the broker has
    // seen 1,000 acknowledgements from us, a needless SUBSCRIBE would already be counted.
    await until(() => acked(clientId) >= 1000, '1,000 PUBACKs at the broker');
    assert.deepEqual(second.r.messages.map((m) => m.payload.toString()), range(1000));
    assert.ok(second.r.messages.every((m) => m.topic === 'seed/x'));
    assert.equal(subscribeCount(), 1, 'resuming the session must not SUBSCRIBE again');
    assert.deepEqual(second.r.subscribed, []);
    assert.deepEqual(second.r.states, [{ state: 'connecting' }, { state: 'connected', sessionPresent: true }]);
  }

  describe('persistent session resume (seed scenario)', () => {
    it('on Mosquitto (MQTT 3.1.1): receives all 1,000 messages queued while away, in order, without a new SUBSCRIBE', async function () {
      requireMosquitto();
      const broker = await mosquitto();
      await seedScenario(
        broker.url,
        () => mosquittoSubscribeCount(broker),
        (id) => logCount(broker, new RegExp(`Received PUBACK from ${id} `)),
      );
    });

    it('on Aedes (MQTT 3.1.1): receives all 1,000 messages queued while away, in order, without a new SUBSCRIBE', async () => {
      const broker = await aedes();
      const acks = new Map<string, number>();
      broker.broker.on('ack', (_packet, client) => {
        if (client?.id) acks.set(client.id, (acks.get(client.id) ?? 0) + 1);
      });
      await seedScenario(broker.url, () => broker.subscribeCount(), (id) => acks.get(id) ?? 0);
    });
  });

  describe('resubscribe after the broker lost the session', () => {
    it('Aedes restarted on the same port: reconnects by itself, sees no session, SUBSCRIBEs again and receives', async () => {
      let broker = await aedes();
      const { s, r, ledger } = session(sessionConfig(broker.url, unique('lost')), unique('ledger'), { 'r/#': 1 });
      s.start();
      await until(() => r.subscribed.length === 1, 'first SUBSCRIBE');
      assert.equal(broker.subscribeCount(), 1);

      const port = broker.port;
      await broker.close();
      await until(() => s.state.state !== 'connected', 'the session to notice');
      broker = await aedes({ port });
      await until(() => r.subscribed.length === 2, 'second SUBSCRIBE');

      assert.equal(broker.subscribeCount(), 1, 'the new broker must have received a SUBSCRIBE');
      assert.ok(hasState(r, (st) => st.state === 'reconnecting'), JSON.stringify(r.states));
      const connected = r.states.filter((st) => st.state === 'connected');
      assert.deepEqual(connected.at(-1), { state: 'connected', sessionPresent: false });
      assert.deepEqual(ledger.load(), new Map([['r/#', 1]]));

      await broker.publish('r/after', 'after restart', 1);
      await until(() => r.messages.length === 1, 'message after restart');
      assert.equal(r.messages[0].payload.toString(), 'after restart');
    });

    it('Mosquitto restarted without persistence: reconnects by itself, sees no session, SUBSCRIBEs again and receives', async function () {
      requireMosquitto();
      const broker = await mosquitto();
      const { s, r } = session(sessionConfig(broker.url, unique('lost')), unique('ledger'), { 'r/#': 1 });
      s.start();
      await until(() => r.subscribed.length === 1 && mosquittoSubscribeCount(broker) === 1, 'first SUBSCRIBE');

      await broker.restart();
      await until(() => r.subscribed.length === 2 && mosquittoSubscribeCount(broker) === 2, 'second SUBSCRIBE');

      assert.ok(hasState(r, (st) => st.state === 'reconnecting'), JSON.stringify(r.states));
      const connected = r.states.filter((st) => st.state === 'connected');
      assert.equal(connected.length, 2);
      assert.deepEqual(connected[1], { state: 'connected', sessionPresent: false });

      await publishMany(broker.url, 'r/after', 1, { qos: 1, payload: () => 'after restart' });
      await until(() => r.messages.length === 1, 'message after restart');
      assert.equal(r.messages[0].payload.toString(), 'after restart');
    });
  });

  it('setSubscriptions while connected subscribes the new filter, then unsubscribes the removed one', async () => {
    const broker = await aedes();
    const { s, r, ledger } = session(sessionConfig(broker.url, unique('change')), unique('ledger'), { 'x/1': 1 });
    s.start();
    await until(() => r.subscribed.length === 1, 'first SUBSCRIBE');
    assert.equal(broker.subscribeCount(), 1);

    // The session awaits each SUBACK / UNSUBACK before the next request, so the events follow the wire.
    const order: string[] = [];
    s.on('subscribed', () => order.push('subscribed x/2'));
    s.on('unsubscribed', () => order.push('unsubscribed x/1'));
    s.setSubscriptions(new Map<string, QoS>([['x/2', 1]]));
    await until(() => r.subscribed.length === 2 && r.unsubscribed.length === 1, 'the change');
    assert.deepEqual(order, ['subscribed x/2', 'unsubscribed x/1'], 'the new filter is in place before the old one goes');

    assert.equal(broker.subscribeCount(), 2);
    assert.equal(broker.unsubscribeCount(), 1);
    assert.deepEqual(r.unsubscribed[0], ['x/1']);
    assert.deepEqual(r.subscribed[1], new Map([['x/2', 1]]));
    assert.deepEqual(ledger.load(), new Map([['x/2', 1]]));

    // Same connection, so order is kept: had x/1 still been subscribed, it would arrive first.
    await broker.publish('x/1', 'old', 1);
    await broker.publish('x/2', 'new', 1);
    await until(() => r.messages.some((m) => m.topic === 'x/2'), 'x/2');
    assert.deepEqual(r.messages.map((m) => m.topic), ['x/2']);
  });

  it('MQTT 5 on Mosquitto: overlapping a/# and a/+ become one SUBSCRIBE of a/#, and a message arrives once', async function () {
    requireMosquitto();
    const broker = await mosquitto();

    // Control: a bare MQTT 5 client holding both filters gets two copies from Mosquitto.
    const control = bare(broker.url, { protocolVersion: 5, clientId: unique('control'), reconnectPeriod: 0 });
    const controlGot: string[] = [];
    control.on('message', (topic) => controlGot.push(topic));
    await new Promise<void>((resolve) => control.once('connect', () => resolve()));
    await control.subscribeAsync({ 'a/#': { qos: 1 }, 'a/+': { qos: 1 } });

    const clientId = unique('overlap');
    const { s, r } = session(sessionConfig(broker.url, clientId, { protocolVersion: 5 }), unique('ledger'), { 'a/#': 1, 'a/+': 1 });
    assert.deepEqual(s.subscriptions, new Map([['a/#', 1]]));
    s.start();
    await until(() => r.subscribed.length === 1, 'SUBSCRIBE');
    await until(() => new RegExp(`Received SUBSCRIBE from ${clientId}`).test(broker.log()), 'SUBSCRIBE logged');

    await publishMany(broker.url, 'a/b', 1, { qos: 1, protocolVersion: 5, payload: () => 'once' });
    // A marker published afterwards on the same topic tree arrives after every copy of the first.
    await publishMany(broker.url, 'a/marker', 1, { qos: 1, protocolVersion: 5, payload: () => 'marker' });
    await until(() => r.messages.some((m) => m.topic === 'a/marker'), 'marker at the session');
    await until(() => controlGot.includes('a/marker'), 'marker at the control client');

    assert.equal(controlGot.filter((t) => t === 'a/b').length, 2, 'Mosquitto should copy per matching subscription');
    assert.deepEqual(r.messages.map((m) => m.topic), ['a/b', 'a/marker']);

    // Exactly one SUBSCRIBE from the session, carrying a/# only.
    const log = broker.log();
    assert.equal(logCount(broker, new RegExp(`Received SUBSCRIBE from ${clientId}$`)), 1);
    const sessionSubscribe = log.slice(log.indexOf(`Received SUBSCRIBE from ${clientId}`)).split('\n').slice(1, 3).join('\n');
    assert.match(sessionSubscribe, /\ta\/# \(QoS 1\)/);
    assert.doesNotMatch(sessionSubscribe, /\ta\/\+ \(QoS/);
    assert.equal(mosquittoSubscribeCount(broker), 2, 'one SUBSCRIBE from the control client, one from the session');
  });

  /** Publishes through the session and records how each publish ended: undefined once the broker has it, else the error. */
  function publisher(s: MqttSession): { publish(topic: string, payload: string | Buffer, qos?: QoS): void; ended: Map<string, (Error & { code?: unknown }) | undefined> } {
    const ended = new Map<string, (Error & { code?: unknown }) | undefined>();
    return {
      ended,
      publish: (topic, payload, qos = 1) => s.publish(topic, Buffer.from(payload), { qos }, (err) => ended.set(`${topic} ${String(payload).slice(0, 8)}`, err ?? undefined)),
    };
  }

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'} on Mosquitto: a publish the broker closes the connection on is given up after ${CLOSES_IN_FLIGHT} closes in a row as the oldest in flight, and those behind it get through`, async function () {
      requireMosquitto();
      const broker = await mosquitto();
      const watcher = bare(broker.url, { clientId: unique('watch'), protocolVersion });
      const seen: string[] = [];
      watcher.on('message', (_topic, p) => seen.push(p.toString()));
      await watcher.subscribeAsync('poison/#', { qos: 1 });
      const { s, r } = session(sessionConfig(broker.url, unique('poison'), { protocolVersion }), unique('ledger'));
      s.start();
      await until(() => hasState(r, (st) => st.state === 'connected'), 'connected');
      const p = publisher(s);
      // Mosquitto 2.0 closes on a topic with a control character (lib/utf8_mosq.c); MQTT.js resends it first on every connection.
      p.publish('poison/a\u0001b', 'bad');
      for (let i = 0; i < 20; i++) p.publish('poison/ok', String(i));
      await until(() => p.ended.size === 21, 'every publish ended', 20000);
      const bad = p.ended.get('poison/a\u0001b bad');
      assert.match(String(bad?.message), new RegExp(`closed the connection ${CLOSES_IN_FLIGHT} times in a row while this message was the oldest in flight`));
      assert.ok(typeof bad?.code === 'number' && bad.code >= 0x80, 'a refusal for the out node: it leaves the outbox');
      assert.deepEqual([...p.ended].filter(([k]) => k.startsWith('poison/ok')).map(([, err]) => err), Array(20).fill(undefined));
      await until(() => new Set(seen).size === 20, 'all 20 at the subscriber');
      assert.equal(logCount(broker, /Client poison-.* disconnected due to (malformed packet|protocol error)/), CLOSES_IN_FLIGHT);
      // Gone from MQTT.js's store too: the next connection does not send it again.
      s.publish('poison/after', Buffer.from('x'), { qos: 1 }, () => undefined);
      await until(() => seen.includes('x'), 'a message after');
      assert.equal(logCount(broker, /Client poison-.* disconnected due to (malformed packet|protocol error)/), CLOSES_IN_FLIGHT);
    });
  }

  it('MQTT 5 on Mosquitto: a publish larger than the Maximum Packet Size of the CONNACK fails at once with 0x95 and is never sent', async function () {
    requireMosquitto();
    const broker = await mosquitto({ extraConfig: 'max_packet_size 2000' });
    const { s, r } = session(sessionConfig(broker.url, unique('big'), { protocolVersion: 5 }), unique('ledger'));
    s.start();
    await until(() => hasState(r, (st) => st.state === 'connected'), 'connected');
    const p = publisher(s);
    p.publish('big/x', Buffer.alloc(5000, 'a'));
    p.publish('big/y', 'small', 0);
    await until(() => p.ended.size === 2, 'both ended', 15000);
    const big = p.ended.get('big/x aaaaaaaa');
    assert.equal(big?.code, 0x95);
    assert.match(String(big?.message), /5\d{3} bytes as a PUBLISH packet, more than the broker's Maximum Packet Size of 2000 bytes/);
    assert.equal(p.ended.get('big/y small'), undefined);
    assert.deepEqual(r.states.filter((st) => st.state !== 'connecting' && st.state !== 'connected'), [], 'the connection stayed up');
  });

  it('MQTT 5 on Mosquitto: publish properties arrive on the packet', async function () {
    requireMosquitto();
    const broker = await mosquitto();
    const { s, r } = session(sessionConfig(broker.url, unique('props'), { protocolVersion: 5 }), unique('ledger'), { 'p/#': 1 });
    s.start();
    await until(() => r.subscribed.length === 1, 'SUBSCRIBE');

    await publishMany(broker.url, 'p/x', 1, {
      qos: 1,
      protocolVersion: 5,
      payload: () => '{"v":1}',
      properties: {
        userProperties: { site: 'north', tag: ['a', 'b'] },
        contentType: 'application/json',
        correlationData: Buffer.from('corr-1'),
        responseTopic: 'reply/here',
        messageExpiryInterval: 3600,
      },
    });
    await until(() => r.messages.length === 1, 'message');

    const props = r.messages[0].packet.properties ?? {};
    assert.deepEqual({ ...props.userProperties }, { site: 'north', tag: ['a', 'b'] });
    assert.equal(props.contentType, 'application/json');
    assert.ok(Buffer.isBuffer(props.correlationData));
    assert.equal(props.correlationData.toString(), 'corr-1');
    assert.equal(props.responseTopic, 'reply/here');
    const expiry = props.messageExpiryInterval ?? 0;
    // The broker forwards what is left of the interval.
    assert.ok(expiry > 0 && expiry <= 3600, String(props.messageExpiryInterval));
    assert.equal(r.messages[0].payload.toString(), '{"v":1}');
  });

  describe('refused connections', () => {
    it('wrong password on Mosquitto (MQTT 3.1.1): state error notAuthorized, and keeps retrying', async function () {
      requireMosquitto();
      const broker = await mosquitto({ users: { alice: 'secret' } });
      const { s, r } = session(sessionConfig(broker.url, unique('auth'), { username: 'alice', password: 'wrong' }), unique('ledger'), { 'a': 0 });
      s.start();
      await until(() => hasState(r, (st) => st.state === 'reconnecting' && st.attempt >= 2), 'second reconnect attempt');
      const errors = r.states.filter((st) => st.state === 'error');
      assert.ok(errors.length >= 2, JSON.stringify(r.states));
      for (const e of errors) assert.equal(e.state === 'error' && e.reason, 'notAuthorized', JSON.stringify(e));
      assert.ok(!hasState(r, (st) => st.state === 'connected'));
    });

    it('wrong password on Mosquitto (MQTT 5): state error notAuthorized (CONNACK 0x87), and keeps retrying', async function () {
      requireMosquitto();
      const broker = await mosquitto({ users: { alice: 'secret' } });
      const config = sessionConfig(broker.url, unique('auth5'), { username: 'alice', password: 'wrong', protocolVersion: 5 });
      const { s, r } = session(config, unique('ledger'), { 'a': 0 });
      s.start();
      await until(() => hasState(r, (st) => st.state === 'reconnecting' && st.attempt >= 2), 'second reconnect attempt');
      const reasons = new Set(r.states.flatMap((st) => (st.state === 'error' ? [st.reason] : [])));
      // Mosquitto 2 answers a bad password with 0x87 (not authorized) even on MQTT 5.
      assert.deepEqual([...reasons], ['notAuthorized']);
    });

    it('wrong password on Aedes (authenticate): state error badCredentials, and keeps retrying', async () => {
      const broker = await aedes({ authenticate: (u, p) => u === 'alice' && p === 'secret' });
      const { s, r } = session(sessionConfig(broker.url, unique('auth'), { username: 'alice', password: 'wrong' }), unique('ledger'), { 'a': 0 });
      s.start();
      await until(() => hasState(r, (st) => st.state === 'reconnecting' && st.attempt >= 2), 'second reconnect attempt');
      const errors = r.states.filter((st) => st.state === 'error');
      assert.ok(errors.length >= 2, JSON.stringify(r.states));
      for (const e of errors) assert.equal(e.state === 'error' && e.reason, 'badCredentials', JSON.stringify(e));
    });

    it('unreachable: nobody listening gives state error unreachable, then reconnecting attempts 1, 2, 3', async () => {
      const port = await freePort();
      const { s, r } = session(sessionConfig(`mqtt://127.0.0.1:${port}`, unique('nobody')), unique('ledger'), { 'a': 0 });
      s.start();
      await until(() => hasState(r, (st) => st.state === 'reconnecting' && st.attempt === 3), 'third reconnect attempt');
      const sequence = r.states.slice(0, 7);
      assert.deepEqual(sequence, [
        { state: 'connecting' },
        { state: 'error', reason: 'unreachable', detail: (sequence[1] as { detail?: string }).detail },
        { state: 'reconnecting', attempt: 1 },
        { state: 'error', reason: 'unreachable', detail: (sequence[3] as { detail?: string }).detail },
        { state: 'reconnecting', attempt: 2 },
        { state: 'error', reason: 'unreachable', detail: (sequence[5] as { detail?: string }).detail },
        { state: 'reconnecting', attempt: 3 },
      ]);
      assert.match((sequence[1] as { detail?: string }).detail ?? '', /ECONNREFUSED/);
    });

    it('unknown host: state error unknownHost', async () => {
      const { s, r } = session(sessionConfig('mqtt://nonexistent.invalid', unique('nohost')), unique('ledger'), { 'a': 0 });
      s.start();
      await until(() => hasState(r, (st) => st.state === 'error'), 'an error state');
      const first = r.states.find((st) => st.state === 'error');
      assert.equal(first?.state === 'error' && first.reason, 'unknownHost', JSON.stringify(first));
      await until(() => hasState(r, (st) => st.state === 'reconnecting'), 'a reconnect attempt');
    });
  });

  describe('client-ID takeover', () => {
    it('MQTT 3.1.1 on Aedes: another client with our ID keeps kicking us off → one takeover event, state error clientIdInUse', async () => {
      const broker = await aedes();
      const clientId = unique('twin');
      const config = sessionConfig(broker.url, clientId);
      assert.equal(config.takeoverWindow, 30000);
      assert.equal(config.takeoverCount, 3);
      const { s, r } = session(config, unique('ledger'), { 't/#': 1 });
      s.start();
      await until(() => s.state.state === 'connected', 'connected');

      bare(broker.url, { clientId, clean: false, reconnectPeriod: 50 });
      await until(() => r.takeovers > 0, 'takeover');
      assert.ok(hasState(r, (st) => st.state === 'error' && st.reason === 'clientIdInUse'), JSON.stringify(r.states));

      // Keep fighting for a few more rounds: the event is raised once per episode, not per kick.
      const seen = r.states.length;
      await until(() => r.states.slice(seen).filter((st) => st.state === 'connected').length >= 3, 'more rounds');
      assert.equal(r.takeovers, 1);
      const laterErrors = r.states.slice(seen).filter((st) => st.state === 'error');
      assert.ok(laterErrors.length > 0);
      for (const e of laterErrors) assert.equal(e.state === 'error' && e.reason, 'clientIdInUse', JSON.stringify(e));
    });

    it('MQTT 5 on Mosquitto: one takeover is reported as the broker signals it (DISCONNECT 0x8E → clientIdInUse, a bare close → connectionLost)', async function () {
      requireMosquitto();
      const broker = await mosquitto();
      // What does this Mosquitto do to the old MQTT 5 connection? Ask it with two bare clients.
      const probeId = unique('probe');
      const old = bare(broker.url, { clientId: probeId, protocolVersion: 5, reconnectPeriod: 0 });
      let probeDisconnect: number | undefined;
      old.on('disconnect', (packet) => (probeDisconnect = packet.reasonCode ?? 0));
      const oldClosed = new Promise<void>((resolve) => old.once('close', () => resolve()));
      await new Promise<void>((resolve) => old.once('connect', () => resolve()));
      bare(broker.url, { clientId: probeId, protocolVersion: 5, reconnectPeriod: 0 });
      await oldClosed;

      const clientId = unique('twin5');
      const { s, r } = session(sessionConfig(broker.url, clientId, { protocolVersion: 5 }), unique('ledger'), { 't/#': 1 });
      s.start();
      await until(() => s.state.state === 'connected', 'connected');
      const before = r.states.length;
      // Takes the ID once and gives up (reconnectPeriod 0): our session takes it back. Its session
      // expiry is 0 (the MQTT 5 default), so the session it resumed ends when it is kicked in turn.
      const other = bare(broker.url, { clientId, clean: false, protocolVersion: 5, reconnectPeriod: 0 });
      const otherClosed = new Promise<void>((resolve) => other.once('close', () => resolve()));
      await new Promise<void>((resolve) => other.once('connect', () => resolve()));
      await otherClosed;
      await until(() => s.state.state === 'connected', 'connected again');
      assert.match(broker.log(), new RegExp(`Client ${clientId} already connected, closing old connection`));

      const after = r.states.slice(before);
      if (probeDisconnect === 0x8e) {
        assert.deepEqual(after[0], { state: 'error', reason: 'clientIdInUse', detail: (after[0] as { detail?: string }).detail });
        assert.equal(r.takeovers, 1, 'one DISCONNECT 0x8E is enough to call it a takeover');
      } else {
        // Mosquitto 2.0.11 just closes the socket: one close is not yet a takeover.
        assert.equal(probeDisconnect, undefined, `unexpected DISCONNECT reason 0x${probeDisconnect?.toString(16)}`);
        assert.deepEqual(after, [
          { state: 'disconnected', reason: 'connectionLost' },
          { state: 'reconnecting', attempt: 1 },
          { state: 'connected', sessionPresent: false },
        ]);
        assert.equal(r.takeovers, 0);
      }
      // Without a session the subscriptions are gone too: the session must SUBSCRIBE again.
      await until(() => r.subscribed.length === 2, 'SUBSCRIBE again');
      assert.deepEqual(r.subscribed[1], new Map([['t/#', 1]]));
    });

    it('MQTT 5 on Mosquitto: a client that keeps taking our ID → one takeover event, state error clientIdInUse', async function () {
      requireMosquitto();
      const broker = await mosquitto();
      const clientId = unique('twin5');
      const { s, r } = session(sessionConfig(broker.url, clientId, { protocolVersion: 5 }), unique('ledger'), { 't/#': 1 });
      s.start();
      await until(() => s.state.state === 'connected', 'connected');

      bare(broker.url, { clientId, clean: false, protocolVersion: 5, reconnectPeriod: 50 });
      await until(() => r.takeovers > 0, 'takeover');
      assert.ok(hasState(r, (st) => st.state === 'error' && st.reason === 'clientIdInUse'), JSON.stringify(r.states));
      const seen = r.states.length;
      await until(() => r.states.slice(seen).filter((st) => st.state === 'connected').length >= 2, 'more rounds');
      assert.equal(r.takeovers, 1);
    });
  });

  describe('TLS', () => {
    let certs: TestCerts;
    before(() => {
      certs = makeCerts();
    });

    it('connects to Aedes over mqtts:// with the CA and receives a message', async () => {
      const broker = await aedes({ tls: { key: certs.key, cert: certs.cert } });
      const parsed = parseConfig({ broker: `mqtts://127.0.0.1:${broker.port}`, clientId: unique('tls'), tls: { ca: certs.ca }, backoffMin: 0.1, backoffMax: 0.4 });
      assert.ok(parsed.ok);
      const { s, r } = session(parsed.config, unique('ledger'), { 'sec/#': 1 });
      s.start();
      await until(() => r.subscribed.length === 1, 'SUBSCRIBE');
      assert.deepEqual(s.state, { state: 'connected', sessionPresent: false });
      await broker.publish('sec/1', 'secret', 1);
      await until(() => r.messages.length === 1, 'message');
      assert.equal(r.messages[0].payload.toString(), 'secret');
    });

    it('without the CA gives state error tlsError', async () => {
      const broker = await aedes({ tls: { key: certs.key, cert: certs.cert } });
      const { s, r } = session(sessionConfig(broker.url, unique('tls-noca')), unique('ledger'), { 'sec/#': 1 });
      s.start();
      await until(() => hasState(r, (st) => st.state === 'error'), 'an error state');
      const first = r.states.find((st) => st.state === 'error');
      assert.equal(first?.state === 'error' && first.reason, 'tlsError', JSON.stringify(first));
      assert.ok(!hasState(r, (st) => st.state === 'connected'));
    });
  });

  describe('close', () => {
    it('close({forget: true}) unsubscribes every filter and clears the ledger', async () => {
      const broker = await aedes();
      const key = unique('ledger');
      const { s, r, ledger } = session(sessionConfig(broker.url, unique('forget')), key, { 'f/1': 1, 'g/#': 0 });
      s.start();
      await until(() => r.subscribed.length === 1, 'SUBSCRIBE');
      assert.deepEqual(ledger.load(), new Map<string, QoS>([['f/1', 1], ['g/#', 0]]));

      const unsubscribed = new Promise<string[]>((resolve) => broker.broker.once('unsubscribe', (topics: string[]) => resolve(topics)));
      await s.close({ forget: true });
      assert.equal(broker.unsubscribeCount(), 1);
      assert.deepEqual((await unsubscribed).sort(), ['f/1', 'g/#']);
      assert.equal(new MemoryLedger(key).load(), undefined);
      assert.deepEqual(s.state, { state: 'disconnected' });
    });

    it('plain close() sends no UNSUBSCRIBE and keeps the ledger', async () => {
      const broker = await aedes();
      const key = unique('ledger');
      const clientId = unique('keep');
      const { s, r } = session(sessionConfig(broker.url, clientId), key, { 'f/1': 1 });
      s.start();
      await until(() => r.subscribed.length === 1, 'SUBSCRIBE');
      const gone = new Promise<void>((resolve) => broker.broker.on('clientDisconnect', (c) => c.id === clientId && resolve()));
      await s.close();
      await gone;
      assert.equal(broker.unsubscribeCount(), 0);
      assert.deepEqual(new MemoryLedger(key).load(), new Map([['f/1', 1]]));
      assert.deepEqual(s.state, { state: 'disconnected' });
    });
  });

  it('delivers a 10 MB payload intact on Aedes', async () => {
    const broker = await aedes();
    const { s, r } = session(sessionConfig(broker.url, unique('big')), unique('ledger'), { big: 1 });
    s.start();
    await until(() => r.subscribed.length === 1, 'SUBSCRIBE');
    const payload = randomBytes(10 * 1024 * 1024);
    await publishMany(broker.url, 'big', 1, { qos: 1, payload: () => payload });
    await until(() => r.messages.length === 1, 'the big message', 20000);
    assert.equal(r.messages[0].payload.length, payload.length);
    assert.ok(r.messages[0].payload.equals(payload));
  });

  it('reports a filter the broker refuses in SUBACK as subscribeFailed, and keeps the granted ones', async () => {
    const broker = await aedes({ authorizeSubscribe: (topic) => topic !== 'deny/#', denySubscribeWith: 'suback' });
    const { s, r, ledger } = session(sessionConfig(broker.url, unique('suback')), unique('ledger'), { 'ok/#': 1, 'deny/#': 1 });
    s.start();
    await until(() => r.subscribeFailed.length === 1, 'subscribeFailed');
    assert.equal(r.subscribeFailed[0].filter, 'deny/#');
    assert.ok(r.subscribeFailed[0].code >= 0x80, String(r.subscribeFailed[0].code));
    await until(() => r.subscribed.length === 1, 'subscribed');
    assert.deepEqual(r.subscribed[0], new Map([['ok/#', 1]]));
    assert.deepEqual(ledger.load(), new Map([['ok/#', 1]]));
    assert.equal(s.state.state, 'connected');

    await broker.publish('ok/1', 'granted', 1);
    await until(() => r.messages.length === 1, 'message');
    assert.equal(r.messages[0].topic, 'ok/1');
  });
  describe('state rules', () => {
    it('announces connected only after the SUBACK when no session is present', async () => {
      const broker = await aedes();
      const { s } = session(sessionConfig(broker.url, unique('order')), unique('ledger'), { 'o/#': 1 });
      const order: string[] = [];
      s.on('state', (st) => order.push(st.state));
      s.on('subscribed', () => order.push('subscribed'));
      s.start();
      await until(() => s.state.state === 'connected', 'connected');
      assert.deepEqual(order, ['connecting', 'subscribed', 'connected']);
    });

    for (const protocolVersion of [4, 5] as const) {
      it(`a peer that ends the connection on a $share SUBSCRIBE (MQTT ${protocolVersion === 5 ? '5, DISCONNECT 0x9E' : '3.1.1, bare close'}, as ejabberd): refused, then connected, never "client ID in use"`, async () => {
        const peer = await startRefusingPeer((f) => f.startsWith('$share/'), 0x9e);
        cleanups.push(() => peer.close());
        const { s, r } = session(sessionConfig(peer.url, unique('share'), { protocolVersion }), unique('ledger'), { '$share/g/jobs/#': 1 });
        s.start();
        await until(() => r.subscribeFailed.length > 0, 'refused');
        await until(() => s.state.state === 'connected', 'connected');
        assert.deepEqual(r.subscribeFailed, [{ filter: '$share/g/jobs/#', code: protocolVersion === 5 ? 0x9e : 0x80 }]);
        const reasons = r.states.flatMap((st) => (st.state === 'error' ? [st.reason] : []));
        assert.ok(reasons.length > 0 && reasons.every((x) => x === (protocolVersion === 5 ? 'sharedNotSupported' : 'subscriptionRefused')), JSON.stringify(r.states));
        assert.equal(r.takeovers, 0);
        // Two closes decide (the second with the filter alone), then no more SUBSCRIBE of it.
        assert.equal(peer.subscribes.length, 2);
        const attempts = r.states.filter((st) => st.state === 'reconnecting').length;
        assert.equal(attempts, 2, JSON.stringify(r.states));
      });
    }

    // Issue 21: a SUBSCRIBE left unanswered held the session at "connecting" for ever, and the out nodes on it with it.
    for (const protocolVersion of [4, 5] as const) {
      it(`a broker that never answers a SUBSCRIBE (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}): dropped after the keepalive, and the next connection subscribes and is "connected"`, async () => {
        const broker = await startScriptedBroker([{ suback: () => undefined }]);
        cleanups.push(() => broker.close());
        const { s, r } = session(sessionConfig(broker.url, unique('unanswered'), { protocolVersion, keepalive: 1 }), unique('ledger'), { 'a/#': 1 });
        const failures: string[] = [];
        s.on('failure', ({ operation, error }) => failures.push(`${operation}: ${error.message}`));
        s.start();
        await until(() => s.state.state === 'connected', 'connected');
        assert.equal(broker.connections(), 2, 'one connection more than the one left unanswered');
        assert.deepEqual(failures, ['subscribe: the broker did not answer SUBSCRIBE within 1 s; reconnecting']);
        assert.deepEqual(r.subscribed.map((m) => [...m.keys()]), [['a/#']]);
        assert.equal(r.states.filter((st) => st.state === 'connected').length, 1, 'never "connected" on the unanswered connection');
      });
    }

    it('finds the refused filter among several by asking for each alone, and keeps the others', async () => {
      const peer = await startRefusingPeer((f) => f.startsWith('$share/'));
      cleanups.push(() => peer.close());
      const { s, r } = session(sessionConfig(peer.url, unique('bisect')), unique('ledger'), { 'a/#': 1, '$share/g/b': 1, 'c/+': 0 });
      s.start();
      await until(() => s.state.state === 'connected', 'connected');
      assert.deepEqual(r.subscribeFailed.map((f) => f.filter), ['$share/g/b']);
      assert.deepEqual(new Set(r.subscribed.flatMap((m) => [...m.keys()])), new Set(['a/#', 'c/+']));
      assert.equal(r.takeovers, 0);
    });
  });
});
