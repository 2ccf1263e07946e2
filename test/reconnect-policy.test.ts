// Specs for nodes/session/connection/reconnect-policy.ts: backoff attempts, and when closes soon after CONNACK mean a takeover.
import { strict as assert } from 'node:assert';
import { DEFAULTS } from '../nodes/session/config/config.js';
import { ReconnectPolicy, SESSION_TAKEN_OVER } from '../nodes/session/connection/reconnect-policy.js';

const quiet = { refusal: false, unsubscribing: false } as const;
/** A window no test outlives (every close is "soon"), or one every close outlives (0). */
const policy = (takeoverWindow = 3_600_000): ReconnectPolicy =>
  new ReconnectPolicy({ backoff: { min: 1, max: 2 }, takeoverWindow, takeoverCount: DEFAULTS.takeoverCount });
const kick = (p: ReconnectPolicy, facts: Parameters<ReconnectPolicy['closed']>[0] = quiet): ReturnType<ReconnectPolicy['closed']> => {
  p.connected();
  return p.closed(facts);
};

describe('reconnect policy', () => {
  it(`reads ${DEFAULTS.takeoverCount} closes in a row soon after CONNACK as a takeover, announced once`, () => {
    const p = policy();
    const verdicts = [kick(p), kick(p), kick(p), kick(p)];
    assert.deepEqual(verdicts.map((v) => v.takeover), [false, false, true, true]);
    assert.deepEqual(verdicts.map((v) => v.firstTakeover), [false, false, true, false]);
    assert.ok(verdicts.every((v) => v.wasConnected));
  });

  it('counts neither a refusal of our SUBSCRIBE, nor a close during UNSUBSCRIBE, nor another DISCONNECT code', () => {
    const p = policy();
    for (let i = 0; i < 5; i++) {
      assert.equal(kick(p, { refusal: true, unsubscribing: false }).takeover, false);
      assert.equal(kick(p, { refusal: false, unsubscribing: true }).takeover, false);
      assert.equal(kick(p, { refusal: false, unsubscribing: false, code: 0x8b }).takeover, false);
    }
  });

  it('takes DISCONNECT 0x8E as a takeover at once', () => {
    const p = policy();
    p.connected();
    p.takenOver();
    assert.equal(p.closed({ ...quiet, code: SESSION_TAKEN_OVER }).firstTakeover, true);
  });

  it('starts the count again after a connection that lasted the window', () => {
    const p = policy(0);
    assert.deepEqual([kick(p), kick(p), kick(p), kick(p)].map((v) => v.takeover), [false, false, false, false]);
  });

  it('does not count a close before CONNACK, nor one the session caused', () => {
    const p = policy();
    assert.equal(p.closed(quiet).wasConnected, false);
    p.connected();
    p.closedOnPurpose();
    assert.equal(p.closed(quiet).wasConnected, false);
    assert.deepEqual([kick(p), kick(p)].map((v) => v.takeover), [false, false]);
  });

  it('reads no takeover in closes with a refused reconnect between them (the broker restarted)', () => {
    const p = policy();
    const verdicts = [1, 2, 3, 4].map(() => {
      const v = kick(p);
      p.unreachable();
      return v;
    });
    assert.deepEqual(verdicts.map((v) => v.takeover), [false, false, false, false]);
  });

  it('starts the backoff over at the first CONNACK after a refused reconnect', async () => {
    const p = policy();
    const attempts: number[] = [];
    const next = (): Promise<void> => new Promise<void>((resolve) => p.schedule((a) => resolve(void attempts.push(a))));
    await next();
    p.unreachable();
    await next();
    kick(p);
    await next();
    assert.deepEqual(attempts, [1, 2, 1]);
  });

  it('reconnects with attempts counting up, and from 1 again after a connection that lasted', async () => {
    const p = policy(0);
    const attempts: number[] = [];
    const next = (): Promise<void> => new Promise<void>((resolve) => p.schedule((a) => resolve(void attempts.push(a))));
    for (let i = 0; i < 3; i++) await next();
    kick(p);
    await next();
    assert.deepEqual(attempts, [1, 2, 3, 1]);
  });
});
