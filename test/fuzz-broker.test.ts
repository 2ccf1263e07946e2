// Fuzz specs for a hostile broker: malformed and edge-case packets into a durable-mqtt-in, which stays up, says what went wrong, and delivers the good traffic around them.
import { strict as assert } from 'node:assert';
import { startScriptedBroker, type ConnectionScript, type ScriptedBroker, type ScriptedConnection } from './support/scripted-broker';
import { callsOf, collect, consumerFlow, getNode, helper, lastStatus, load, userDirForSuite } from './support/nodered';
import { until } from './support/until';
import { runtimeHooks } from './support/runtime';
import { rawPacket } from './support/packets';

/** Where the good PUBLISH sent after the bad packet arrives: on the same connection, or on the next once the bad one closed it. */
type After = 'same' | 'next';

interface Case {
  readonly name: string;
  readonly protocolVersion: 4 | 5;
  /** The bad traffic, sent between two good PUBLISHes on the first connection. */
  readonly bad: (c: ScriptedConnection) => void;
  /** Instead of the first connection's CONNACK and SUBACK. */
  readonly connack?: ConnectionScript['connack'];
  readonly suback?: ConnectionScript['suback'];
  readonly after: After;
  /** What the node logs, warns or errors (config node or consumer), or its status says; none where the case is tolerated as MQTT allows. */
  readonly error?: RegExp;
  /** The edge case is a well-formed message after all and is delivered (tolerated, the reason in `name`). */
  readonly delivered?: boolean;
  /** The good PUBLISH before it is sent on a connection the bad SUBACK ends: not expected. */
  readonly noBefore?: boolean;
  /** Seconds; short where only the keepalive can end a stuck connection. */
  readonly keepalive?: number;
}

/** A topic as raw bytes, with its two-byte length. */
function topicBytes(topic: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(topic.length);
  return Buffer.concat([len, topic]);
}

const id = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);

