// Specifies the durable-mqtt-out node: done() after the broker's ack, the outbox while the broker is away and where it is kept, and input errors a Catch node sees.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { NodeMessage } from 'node-red';
import type { BrokerNode } from '../nodes/broker/types';
import { Outbox, READ_AHEAD } from '../nodes/publisher/outbox';
import { parsePublisher } from '../nodes/publisher/settings';
import { CLOSES_IN_FLIGHT } from '../nodes/session/connection/in-flight';
import { outboxRoot } from '../nodes/publisher/outbox-location';
import { publicationOf } from '../nodes/publisher/publication';
import { startMosquitto, mosquittoForSuite, type MosquittoHandle } from './support/mosquitto';
import { callsOf, collect, getNode, helper, lastStatus, load, logged, setUserDir, userDirForSuite } from './support/nodered';
import { until } from './support/until';
import { freePort } from './support/ports';
import { publishMany } from './support/publisher';
import { smallFsForEach } from './support/small-fs';
import { coreNode } from './support/runtime';
import { append } from './support/outbox';

const catchNode = coreNode('core/common/25-catch.js');
const completeNode = coreNode('core/common/24-complete.js');
const functionNode = coreNode('core/function/10-function.js');

let seq = 0;
// Outboxes are keyed by node id (and broker): every test gets its own, in the suite's user directory.
const fresh = (what: string): string => `pub-${what}-${process.pid}-${++seq}`;

/** broker config → durable-mqtt-out, with a complete node and a catch node reporting to helpers. */
function outFlow(url: string, outId: string, out: Record<string, unknown> = {}, broker: Record<string, unknown> = {}): Parameters<typeof load>[0] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'b1', type: 'durable-mqtt-broker', broker: url, clientId: fresh('client'), backoffMin: 0.1, backoffMax: 0.5, ...broker },
    { id: outId, z: 'f1', type: 'durable-mqtt-out', broker: 'b1', ...out },
    { id: 'done', z: 'f1', type: 'complete', scope: [outId], uncaught: false, wires: [['done-out']] },
    { id: 'caught', z: 'f1', type: 'catch', scope: [outId], uncaught: false, wires: [['caught-out']] },
    { id: 'done-out', z: 'f1', type: 'helper' },
    { id: 'caught-out', z: 'f1', type: 'helper' },
  ];
}

/** Subscribers not ended yet: a spec that fails before its `end()` must not leave one reconnecting, which keeps mocha from exiting. */
const openSubscribers = new Set<mqtt.MqttClient>();

/** afterEach of every suite that makes subscribers. */
function endOpenSubscribers(): void {
  for (const client of openSubscribers) client.end(true);
  openSubscribers.clear();
}

/** A persistent subscriber that records every message, for checking what reached the broker. */
async function subscriber(url: string, topic: string, clientId = fresh('sub')): Promise<{ messages: { topic: string; payload: string; retain: boolean; qos: number; packet: mqtt.IPublishPacket }[]; end: () => Promise<void> }> {
  // MQTT 5 ends a session at the disconnect unless it asks for an expiry interval.
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 100, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
  openSubscribers.add(client);
  const messages: { topic: string; payload: string; retain: boolean; qos: number; packet: mqtt.IPublishPacket }[] = [];
  // Listening before the CONNACK: a present session's queued messages can come in the same read.
  client.on('message', (t, p, packet) => messages.push({ topic: t, payload: p.toString(), retain: packet.retain, qos: packet.qos, packet }));
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => {
      client.off('connect', connected);
      client.end(true);
      reject(err);
    };
    const connected = (): void => {
      client.off('error', failed);
      resolve();
    };
    client.once('connect', connected);
    client.once('error', failed);
  });
  client.on('error', () => undefined);
  await client.subscribeAsync(topic, { qos: 2 });
  return {
    messages,
    end: () => {
      openSubscribers.delete(client);
      return client.endAsync();
    },
  };
}

const send = (id: string, msg: Record<string, unknown>): void => {
  (getNode(id) as unknown as { receive(m: NodeMessage): void }).receive(msg);
};

