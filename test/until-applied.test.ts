// Specs for the subscription change a resubscribe waits for: which broker filters it needs held and gone (which carries which: topic.test.ts), and the wait on a live session.
// untilApplied on a live session is also specified through the `subscribe` action in dynamic-subscriptions.test.ts.
import assert from 'node:assert/strict';
import { changeOf, untilApplied } from '../nodes/broker/until-applied';
import { parseConfig } from '../nodes/session/config/config';
import type { QoS, SubscriptionSet } from '../nodes/session/subscriptions/cover';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger';
import { MqttSession, type SessionState } from '../nodes/session/session';
import { startAedes, type AedesHandle } from './support/aedes';

const subs = (...entries: [string, QoS][]): Map<string, QoS> => new Map(entries);

/** A ledger that counts its reads, to tell a wait on memory from one on the disk. */
class CountingLedger extends MemoryLedger {
  loads = 0;
  override load(): SubscriptionSet | undefined {
    this.loads++;
    return super.load();
  }
}

describe('until-applied', () => {
  describe('changeOf', () => {
    it('needs the broker filters that carry the changed node\'s filters, at their QoS, and nothing else', () => {
      const before = subs(['x/1', 1]);
      const after = subs(['x/1', 1], ['a/#', 2], ['other', 0]);
      const change = changeOf(before, after, ['a/b', 'a/c']);
      assert.deepEqual([...change.need], [['a/#', 2]]);
      assert.deepEqual(change.gone, []);
    });

    it('names what left the broker\'s set as gone', () => {
      const change = changeOf(subs(['a/b', 1], ['c', 1]), subs(['c', 1]), ['c']);
      assert.deepEqual([...change.need], [['c', 1]]);
      assert.deepEqual(change.gone, ['a/b']);
    });

    it('needs nothing for a filter the new set no longer has', () => {
      const change = changeOf(subs(['a/b', 1]), subs(), ['a/b']);
      assert.deepEqual([...change.need], []);
      assert.deepEqual(change.gone, ['a/b']);
    });
  });

  describe('untilApplied', () => {
    let broker: AedesHandle | undefined;
    let session: MqttSession | undefined;
    afterEach(async () => {
      await session?.close();
      await broker?.close();
      session = broker = undefined;
    });

    it('resolves once the broker holds the change, from the ledger\'s copy in memory: no read per subscription event', async () => {
      broker = await startAedes({ authorizeSubscribe: (topic) => topic !== 'denied', denySubscribeWith: 'suback' });
      const parsed = parseConfig({ broker: broker.url, clientId: `until-${process.pid}-${Date.now().toString(36)}` });
      if (!parsed.ok) throw new Error(parsed.error);
      const ledger = new CountingLedger(`until-${process.pid}-${Date.now().toString(36)}`);
      const s = new MqttSession(parsed.config, ledger);
      session = s;
      const connected = new Promise<SessionState>((resolve) => s.on('state', (st) => st.state === 'connected' && resolve(st)));
      s.setSubscriptions(subs(['a', 1]));
      s.start();
      await connected;
      const reads = ledger.loads;
      const events: string[] = [];
      for (const event of ['subscribed', 'unsubscribed', 'subscribeFailed'] as const) s.on(event, () => events.push(event));

      const before = s.subscriptions;
      s.setSubscriptions(subs(['b', 2], ['denied', 1]));
      const refused = await untilApplied(s, ledger, changeOf(before, s.subscriptions, ['b', 'denied']));
      assert.deepEqual(refused, ['denied']);
      assert.deepEqual(ledger.held, subs(['b', 2]));
      assert.deepEqual(events, ['subscribeFailed', 'subscribed', 'unsubscribed']);
      assert.equal(ledger.loads, reads);
    });
  });
});