const CASES: Case[] = [
  {
    name: 'a topic that is not UTF-8 (tolerated: MQTT.js decodes it to U+FFFD)',
    protocolVersion: 4,
    bad: (c) => c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.from('fuzz/bad/\xff\xfe', 'latin1')), id(900), Buffer.from('bad')]))),
    after: 'same',
    delivered: true,
  },
  {
    name: 'a topic with U+0000',
    protocolVersion: 4,
    bad: (c) => c.publish('fuzz/bad/\u0000', 'bad'),
    after: 'same',
    error: /U\+0000.*acknowledged without delivery|acknowledged without delivery.*U\+0000/,
  },
  {
    name: 'a topic with control characters (tolerated: MQTT allows them)',
    protocolVersion: 4,
    bad: (c) => c.publish('fuzz/bad/\u0001\u001f\u007f', 'bad'),
    after: 'same',
    delivered: true,
  },
  {
    name: 'an unknown property id in a PUBLISH',
    protocolVersion: 5,
    bad: (c) => c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.from('fuzz/bad')), id(900), Buffer.from([2, 0x7f, 0]), Buffer.from('bad')]))),
    after: 'next',
    error: /Unknown property/,
  },
  {
    name: 'a string property longer than its packet',
    protocolVersion: 5,
    bad: (c) => c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.from('fuzz/bad')), id(900), Buffer.from([4, 0x03, 0x00, 0x50, 0x41]), Buffer.from('bad')]))),
    after: 'next',
    error: /connectionLost/,
  },
  {
    name: 'QoS 3',
    protocolVersion: 4,
    bad: (c) => c.raw(rawPacket(0x36, Buffer.concat([topicBytes(Buffer.from('fuzz/bad')), id(900), Buffer.from('bad')]))),
    after: 'next',
    error: /QoS bits/,
  },
  {
    name: 'packet id 0 on a QoS 1 PUBLISH (tolerated: delivered and acknowledged as id 0)',
    protocolVersion: 4,
    bad: (c) => c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.from('fuzz/bad')), id(0), Buffer.from('bad')]))),
    after: 'same',
    delivered: true,
  },
  {
    name: 'PUBREL for a packet id never received (tolerated: answered with PUBCOMP, as MQTT asks)',
    protocolVersion: 4,
    bad: (c) => c.send({ cmd: 'pubrel', messageId: 4242 }),
    after: 'same',
  },
  {
    name: 'a SUBACK with the wrong count',
    protocolVersion: 4,
    suback: (c, p) => c.send({ cmd: 'suback', messageId: p.messageId, granted: [1, 1, 1] }),
    bad: () => undefined,
    after: 'next',
    noBefore: true,
    error: /subscriptionRefused/,
  },
  {
    name: 'a second CONNACK',
    protocolVersion: 4,
    bad: (c) => c.send({ cmd: 'connack', sessionPresent: false, returnCode: 0 }),
    after: 'next',
    error: /duplicate CONNACK/,
  },
  {
    name: 'a 256 MB remaining length header, then nothing',
    protocolVersion: 5,
    bad: (c) => c.raw(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 4])),
    after: 'next',
    error: /268435460 bytes, over the Maximum Packet Size/,
  },
  {
    name: 'a 256 MB remaining length header on MQTT 3.1.1, where no limit is sent (the keepalive ends it)',
    protocolVersion: 4,
    bad: (c) => c.raw(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 4])),
    after: 'next',
    error: /Keepalive timeout/,
    keepalive: 1,
  },
  {
    name: 'topic alias 0 next to a topic (delivered by its topic, then MQTT.js ends the connection: we advertise no aliases)',
    protocolVersion: 5,
    bad: (c) => c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.from('fuzz/bad')), id(900), Buffer.from([3, 0x23, 0, 0]), Buffer.from('bad')]))),
    after: 'next',
    delivered: true,
    error: /no Topic Alias Maximum was advertised/,
  },
  {
    name: 'an unknown topic alias with an empty topic',
    protocolVersion: 5,
    bad: (c) => c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.alloc(0)), id(900), Buffer.from([3, 0x23, 0, 9]), Buffer.from('bad')]))),
    after: 'next',
    error: /alias/i,
  },
  {
    name: 'a CONNACK refusing with a reason code, then a good one',
    protocolVersion: 5,
    connack: (c) => c.send({ cmd: 'connack', sessionPresent: false, reasonCode: 0x87 }),
    bad: () => undefined,
    after: 'next',
    noBefore: true,
    error: /not authori[sz]ed|notAuthori[sz]ed|0x87/i,
  },
  {
    name: 'a truncated PUBLISH, then close',
    protocolVersion: 4,
    bad: (c) => {
      c.raw(rawPacket(0x32, Buffer.concat([topicBytes(Buffer.from('fuzz/bad')), id(900), Buffer.from('bad')])).subarray(0, 6));
      c.end();
    },
    after: 'next',
    error: /disconnected|connectionLost/,
  },
  {
    name: 'a DISCONNECT with a reason (0x89 server busy)',
    protocolVersion: 5,
    bad: (c) => {
      c.send({ cmd: 'disconnect', reasonCode: 0x89 });
      c.end();
    },
    after: 'next',
    error: /0x89/,
  },
];

/** Everything the config node and the consumer or publisher said, in one list of lines. */
function said(): string[] {
  const lines: string[] = [];
  const nodes = ['b1', 'in1', 'out1'].filter((id) => helper.getNode(id));
  for (const node of nodes) for (const method of ['error', 'warn', 'log'] as const) for (const [m] of callsOf(node, method)) lines.push(`${node}.${method}: ${m instanceof Error ? m.message : String(m)}`);
  for (const node of nodes.slice(1)) for (const [s] of callsOf(node, 'status')) lines.push(`${node}.status: ${JSON.stringify(s)}`);
  return lines;
}

let seq = 0;

