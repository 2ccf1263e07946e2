// Specs for nodes/session/subscriptions/subscriptions.ts through the session on Aedes: the ledger in step with the broker, and its failures reported, never swallowed.
import { strict as assert } from 'node:assert';
import { parseConfig } from '../nodes/session/config/config.js';
import type { SubscriptionSet } from '../nodes/session/subscriptions/cover.js';
import { MemoryLedger, type SubscriptionLedger } from '../nodes/session/subscriptions/ledger.js';
import { MqttSession, type SessionFailure, type SessionState } from '../nodes/session/session.js';
import { startAedes, type AedesHandle } from './support/aedes.js';

let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

/** A ledger whose writes fail, as on a full disk or a read-only userDir. */
class BrokenLedger implements SubscriptionLedger {
  readonly held = undefined;
  load(): SubscriptionSet | undefined {
    return undefined;
  }
  save(): void {
    throw new Error('ENOSPC: no space left on device');
  }
  clear(): void {
    throw new Error('EROFS: read-only file system');
  }
}

describe('subscriptions', function () {
  let broker: AedesHandle;
  let session: MqttSession | undefined;
  beforeEach(async () => {
    broker = await startAedes();
  });
  afterEach(async () => {
    await session?.close();
    session = undefined;
    await broker.close();
  });

  function open(ledger: SubscriptionLedger): { failures: SessionFailure[]; connected: Promise<SessionState>; s: MqttSession } {
    const parsed = parseConfig({ broker: broker.url, clientId: unique('subs'), backoffMin: 0.1, backoffMax: 0.4 });
    if (!parsed.ok) throw new Error(parsed.error);
    const s = new MqttSession(parsed.config, ledger);
    session = s;
    const failures: SessionFailure[] = [];
    s.on('failure', (f) => failures.push(f));
    const connected = new Promise<SessionState>((resolve) => s.on('state', (st) => st.state === 'connected' && resolve(st)));
    s.setSubscriptions(new Map([['s/#', 1]]));
    s.start();
    return { failures, connected, s };
  }

  it('reports every failed ledger write with its cause, and still subscribes and connects', async () => {
    const { failures, connected, s } = open(new BrokenLedger());
    const subscribed = new Promise((resolve) => s.on('subscribed', resolve));
    await connected;
    assert.deepEqual(await subscribed, new Map([['s/#', 1]]));
    assert.deepEqual(failures.map((f) => [f.operation, f.error.message]), [
      ['ledger', 'EROFS: read-only file system'],
      ['ledger', 'ENOSPC: no space left on device'],
    ]);
  });

  it('reports nothing when the ledger takes every write', async () => {
    const key = unique('ledger');
    const { failures, connected } = open(new MemoryLedger(key));
    await connected;
    assert.deepEqual(failures, []);
    assert.deepEqual(new MemoryLedger(key).load(), new Map([['s/#', 1]]));
  });
});
