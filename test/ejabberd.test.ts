// Specifications against a second real broker, ejabberd's mod_mqtt: persistent sessions with credentials, its refusal of `$share/…`, a wrong password.
import { strict as assert } from 'node:assert';
import type { NodeStatus } from 'node-red';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config.js';
import type { QoS } from '../nodes/session/subscriptions/cover.js';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger.js';
import { MqttSession, type SessionState } from '../nodes/session/session.js';
import { ejabberdForSuite } from './support/ejabberd.js';
import { callsOf, collect, consumerFlow, helper, load } from './support/nodered.js';
import { publishMany } from './support/publisher.js';
import { until } from './support/until.js';

const USER = 'alice';
const PASSWORD = 'secret-1';
const QUEUED = 20;

let seq = 0;
/** A client ID no other test of this run uses: ejabberd keeps a session for 5 minutes after a disconnect. */
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`;

/** A session config as the config node builds it, with a fast backoff (100–400 ms). */
function sessionConfig(url: string, clientId: string, extra: Record<string, unknown> = {}): SessionConfig {
  const parsed = parseConfig({ broker: url, clientId, username: USER, password: PASSWORD, backoffMin: 0.1, backoffMax: 0.4, ...extra });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}

interface Recorded {
  s: MqttSession;
  states: SessionState[];
  payloads: string[];
  refused: { filter: string; code: number }[];
  takeovers: number;
}

describe('ejabberd (mod_mqtt)', function () {
  this.timeout(60_000);
  const broker = ejabberdForSuite({ users: { [USER]: PASSWORD } });

  describe('session', () => {
    const open: MqttSession[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    function session(config: SessionConfig, ledgerKey: string, filters: Record<string, QoS>): Recorded {
      const s = new MqttSession(config, new MemoryLedger(ledgerKey));
      const r: Recorded = { s, states: [], payloads: [], refused: [], takeovers: 0 };
      s.on('state', (st) => r.states.push(st));
      s.on('message', (_topic, payload) => r.payloads.push(payload.toString()));
      s.on('subscribeFailed', (filter, code) => r.refused.push({ filter, code }));
      s.on('takeover', () => r.takeovers++);
      s.setSubscriptions(new Map(Object.entries(filters)));
      open.push(s);
      return r;
    }

    for (const protocolVersion of [4, 5] as const) {
      const v = protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1';

      it(`${v}: connects with a user and password and receives, in order, every QoS 1 message queued while it was away`, async () => {
        const config = sessionConfig(broker().url, unique('resume'), { protocolVersion });
        const key = unique('ledger');
        const first = session(config, key, { 'away/#': 1 });
        first.s.start();
        await until(() => first.s.state.state === 'connected', 'connected', 20_000);
        assert.deepEqual(first.states.at(-1), { state: 'connected', sessionPresent: false });
        await first.s.close();

        await publishMany(broker().url, 'away/x', QUEUED, { qos: 1, protocolVersion, connectOptions: { username: USER, password: PASSWORD } });

        // A new session object, as after a Node-RED restart: same client ID, same ledger.
        const second = session(config, key, { 'away/#': 1 });
        second.s.start();
        await until(() => second.payloads.length >= QUEUED, `${QUEUED} queued messages`, 20_000);
        assert.deepEqual(second.payloads, Array.from({ length: QUEUED }, (_, i) => String(i)));
        assert.deepEqual(second.states, [{ state: 'connecting' }, { state: 'connected', sessionPresent: true }]);
      });

      it(`${v}: a $share/… filter, which ejabberd answers by closing the connection, is "refused" with backoff, never "client ID in use"`, async () => {
        const r = session(sessionConfig(broker().url, unique('share'), { protocolVersion }), unique('ledger'), { '$share/g/jobs/#': 1, 'plain/#': 1 });
        r.s.start();
        await until(() => r.refused.length > 0 && r.s.state.state === 'connected', 'refused, then connected', 20_000);
        // ejabberd 23.01 sends DISCONNECT 0x9E (shared subscriptions not supported) on MQTT 5 and closes bare on 3.1.1.
        assert.deepEqual(r.refused, [{ filter: '$share/g/jobs/#', code: protocolVersion === 5 ? 0x9e : 0x80 }]);
        const reasons = new Set(r.states.flatMap((st) => (st.state === 'error' ? [st.reason] : [])));
        assert.deepEqual([...reasons], [protocolVersion === 5 ? 'sharedNotSupported' : 'subscriptionRefused'], JSON.stringify(r.states));
        assert.ok(r.states.some((st) => st.state === 'reconnecting'), 'it backed off before the next attempt');
        assert.equal(r.takeovers, 0);

        // The filters that were not refused work.
        await publishMany(broker().url, 'plain/x', 1, { qos: 1, protocolVersion, connectOptions: { username: USER, password: PASSWORD } });
        await until(() => r.payloads.length === 1, 'the message on plain/#', 20_000);
      });

      it(`${v}: a wrong password is "not authorized" (CONNACK ${protocolVersion === 5 ? '0x87' : '5'}), retried with backoff`, async () => {
        const r = session(sessionConfig(broker().url, unique('auth'), { protocolVersion, password: 'wrong' }), unique('ledger'), { a: 0 });
        r.s.start();
        await until(() => r.states.some((st) => st.state === 'reconnecting' && st.attempt >= 2), 'second reconnect attempt', 20_000);
        const reasons = new Set(r.states.flatMap((st) => (st.state === 'error' ? [st.reason] : [])));
        assert.deepEqual([...reasons], ['notAuthorized']);
        assert.ok(!r.states.some((st) => st.state === 'connected'));
        assert.equal(r.takeovers, 0);
      });
    }
  });

  describe('durable mqtt in', () => {
    afterEach(async () => {
      await helper.unload();
    });

    const credentials = { b1: { user: USER, password: PASSWORD } };
    const texts = (seen: NodeStatus[]): string => seen.map((s) => String(s.text)).join(' → ');
    /** Every badge the node has set since the flow was loaded (the helper's RED._ gives message keys). */
    const statuses = (id: string): NodeStatus[] => callsOf(id, 'status').map((args) => args[0] as NodeStatus);

    it('receives what was published while its flow was stopped (MQTT 5, session expiry 1 h)', async () => {
      const flow = consumerFlow(broker().url, [{ topic: 'node/#', qos: 1 }], { clientId: unique('node'), protocolVersion: 5, sessionExpiry: 3600 });
      await load(flow, credentials);
      await until(() => String(statuses('in1').at(-1)?.text).endsWith('status.connected'), 'connected', 30_000);
      await helper.unload();
      await publishMany(broker().url, 'node/x', QUEUED, { qos: 1, connectOptions: { username: USER, password: PASSWORD } });
      await load(flow, credentials);
      const got = collect('in1-out');
      await until(() => got.length >= QUEUED, `${QUEUED} messages`, 30_000);
      assert.deepEqual(got.map((m) => String(m.payload)), Array.from({ length: QUEUED }, (_, i) => String(i)));
    });

    it('shows "subscription refused" for a $share/… filter, keeps the other consumer connected, and warns of no takeover', async () => {
      const flow = consumerFlow(broker().url, [{ topic: '$share/g/jobs/#' }, { topic: 'ok/#' }], { clientId: unique('node'), backoffMin: 0.1, backoffMax: 0.5 });
      await load(flow, credentials);
      await until(() => String(statuses('in1').at(-1)?.text).includes('subscribeRefused') && String(statuses('in2').at(-1)?.text).endsWith('status.connected'), 'refused and connected', 30_000);
      const [denied, ok] = [statuses('in1'), statuses('in2')];
      assert.ok(!denied.some((s) => s.fill === 'green'), texts(denied));
      assert.equal(denied.at(-1)?.fill, 'red');
      const warnings = callsOf('b1', 'warn').map((args) => String(args[0]));
      assert.ok(!warnings.some((w) => /in use/.test(w)), warnings.join('\n'));
      assert.ok(![...denied, ...ok].some((s) => String(s.text).includes('clientIdInUse')), `${texts(denied)} | ${texts(ok)}`);
    });

    it('shows "not authorized" for a wrong password', async () => {
      const flow = consumerFlow(broker().url, [{ topic: 'x' }], { clientId: unique('node'), backoffMin: 0.1, backoffMax: 0.5 });
      await load(flow, { b1: { user: USER, password: 'wrong' } });
      await until(() => statuses('in1').some((s) => String(s.text).includes('reason.notAuthorized')), 'not authorized', 30_000);
      const seen = statuses('in1');
      assert.equal(seen.find((s) => String(s.text).includes('reason.notAuthorized'))?.fill, 'red');
      assert.ok(!seen.some((s) => s.fill === 'green'), texts(seen));
    });
  });
});
