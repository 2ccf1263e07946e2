// Specifies SendQuota: at most the broker's Receive Maximum of publishes in flight (MQTT 5), 20 QoS 2 ones over 3.1.1, the rest in order, none kept once the client closes.
import assert from 'node:assert/strict';
import { QOS2_IN_FLIGHT_MQTT3, SendQuota } from '../nodes/session/send-quota';

/** Runs `count` sends through `quota`, recording the order they go out in. */
function sends(quota: SendQuota, count: number): { sent: number[] } {
  const sent: number[] = [];
  for (let i = 0; i < count; i++) quota.run(() => sent.push(i));
  return { sent };
}

describe('SendQuota', () => {
  it('over MQTT 3.1.1 holds QoS 2 publishes past 20 in flight and lets QoS 0 and 1 pass, whatever the CONNACK', () => {
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
    quota.run(() => sent.push('a'));
    quota.run(() => sent.push('b'));
    quota.connected(3);
    quota.run(() => sent.push('c'));
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

  it('lets every waiting send go on release, so each can fail back to its sender', () => {
    const quota = new SendQuota(5);
    quota.connected(1);
    const { sent } = sends(quota, 4);
    quota.release();
    assert.deepEqual(sent, [0, 1, 2, 3]);
    assert.equal(quota.queued, 0);
  });

  it('takes a send that ends at once, inside run, without losing count', () => {
    const quota = new SendQuota(5);
    quota.connected(1);
    const sent: number[] = [];
    // A send that fails synchronously ends before run returns, as a publish on a closing client does.
    for (let i = 0; i < 3; i++) quota.run(() => {
      sent.push(i);
      quota.ended();
    });
    assert.deepEqual(sent, [0, 1, 2]);
    assert.equal(quota.queued, 0);
  });
});
