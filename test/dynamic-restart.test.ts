// Issue 10: a subscription made by msg.action survives kill -9 of Node-RED: what was published meanwhile arrives after the restart (Node-RED as a process, Mosquitto).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForSuite } from './support/mosquitto';
import { startNodeRed, type FlowNode, type NodeRedProcess } from './support/nodered-process';
import { publishMany } from './support/publisher';
import { appender, figures, readSink, settle, untilProcessed } from './support/sink';

const BATCH = 200;
const FILTER = 'dyn-restart/#';
const TAB = 'dyn-tab';

/** An inject node (fired through the Admin API's POST /inject/:id) that sends `msg.action` with `msg.topic`. */
function action(id: string, name: string, topic: string, y: number): FlowNode {
  return {
    id, type: 'inject', z: TAB, name, props: [{ p: 'action', v: name, vt: 'str' }, { p: 'topic', vt: 'str' }], topic,
    repeat: '', crontab: '', once: false, onceDelay: 0.1, x: 120, y, wires: [['consumer']],
  };
}

/** A dynamic durable-mqtt-in with no filter of its own: every message it gets comes from a msg.action subscription. */
function dynamicFlow(brokerUrl: string, sink: string): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'dynamic' },
    { id: 'conn', type: 'durable-mqtt-broker', broker: brokerUrl, clientId: `dyn-restart-${process.pid}`, cleanSession: false, protocolVersion: 4 },
    action('subscribe', 'subscribe', FILTER, 60),
    action('unsubscribe', 'unsubscribe', FILTER, 140),
    { id: 'consumer', type: 'durable-mqtt-in', z: TAB, broker: 'conn', topic: '', qos: 1, datatype: 'utf8', inputs: 1, x: 350, y: 100, wires: [['sink']] },
    appender('sink', sink, 100, TAB),
  ];
}

/** An inject node that sends `msg.action` with `msg.topic` as the JSON `topic` (a subscription object). */
function jsonAction(id: string, name: string, topic: unknown, y: number): FlowNode {
  return { ...action(id, name, '', y), props: [{ p: 'action', v: name, vt: 'str' }, { p: 'topic', v: JSON.stringify(topic), vt: 'json' }] };
}

/** Writes the node's dynamic-subscription file as an earlier version saved it (nodes/consumer/dynamic-store.ts names it). */
function saveSubscriptions(userDir: string, nodeId: string, subscriptions: unknown[]): void {
  const dir = join(userDir, 'durable-mqtt');
  mkdirSync(dir, { recursive: true });
  const name = `dynamic-${createHash('sha256').update(nodeId).digest('hex').slice(0, 24)}.json`;
  writeFileSync(join(dir, name), JSON.stringify({ node: nodeId, subscriptions }));
}

/** The dynamic-subscription files in the user directory, as JSON. */
function savedSubscriptions(userDir: string): unknown[] {
  const dir = join(userDir, 'durable-mqtt');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith('dynamic-') && f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { subscriptions: unknown }).subscriptions);
}

describe('dynamic subscriptions across kill -9 (Node-RED as a process, Mosquitto)', function () {
  this.timeout(180_000);
  const mosq = mosquittoForSuite();
  let dir = '';
  let red: NodeRedProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-dyn-restart-'));
  });
  afterEach(async () => {
    await red?.kill('SIGKILL');
    red = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes what the broker queued for a msg.action subscription to the node after kill -9 and a restart; unsubscribe removes it', async () => {
    const sink = join(dir, 'received.log');
    const userDir = join(dir, 'userdir');
    red = await startNodeRed({ flow: dynamicFlow(mosq().url, sink), userDir });
    const inject = async (id: string): Promise<void> => {
      const res = await fetch(`${red!.url}/inject/${id}`, { method: 'POST' });
      assert.equal(res.status, 200, `inject ${id}`);
    };
    await red.untilLogged(/connected to mqtt:\/\/127\.0\.0\.1:\d+ as "dyn-restart-\d+" \(session new\)/);
    await inject('subscribe');
    await red.untilLogged(/\] subscribed dyn-restart\/# \(QoS 1\)/);
    assert.deepEqual(savedSubscriptions(userDir), [[{ topic: FILTER }]], 'saved in the user directory');

    await publishMany(mosq().url, 'dyn-restart/a', BATCH, { qos: 1 });
    await untilProcessed([sink], BATCH);
    await red.kill('SIGKILL');
    await publishMany(mosq().url, 'dyn-restart/b', BATCH, { qos: 1, payload: (i) => String(BATCH + i) });
    const restartedAt = red.output().length;
    await red.start();
    const t = await settle([sink], 2 * BATCH);
    console.log(`      dynamic subscription, kill -9 after ${BATCH}, ${BATCH} published while down: ${figures(t)}`);
    assert.equal(t.lost, 0);
    const second = red.output().slice(restartedAt);
    assert.match(second, /\(session present\)/);
    assert.doesNotMatch(second, /\] subscribed dyn-restart/, 'the broker still held it: nothing to subscribe again');
    assert.doesNotMatch(second, /\] unsubscribed/, 'and nothing was dropped before the node had registered');

    const beforeUnsubscribe = red.output().length;
    await inject('unsubscribe');
    await red.untilLogged(/\] unsubscribed dyn-restart\/#/, beforeUnsubscribe);
    assert.deepEqual(savedSubscriptions(userDir), [], 'nothing saved once unsubscribed');
  });

  it('refuses a msg.action datatype named after an Object.prototype member, drops one saved by an earlier version with a warning, and keeps running and delivering', async () => {
    const sink = join(dir, 'received.log');
    const userDir = join(dir, 'userdir');
    // What the earlier version accepted and saved: `constructor` passed its `in` test.
    saveSubscriptions(userDir, 'consumer', [{ topic: 'dyn-guard/saved/#', datatype: 'constructor' }, { topic: 'dyn-guard/good/#' }]);
    const flow = [...dynamicFlow(mosq().url, sink), jsonAction('bad', 'subscribe', { topic: 'dyn-guard/live/#', datatype: 'constructor' }, 220)];
    red = await startNodeRed({ flow, userDir });
    await red.untilLogged(/\] subscribed dyn-guard\/good\/# \(QoS 1\)/);
    const res = await fetch(`${red.url}/inject/bad`, { method: 'POST' });
    assert.equal(res.status, 200);
    for (const topic of ['dyn-guard/saved/x', 'dyn-guard/live/x']) await publishMany(mosq().url, topic, 1, { qos: 1, payload: () => '-1' });
    await publishMany(mosq().url, 'dyn-guard/good/x', 3, { qos: 1 });
    // Waiting on the log fails at once if Node-RED has exited.
    await red.untilLogged(/datatype of "dyn-guard\/live\/#" must be one of/);
    await red.untilLogged(/dropped the saved dynamic subscription \{"topic":"dyn-guard\/saved\/#","datatype":"constructor"\}: datatype/);
    await untilProcessed([sink], 3);
    assert.deepEqual(readSink(sink), [0, 1, 2], 'only what the valid subscription asked for');
    assert.doesNotMatch(red.output(), /Uncaught Exception/);
    assert.deepEqual(savedSubscriptions(userDir), [[{ topic: 'dyn-guard/good/#' }]], 'the bad entry is gone from the file at the next save');
  });
});
