// Specifies SendQuota: at most the broker's Receive Maximum of publishes in flight (MQTT 5), 19 QoS 2 ones over 3.1.1, all in order, none kept once the client closes.
import assert from 'node:assert/strict';
import { QOS2_IN_FLIGHT_MQTT3, SendQuota } from '../nodes/session/connection/send-quota';

/** Runs `count` sends through `quota`, recording the order they go out in. */
function sends(quota: SendQuota, count: number): { sent: number[] } {
  const sent: number[] = [];
  for (let i = 0; i < count; i++) quota.run(() => sent.push(i), true);
  return { sent };
}

describe('SendQuota', () => {
  it('over MQTT 3.1.1 holds QoS 2 publishes past 19 in flight and counts no QoS 0 or 1 one, whatever the CONNACK', () => {
    const quota = new SendQuota(4);
    assert.deepEqual([0, 1, 2].map((q) => quota.counts(q)), [false, false, true]);
    quota.connected(undefined);
    const { sent } = sends(quota, QOS2_IN_FLIGHT_MQTT3 + 3);
    assert.equal(sent.length, QOS2_IN_FLIGHT_MQTT3);
    assert.equal(quota.queued, 3);
  });

  it('over MQTT 5 counts QoS 1 and 2, and sends everything at once when CONNACK has no Receive Maximum', () => {
    const quota = new SendQuota(5);
    assert.deepEqual([0, 1, 2].map((q) => quota.counts(q)), [false, true, true]);
    quota.connected(undefined);
    assert.deepEqual(sends(quota, 5).sent, [0, 1, 2, 3, 4]);
    assert.equal(quota.queued, 0);
  });

  it('holds sends past the limit and lets one go, in order, for each that ends', () => {
    const quota = new SendQuota(5);
    quota.connected(2);
    const { sent } = sends(quota, 5);
    assert.deepEqual(sent, [0, 1]);
    assert.equal(quota.queued, 3);
    quota.ended();
    assert.deepEqual(sent, [0, 1, 2]);
    quota.ended();
    quota.ended();
    assert.deepEqual(sent, [0, 1, 2, 3, 4]);
  });

  it('keeps order: a new send waits behind those already waiting even when a slot is free', () => {
    const quota = new SendQuota(5);
    quota.connected(1);
    const sent: string[] = [];
    quota.run(() => sent.push('a'), true);
    quota.run(() => sent.push('b'), true);
    quota.connected(3);
    quota.run(() => sent.push('c'), true);
    assert.deepEqual(sent, ['a', 'b', 'c']);
  });

  it('applies a new connection\'s lower limit to what is sent next, and a higher one at once', () => {
    const quota = new SendQuota(5);
    quota.connected(3);
    const { sent } = sends(quota, 6);
    assert.deepEqual(sent, [0, 1, 2]);
    quota.connected(1);
    quota.ended();
    quota.ended();
    assert.deepEqual(sent, [0, 1, 2], 'still one in flight, the new limit');
    quota.ended();
    assert.deepEqual(sent, [0, 1, 2, 3]);
    quota.connected(10);
    assert.deepEqual(sent, [0, 1, 2, 3, 4, 5]);
  });

  it('calls every waiting send on release, so each can fail back to its sender', () => {
    const quota = new SendQuota(5);
    quota.connected(1);
    const { sent } = sends(quota, 4);
    quota.release();
    assert.deepEqual(sent, [0, 1, 2, 3]);
    assert.equal(quota.queued, 0);
  });

  it('keeps order across QoS: an uncounted publish waits behind a counted one that waits, and then needs no slot', () => {
    const quota = new SendQuota(4);
    quota.connected(undefined);
    const sent: string[] = [];
    for (let i = 0; i < QOS2_IN_FLIGHT_MQTT3; i++) quota.run(() => sent.push(`q2-${i}`), true);
    quota.run(() => sent.push('q2-late'), true);
    quota.run(() => sent.push('q1'), false);
    assert.equal(sent.length, QOS2_IN_FLIGHT_MQTT3);
    quota.ended();
    assert.deepEqual(sent.slice(-2), ['q2-late', 'q1']);
    quota.run(() => sent.push('q1-next'), false);
    assert.equal(sent.at(-1), 'q1-next', 'nothing waits, so it goes at once though every slot is taken');
  });

  it('takes sends that end at once, inside run or release, without losing count or nesting', () => {
    const quota = new SendQuota(5);
    quota.connected(1);
    let sent = 0;
    // A send that fails synchronously ends before it returns, as a publish on a closing client does.
    const failing = (): void => {
      sent++;
      quota.ended();
    };
    for (let i = 0; i < 3; i++) quota.run(failing, true);
    assert.equal(sent, 3);
    quota.run(() => sent++, true);
    const n = 100_000;
    for (let i = 0; i < n; i++) quota.run(failing, true);
    assert.equal(quota.queued, n);
    quota.ended();
    assert.equal(sent, 4 + n, 'each failed in turn, with no stack overflow');
    quota.run(() => sent++, true);
    for (let i = 0; i < n; i++) quota.run(failing, true);
    quota.release();
    assert.equal(sent, 5 + 2 * n, 'release calls them all');
    quota.ended();
    quota.run(() => sent++, true);
    assert.equal(sent, 6 + 2 * n, 'the count is back to none in flight');
  });

  it('keeps the limit after release: a send that comes later still waits for a slot', () => {
    const quota = new SendQuota(5);
    quota.connected(1);
    const sent: string[] = [];
    quota.run(() => sent.push('in flight'), true);
    quota.release();
    quota.run(() => sent.push('close message'), true);
    assert.deepEqual(sent, ['in flight']);
    quota.ended();
    assert.deepEqual(sent, ['in flight', 'close message']);
  });

  it('enter lets a publish go at once exactly when run would call it at once, and takes its slot', () => {
    const quota = new SendQuota(5);
    quota.connected(2);
    assert.deepEqual([quota.enter(true), quota.enter(true), quota.enter(true)], [true, true, false], 'two slots, then none');
    assert.equal(quota.enter(false), true, 'an uncounted publish needs no slot while nothing waits');
    const sent: string[] = [];
    quota.run(() => sent.push('waiting'), true);
    assert.equal(quota.enter(false), false, 'nothing overtakes a publish that waits');
    quota.ended();
    assert.deepEqual(sent, ['waiting'], 'the slot freed went to the one that waited');
    assert.equal(quota.enter(true), false, 'which holds it');
    quota.ended();
    assert.equal(quota.enter(true), true);
  });
});