describe('durable-mqtt-out settings and msg', () => {
  it('defaults qos to 1, and an empty qos or retain defers to the msg', () => {
    const base = { id: 'n', type: 'durable-mqtt-out', name: '', z: '' };
    const omitted = parsePublisher(base);
    assert.ok(omitted.ok);
    assert.equal(omitted.settings.qos, 1);
    assert.deepEqual(omitted.settings.outbox, { maxMessages: 10000, maxBytes: 100 * 1024 * 1024, whenFull: 'refuse' });
    const empty = parsePublisher({ ...base, qos: '', retain: '' });
    assert.ok(empty.ok);
    const p = publicationOf({ topic: 'a/b', payload: { x: 1 }, qos: 2, retain: true }, empty.settings);
    assert.ok(p.ok);
    assert.deepEqual([p.publication.qos, p.publication.retain, p.publication.payload.toString()], [2, true, '{"x":1}']);
    assert.equal(parsePublisher({ ...base, topic: 'a/+' }).ok, false, 'a wildcard in the topic property');
    assert.equal(parsePublisher({ ...base, outboxWhenFull: 'later' }).ok, false);
  });

  it('takes the node topic over msg.topic, and refuses what cannot be published', () => {
    const s = { topic: '', qos: 1 as const };
    const ok = publicationOf({ topic: 'm', payload: 5 }, { ...s, topic: 'node/topic' });
    assert.ok(ok.ok && ok.publication.topic === 'node/topic' && ok.publication.payload.toString() === '5');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const msg of [{ payload: 1 }, { topic: 'a/#', payload: 1 }, { topic: 'a', payload: circular }, { topic: 'a', payload: 10n }]) {
      assert.equal(publicationOf(msg, s).ok, false, JSON.stringify(Object.keys(msg)));
    }
  });
});