describe('durable-mqtt-in and -out on a hostile broker (fuzz)', function () {
  this.timeout(30000);
  userDirForSuite();
  let broker: ScriptedBroker | undefined;
  afterEach(async () => {
    await helper.unload();
    await broker?.close();
    broker = undefined;
  });

  for (const c of CASES) {
    it(`stays up, says so and delivers the traffic around ${c.name} (MQTT ${c.protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
      broker = await startScriptedBroker([
        {
          connack: c.connack,
          suback: c.suback,
          subscribed: (conn) => {
            conn.publish('fuzz/before', 'good');
            c.bad(conn);
            conn.publish('fuzz/after', 'good');
          },
        },
        { subscribed: (conn) => conn.publish('fuzz/after-reconnect', 'good') },
      ]);
      const heapBefore = process.memoryUsage().heapUsed;
      await load(consumerFlow(broker.url, [{ topic: 'fuzz/#', qos: 1 }], { clientId: `fuzz-${++seq}`, protocolVersion: c.protocolVersion, backoffMin: 0.1, backoffMax: 0.5, keepalive: c.keepalive ?? 60 }));
      const msgs = collect('in1-out');
      const topics = (): string[] => msgs.map((m) => m.topic as string);
      const wanted = [...(c.noBefore ? [] : ['fuzz/before']), c.after === 'same' ? 'fuzz/after' : 'fuzz/after-reconnect'];
      const explain = (err: Error): never => {
        throw new Error(`${err.message}; got ${JSON.stringify(topics())}; said:\n${said().join('\n')}`);
      };
      await until(() => wanted.every((t) => topics().includes(t)), wanted.join(' and ')).catch(explain);
      const error = c.error;
      if (error) await until(() => said().some((l) => error.test(l)), `a line matching ${error}`, 5000).catch(explain);
      const bad = topics().filter((t) => t.startsWith('fuzz/bad'));
      assert.equal(bad.length, c.delivered ? 1 : 0, `the bad packet was ${c.delivered ? 'not ' : ''}delivered: ${JSON.stringify(topics())}`);
      if (c.after === 'same') assert.equal(broker.connections(), 1, `the bad packet cost the connection:\n${said().join('\n')}`);
      // A hostile length header must not make us allocate what it announces.
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'the heap grew by 64 MiB or more');
    });
  }

  it('answers a PUBREL for an unknown packet id with PUBCOMP (MQTT.js, handlers/pubrel.js), so the broker can forget it', async () => {
    broker = await startScriptedBroker([{ subscribed: (conn) => conn.send({ cmd: 'pubrel', messageId: 4242 }) }]);
    const b = broker;
    await load(consumerFlow(b.url, [{ topic: 'fuzz/#', qos: 1 }], { clientId: `fuzz-${++seq}` }));
    await until(() => b.received.some(({ packet }) => packet.cmd === 'pubcomp' && packet.messageId === 4242), 'PUBCOMP 4242');
  });

  it('durable-mqtt-out: a SUBACK answering a QoS 1 PUBLISH ends the connection (MQTT.js only reports it), and the msg is done once the next connection acks it', async () => {
    broker = await startScriptedBroker([{ published: (conn, p) => conn.send({ cmd: 'suback', messageId: p.messageId ?? 0, granted: [0] }) }]);
    const b = broker;
    await load([
      { id: 'f1', type: 'tab' },
      { id: 'b1', type: 'durable-mqtt-broker', broker: b.url, clientId: `fuzz-${++seq}`, backoffMin: 0.1, backoffMax: 0.5 },
      { id: 'out1', z: 'f1', type: 'durable-mqtt-out', broker: 'b1', topic: 'fuzz/out', qos: '1' },
    ]);
    let ended: Error | null | undefined;
    runtimeHooks.add('onComplete.fuzzBroker', (event: { error?: Error; node: { id: string } }) => {
      if (event.node.id === 'out1') ended = event.error ?? null;
    });
    try {
      await until(() => String(lastStatus('out1')?.text).includes('connected'), 'connected');
      getNode('out1').receive({ payload: 'good' });
      await until(() => ended !== undefined, 'the msg done', 20000).catch((err: Error) => {
        throw new Error(`${err.message}; said:\n${said().join('\n')}`);
      });
      assert.equal(ended, null);
      assert.ok(callsOf('b1', 'warn').some(([m]) => /suback does not answer the publish/.test(String(m))), said().join('\n'));
      assert.equal(b.connections(), 2);
    } finally {
      runtimeHooks.remove('onComplete.fuzzBroker');
    }
  });
});
