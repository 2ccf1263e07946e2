// Specifies the read pacer: packets paced per turn, PUBLISHes held while the application takes no more, and every other packet (the answers to what we sent) read on regardless.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import mqtt from 'mqtt';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger';
import { ReadPacer } from '../nodes/session/stream/read-pacer';
import { MqttSession, type Settle } from '../nodes/session/session';
import { startMosquitto, type MosquittoHandle } from './support/mosquitto';
import { until } from './support/until';
import { rawPacket } from './support/packets';
import { publishMany } from './support/publisher';

/** A PUBLISH (type 3, QoS 1) or a PUBACK (type 4) with a recognisable body. */
function packet(kind: 'publish' | 'puback', n: number, bodyLength: number): Buffer {
  return rawPacket(kind === 'publish' ? 0x32 : 0x40, Buffer.alloc(bodyLength, n % 251));
}

/** A small deterministic generator, so a failing case can be run again. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('ReadPacer', () => {
  it('while holding, hands on every non-PUBLISH packet at once and keeps the PUBLISHes, in order and whole, for the release (1,000 random streams)', async () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const rnd = random(seed);
      const packets: { kind: 'publish' | 'puback'; bytes: Buffer }[] = [];
      for (let i = 0; i < 1 + Math.floor(rnd() * 30); i++) {
        const kind = rnd() < 0.6 ? 'publish' : 'puback';
        packets.push({ kind, bytes: packet(kind, i, kind === 'puback' ? 2 : Math.floor(rnd() * (rnd() < 0.1 ? 300 : 40))) });
      }
      const stream = Buffer.concat(packets.map((p) => p.bytes));
      const got: Buffer[] = [];
      const source = new PassThrough();
      let holding = true;
      const pacer = new ReadPacer(source, { push: (c) => (c && got.push(c), true), destroy: () => undefined }, { holding: () => holding, awaiting: () => true });
      // Holding from the first byte, then the stream arrives in random cuts.
      for (let at = 0; at < stream.length; ) {
        const cut = Math.min(stream.length, at + 1 + Math.floor(rnd() * 60));
        pacer.data(stream.subarray(at, cut));
        at = cut;
      }
      const others = Buffer.concat(packets.filter((p) => p.kind !== 'publish').map((p) => p.bytes));
      assert.deepEqual(Buffer.concat(got), others, `seed ${seed}: while holding, exactly the non-PUBLISH packets went on`);
      assert.equal(pacer.heldCount, packets.filter((p) => p.kind === 'publish').length, `seed ${seed}`);
      holding = false;
      got.length = 0;
      while (!pacer.idle) {
        pacer.update();
        await new Promise((r) => setImmediate(r));
      }
      pacer.stop();
      const publishes = Buffer.concat(packets.filter((p) => p.kind === 'publish').map((p) => p.bytes));
      assert.deepEqual(Buffer.concat(got), publishes, `seed ${seed}: the release hands on the PUBLISHes in order`);
    }
  });

  it('passes a packet begun before holding started on whole, and holds from the next one', () => {
    const first = packet('publish', 1, 100);
    const second = packet('publish', 2, 10);
    const got: Buffer[] = [];
    let holding = false;
    const pacer = new ReadPacer(new PassThrough(), { push: (c) => (c && got.push(c), true), destroy: () => undefined }, { holding: () => holding, awaiting: () => false });
    pacer.data(first.subarray(0, 30));
    holding = true;
    pacer.data(Buffer.concat([first.subarray(30), second]));
    pacer.stop();
    assert.deepEqual(Buffer.concat(got), first);
    assert.equal(pacer.heldCount, 1);
  });
});

describe('holding messages on a shared connection (MqttSession, Mosquitto)', function () {
  this.timeout(60_000);
  let broker: MosquittoHandle | undefined;
  const sessions: MqttSession[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
    await broker?.stop();
    broker = undefined;
  });

  function config(url: string, clientId: string, extra: Partial<SessionConfig> = {}): SessionConfig {
    const parsed = parseConfig({ broker: url, clientId, backoffMin: 0.1, backoffMax: 0.4 });
    if (!parsed.ok) throw new Error(parsed.error);
    return { ...parsed.config, ...extra };
  }

  /**
   * `n` QoS 1 messages queued under `prefix/#` for a session on a Mosquitto with no in-flight limit,
   * which streams them all at once; the session holds PUBLISHes at 100 unsettled and records what it takes.
   */
  async function backlogSession(prefix: string, n: number): Promise<{ s: MqttSession; payloads: number[]; unsettled: Settle[] }> {
    broker = await startMosquitto({ extraConfig: 'max_inflight_messages 0' });
    const clientId = `${prefix}-${process.pid}`;
    const primer = await mqtt.connectAsync(broker.url, { clientId, clean: false });
    await primer.subscribeAsync(`${prefix}/#`, { qos: 1 });
    await primer.endAsync();
    await publishMany(broker.url, `${prefix}/x`, n, { qos: 1 });
    // 10,000 bytes: some 130 of these PUBLISHes are held before the pacer sheds.
    const s = new MqttSession(config(broker.url, clientId, { readHighWater: 100, heldBytes: 10_000 }), new MemoryLedger(clientId), { manualAcks: true });
    sessions.push(s);
    const payloads: number[] = [];
    const unsettled: Settle[] = [];
    s.on('message', (_t, payload, _packet, settle) => {
      payloads.push(Number(payload.toString()));
      unsettled.push(settle);
    });
    s.setSubscriptions(new Map([[`${prefix}/#`, 1]]));
    s.start();
    await until(() => payloads.length >= 100, 'the high water');
    return { s, payloads, unsettled };
  }

  it('reads the PUBACKs of its own publishes while inbound PUBLISHes are held at the high water, and holds no more of them than it was', async () => {
    // None of the backlog is settled yet.
    const { s, payloads, unsettled } = await backlogSession('held', 3000);

    // The answers to these arrive behind PUBLISHes that wait to be taken.
    let acked = 0;
    for (let i = 0; i < 200; i++) s.publish('elsewhere/t', Buffer.from(String(i)), { qos: 1 }, (err) => (err ? assert.fail(err) : acked++));
    await until(() => acked === 200, 'all 200 PUBACKs read while inbound messages are held', 20_000);
    assert.ok(payloads.length <= 150, `${payloads.length} messages handed on while holding at 100`);

    await until(() => {
      for (const settle of unsettled.splice(0)) settle('ack');
      return payloads.length === 3000;
    }, 'the rest of the backlog once settled', 30_000).catch((err: Error) => assert.fail(`${err.message}: ${payloads.length} received`));
  });

  it('past its held limit, drops PUBLISHes unread and fetches them again by reconnecting once the flow is settled: none lost, none twice, in order', async () => {
    const N = 3000;
    const { s, payloads, unsettled } = await backlogSession('shed', N);
    const sheds: { qos12: number; qos0: number }[] = [];
    s.on('shed', (shed) => sheds.push(shed));
    // Publishes always awaiting their PUBACK keep reading on while nothing inbound is taken.
    let publishing = true;
    const publish = (): void => {
      if (publishing) s.publish('elsewhere/t', Buffer.from('x'), { qos: 1 }, () => setImmediate(publish));
    };
    for (let i = 0; i < 5; i++) publish();
    await until(() => s.shedding > 0, 'PUBLISHes dropped past the held limit', 20_000);
    publishing = false;
    await until(() => {
      for (const settle of unsettled.splice(0)) settle('ack');
      return new Set(payloads).size === N;
    }, `all ${N} taken`, 30_000).catch((err: Error) => assert.fail(`${err.message}: ${new Set(payloads).size} distinct`));
    assert.ok(sheds.length > 0 && sheds.every((shed) => shed.qos12 > 0), 'announced each refetch');
    assert.equal(payloads.length, N, 'no message taken twice');
    assert.deepEqual(payloads, [...payloads].sort((a, b) => a - b), 'in order');
  });
});
