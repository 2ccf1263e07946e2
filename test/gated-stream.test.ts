// Specs for GatedStream: which bytes it holds between MQTT.js and the socket, when it lets them go, and in what order (a real MQTT.js client on TCP).
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';
import type { GatedStream } from '../nodes/session/stream/gated-stream';
import { gatedClient } from '../nodes/session/connection/transport';
import { startScriptedBroker, type ScriptedBroker, type ScriptedConnection } from './support/scripted-broker';
import { until } from './support/until';

/** A client on a GatedStream, the broker's side of its connection, and the messages MQTT.js emitted. */
interface Wired {
  readonly client: MqttClient;
  readonly stream: GatedStream;
  readonly peer: ScriptedConnection;
  readonly messages: string[];
}

describe('GatedStream (MQTT.js on TCP, a scripted peer that records every packet in the order it read them)', function () {
  this.timeout(20000);
  let broker: ScriptedBroker;
  let client: MqttClient | undefined;
  let peer: ScriptedConnection | undefined;

  beforeEach(async () => {
    peer = undefined;
    broker = await startScriptedBroker(() => ({ subscribed: (c) => void (peer = c) }));
  });
  afterEach(async () => {
    await client?.endAsync(true);
    client = undefined;
    await broker.close();
  });

  /**
   * Connects and subscribes `gs/#`. Like the session, the gate expects the ack of each PUBLISH MQTT.js
   * takes in, unless `gated` is false; MQTT.js writes that ack right after it emits the message.
   */
  async function wire(gated = true): Promise<Wired> {
    let stream: GatedStream | undefined;
    const c = gatedClient(() => broker.url, { clientId: `gs-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0, keepalive: 0 }, (s) => (stream = s));
    client = c;
    const messages: string[] = [];
    c.on('message', (_topic, payload, packet) => {
      if (gated && packet.messageId !== undefined) stream?.gate.expect(packet.messageId);
      messages.push(payload.toString());
    });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    await c.subscribeAsync('gs/#', { qos: 1 });
    if (!stream || !peer) throw new Error('not wired');
    return { client: c, stream, peer, messages };
  }

  /** The packets of `cmd` the peer has read, in order. */
  const got = <C extends Packet['cmd']>(cmd: C): Extract<Packet, { cmd: C }>[] =>
    broker.received.map((r) => r.packet).filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);
  const pubackIds = (): (number | undefined)[] => got('puback').map((p) => p.messageId);

  let barriers = 0;
  /**
   * A SUBSCRIBE round trip: the peer reads a connection's bytes in order, so whatever the stream
   * wrote to the socket before this SUBSCRIBE it has read by the SUBACK.
   */
  const roundTrip = async (c: MqttClient): Promise<void> => void (await c.subscribeAsync(`barrier/${++barriers}`, { qos: 0 }));

  it('holds the ack of each expected message until it is settled, and lets the acks out in arrival order', async () => {
    const { client: c, stream, peer: p, messages } = await wire();
    let acked = 0;
    stream.acked = () => acked++;
    for (const payload of ['0', '1', '2']) p.publish('gs/x', payload);
    await until(() => messages.length === 3 && acked === 3, 'three messages, their acks captured');
    await roundTrip(c);
    assert.deepEqual(pubackIds(), [], 'no PUBACK while every message is unsettled');
    stream.gate.settle(3, 'ack');
    stream.gate.settle(2, 'ack');
    await roundTrip(c);
    assert.deepEqual(pubackIds(), [], 'settled ones wait behind the first');
    stream.gate.settle(1, 'ack');
    await until(() => pubackIds().length === 3, 'three PUBACKs');
    assert.deepEqual(pubackIds(), [1, 2, 3]);
    assert.equal(stream.gate.pending, 0);
  });

  it('drops the ack of a withheld message and lets the ones behind it go', async () => {
    const { client: c, stream, peer: p, messages } = await wire();
    for (const payload of ['0', '1']) p.publish('gs/x', payload);
    await until(() => messages.length === 2, 'two messages');
    stream.gate.settle(1, 'withhold');
    stream.gate.settle(2, 'ack');
    await until(() => pubackIds().length === 1, 'the PUBACK of the second');
    await roundTrip(c);
    assert.deepEqual(pubackIds(), [2]);
    assert.equal(stream.gate.withheld, 1);
  });

  it('writes every other packet straight through: an ack the gate does not expect, SUBSCRIBE, PUBLISH', async () => {
    const { client: c, peer: p, messages } = await wire(false);
    p.publish('gs/x', 'not gated');
    await until(() => messages.length === 1 && pubackIds().length === 1, 'the message and its PUBACK');
    await c.publishAsync('gs/out', 'ours', { qos: 1 });
    assert.deepEqual(got('publish').map((x) => x.payload.toString()), ['ours']);
    assert.deepEqual(got('subscribe').map((x) => x.subscriptions[0].topic), ['gs/#']);
  });

  it('while holding, keeps inbound PUBLISHes back in order but lets the answers to what we sent through, and hands the PUBLISHes on once it stops holding', async () => {
    const { client: c, stream, peer: p, messages } = await wire(false);
    stream.holdMessages(true);
    for (const payload of ['0', '1', '2']) p.publish('gs/x', payload);
    // The peer wrote its three PUBLISHes before it read ours, so they came before our PUBACK.
    await c.publishAsync('gs/out', 'ours', { qos: 1 });
    assert.equal(stream.held, 3);
    assert.deepEqual(messages, [], 'MQTT.js has none of them');
    stream.holdMessages(false);
    await until(() => messages.length === 3, 'the held messages');
    assert.deepEqual(messages, ['0', '1', '2']);
    assert.equal(stream.held, 0);
  });

  it('on closeGently sends the acks released before it ahead of its FIN, and drops what is written after it without an error', async () => {
    const { stream, peer: p, messages } = await wire();
    p.publish('gs/x', '0');
    await until(() => messages.length === 1, 'the message');
    stream.gate.settle(1, 'ack');
    stream.closeGently();
    // A PINGREQ: MQTT.js may still write one; on the ended socket it would fail with "write after end".
    let called = false;
    let writeError: unknown;
    stream.write(Buffer.from([0xc0, 0x00]), (err) => {
      called = true;
      writeError = err;
    });
    // The FIN comes after every byte written before it: the peer has read them all once it sees the close.
    await until(() => p.closed, 'the peer to see the connection close');
    assert.deepEqual(pubackIds(), [1], 'the released ack left before the FIN');
    assert.deepEqual(got('pingreq'), [], 'the PINGREQ written after it never left');
    assert.ok(called, 'its write callback was still called');
    assert.equal(writeError ?? undefined, undefined, 'without an error');
  });
});
