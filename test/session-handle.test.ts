// Specs for nodes/broker/session-handle.ts against an in-process Aedes: the broker node's listeners hear whichever session is current, across disconnect and connect.
import assert from 'node:assert/strict';
import { parseConfig, type SessionConfig } from '../nodes/session/config/config';
import type { SessionEvents } from '../nodes/session/events';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger';
import { MqttSession, type SessionState } from '../nodes/session/session';
import { SessionHandle } from '../nodes/broker/session-handle';
import { startAedes, type AedesHandle } from './support/aedes';
import { until } from './support/until';

let seq = 0;
const unique = (): string => `handle-${process.pid}-${++seq}`;

/** A session config as the config node builds it, with a fast backoff. */
function sessionConfig(url: string): SessionConfig {
  const parsed = parseConfig({ broker: url, clientId: unique(), backoffMin: 0.1, backoffMax: 0.4 });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}

const EVENTS: (keyof SessionEvents)[] = ['state', 'message', 'subscribed', 'unsubscribed', 'subscribeFailed', 'moved', 'takeover', 'redelivery', 'shed', 'failure'];
const listeners = (e: { listenerCount(name: keyof SessionEvents): number }): number[] => EVENTS.map((name) => e.listenerCount(name));

describe('session handle', function () {
  /** What each test opened, closed after it, the last opened first. */
  const opened: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });

  /** A handle whose sessions share one ledger, as the config node's do; `sessions` lists each one it opened. */
  async function open(authenticate?: () => boolean): Promise<{ h: SessionHandle; b: AedesHandle; sessions: MqttSession[]; states: SessionState[]; topics: string[] }> {
    const b = await startAedes({ authenticate });
    opened.push(() => b.close());
    const config = sessionConfig(b.url);
    const ledger = new MemoryLedger(config.clientId);
    const sessions: MqttSession[] = [];
    const h = new SessionHandle(() => {
      const s = new MqttSession(config, ledger, { manualAcks: true });
      sessions.push(s);
      return s;
    });
    opened.push(() => h.close());
    const states: SessionState[] = [];
    const topics: string[] = [];
    h.on('state', (s) => states.push(s));
    h.on('message', (topic, _payload, _packet, settle) => {
      topics.push(topic);
      settle('ack');
    });
    return { h, b, sessions, states, topics };
  }

  const subscribeAndStart = (s: MqttSession): void => {
    s.setSubscriptions(new Map([['h/#', 1]]));
    s.start();
  };

  it('forwards the events of the session it holds', async () => {
    const { h, b, states, topics } = await open();
    subscribeAndStart(h.current);
    await h.untilConnected();
    assert.deepEqual(states.map((s) => s.state), ['connecting', 'connected']);
    await b.publish('h/1', 'x', 1);
    await until(() => topics.length === 1, 'the message through the handle');
    assert.deepEqual(topics, ['h/1']);
  });

  it('after disconnect and reopen, the listeners attached once hear the new session, and nothing of the closed one', async () => {
    const { h, b, sessions, states, topics } = await open();
    subscribeAndStart(h.current);
    await h.untilConnected();
    const attached = listeners(h);
    await h.disconnect();
    assert.equal(states.at(-1)?.state, 'disconnected', 'the closed session\'s last state is heard');
    assert.equal(h.reopen(), true);
    const [closed, current] = sessions;
    assert.equal(h.current, current);
    assert.deepEqual(listeners(h), attached, 'no listener copied or added');
    assert.deepEqual(listeners(current), EVENTS.map(() => 1), 'one forwarder per event on the new session');
    assert.deepEqual(listeners(closed), EVENTS.map(() => 0), 'none left on the closed one');

    subscribeAndStart(current);
    await h.untilConnected();
    await b.publish('h/2', 'y', 1);
    // Aedes may send it twice on a resumed session: what matters is that it comes through the handle.
    await until(() => topics.includes('h/2'), 'the new session\'s message through the handle');
    const heard = states.length;
    closed.emit('state', { state: 'disconnected' });
    assert.equal(states.length, heard, 'a late event of the closed session is not news');
  });

  it('closes the session once however often disconnect is called, and reopens only after a disconnect', async () => {
    const { h, sessions, states } = await open();
    assert.equal(h.reopen(), false, 'the session it holds is not closed');
    subscribeAndStart(h.current);
    await h.untilConnected();
    await Promise.all([h.disconnect(), h.disconnect()]);
    assert.equal(states.filter((s) => s.state === 'disconnected').length, 1);
    assert.equal(h.reopen(), true);
    assert.equal(h.reopen(), false, 'the new session is not closed');
    assert.equal(sessions.length, 2);
  });

  it('rejects untilConnected, naming the reason, when the broker refuses the connection', async () => {
    const { h } = await open(() => false);
    subscribeAndStart(h.current);
    await assert.rejects(h.untilConnected(), /could not connect: .*/);
  });
});