describe('durable-mqtt-out (Mosquitto)', function () {
  this.timeout(60_000);
  const mosq = mosquittoForSuite();
  afterEach(endOpenSubscribers);
  const userDir = userDirForSuite();
  let own: MosquittoHandle | undefined;
  const outId = fresh;
  /**
   * Two out nodes, `<prefix>/a` at QoS `qos[0]` and `<prefix>/b` at `qos[1]`, on one broker config
   * (one connection), loaded and connected; done and caught collect both.
   */
  async function twoOutNodes(url: string, prefix: string, qos: readonly [number, number], version: 4 | 5) {
    const [a, b] = [outId(`${prefix}-a`), outId(`${prefix}-b`)];
    const flow = outFlow(url, a, { topic: `pub/${prefix}/a`, qos: qos[0] }, { protocolVersion: version });
    flow.push({ id: b, z: 'f1', type: 'durable-mqtt-out', broker: 'b1', topic: `pub/${prefix}/b`, qos: qos[1] });
    for (const n of flow) if (n.type === 'complete' || n.type === 'catch') n.scope = [a, b];
    await load(flow, {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    await until(() => [a, b].every((id) => String(lastStatus(id)?.text).includes('connected')), 'both connected');
    return { ids: [a, b], done, caught, clientId: String(flow.find((node) => node.id === 'b1')?.clientId) };
  }
  afterEach(async () => {
    await helper.unload();
    await own?.stop('SIGKILL');
    own = undefined;
  });

  it('publishes with topic, qos, retain and MQTT 5 properties from msg, and calls done() once acknowledged', async () => {
    const sub = await subscriber(mosq().url, 'pub/props/#');
    const id = outId('props');
    await load(outFlow(mosq().url, id, { qos: '', retain: '' }, { protocolVersion: 5 }), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    await until(() => String(lastStatus(id)?.text).includes('connected'), 'connected');
    send(id, { topic: 'pub/props/a', payload: 'one', qos: 2, retain: false, userProperties: { k: 'v' }, contentType: 'text/plain', correlationData: 'c-1' });
    send(id, { topic: 'pub/props/b', payload: Buffer.from('two'), qos: 0 });
    await until(() => done.length === 2 && sub.messages.length === 2, 'both done and received');
    // QoS 0 skips the outbox, so it may overtake a QoS 1/2 message.
    const got = [...sub.messages].sort((a, b) => a.topic.localeCompare(b.topic));
    assert.deepEqual(got.map((m) => [m.topic, m.payload, m.qos]), [['pub/props/a', 'one', 2], ['pub/props/b', 'two', 0]]);
    const props = got[0].packet.properties;
    assert.deepEqual([{ ...props?.userProperties }, props?.contentType, props?.correlationData?.toString()], [{ k: 'v' }, 'text/plain', 'c-1']);
    assert.equal(caught.length, 0);
    await sub.end();
  });

  // Mosquitto 2.0 refuses a QoS 2 PUBLISH past its max_inflight_messages with PUBREC 0x97 over MQTT 5, and over 3.1.1 acknowledges and drops it.
  for (const [version, config, limit] of [[5, 'max_inflight_messages 5', 'the broker\'s Receive Maximum'], [4, '', 'Mosquitto\'s default max_inflight_messages']] as const) {
    it(`with MQTT ${version === 5 ? '5' : '3.1.1'}, keeps no more QoS 2 publishes in flight than ${limit}, over every out node of a connection, so none of a burst is refused or lost`, async () => {
      own = await startMosquitto({ extraConfig: config });
      const sub = await subscriber(own.url, 'pub/quota/#');
      const { ids, done, caught } = await twoOutNodes(own.url, 'quota', [2, 2], version);
      const n = 60;
      for (let i = 0; i < n; i++) for (const id of ids) send(id, { payload: String(i) });
      await until(() => done.length + caught.length === 2 * n, 'every message done or caught');
      assert.deepEqual(caught.map((m) => (m.error as { message?: string } | undefined)?.message), [], 'no message refused');
      await until(() => sub.messages.length === 2 * n, 'all at the subscriber');
      for (const topic of ['pub/quota/a', 'pub/quota/b']) {
        assert.deepEqual(sub.messages.filter((m) => m.topic === topic).map((m) => Number(m.payload)), Array.from({ length: n }, (_, i) => i), `${topic} in order`);
      }
      await sub.end();
    });
  }

  for (const version of [4, 5] as const) {
    it(`with MQTT ${version === 5 ? '5' : '3.1.1'}, resends what was in flight when the connection is cut mid-burst of QoS 1 and 2, so every message gets done() and reaches the broker`, async () => {
      const subs = [await subscriber(mosq().url, 'pub/cut/a'), await subscriber(mosq().url, 'pub/cut/b')];
      const { ids, done, caught, clientId } = await twoOutNodes(mosq().url, 'cut', [1, 2], version);
      const n = 1000;
      for (let i = 0; i < n; i++) for (const id of ids) send(id, { payload: String(i) });
      await until(() => done.length >= 100, 'a first part acknowledged');
      // A client connecting with our client ID makes the broker close our connection (the session stays: clean session off).
      const thief = await mqtt.connectAsync(mosq().url, { clientId, clean: false, reconnectPeriod: 0, protocolVersion: version, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
      await thief.endAsync();
      assert.ok(done.length < 2 * n, 'the cut came mid-burst');
      await until(() => done.length === 2 * n, 'done() for every message after the reconnect');
      assert.equal(caught.length, 0);
      for (const sub of subs) {
        await until(() => new Set(sub.messages.map((m) => m.payload)).size === n, 'every message at the subscriber');
        await sub.end();
      }
    });
  }

  it('keeps messages in the outbox while the broker is down, shows the depth, and sends them in order on return before calling done()', async () => {
    // The subscriber's session outlives the broker's restart, so it gets the messages whether it or the out node reconnects first.
    own = await startMosquitto({ persistence: true });
    const port = own.port;
    const subId = fresh('sub');
    const sub = await subscriber(own.url, 'pub/down', subId);
    await sub.end();
    await own.stop();
    const id = outId('down');
    await load(outFlow(`mqtt://127.0.0.1:${port}`, id, { topic: 'pub/down' }), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    for (let i = 0; i < 20; i++) send(id, { payload: String(i) });
    await until(() => String(lastStatus(id)?.text).includes('status.queued'), 'the badge shows the queue');
    assert.equal(done.length, 0, 'no done() before the broker has the messages');
    own = await startMosquitto({ port, dataDir: own.dataDir, persistence: true });
    const back = await subscriber(own.url, 'pub/down', subId);
    await until(() => done.length === 20, 'done() for all 20');
    await until(() => back.messages.length >= 20, 'all 20 at the subscriber');
    assert.deepEqual([...new Set(back.messages.map((m) => Number(m.payload)))], Array.from({ length: 20 }, (_, i) => i));
    await until(() => lastStatus(id)?.text === 'durable-mqtt.status.connected', 'the badge back to connected');
    assert.equal(caught.length, 0);
    await back.end();
  });

  it('lets a message that a durable mqtt in holds until done() wait in memory for the broker, at most a second and ending a second before its ackTimeout, and writes at once one whose sender does not hold it', async () => {
    // The out nodes' broker is down, so every message stays in its outbox; what is checked is when each must be on disk (writeBy).
    const down = `mqtt://127.0.0.1:${await freePort()}`;
    const leads = new Map<string, number>();
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back in `finally`, and only ever called with its own this
    const add = Outbox.prototype.add;
    Outbox.prototype.add = function (this: Outbox, p, written, done, writeBy = 0) {
      leads.set(p.topic, writeBy === 0 ? 0 : writeBy - Date.now());
      return add.call(this, p, written, done, writeBy);
    };
    try {
      const direct = outId('held-i');
      const flow = outFlow(down, direct, { topic: 'x/i' });
      flow.push({ id: 'up', type: 'durable-mqtt-broker', broker: mosq().url, clientId: fresh('client'), cleanSession: false });
      // Between in and out, a function may build a new msg while it handles the held one (counted as it), or send one later from a timer (held by nobody).
      const vias = { f: 'return { payload: "new" };', l: 'setTimeout(() => node.send({ payload: "later" }), 10); return null;' };
      const paths = [['c', 'complete', 30], ['t', 'complete', 1.5], ['r', 'receive', 30], ['f', 'complete', 30], ['l', 'complete', 30]] as const;
      for (const [name, ackMode, ackTimeout] of paths) {
        const out = outId(`held-${name}`);
        const via = name === 'f' || name === 'l' ? vias[name] : undefined;
        flow.push({ id: `in-${name}`, z: 'f1', type: 'durable-mqtt-in', broker: 'up', topic: `held/${name}`, qos: 1, datatype: 'utf8', ackMode, ackTimeout, version: 1, wires: [[via ? `fn-${name}` : out]] });
        if (via) flow.push({ id: `fn-${name}`, z: 'f1', type: 'function', func: via, outputs: 1, wires: [[out]] });
        flow.push({ id: out, z: 'f1', type: 'durable-mqtt-out', broker: 'b1', topic: `x/${name}` });
      }
      await load(flow, {}, [catchNode, completeNode, functionNode]);
      await until(() => paths.every(([n]) => String(lastStatus(`in-${n}`)?.text).endsWith('connected')), 'the consumers connected');
      for (const [name] of paths) await publishMany(mosq().url, `held/${name}`, 1, { qos: 1 });
      send(direct, { payload: 'i' });
      await until(() => leads.size === 6, 'all six messages in their outboxes');
      const lead = (topic: string): number => leads.get(topic) as number;
      assert.ok(lead('x/c') > 0 && lead('x/c') <= 1000, `held by a consumer in complete mode: waits up to a second (${lead('x/c')} ms)`);
      assert.ok(lead('x/t') > 0 && lead('x/t') <= 500, `ackTimeout 1.5 s: on disk a second before it (${lead('x/t')} ms)`);
      assert.ok(lead('x/f') > 0 && lead('x/f') <= 1000, `a new msg a function returned while handling a held one is held with it (${lead('x/f')} ms)`);
      assert.equal(lead('x/l'), 0, 'sent later from a timer, after the held message was done: written at once');
      assert.equal(lead('x/r'), 0, 'receive mode acknowledged it on arrival: written at once');
      assert.equal(lead('x/i'), 0, 'sent by a node that holds nothing: written at once');
    } finally {
      Outbox.prototype.add = add;
    }
  });

  it('sends a backlog larger than its read-ahead once the broker is back, with done() for every message, those that waited on disk only too', async () => {
    own = await startMosquitto();
    const port = own.port;
    await own.stop();
    const n = 2 * READ_AHEAD.count;
    const id = outId('backlog');
    await load(outFlow(`mqtt://127.0.0.1:${port}`, id, { topic: 'pub/backlog', outboxMaxMessages: n }), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    for (let i = 0; i < n; i++) send(id, { payload: String(i) });
    await until(() => String(lastStatus(id)?.text).includes('status.queued'), 'the badge shows the queue');
    own = await startMosquitto({ port });
    // Past the read-ahead, a msg's done() waits in the outbox's map while its entry is on disk only.
    await until(() => done.length === n, `done() for all ${n}`, 45_000);
    assert.equal(caught.length, 0);
  });

  it('sends a message whose publish throws to a Catch node with done(err), and sends the others', async () => {
    const sub = await subscriber(mosq().url, 'pub/throws/#');
    const id = outId('throws');
    await load(outFlow(mosq().url, id), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    await until(() => String(lastStatus(id)?.text).includes('connected'), 'connected');
    // Injected where the out node hands a message to the connection: from the pump, after the outbox write or a PUBACK.
    const config = getNode('b1') as unknown as BrokerNode;
    const publish = config.publish.bind(config);
    config.publish = (topic, ...rest) => {
      if (topic === 'pub/throws/boom') throw new Error('injected: publish failed');
      publish(topic, ...rest);
    };
    for (const t of ['a', 'boom', 'b']) send(id, { topic: `pub/throws/${t}`, payload: t });
    await until(() => done.length === 2 && caught.length === 1, 'two done and one caught');
    assert.match(String((caught[0] as { error?: { message?: string } }).error?.message), /injected: publish failed/);
    await until(() => sub.messages.length === 2, 'both at the subscriber');
    assert.deepEqual(sub.messages.map((m) => m.payload).sort(), ['a', 'b']);
    send(id, { topic: 'pub/throws/c', payload: 'c' });
    await until(() => done.length === 3, 'and the next one');
    await sub.end();
  });

  it('refuses a topic with a control character before the outbox, and the 200 messages after it and a durable-mqtt-in on the same connection carry on', async () => {
    const sub = await subscriber(mosq().url, 'pub/ctl/#');
    const id = outId('ctl');
    const flow = outFlow(mosq().url, id, { qos: 1 });
    flow.push({ id: 'in', z: 'f1', type: 'durable-mqtt-in', broker: 'b1', topic: 'pub/ctl-in/#', qos: 1, datatype: 'utf8', wires: [['in-out']] }, { id: 'in-out', z: 'f1', type: 'helper' });
    await load(flow, {}, [catchNode, completeNode]);
    const [done, caught, received] = [collect('done-out'), collect('caught-out'), collect('in-out')];
    await until(() => String(lastStatus('in')?.text).includes('connected') && String(lastStatus(id)?.text).includes('connected'), 'connected');
    // Mosquitto 2.0 closes the connection on it as a malformed packet (lib/utf8_mosq.c).
    send(id, { topic: 'pub/ctl/a\u0001b', payload: 'poison' });
    for (let i = 0; i < 200; i++) send(id, { topic: 'pub/ctl/good', payload: String(i) });
    await until(() => caught.length === 1 && done.length === 200, 'one caught and 200 done');
    assert.match(String((caught[0] as { error?: { message?: string } }).error?.message), /invalid topic "pub\/ctl\/a\\u0001b": .*control character U\+0001/);
    await until(() => sub.messages.length === 200, 'all 200 at the subscriber');
    await publishMany(mosq().url, 'pub/ctl-in/x', 3, { qos: 1 });
    await until(() => received.length === 3, 'the in node on the same connection');
    await sub.end();
  });

  it(`drops a message the broker keeps closing the connection on (left in the outbox by an earlier version) after ${CLOSES_IN_FLIGHT} closes, with done(err) and a warning naming it, and sends the rest`, async () => {
    const sub = await subscriber(mosq().url, 'pub/left/#');
    const id = outId('left');
    // What the earlier version wrote to its outbox without a check: Mosquitto closes the connection on the topic.
    // The first layout, <outbox root>/<node id>, which the node takes over at its first start.
    const earlier = await Outbox.open(join(outboxRoot(userDir()), id), { maxMessages: 100, maxBytes: 1e6, whenFull: 'refuse' });
    await append(earlier, { topic: 'pub/left/a\u0001b', payload: Buffer.from('poison'), qos: 1, retain: false });
    for (let i = 0; i < 5; i++) await append(earlier, { topic: 'pub/left/good', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await earlier.close();
    await load(outFlow(mosq().url, id, {}, { protocolVersion: 4 }), {}, [catchNode, completeNode]);
    await until(() => sub.messages.length === 5, 'the five behind it at the subscriber', 20000);
    await until(() => logged(id, 'warn', /the broker refused the message for "pub\/left\/a\\u0001b": the broker closed the connection 3 times in a row while this message was the oldest in flight/), 'the warning naming it');
    assert.deepEqual(sub.messages.map((m) => m.payload), ['0', '1', '2', '3', '4']);
    await until(() => lastStatus(id)?.text === 'durable-mqtt.status.connected', 'the outbox empty');
    await sub.end();
  });

  it("refuses with done(err) a message past the broker's Maximum Packet Size (MQTT 5 CONNACK), and sends the next", async () => {
    own = await startMosquitto({ extraConfig: 'max_packet_size 2000' });
    const sub = await subscriber(own.url, 'pub/size/#');
    const id = outId('size');
    await load(outFlow(own.url, id, { topic: 'pub/size/x' }, { protocolVersion: 5 }), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    await until(() => String(lastStatus(id)?.text).includes('connected'), 'connected');
    send(id, { payload: Buffer.alloc(5000) });
    send(id, { payload: 'small' });
    await until(() => caught.length === 1 && done.length === 1, 'one caught and one done');
    assert.match(String((caught[0] as { error?: { message?: string } }).error?.message), /more than the broker's Maximum Packet Size of 2000 bytes/);
    await until(() => sub.messages.length === 1, 'the small one at the subscriber');
    assert.equal(sub.messages[0].payload, 'small');
    await sub.end();
  });

  it('names the core mqtt out properties a converted node still sets and does not use, in a warning at start', async () => {
    const id = outId('core-props');
    await load(outFlow(mosq().url, id, { topic: 't', qos: '', retain: '', respTopic: 'reply/here', contentType: '', correl: 'abc' }), {}, [catchNode, completeNode]);
    const warned = callsOf(id, 'warn').map(([m]) => String(m));
    assert.equal(warned.length, 1);
    assert.match(warned[0], /^respTopic, correl \(from the core mqtt out\) are not used: durable mqtt out takes MQTT 5 properties from the msg/);
  });

  it('sends bad input to a Catch node: no topic, a wildcard topic, a payload that cannot be serialized', async () => {
    const id = outId('bad');
    await load(outFlow(mosq().url, id), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    send(id, { payload: 'no topic' });
    send(id, { topic: 'a/+/b', payload: 'wildcard' });
    send(id, { topic: 'a', payload: circular });
    await until(() => caught.length === 3, 'three errors caught');
    const errors = caught.map((m) => String((m as { error?: { message?: string } }).error?.message));
    assert.match(errors[0], /no topic/);
    assert.match(errors[1], /wildcard/);
    assert.match(errors[2], /serialized/);
    assert.equal(done.length, 0, 'a Complete node hears only of messages that succeeded');
  });

  it('refuses with done(err) when the outbox is full, and never drops a message silently', async () => {
    own = await startMosquitto();
    const port = own.port;
    await own.stop();
    const id = outId('full');
    await load(outFlow(`mqtt://127.0.0.1:${port}`, id, { topic: 'pub/full', outboxMaxMessages: 5 }), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    for (let i = 0; i < 8; i++) send(id, { payload: String(i) });
    await until(() => caught.length === 3, 'three refused');
    assert.ok(caught.every((m) => /outbox full/.test(String((m as { error?: { message?: string } }).error?.message))));
    assert.equal(done.length, 0);
  });

  it('with dropOldest, makes room by dropping the oldest unsent messages, and says so', async () => {
    own = await startMosquitto();
    const port = own.port;
    await own.stop();
    const id = outId('drop');
    const flow = outFlow(`mqtt://127.0.0.1:${port}`, id, { topic: 'pub/drop', outboxMaxMessages: 5, outboxWhenFull: 'dropOldest' });
    await load(flow, {}, [catchNode, completeNode]);
    for (let i = 0; i < 5; i++) send(id, { payload: String(i) });
    // Closing the node finishes the outbox's writes: the next run finds all five on disk.
    await until(() => String(lastStatus(id)?.text).includes('status.queued'), 'queued');
    await helper.unload();
    await load(flow, {}, [catchNode, completeNode]);
    await until(() => logged(id, 'log', /5 messages left in the outbox/), 'the five found again');
    for (let i = 5; i < 7; i++) send(id, { payload: String(i) });
    await until(() => callsOf(id, 'warn').length === 2, 'two drops reported');
    assert.ok(callsOf(id, 'warn').every(([m]) => /dropped from the full outbox/.test(String(m))));
    own = await startMosquitto({ port });
    const sub = await subscriber(own.url, 'pub/drop');
    await sub.end();
  });
});

describe('durable-mqtt-out: where the outbox is kept', function () {
  this.timeout(60_000);
  const mosq = mosquittoForSuite();
  afterEach(endOpenSubscribers);
  const userDir = userDirForSuite();
  const root = (): string => join(userDir(), 'durable-mqtt', 'outbox');
  afterEach(async () => {
    await helper.unload();
  });

  /** Loads the out node `id` on the broker config `url` + `clientId`, sends one message and waits until it is on disk. */
  async function queueOne(url: string, id: string, clientId: string): Promise<void> {
    await load(outFlow(url, id, { topic: 'loc' }, { clientId }), {}, [catchNode, completeNode]);
    send(id, { payload: 'one' });
    await until(() => String(lastStatus(id)?.text).includes('status.queued'), 'the message on disk');
  }
  const leftLogged = (id: string): string[] => callsOf(id, 'log').map(([m]) => String(m)).filter((m) => /left in the outbox/.test(m));

  it('keeps the outbox inside <userDir>/durable-mqtt/outbox under a hash of node id, broker URL and client ID: an id with ../ stays inside, and another broker starts empty', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const id = `../../escape-${process.pid}`;
    // What the old layout made of this id: a folder outside the outbox root, which must be neither read nor moved.
    const outside = join(root(), id);
    const stray = await Outbox.open(outside, { maxMessages: 10, maxBytes: 1024, whenFull: 'refuse' });
    await append(stray, { topic: 'stray', payload: Buffer.from('x'), qos: 1, retain: false });
    await stray.close();

    await queueOne(url, id, 'loc-a');
    const folders = readdirSync(root());
    assert.equal(folders.length, 1, folders.join(', '));
    assert.match(folders[0], /^[0-9a-f]{32}$/);
    assert.deepEqual(leftLogged(id), [], 'nothing of the stray outbox was loaded');
    assert.ok(existsSync(outside), 'the stray outbox is left where it was');
    await helper.unload();

    await queueOne(url, id, 'loc-b');
    assert.deepEqual(leftLogged(id), [], 'another client ID starts with an empty outbox');
    assert.ok(logged(id, 'warn', /^1 messages stay in the outbox .* as "loc-a": they are sent only when/), 'and says where the first one\'s message stays');
    assert.equal(readdirSync(root()).length, 2);
    await helper.unload();

    await queueOne(url, id, 'loc-a');
    assert.deepEqual(leftLogged(id), ['1 messages left in the outbox by an earlier run; sending them first']);
  });

  it('moves the outbox an earlier version kept under the bare node id, and sends what it holds', async () => {
    const id = fresh('legacy');
    const legacy = join(root(), id);
    const old = await Outbox.open(legacy, { maxMessages: 10, maxBytes: 1024, whenFull: 'refuse' });
    for (const payload of ['a', 'b']) await append(old, { topic: 'pub/legacy', payload: Buffer.from(payload), qos: 1, retain: false });
    await old.close();
    const sub = await subscriber(mosq().url, 'pub/legacy');
    await load(outFlow(mosq().url, id), {}, [catchNode, completeNode]);
    await until(() => sub.messages.length >= 2, 'both messages of the earlier version at the subscriber');
    assert.deepEqual(sub.messages.map((m) => m.payload), ['a', 'b']);
    assert.ok(!existsSync(legacy), 'the old folder was moved');
    assert.ok(logged(id, 'log', /moved the outbox of an earlier version from .* \(2 messages\)/), JSON.stringify(callsOf(id, 'log')));
    await sub.end();
  });
});

describe('durable-mqtt-out without a user directory', function () {
  const mosq = mosquittoForSuite();
  afterEach(async () => {
    await helper.unload();
  });

  it('refuses every message with done(err) and a red badge, rather than keeping messages in a temp dir', async () => {
    const id = fresh('nouserdir');
    await load(outFlow(mosq().url, id), {}, [catchNode, completeNode]);
    const caught = collect('caught-out');
    await until(() => lastStatus(id)?.fill === 'red', 'a red badge');
    assert.equal(lastStatus(id)?.text, 'durable-mqtt.errors.noUserDir');
    send(id, { topic: 'nowhere', payload: 'x' });
    await until(() => caught.length === 1, 'the message caught');
    assert.match(String((caught[0] as { error?: { message?: string } }).error?.message), /no user directory/);
  });
});

describe('durable-mqtt-out when the disk is full (tmpfs user directory)', function () {
  const mosq = mosquittoForSuite();
  afterEach(endOpenSubscribers);
  // Before the filesystem's own hooks: the nodes close before it is unmounted.
  afterEach(async () => {
    await helper.unload();
  });
  const small = smallFsForEach('1m');
  let restore: (() => void) | undefined;
  beforeEach(() => {
    restore = setUserDir(small().dir);
  });
  afterEach(() => restore?.());

  it('shows "outbox write failed" in red and refuses messages with done(err) while writes fail, and goes back to work by itself once they succeed; the message whose write failed was already published', async () => {
    const sub = await subscriber(mosq().url, 'pub/disk');
    const id = fresh('disk');
    await load(outFlow(mosq().url, id, { topic: 'pub/disk' }), {}, [catchNode, completeNode]);
    const [done, caught] = [collect('done-out'), collect('caught-out')];
    const errorOf = (i: number): string => String((caught[i] as { error?: { message?: string } } | undefined)?.error?.message);
    await until(() => lastStatus(id)?.text === 'durable-mqtt.status.connected', 'connected');
    send(id, { payload: 'before' });
    await until(() => done.length === 1, 'the first message done');

    small().fill();
    // Connected, so it is handed out while its write is under way (docs/outbox.md): the broker's
    // answer settles it, and the write that fails only starts the episode.
    send(id, { payload: Buffer.alloc(64 * 1024) });
    await until(() => lastStatus(id)?.text === 'durable-mqtt.errors.outboxWriteFailed', 'the red badge');
    assert.equal(lastStatus(id)?.fill, 'red');
    await until(() => done.length === 2 && sub.messages.length === 2, 'the message whose write failed done and delivered');
    send(id, { payload: 'during' });
    await until(() => caught.length === 1, 'a message while it lasts refused');
    assert.match(errorOf(0), /outbox write failed: .*No space left on device/);

    small().free();
    await until(() => lastStatus(id)?.text === 'durable-mqtt.status.connected', 'the badge back to connected');
    send(id, { payload: 'after' });
    await until(() => done.length === 3 && sub.messages.length === 3, 'the next message done and delivered');
    assert.deepEqual(sub.messages.map((m) => (m.payload.length > 1000 ? `${m.payload.length} bytes` : m.payload)), ['before', `${64 * 1024} bytes`, 'after']);
    assert.equal(caught.length, 1, 'only the message sent while writes failed was refused');
    // done(err) reaches a Catch node through node.error(err, msg); the node's own report has no msg.
    const reports = callsOf(id, 'error').filter(([m, msg]) => msg === undefined && /outbox write failed/.test(String(m)));
    assert.equal(reports.length, 1, 'one error for the episode');
    assert.ok(logged(id, 'log', /outbox writes work again/));
    await sub.end();
  });
});
