// Checks the editor without a browser: the built html, its compiled validators against the runtime's, locales, help and icon.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { parseConsumer } from '../nodes/consumer/settings';
import { parseConfig, type RawConfig } from '../nodes/session/config/config';
import { filterError } from '../nodes/session/subscriptions/topic';
import { brokerProblem, connectUrl, newClientId, shareFilters, sharedGroup, validGroup } from '../editor/validate';

const ROOT = resolve(__dirname, '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const LANGS = ['en-US', 'zh-CN'];
const TYPES = ['durable-mqtt-broker', 'durable-mqtt-in', 'durable-mqtt-out'];
const CJK = /[\u4e00-\u9fff]/;

type Catalog = { [key: string]: string | Catalog };
type Validate = (this: object, value: unknown, opt?: object) => true | string;
interface Definition {
  defaults: Record<string, { value: unknown; validate?: Validate }>;
  outputLabels: (this: object, i: number) => string;
}

/** Every leaf of a catalog as `a.b.c` → text. */
function flatten(catalog: Catalog, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(catalog)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

const catalogs = new Map(LANGS.map((lang) => [lang, flatten(JSON.parse(read(`nodes/locales/${lang}/durable-mqtt.json`)) as Catalog)]));

function assertKeyInEveryLocale(key: string, where: string): void {
  for (const [lang, keys] of catalogs) assert.ok(keys.has(key), `${where} uses "${key}", missing from ${lang}`);
}

/** The node as a validator sees it outside a dialog: stored properties and a `_` that returns the key and its substitutions. */
function nodeWith(props: object): object {
  return { ...props, _: (key: string, subs?: object) => (subs ? `${key} ${JSON.stringify(subs)}` : key) };
}

/** What the editor script registered besides node types: event listeners and actions. */
const editorListeners: [string, (node: object) => void][] = [];
const editorActions: string[] = [];

/** Config nodes in the stand-in workspace, as RED.nodes.eachConfig walks them. */
const workspaceConfigs: object[] = [];

/** Runs the compiled editor script against a stand-in for the editor's RED and collects the registered definitions. */
function registeredDefinitions(script: string): Map<string, Definition> {
  const defs = new Map<string, Definition>();
  const eachConfig = (cb: (conf: object) => boolean) => workspaceConfigs.every(cb);
  const RED = {
    nodes: { registerType: (type: string, def: Definition) => defs.set(type, def), eachConfig },
    events: { on: (event: string, fn: (node: object) => void) => editorListeners.push([event, fn]) },
    actions: { add: (name: string) => editorActions.push(name) },
    _: (key: string) => key,
  };
  // No dialog is open, so validators read the node's stored properties.
  const $ = () => ({ length: 0 });
  runInNewContext(script, { RED, $, URL, TextEncoder, crypto });
  return defs;
}

describe('editor', function () {
  let html = '';
  let script = '';
  let defs = new Map<string, Definition>();

  before(function () {
    this.timeout(60_000);
    // Bundle from the current sources, so the spec never checks a stale dist/.
    execFileSync(process.execPath, ['scripts/build-editor.mjs'], { cwd: ROOT, stdio: 'pipe' });
    html = read('dist/durable-mqtt.html');
    script = /^<script type="text\/javascript">\n([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    defs = registeredDefinitions(script);
  });

  /** The validator of `type`'s property `prop`, called as Node-RED does on a node with `props`. */
  function validate(type: string, prop: string, value: unknown, props: object = {}): true | string {
    const check = defs.get(type)?.defaults[prop]?.validate;
    assert.ok(check, `${type}.${prop} has no validator`);
    return check.call(nodeWith(props), value, {});
  }

  describe('build output (dist/durable-mqtt.html)', () => {
    it('opens with the compiled editor script, which includes the runtime modules it validates with', () => {
      assert.ok(script.length > 0, 'no inline <script> at the top of dist/durable-mqtt.html');
      assert.match(script, /\/\/ nodes\/session\/subscriptions\/topic\.ts\n/);
      assert.match(script, /\/\/ nodes\/session\/config\/parse-config\.ts\n/);
      assert.doesNotMatch(script, /\/\/ nodes\/session\/config\/config\.ts\n/, 'the editor takes the pure checks, not what reads the process');
      assert.match(script, /\/\/ editor\/consumer\.ts\n/);
      assert.doesNotMatch(script, /\bimport\s|\brequire\(/, 'the bundle is self-contained');
    });

    it('carries both dialog templates after the script', () => {
      for (const type of TYPES) assert.ok(html.includes(`data-template-name="${type}"`), `no template for ${type}`);
    });

    it('registers both node types, and every validator takes two parameters so Node-RED shows its message', () => {
      assert.deepEqual([...defs.keys()].sort(), TYPES);
      for (const [type, def] of defs) {
        for (const [prop, d] of Object.entries(def.defaults)) {
          if (d.validate) assert.equal(d.validate.length, 2, `${type}.${prop}`);
        }
      }
    });

    it('keeps the element IDs the browser test selects by', () => {
      for (const id of ['node-input-topic', 'node-config-input-broker', 'node-config-input-clientId']) assert.ok(html.includes(`id="${id}"`), id);
    });
  });

  describe('broker dialog validation agrees with the runtime', () => {
    const base: RawConfig = { broker: 'localhost', clientId: 'x', cleanSession: false };
    const cases: [field: keyof RawConfig, value: string][] = [
      ['broker', 'localhost'],
      ['broker', 'mqtts://user:pw@host:8883'],
      ['broker', 'ws://host'],
      ['broker', 'ftp://host'],
      ['broker', ''],
      ['broker', 'mqtt://'],
      ['protocolVersion', '4'],
      ['protocolVersion', '5'],
      ['protocolVersion', '3'],
      ['sessionExpiry', '0'],
      ['sessionExpiry', '4294967295'],
      ['sessionExpiry', '4294967296'],
      ['sessionExpiry', '1.5'],
      ['keepalive', ''],
      ['keepalive', '65535'],
      ['keepalive', '65536'],
      ['keepalive', '-1'],
      ['backoffMin', '0.5'],
      ['backoffMin', '3601'],
      ['backoffMax', '86400'],
      ['backoffMax', 'soon'],
    ];
    for (const [field, value] of cases) {
      const ok = parseConfig({ ...base, [field]: value }).ok;
      it(`${field} "${value}" is ${ok ? 'accepted' : 'flagged'}, as the runtime does`, () => {
        const result = validate('durable-mqtt-broker', field, value, { cleanSession: false });
        if (ok) assert.equal(result, true);
        else assert.match(String(result), new RegExp(`^durable-mqtt-broker\\.validation\\.${field}\\b`));
      });
    }

    it('requires a client ID only while clean session is off', () => {
      assert.match(String(validate('durable-mqtt-broker', 'clientId', '', { cleanSession: false })), /validation\.clientId$/);
      assert.equal(validate('durable-mqtt-broker', 'clientId', '', { cleanSession: true }), true);
      assert.equal(validate('durable-mqtt-broker', 'clientId', 'durable1', { cleanSession: false }), true);
    });

    it('flags a client ID that another broker configuration uses on the same broker', () => {
      const node = { id: 'b1', cleanSession: false, broker: 'localhost' };
      workspaceConfigs.push({ id: 'b2', type: 'durable-mqtt-broker', clientId: 'durable1', broker: 'mqtt://localhost:1883' });
      try {
        assert.match(String(validate('durable-mqtt-broker', 'clientId', 'durable1', node)), /validation\.clientIdShared$/);
        assertKeyInEveryLocale('durable-mqtt-broker.validation.clientIdShared', 'the client ID validator');
        assert.equal(validate('durable-mqtt-broker', 'clientId', 'durable2', node), true);
        assert.equal(validate('durable-mqtt-broker', 'clientId', 'durable1', { ...node, broker: 'otherhost' }), true);
        workspaceConfigs.push({ id: 'b3', type: 'durable-mqtt-broker', clientId: 'durable3', broker: 'localhost', d: true });
        assert.equal(validate('durable-mqtt-broker', 'clientId', 'durable3', node), true, 'a disabled config does not connect');
      } finally {
        workspaceConfigs.length = 0;
      }
    });

    it("names the runtime's reason for a bad URL", () => {
      assert.match(String(validate('durable-mqtt-broker', 'broker', 'ftp://host')), /unsupported scheme \\"ftp:\\" in broker URL/);
    });
  });

  describe('consumer dialog validation agrees with the runtime', () => {
    const topics = ['a/b', 'a/+/c\n$share/g/x/#', '#', 'a/#/b', 'a+/b', '$share//a', '$share/g', '$queue/', '', ' \n ', 'ok\nbad/#/x'];
    for (const topic of topics) {
      const ok = parseConsumer({ id: 'n', type: 'durable-mqtt-in', name: '', z: '', topic }).ok;
      it(`topic ${JSON.stringify(topic)} is ${ok ? 'accepted' : 'flagged'}, as the runtime does`, () => {
        const result = validate('durable-mqtt-in', 'topic', topic);
        if (ok) assert.equal(result, true);
        else assert.match(String(result), /^durable-mqtt-in\.validation\.(topic|noTopic)\b/);
      });
    }

    it('names the bad filter and why', () => {
      assert.equal(validate('durable-mqtt-in', 'topic', 'ok\nbad/#/x'), `durable-mqtt-in.validation.topic ${JSON.stringify({ filter: 'bad/#/x', detail: filterError('bad/#/x') })}`);
    });

    for (const [prop, values] of [
      ['qos', ['0', '1', '2', '3', 'x', '']],
      ['datatype', ['auto', 'utf8', 'buffer', 'json', 'base64', 'xml', '']],
      ['ackMode', ['complete', 'receive', 'later', '']],
      ['maxInFlight', ['0', '1', '1.5', '10', '65535', '65536', 'x', '']],
      ['ackTimeout', ['-1', '0', '0.5', '30', '86400', '86401', 'x', '']],
      ['maxDeliveries', ['-1', '0', '1', '1.5', '10', '1000', '1001', 'x', '']],
    ] as const) {
      for (const value of values) {
        // ackOnError false: where the runtime reads the delivery limit.
        const ok = parseConsumer({ id: 'n', type: 'durable-mqtt-in', name: '', z: '', topic: 'a', ackMode: 'complete', ackOnError: false, [prop]: value }).ok;
        it(`${prop} "${value}" is ${ok ? 'accepted' : 'flagged'}, as the runtime does`, () => {
          assert.equal(validate('durable-mqtt-in', prop, value, { ackMode: 'complete', ackOnError: false }) === true, ok);
        });
      }
    }

    it('ignores the ack window and timeout when acking on arrival, as the runtime does', () => {
      for (const [prop, value] of [['maxInFlight', '0'], ['ackTimeout', '-1']] as const) {
        assert.equal(parseConsumer({ id: 'n', type: 'durable-mqtt-in', name: '', z: '', topic: 'a', ackMode: 'receive', [prop]: value }).ok, true);
        assert.equal(validate('durable-mqtt-in', prop, value, { ackMode: 'receive' }), true);
      }
    });

    it('ignores the delivery limit while failed messages are acked, as the runtime does', () => {
      assert.equal(parseConsumer({ id: 'n', type: 'durable-mqtt-in', name: '', z: '', topic: 'a', ackOnError: true, maxDeliveries: 'x' }).ok, true);
      assert.equal(validate('durable-mqtt-in', 'maxDeliveries', 'x', { ackOnError: true }), true);
      assert.notEqual(validate('durable-mqtt-in', 'maxDeliveries', 'x', { ackOnError: false }), true);
    });

    it('gives a new node a delivery limit of 10, used once failed messages are withheld, and labels the failed output', () => {
      const def = defs.get('durable-mqtt-in')!;
      assert.equal(def.defaults.maxDeliveries.value, 10);
      assert.equal(def.defaults.ackOnError.value, true, 'off until the user withholds failed messages');
      const label = (props: object, i: number): string => def.outputLabels.call(nodeWith(props), i);
      const limited = { ackOnError: false, maxDeliveries: 10 };
      assert.deepEqual([0, 1].map((i) => label(limited, i)), ['durable-mqtt-in.outputs.messages', 'durable-mqtt-in.outputs.failed']);
      assert.deepEqual([0, 1, 2].map((i) => label({ ...limited, statusOutput: true }, i)), ['durable-mqtt-in.outputs.messages', 'durable-mqtt-in.outputs.failed', 'durable-mqtt-in.outputs.status']);
      assert.equal(label({ ackOnError: true, maxDeliveries: 10, statusOutput: true }, 1), 'durable-mqtt-in.outputs.status', 'no failed output while failed messages are acked');
      assert.equal(label({ ackOnError: false, maxDeliveries: 0, statusOutput: true }, 1), 'durable-mqtt-in.outputs.status', 'nor without a limit');
    });

    it('accepts a node saved before the ack properties existed', () => {
      for (const prop of ['ackMode', 'maxInFlight', 'ackTimeout']) assert.equal(validate('durable-mqtt-in', prop, undefined), true, prop);
    });
  });

  describe('dialog helpers', () => {
    it('shows the URL the runtime connects to, with the default port and without credentials', () => {
      assert.equal(connectUrl('localhost', false), 'mqtt://localhost:1883');
      assert.equal(connectUrl('localhost', true), 'mqtts://localhost:8883');
      assert.equal(connectUrl('ws://host', false), 'ws://host:80/mqtt');
      assert.equal(connectUrl('mqtt://user:secret@host:1884', false), 'mqtt://host:1884');
      assert.equal(connectUrl('ftp://host', false), undefined);
    });

    it('shows each of several servers in order, and none when one of them is invalid', () => {
      assert.equal(connectUrl('a, mqtts://b\nws://c:8080', false), 'mqtt://a:1883, mqtts://b:8883, ws://c:8080/mqtt');
      assert.equal(connectUrl('a b', true), 'mqtts://a:8883, mqtts://b:8883');
      assert.equal(connectUrl('mqtt://a ftp://b', false), undefined);
      // The dialog's check of the field names the server at fault, as the runtime's parser does.
      assert.equal(brokerProblem('broker', 'mqtt://a mqtt://b', false), undefined);
      assert.match(brokerProblem('broker', 'mqtt://a ftp://b', false)?.subs?.detail ?? '', /unsupported scheme "ftp:".*server 2 of 2/);
    });

    it('rewrites every filter into a shared group, and back', () => {
      const text = 'a/#\n$share/old/b/+\n$queue/c';
      const shared = shareFilters(text, 'workers');
      assert.equal(shared, '$share/workers/a/#\n$share/workers/b/+\n$share/workers/c');
      for (const f of shared.split('\n')) assert.equal(filterError(f), undefined, f);
      assert.equal(sharedGroup(shared), 'workers');
      assert.equal(sharedGroup(text), '');
      assert.equal(shareFilters(shared, ''), 'a/#\nb/+\nc');
    });

    it('accepts only group names a shared subscription can carry', () => {
      assert.equal(validGroup('workers-1'), true);
      for (const bad of ['', 'a/b', 'a+', '#']) assert.equal(validGroup(bad), false, bad);
    });

    it('generates client IDs every broker accepts (MQTT 3.1.1: 1 to 23 of 0-9a-zA-Z), different each time', () => {
      const ids = new Set(Array.from({ length: 20 }, () => newClientId()));
      assert.equal(ids.size, 20);
      for (const id of ids) assert.match(id, /^[0-9a-zA-Z]{1,23}$/);
    });
  });

  describe('locales', () => {
    it('zh-CN has exactly the en-US keys, with the same __placeholders__', () => {
      const en = catalogs.get('en-US')!;
      const zh = catalogs.get('zh-CN')!;
      assert.deepEqual([...zh.keys()].sort(), [...en.keys()].sort());
      const placeholders = (s: string) => (s.match(/__\w+__/g) ?? []).sort();
      for (const [key, text] of en) assert.deepEqual(placeholders(zh.get(key)!), placeholders(text), key);
    });

    it('zh-CN dialog labels are Chinese', () => {
      const sameInEveryLanguage = /\.(qos|protocolVersion[45])$/;
      for (const [key, text] of catalogs.get('zh-CN')!) {
        if (/^durable-mqtt-(broker|in)\.label\./.test(key) && !sameInEveryLanguage.test(key)) assert.match(text, CJK, key);
      }
    });

    it('has the status keys the ack runtime uses', () => {
      assertKeyInEveryLocale('durable-mqtt.status.inflight', 'the ack runtime');
      assertKeyInEveryLocale('durable-mqtt.status.ackTimeout', 'the ack runtime');
      assert.match(catalogs.get('en-US')!.get('durable-mqtt.status.inflight')!, /__n__/);
      assert.match(catalogs.get('en-US')!.get('durable-mqtt.status.ackTimeout')!, /__node__/);
    });

    it('has every key the dialog templates use (data-i18n)', () => {
      const keys = [...read('nodes/durable-mqtt.html').matchAll(/data-i18n="(?:\[\w+\])?([^"]+)"/g)].map((m) => m[1]);
      assert.ok(keys.length > 30, `found only ${keys.length} keys`);
      for (const key of keys) assertKeyInEveryLocale(key, 'nodes/durable-mqtt.html');
    });

    it('has every key the editor and runtime code spell out', () => {
      const sources = ['editor', 'nodes/common', 'nodes/consumer', 'nodes/broker'].flatMap((dir) =>
        readdirSync(join(ROOT, dir))
          .filter((f) => f.endsWith('.ts'))
          .map((f) => `${dir}/${f}`),
      );
      let found = 0;
      for (const file of sources) {
        const text = read(file);
        const ns = /const NS = '([\w-]+)'/.exec(text)?.[1];
        if (!ns) continue;
        for (const m of text.matchAll(/\$\{NS\}\.([\w.]+)`/g)) {
          assertKeyInEveryLocale(`${ns}.${m[1]}`, file);
          found++;
        }
      }
      assert.ok(found > 10, `found only ${found} keys`);
    });

    it('has a message for every reason and configuration error the runtime reports', () => {
      const reasons = /export type Reason =([^;]+);/.exec(read('nodes/session/connection/reasons.ts'))?.[1] ?? '';
      const reasonKeys = [...reasons.matchAll(/'(\w+)'/g)].map((m) => m[1]);
      assert.ok(reasonKeys.length > 5);
      for (const r of reasonKeys) assertKeyInEveryLocale(`durable-mqtt.reason.${r}`, 'nodes/session/connection/reasons.ts');
      for (const file of ['nodes/consumer/consumer-node.ts', 'nodes/consumer/settings.ts']) {
        const errorKeys = [...read(file).matchAll(/(?:key: |fail\(|configErrorStatus\(t, )'(\w+)'/g)].map((m) => m[1]);
        assert.ok(errorKeys.length > 1, file);
        for (const k of errorKeys) assertKeyInEveryLocale(`durable-mqtt.errors.${k}`, file);
      }
    });

    it('translates every message a validator returns', () => {
      const flagged: [string, string, unknown, object][] = [
        ['durable-mqtt-broker', 'broker', 'ftp://x', {}],
        ['durable-mqtt-broker', 'clientId', '', { cleanSession: false }],
        ['durable-mqtt-broker', 'protocolVersion', '3', {}],
        ['durable-mqtt-broker', 'sessionExpiry', '-1', {}],
        ['durable-mqtt-broker', 'keepalive', '-1', {}],
        ['durable-mqtt-broker', 'backoffMin', '-1', {}],
        ['durable-mqtt-broker', 'backoffMax', '-1', {}],
        ['durable-mqtt-in', 'topic', '', {}],
        ['durable-mqtt-in', 'topic', 'a/#/b', {}],
        ['durable-mqtt-in', 'qos', '3', {}],
        ['durable-mqtt-in', 'datatype', 'xml', {}],
        ['durable-mqtt-in', 'ackMode', 'later', {}],
        ['durable-mqtt-in', 'maxInFlight', '0', {}],
        ['durable-mqtt-in', 'ackTimeout', '-1', {}],
        ['durable-mqtt-in', 'maxDeliveries', '-1', { ackOnError: false }],
      ];
      for (const [type, prop, value, props] of flagged) {
        const result = validate(type, prop, value, props);
        assert.notEqual(result, true, `${type}.${prop} ${String(value)}`);
        assertKeyInEveryLocale(String(result).split(' ')[0], `${type}.${prop}'s validator`);
      }
      const labels = defs.get('durable-mqtt-in')!.outputLabels;
      for (const i of [0, 1, 2]) assertKeyInEveryLocale(labels.call(nodeWith({ ackOnError: false, maxDeliveries: 3, statusOutput: true }), i), 'outputLabels');
    });

    it('has help for both nodes in every language, linking to the README', () => {
      for (const lang of LANGS) {
        const help = read(`nodes/locales/${lang}/durable-mqtt.html`);
        for (const type of TYPES) {
          const block = new RegExp(`<script type="text/html" data-help-name="${type}">([\\s\\S]*?)</script>`).exec(help)?.[1];
          assert.ok(block, `${lang} has no help for ${type}`);
          assert.match(block, /<h3>/);
          assert.match(block, /href="https:\/\/www\.npmjs\.com\/package\/node-red-contrib-durable-mqtt"/);
          if (lang === 'zh-CN') assert.match(block, CJK);
        }
      }
    });
  });

  describe('core flows and environment variables', () => {
    it('accepts an environment variable reference in every validated field, number fields included', () => {
      for (const [type, def] of defs) {
        for (const [prop, d] of Object.entries(def.defaults)) {
          if (d.validate) assert.equal(validate(type, prop, '${SOME_VAR}', { cleanSession: false, ackMode: 'complete' }), true, `${type}.${prop}`);
        }
      }
      assert.notEqual(validate('durable-mqtt-broker', 'keepalive', 'x${VAR}'), true, 'only a whole reference is substituted');
    });

    it("accepts core's datatype names and flags a bad retain handling, as the runtime does", () => {
      for (const value of ['auto-detect', 'text-or-buffer']) assert.equal(validate('durable-mqtt-in', 'datatype', value), true, value);
      assert.equal(validate('durable-mqtt-in', 'rh', '2'), true);
      assert.match(String(validate('durable-mqtt-in', 'rh', '3')), /^durable-mqtt-in\.validation\.rh$/);
      assertKeyInEveryLocale('durable-mqtt-in.validation.rh', 'the rh validator');
    });

    it('flags a wildcard birth, close or will topic, and bad user properties or proxy', () => {
      for (const prop of ['birthTopic', 'closeTopic', 'willTopic']) {
        assert.equal(validate('durable-mqtt-broker', prop, 'status/up'), true, prop);
        const result = String(validate('durable-mqtt-broker', prop, 'status/#'));
        assert.equal(result, `durable-mqtt-broker.validation.${prop}`);
        assertKeyInEveryLocale(result, prop);
      }
      for (const [prop, bad] of [['userProps', '[1]'], ['socksProxy', 'http://p:3128']]) {
        assert.equal(validate('durable-mqtt-broker', prop, bad), `durable-mqtt-broker.validation.${prop}`);
        assertKeyInEveryLocale(`durable-mqtt-broker.validation.${prop}`, prop);
      }
    });

    it('upgrades every node as it is added, and offers the convert action, with its messages in every language', () => {
      assert.deepEqual(editorListeners.map(([event]) => event), ['nodes:add']);
      assert.deepEqual(editorActions, ['durable-mqtt:convert-core-nodes']);
      for (const key of ['menu', 'nothing', 'converted', 'skippedNoTopic', 'copiedBroker']) assertKeyInEveryLocale(`durable-mqtt.convert.${key}`, 'editor/convert-action.ts');
      const node: Record<string, unknown> = { id: 'b', type: 'durable-mqtt-broker', broker: 'h', clientid: 'core-id', cleansession: false };
      editorListeners[0][1](node);
      assert.equal(node.clientId, 'core-id');
      assert.equal(node.version, 1);
    });

    it('lists the core names a migration reads, so an imported core node keeps them', () => {
      const broker = defs.get('durable-mqtt-broker')!.defaults;
      for (const prop of ['clientid', 'cleansession', 'port', 'usetls', 'birthTopic', 'willMsg']) assert.ok(prop in broker, prop);
      for (const prop of ['nl', 'rap', 'rh']) assert.ok(prop in defs.get('durable-mqtt-in')!.defaults, prop);
      assert.equal(broker.clientid.value, undefined, 'no default, so a new node saves none');
    });

    it('saves core\'s `inputs` and takes an empty topic on a dynamic node (msg.action), as the runtime does', () => {
      assert.equal(defs.get('durable-mqtt-in')!.defaults.inputs.value, 0);
      assert.match(String(validate('durable-mqtt-in', 'topic', '', { inputs: 0 })), /^durable-mqtt-in\.validation\.noTopic$/);
      assert.equal(validate('durable-mqtt-in', 'topic', '', { inputs: 1 }), true);
      assert.equal(parseConsumer({ id: 'n', type: 'durable-mqtt-in', name: '', z: '', topic: '', inputs: 1 }).ok, true);
      assert.match(String(validate('durable-mqtt-in', 'topic', 'a/#/b', { inputs: 1 })), /^durable-mqtt-in\.validation\.topic\b/);
      for (const key of ['label.subscription', 'subscription.static', 'subscription.dynamic', 'hint.dynamic']) assertKeyInEveryLocale(`durable-mqtt-in.${key}`, 'the Subscribe row');
      for (const key of ['invalidAction', 'invalidSubscription', 'brokerOptions', 'actionFailed']) assertKeyInEveryLocale(`durable-mqtt.errors.${key}`, 'nodes/consumer/actions.ts');
      assert.ok(html.includes('id="node-input-subscription"'));
    });
  });

  describe('icon', () => {
    const svg = read('icons/durable-mqtt.svg');

    it("is an SVG of Node-RED's icon size (40×60) drawn in white on transparent", () => {
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(svg, /viewBox="0,? 0,? 40,? 60"/);
      assert.match(svg, /width="40"/);
      assert.match(svg, /height="60"/);
      const colours = [...svg.matchAll(/(?:fill|stroke)="([^"]+)"/g)].map((m) => m[1].toLowerCase());
      assert.ok(colours.length > 0);
      for (const c of colours) assert.ok(['#fff', '#ffffff', 'white', 'none'].includes(c), `colour ${c}`);
      assert.doesNotMatch(svg, /<rect[^>]*width="40"[^>]*height="60"/, 'no background');
    });

    it('is well-formed: every element is closed in order', () => {
      const open: string[] = [];
      for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([\w:-]+)[^>]*?(\/?)>/g)) {
        if (closing) assert.equal(open.pop(), name);
        else if (!selfClosing) open.push(name);
      }
      assert.deepEqual(open, []);
    });

    it('is the icon the consumer node names', () => {
      assert.match(script, /icon: "durable-mqtt\.svg"/);
    });
  });
});
