// Specifications of held acknowledgements (MqttSession with manualAcks) against real brokers: what the ack gate relies on in MQTT.js and the brokers.
import { strict as assert } from 'node:assert';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config.js';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger.js';
import { PACKETS_PER_TURN } from '../nodes/session/stream/read-pacer.js';
import { MqttSession, type SessionState, type Settle } from '../nodes/session/session.js';
import { startAedes, type AedesHandle } from './support/aedes.js';
import { startMosquitto, type MosquittoHandle } from './support/mosquitto.js';
import { publishMany } from './support/publisher.js';
import { until } from './support/until.js';

interface Got {
  payload: string;
  dup: boolean;
  settle: Settle;
}

let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function config(url: string, clientId: string, extra: Partial<SessionConfig> = {}): SessionConfig {
  const parsed = parseConfig({ broker: url, clientId, backoffMin: 0.1, backoffMax: 0.4 });
  if (!parsed.ok) throw new Error(parsed.error);
  return { ...parsed.config, ...extra };
}

describe('held acknowledgements (session with manualAcks)', function () {
  this.timeout(60000);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /**
   * A barrier on the connection: subscribes one more filter and resolves at its SUBACK. The broker
   * handles a client's packets in order, so an ack the session had written before the SUBSCRIBE has
   * been handled by then: checking for it afterwards cannot pass merely because the check came early.
   */
  async function roundTrip(s: MqttSession): Promise<void> {
    const marker = unique('barrier');
    const subscribed = new Promise<void>((resolve) => {
      const on = (subs: ReadonlyMap<string, unknown>): void => {
        if (!subs.has(marker)) return;
        s.off('subscribed', on);
        resolve();
      };
      s.on('subscribed', on);
    });
    s.setSubscriptions(new Map([...s.subscriptions, [marker, 0]]));
    await subscribed;
  }

  /**
   * Publishes `end` on `topic` and waits for it in `got`: the broker delivers one topic's messages in
   * order, so whatever it was going to send before it has come by then.
   */
  async function untilAfter(url: string, topic: string, got: Got[], qos: 1 | 2 = 1): Promise<void> {
    await publishMany(url, topic, 1, { qos, payload: () => 'end' });
    await until(() => got.some((g) => g.payload === 'end'), 'the end marker');
    // Left unsettled: nothing is asserted after it, and the session closes at the end of the spec.
    got.splice(got.findIndex((g) => g.payload === 'end'), 1);
  }

  /** A session with manual acks on `filter`, recording every message and state. */
  function open(c: SessionConfig, filter: string, qos: 0 | 1 | 2 = 1, manualAcks = true): { s: MqttSession; got: Got[]; states: SessionState[] } {
    const s = new MqttSession(c, new MemoryLedger(unique('ledger')), { manualAcks });
    const got: Got[] = [];
    const states: SessionState[] = [];
    s.on('message', (_topic, payload, packet, settle) => got.push({ payload: payload.toString(), dup: packet.dup, settle }));
    s.on('state', (st) => states.push(st));
    s.setSubscriptions(new Map([[filter, qos]]));
    s.start();
    cleanups.push(() => s.close());
    return { s, got, states };
  }

  async function aedes(): Promise<AedesHandle> {
    const b = await startAedes();
    cleanups.push(() => b.close());
    return b;
  }

  async function mosquitto(): Promise<MosquittoHandle> {
    const b = await startMosquitto();
    cleanups.push(() => b.stop());
    return b;
  }

  /** Payloads of the PUBACKs Aedes has received, in the order they arrived. */
  function ackLog(b: AedesHandle): string[] {
    const acks: string[] = [];
    b.broker.on('ack', (packet) => {
      if (packet && 'payload' in packet) acks.push(String(packet.payload));
    });
    return acks;
  }

  it('holds each PUBACK until its message is settled, and sends them in arrival order when settled out of order', async () => {
    const b = await aedes();
    const acks = ackLog(b);
    const { s, got } = open(config(b.url, unique('order')), 'order/#');
    await until(() => b.broker.connectedClients === 1, 'connected');
    await sleep(100);
    for (let i = 0; i < 5; i++) await b.publish('order/x', String(i), 1);
    await until(() => got.length === 5, '5 messages');

    got[2].settle('ack');
    got[4].settle('ack');
    await roundTrip(s);
    assert.deepEqual(acks, [], 'nothing may be acked while message 0 is unsettled');
    got[0].settle('ack');
    await until(() => acks.length === 1, 'ack of 0');
    got[1].settle('ack');
    await until(() => acks.length === 3, 'acks of 1 and 2');
    got[3].settle('ack');
    await until(() => acks.length === 5, 'all acks');
    assert.deepEqual(acks, ['0', '1', '2', '3', '4']);
  });

  it('keeps the connection alive while an ack is held for longer than three keepalive periods (PINGREQ/PINGRESP still flow)', async () => {
    const b = await aedes();
    const acks = ackLog(b);
    let pings = 0;
    b.broker.on('ping', () => pings++);
    const { got, states } = open(config(b.url, unique('keepalive'), { keepalive: 1 }), 'ka/#');
    await until(() => b.broker.connectedClients === 1, 'connected');
    await sleep(100);
    await b.publish('ka/x', 'held', 1);
    await b.publish('ka/x', 'behind', 1);
    await until(() => got.length === 2, '2 messages');
    got[1].settle('ack');
    await sleep(3500);
    assert.ok(pings >= 2, `expected PINGREQs while the ack is held, saw ${pings}`);
    assert.deepEqual(states.map((s) => s.state), ['connecting', 'connected'], 'the connection must not drop');
    assert.deepEqual(acks, []);
    got[0].settle('ack');
    await until(() => acks.length === 2, 'both acks');
    assert.deepEqual(acks, ['held', 'behind']);
  });

  it('on Mosquitto: an unsettled QoS 1 message is redelivered (DUP) on the next connection; settled ones are not', async () => {
    const b = await mosquitto();
    const clientId = unique('redeliver');
    const first = open(config(b.url, clientId), 'rd/#');
    await until(() => first.states.some((s) => s.state === 'connected'), 'subscribed');
    await sleep(200);
    await publishMany(b.url, 'rd/x', 4, { qos: 1 });
    await until(() => first.got.length === 4, '4 messages');
    first.got[0].settle('ack');
    first.got[2].settle('ack');
    await sleep(200);
    await first.s.close();

    const second = open(config(b.url, clientId), 'rd/#', 1, false);
    await until(() => second.got.length >= 3, 'redelivery');
    await untilAfter(b.url, 'rd/x', second.got);
    // 1 was unsettled; 2 was settled but its ack had to wait behind 1; 3 was unsettled.
    assert.deepEqual(second.got.map((g) => [g.payload, g.dup]), [['1', true], ['2', true], ['3', true]]);
  });

  it('on Mosquitto: a withheld message comes back after redeliverWithheld(), while the ones after it are acked', async () => {
    const b = await mosquitto();
    const { s, got } = open(config(b.url, unique('withhold')), 'wh/#');
    await until(() => s.state.state === 'connected', 'connected');
    await sleep(200);
    await publishMany(b.url, 'wh/x', 3, { qos: 1 });
    await until(() => got.length === 3, '3 messages');
    got[0].settle('withhold');
    got[1].settle('ack');
    got[2].settle('ack');
    await until(() => (b.log().match(/Received PUBACK from/g) ?? []).length === 2, 'PUBACKs of 1 and 2');
    s.redeliverWithheld();
    await until(() => got.length === 4, 'redelivery of 0');
    got[3].settle('ack');
    await untilAfter(b.url, 'wh/x', got);
    assert.deepEqual(got.map((g) => [g.payload, g.dup]), [['0', false], ['1', false], ['2', false], ['0', true]]);
  });

  it('on Mosquitto: QoS 2 holds the PUBREC until settled; an unsettled QoS 2 message is redelivered, a settled one completes once', async () => {
    const b = await mosquitto();
    const clientId = unique('qos2');
    const first = open(config(b.url, clientId), 'q2/#', 2);
    await until(() => first.s.state.state === 'connected', 'connected');
    await sleep(200);
    await publishMany(b.url, 'q2/x', 2, { qos: 2 });
    await until(() => first.got.length === 2, '2 messages');
    await sleep(200);
    assert.equal((b.log().match(/Received PUBREC from/g) ?? []).length, 0, 'no PUBREC before settle');
    first.got[0].settle('ack');
    await until(() => /Received PUBCOMP from/.test(b.log()), 'PUBCOMP for 0');
    assert.equal(first.got.length, 2, 'PUBREL must not emit the message a second time');
    await first.s.close();

    const second = open(config(b.url, clientId), 'q2/#', 2, false);
    await until(() => second.got.length >= 1, 'redelivery of 1');
    await untilAfter(b.url, 'q2/x', second.got, 2);
    assert.deepEqual(second.got.map((g) => g.payload), ['1']);
  });

  it('on Mosquitto with MQTT 5: sends Receive Maximum, and the broker stops at that many unsettled messages', async () => {
    const b = await mosquitto();
    const clientId = unique('receivemax');
    const c = config(b.url, clientId, { protocolVersion: 5 });
    const s = new MqttSession(c, new MemoryLedger(unique('ledger')), { manualAcks: true });
    const got: Got[] = [];
    s.on('message', (_topic, payload, packet, settle) => got.push({ payload: payload.toString(), dup: packet.dup, settle }));
    s.receiveMaximum = 3;
    let subscribed = false;
    s.on('subscribed', (subs) => void (subscribed ||= subs.has('rm/#')));
    s.setSubscriptions(new Map([['rm/#', 1]]));
    s.start();
    cleanups.push(() => s.close());
    await until(() => subscribed, 'the SUBACK of rm/#');
    await publishMany(b.url, 'rm/x', 10, { qos: 1, protocolVersion: 5 });
    await until(() => got.length === 3, 'the first 3');
    // Mosquitto had taken all ten in (the publisher has its PUBACKs), so a fourth it would send is
    // written before the SUBACK of this later SUBSCRIBE; three unsettled is below the read pacer's
    // high water, so nothing holds it back on our side.
    await roundTrip(s);
    assert.equal(got.length, 3, 'the broker must not send a fourth while three are unacknowledged');
    got[0].settle('ack');
    // Mosquitto 2.0.11 refills its quota loosely (it sent three more after this one ack): only "more" is pinned.
    await until(() => got.length > 3, 'more after an ack');
    let settled = 1;
    await until(() => {
      while (settled < got.length) got[settled++].settle('ack');
      return got.length === 10;
    }, 'all 10');
    assert.deepEqual(got.map((g) => g.payload), Array.from({ length: 10 }, (_, i) => String(i)));
  });

  it('stops reading at 1,000 unsettled messages from a broker with no in-flight limit (Aedes), and drains all 20,000 once they are settled', async () => {
    const b = await aedes();
    const clientId = unique('backlog');
    const away = open(config(b.url, clientId), 'bl/#', 1, false);
    await until(() => b.subscribeCount() === 1, 'subscribed');
    await away.s.close();
    await publishMany(b.url, 'bl/x', 20000, { qos: 1, payload: (i) => `${i}`.padEnd(1024, '.') });

    const back = open(config(b.url, clientId), 'bl/#');
    await until(() => back.got.length >= 1000, 'the first 1,000');
    // Let the reading stop settle: the count must stop growing well short of the backlog.
    let last = -1;
    while (last !== back.got.length) {
      last = back.got.length;
      await sleep(300);
    }
    assert.ok(back.got.length < 5000, `read ${back.got.length} of 20,000 while none was settled`);

    await settleAllInOrder(back.got, 20000);
  });

  /** Settles each message as it arrives until `n` have been, then checks they came in publish order (payloads `0`, `1`, …). */
  async function settleAllInOrder(got: Got[], n: number): Promise<void> {
    let settled = 0;
    await until(() => {
      while (settled < got.length) got[settled++].settle('ack');
      return settled === n;
    }, `all ${n}`, 60000);
    assert.deepEqual(got.map((g) => Number.parseInt(g.payload, 10)), Array.from({ length: n }, (_, i) => i));
  }

  /**
   * `n` QoS 1 messages of 74 bytes queued under `prefix/#` for a new client on a Mosquitto with no
   * in-flight limit, which streams the backlog in reads as large as the socket gives (64 kB: 885).
   */
  async function unlimitedBacklog(prefix: string, n: number): Promise<{ b: MosquittoHandle; clientId: string }> {
    const b = await startMosquitto({ extraConfig: 'max_inflight_messages 0' });
    cleanups.push(() => b.stop());
    const clientId = unique(prefix);
    const away = open(config(b.url, clientId), `${prefix}/#`, 1, false);
    await until(() => away.states.some((st) => st.state === 'connected'), 'subscribed');
    await away.s.close();
    await publishMany(b.url, `${prefix}/x`, n, { qos: 1, payload: (i) => `${i}`.padEnd(64, '.') });
    return { b, clientId };
  }

  it('hands MQTT.js at most PACKETS_PER_TURN packets of a read per turn of the event loop, so a backlog never becomes hundreds of messages at once', async () => {
    const n = 5000;
    const { b, clientId } = await unlimitedBacklog('pc', n);

    // Settled on arrival, as receive mode does: only the pacing limits how many arrive in one turn.
    const back = open(config(b.url, clientId), 'pc/#');
    back.s.on('message', (_topic, _payload, _packet, settle) => settle('ack'));
    // Messages per turn, counted from one setImmediate to the next (a turn may hold a read's first slice and the next one).
    let most = 0;
    let before = 0;
    const count = (): void => {
      most = Math.max(most, back.got.length - before);
      before = back.got.length;
      if (back.got.length < n) setImmediate(count);
    };
    setImmediate(count);
    await until(() => back.got.length === n, 'the whole backlog', 30000);
    assert.deepEqual(back.got.map((g) => Number.parseInt(g.payload, 10)), Array.from({ length: n }, (_, i) => i));
    // A PUBLISH here is 74 bytes, so a 64 kB read would be 885 of them.
    assert.ok(most <= 2 * PACKETS_PER_TURN + 2, `${most} messages in one turn`);
    assert.ok(most > 0);
  });

  it('hands on nothing more of what it already read while reading is held, so the high water bounds the unsettled messages', async () => {
    const { b, clientId } = await unlimitedBacklog('hr', 3000);

    // 74-byte PUBLISHes: a 64 kB read is some 885 of them, far past a high water of 100.
    const back = open(config(b.url, clientId, { readHighWater: 100 }), 'hr/#');
    await until(() => back.got.length >= 100, 'the high water');
    await sleep(500);
    assert.ok(back.got.length <= 100 + PACKETS_PER_TURN, `${back.got.length} unsettled messages`);
    await settleAllInOrder(back.got, 3000);
  });

  it('keeps the connection through several keepalive periods while reading is held at the high water, then drains', async () => {
    const b = await aedes();
    const clientId = unique('held-keepalive');
    const away = open(config(b.url, clientId), 'hk/#', 1, false);
    await until(() => b.subscribeCount() === 1, 'subscribed');
    await away.s.close();
    await publishMany(b.url, 'hk/x', 3000, { qos: 1, payload: (i) => `${i}`.padEnd(1024, '.') });

    // keepalive 1 s: MQTT.js would give up after 1.5 s without reading a PINGRESP.
    const back = open(config(b.url, clientId, { keepalive: 1 }), 'hk/#');
    await until(() => back.got.length >= 1000, 'the first 1,000');
    await sleep(5000);
    assert.ok(back.got.length < 3000, `reading was held (${back.got.length} read, none settled)`);
    assert.deepEqual(back.states.filter((st) => st.state !== 'connecting'), [{ state: 'connected', sessionPresent: true }], 'no reconnect while held');
    let settled = 0;
    await until(() => {
      while (settled < back.got.length) back.got[settled++].settle('ack');
      return settled === 3000;
    }, 'all 3,000', 60000);
    assert.equal(back.got.filter((g) => g.dup).length, 0, 'nothing was redelivered: the connection never dropped');
  });
});
