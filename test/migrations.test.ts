// Specs for versioned node properties: the runner, and version 1 of each node, which also reads the core MQTT nodes' names.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerMigrations } from '../nodes/broker/migrations';
import { currentVersion, isEnvReference, migrate, type Migration } from '../nodes/common/migrations';
import { consumerMigrations } from '../nodes/consumer/migrations';
import { parseConsumer } from '../nodes/consumer/settings';
import { coreOnlySet, publisherMigrations } from '../nodes/publisher/migrations';
import { parsePublisher } from '../nodes/publisher/settings';
import { parseConfig } from '../nodes/session/config/config';

type Props = Record<string, unknown>;
const core = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'core-flow.json'), 'utf8')) as (Props & { type: string })[];
const coreBroker = core.find((n) => n.type === 'durable-mqtt-broker')!;
const coreIn = core.find((n) => n.type === 'durable-mqtt-in')!;
const broker = (p: Props): Props => migrate(p, brokerMigrations);
const consumer = (p: Props): Props => migrate(p, consumerMigrations);

describe('migrations', () => {
  describe('runner', () => {
    const steps: Migration[] = [
      { version: 2, up: (p) => ({ ...p, b: `${String(p.a)}+2` }) },
      { version: 1, up: (p) => ({ ...p, a: 'one' }) },
    ];

    it('applies every step after the saved version, in order, and stamps the version reached', () => {
      assert.deepEqual(migrate({ x: 1 }, steps), { x: 1, a: 'one', b: 'one+2', version: 2 });
      assert.deepEqual(migrate({ x: 1, version: 1, a: 'kept' }, steps), { x: 1, version: 2, a: 'kept', b: 'kept+2' });
    });

    it('leaves current and newer nodes alone, and never changes its input', () => {
      const input = { version: 2, a: 'z' };
      assert.deepEqual(migrate(input, steps), input);
      assert.deepEqual(migrate({ version: 7 }, steps), { version: 7 });
      migrate({ x: 1 }, steps);
      assert.equal(currentVersion(steps), 2);
    });

    it('treats a version it cannot read as unversioned', () => {
      assert.equal(migrate({ version: 'soon' }, steps).version, 2);
    });

    it("recognises Node-RED's environment variable references, and only whole ones", () => {
      for (const v of ['${PORT}', '$(PORT)', ' ${A_B} ']) assert.equal(isEnvReference(v), true, v);
      for (const v of ['1883', 'host:${PORT}', '${}', 1883, undefined]) assert.equal(isEnvReference(v), false, String(v));
    });
  });

  describe('durable-mqtt-broker version 1', () => {
    it('reads a core mqtt-broker export: host and port joined, clientid, cleansession, string numbers', () => {
      const p = broker(coreBroker);
      assert.equal(p.version, 1);
      assert.equal(p.broker, '127.0.0.1:1883');
      assert.equal(p.clientId, 'nodered-sensors-01');
      assert.equal(p.cleanSession, false);
      for (const gone of ['clientid', 'cleansession', 'port', 'usetls']) assert.equal(gone in p, false, gone);
      const parsed = parseConfig(p);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(parsed.config.url, 'mqtt://127.0.0.1:1883');
      // One core host stays one server: no failover list appears from a conversion.
      assert.deepEqual(parsed.config.servers, ['mqtt://127.0.0.1:1883']);
      assert.equal(parsed.config.returnToFirst, false);
      assert.equal(parsed.config.protocolVersion, 4);
      assert.equal(parsed.config.keepalive, 60);
      assert.equal(parsed.config.cleanSession, false);
    });

    it('lets our own names win where both are set', () => {
      const p = broker({ broker: 'h', clientId: 'ours', clientid: 'core', cleanSession: true, cleansession: false });
      assert.equal(p.clientId, 'ours');
      assert.equal(p.cleanSession, true);
      assert.equal(broker({ broker: 'h', clientId: '', clientid: 'core' }).clientId, 'core', 'an empty one of ours is unset');
    });

    it('joins a port only to a bare host without one, as core builds its URL', () => {
      assert.equal(broker({ broker: 'mqtt://h:1884', port: '1883', clientid: 'c' }).broker, 'mqtt://h:1884', 'core ignores port with a URL');
      assert.equal(broker({ broker: 'h:1884', port: '1883', clientid: 'c' }).broker, 'h:1884');
      assert.equal(broker({ broker: '', port: 1885, clientid: 'c' }).broker, 'localhost:1885');
      assert.equal(broker({ broker: '::1', port: '1883', clientid: 'c' }).broker, '[::1]:1883');
      assert.equal(parseConfig({ ...broker({ broker: '::1', port: '1883', clientid: 'c' }) }).ok, true);
    });

    it('keeps host and port apart while either is an environment variable, and the runtime joins them after substitution', () => {
      const p = broker({ broker: '${MQTT_HOST}', port: '1883', clientid: 'c', cleansession: false });
      assert.equal(p.broker, '${MQTT_HOST}');
      assert.equal(p.port, '1883');
      const q = broker({ broker: 'h', port: '${MQTT_PORT}', clientid: 'c' });
      assert.equal(q.port, '${MQTT_PORT}');
      // What the runtime sees once Node-RED substituted the variables.
      const r = parseConfig({ ...p, broker: 'sub.example', port: '2883' });
      assert.ok(r.ok);
      assert.equal(r.config.url, 'mqtt://sub.example:2883');
    });

    it('uses the TLS config only while core\'s "Use TLS" is ticked, and mqtts:// when it is ticked without one', () => {
      assert.equal('tls' in broker({ broker: 'h', clientid: 'c', usetls: false, tls: 'tls1' }), false);
      assert.equal(broker({ broker: 'h', clientid: 'c', usetls: true, tls: 'tls1' }).tls, 'tls1');
      const p = broker({ broker: 'h', port: '8883', clientid: 'c', usetls: true, tls: '' });
      assert.equal(p.usetls, true);
      const parsed = parseConfig(p);
      assert.ok(parsed.ok);
      assert.equal(parsed.config.url, 'mqtts://h:8883');
    });

    it("gives a core node's default session expiry (0 or empty) our default, so the session outlives a disconnect; an explicit one stays", () => {
      for (const sessionExpiry of [0, '0', '', undefined]) {
        const parsed = parseConfig(broker({ broker: 'h', clientid: 'c', cleansession: false, protocolVersion: '5', sessionExpiry }));
        assert.ok(parsed.ok);
        assert.equal(parsed.config.sessionExpiry, 86400, String(sessionExpiry));
      }
      assert.equal(broker({ broker: 'h', clientid: 'c', sessionExpiry: '600' }).sessionExpiry, '600');
      assert.equal(broker({ broker: 'h', clientId: 'c', sessionExpiry: 0 }).sessionExpiry, 0, 'our own 0 is a choice');
    });

    it('leaves an unversioned node of ours as it was', () => {
      const ours = { broker: 'mqtt://h:1883', clientId: 'c', cleanSession: false, keepalive: 30, tls: '' };
      assert.deepEqual(broker(ours), { ...ours, version: 1 });
    });
  });

  describe('durable-mqtt-in version 1', () => {
    it("reads a core mqtt in export: auto-detect is our auto, qos as a string", () => {
      const p = consumer(coreIn);
      assert.equal(p.datatype, 'auto');
      const parsed = parseConsumer({ ...coreIn, id: 'n', z: '', name: '' });
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(parsed.settings.qos, 2);
      assert.equal(parsed.settings.datatype, 'auto');
      assert.deepEqual(parsed.settings.flags, { nl: false, rap: true, rh: 0 });
    });

    it("gives a core node's older auto (string or Buffer, never parsed) what it did in core, and ours its parsed auto", () => {
      assert.equal(consumer({ datatype: 'auto', nl: false, rap: true, rh: 0, inputs: 0 }).datatype, 'text-or-buffer');
      assert.equal(consumer({ datatype: 'auto', topic: 'a' }).datatype, 'auto');
      assert.equal(consumer({ datatype: 'auto', nl: false }).datatype, 'text-or-buffer', 'any of the options only core saves');
      assert.equal(consumer({ datatype: 'auto', version: 2 }).datatype, 'auto', 'a current node is not migrated');
    });

    // The editor adds `inputs` to every node of ours it loads (issue 24): a flow of ours deployed once from it must not read as core's.
    it('keeps an unversioned node of ours that the editor gave `inputs` as it was: parsed auto, its own topic when dynamic', () => {
      assert.equal(consumer({ datatype: 'auto', topic: 'a/#', inputs: 0 }).datatype, 'auto');
      assert.deepEqual(consumer({ datatype: 'auto', topic: 'a/#', inputs: 1 }), { datatype: 'auto', topic: 'a/#', inputs: 1, maxDeliveries: 0, version: 2 });
      assert.equal(consumer({ datatype: 'auto', topic: 'a/#', inputs: 1, nl: false, rap: true, rh: 0 }).topic, '', "core's dynamic node ignores its topic");
      // As the editor holds a loaded node: every property of the definition, undefined where the flow had none.
      assert.equal(consumer({ datatype: 'auto', topic: 'a/#', inputs: 0, nl: undefined, rap: undefined, rh: undefined }).datatype, 'auto');
      assert.equal(broker({ broker: 'mqtt://h:1883', clientid: undefined, cleansession: undefined, sessionExpiry: 0 }).sessionExpiry, 0, 'ours keeps its explicit 0');
    });
  });

  describe('durable-mqtt-in version 2', () => {
    it('pins no delivery limit on a node saved without one, so it keeps redelivering as it did; a set limit stays', () => {
      assert.equal(consumer({ topic: 'a', version: 1 }).maxDeliveries, 0);
      assert.equal(consumer({ topic: 'a' }).maxDeliveries, 0);
      assert.equal(consumer({ topic: 'a', version: 1, maxDeliveries: 3 }).maxDeliveries, 3);
      assert.equal(consumer({ topic: 'a', version: 2 }).maxDeliveries, undefined, 'a current node is not migrated');
    });
  });

  describe('durable-mqtt-out version 1', () => {
    // As 10-mqtt.js's editor saves a mqtt out: empty qos and retain leave them to the msg.
    const coreOut = { id: 'o', type: 'durable-mqtt-out', z: 'f', name: '', topic: 't', qos: '', retain: '', respTopic: '', contentType: '', userProps: '', correl: '', expiry: '', broker: 'b' };

    it('reads a core mqtt out as it ran: topic, qos and retain under the same names and meaning', () => {
      const p = migrate(coreOut, publisherMigrations);
      assert.equal((p as { version?: number }).version, currentVersion(publisherMigrations));
      const parsed = parsePublisher(p);
      assert.ok(parsed.ok);
      assert.deepEqual([parsed.settings.topic, parsed.settings.qos, parsed.settings.retain], ['t', undefined, undefined]);
    });

    it('keeps the core node-level MQTT 5 properties it does not use, so the node can name those that are set', () => {
      assert.deepEqual(coreOnlySet(migrate(coreOut, publisherMigrations)), [], 'empty ones are not set');
      const set = migrate({ ...coreOut, respTopic: 'reply/here', expiry: 60, userProps: '{"a":"1"}' }, publisherMigrations);
      assert.deepEqual(coreOnlySet(set), ['respTopic', 'userProps', 'expiry']);
    });
  });
  it('reads a property that is an object with no usable toString (valid JSON in flows.json) as invalid, never a throw', () => {
    const hostile = { toString: '' };
    const consumer = parseConsumer({ topic: 'a', qos: hostile, version: hostile } as unknown as Parameters<typeof parseConsumer>[0]);
    assert.ok(!consumer.ok && /qos must be 0, 1 or 2/.test(consumer.error), JSON.stringify(consumer));
    const rh = parseConsumer({ topic: 'a', rh: hostile, inputs: hostile } as unknown as Parameters<typeof parseConsumer>[0]);
    assert.ok(!rh.ok && /rh \(retain handling\) must be 0, 1 or 2/.test(rh.error), JSON.stringify(rh));
    const publisher = parsePublisher({ topic: 'a', qos: hostile } as unknown as Parameters<typeof parsePublisher>[0]);
    assert.ok(!publisher.ok && /qos must be 0, 1 or 2/.test(publisher.error), JSON.stringify(publisher));
    const broker = parseConfig({ broker: 'mqtt://h', clientId: 'c', protocolVersion: hostile, keepalive: hostile });
    assert.ok(!broker.ok, JSON.stringify(broker));
  });
});
