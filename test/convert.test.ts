// Specs for the editor's "convert core MQTT nodes" action (editor/convert.ts) and its in-place upgrade of loaded nodes (editor/migrate.ts).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertCoreNodes } from '../editor/convert';
import { upgradeInPlace } from '../editor/migrate';

type FlowNode = Record<string, unknown> & { id: string; type: string };

/** The fixture turned back into what the core editor exported: core's own types. */
const coreFlow = (): FlowNode[] =>
  (JSON.parse(readFileSync(join(__dirname, 'fixtures', 'core-flow.json'), 'utf8')) as FlowNode[]).map((n) => ({
    ...n,
    type: n.type === 'durable-mqtt-in' ? 'mqtt in' : n.type === 'durable-mqtt-broker' ? 'mqtt-broker' : n.type,
  }));

let ids = 0;
const newId = (): string => `new${++ids}`;

describe('convert core MQTT nodes (editor action)', () => {
  it('converts every mqtt in and its broker in place when nothing is selected, keeping ids, wires and all properties', () => {
    const flow = coreFlow();
    const r = convertCoreNodes(flow, new Set(), newId);
    assert.deepEqual(r.remove.sort(), ['c4b2a9e1d3f56780', 'e9d8c7b6a5f41230'].sort());
    const byId = new Map(r.add.map((n) => [n.id, n]));
    const before = new Map(flow.map((n) => [n.id, n]));
    assert.deepEqual(byId.get('c4b2a9e1d3f56780'), { ...before.get('c4b2a9e1d3f56780'), type: 'durable-mqtt-in' });
    assert.deepEqual(byId.get('e9d8c7b6a5f41230'), { ...before.get('e9d8c7b6a5f41230'), type: 'durable-mqtt-broker' });
    assert.deepEqual(r.change, []);
    assert.deepEqual(r.notes, [{ key: 'converted', subs: { count: '1' } }]);
  });

  it('converts only the selection when there is one', () => {
    const flow = [...coreFlow(), { id: 'other', type: 'mqtt in', topic: 'x', broker: 'e9d8c7b6a5f41230', wires: [] }];
    const r = convertCoreNodes(flow, new Set(['other']), newId);
    assert.deepEqual(r.add.filter((n) => n.type === 'durable-mqtt-in').map((n) => n.id), ['other']);
  });

  it('copies a broker config that unconverted core nodes still use; the copy keeps the client ID, the original gives it up', () => {
    const flow = [...coreFlow(), { id: 'out1', type: 'mqtt out', broker: 'e9d8c7b6a5f41230', wires: [] }];
    const r = convertCoreNodes(flow, new Set(), newId);
    const copy = r.add.find((n) => n.type === 'durable-mqtt-broker');
    assert.ok(copy && copy.id !== 'e9d8c7b6a5f41230');
    assert.equal(copy.clientid, 'nodered-sensors-01');
    assert.equal(r.add.find((n) => n.type === 'durable-mqtt-in')?.broker, copy.id);
    assert.ok(!r.remove.includes('e9d8c7b6a5f41230'));
    assert.deepEqual(r.change, [{ id: 'e9d8c7b6a5f41230', props: { clientid: '', cleansession: true } }]);
    assert.equal(r.notes[1].key, 'copiedBroker');
  });

  it('converts a dynamic mqtt in (inputs 1, topics from msg.action) with its input', () => {
    const flow = [...coreFlow(), { id: 'dyn', type: 'mqtt in', name: 'dynamic', topic: '', inputs: 1, broker: 'e9d8c7b6a5f41230', wires: [] }];
    const r = convertCoreNodes(flow, new Set(['dyn']), newId);
    const dyn = r.add.find((n) => n.id === 'dyn');
    assert.equal(dyn?.type, 'durable-mqtt-in');
    assert.equal(dyn?.inputs, 1);
    assert.deepEqual(r.notes[0], { key: 'converted', subs: { count: '1' } });
  });

  it('leaves an mqtt in with neither a topic nor an input alone and says so', () => {
    const flow = [...coreFlow(), { id: 'none', type: 'mqtt in', name: 'empty', topic: '', inputs: 0, broker: 'e9d8c7b6a5f41230', wires: [] }];
    const r = convertCoreNodes(flow, new Set(['none']), newId);
    assert.deepEqual(r.add, []);
    assert.deepEqual(r.notes, [{ key: 'converted', subs: { count: '0' } }, { key: 'skippedNoTopic', subs: { node: 'empty' } }]);
  });

  it('upgrades a node the editor loads to the current version, dropping the core names it read', () => {
    const node: FlowNode = { ...coreFlow().find((n) => n.type === 'mqtt-broker')!, type: 'durable-mqtt-broker', _def: {}, _: () => '' };
    assert.equal(upgradeInPlace(node), true);
    assert.equal(node.version, 1);
    assert.equal(node.clientId, 'nodered-sensors-01');
    assert.equal(node.broker, '127.0.0.1:1883');
    for (const gone of ['clientid', 'cleansession', 'port', 'usetls']) assert.equal(node[gone], undefined, gone);
    assert.deepEqual(node._def, {}, "the editor's own properties are untouched");
    assert.equal(upgradeInPlace(node), false, 'a current node is left alone');
    assert.equal(upgradeInPlace({ id: 'x', type: 'debug' }), false);
  });
});
