// Specs for the subscription plan of a broker config: the broker filters its consumers need, their QoS and options, and the Receive Maximum.
import assert from 'node:assert/strict';
import { planOf } from '../nodes/broker/subscription-plan';
import type { Consumer, FilterOptions } from '../nodes/broker/types';

/** A consumer as the plan sees it: only its filters, QoS, options and window matter here. */
function consumer(c: Partial<Pick<Consumer, 'filters' | 'qos' | 'flags' | 'window'>> & { options?: Map<string, FilterOptions> }): Consumer {
  return { filters: [], qos: 1, stopping: () => undefined, deliver: () => undefined, onState: () => undefined, onSubscribeFailed: () => undefined, ...c };
}

describe('subscription plan', () => {
  it('wants each filter once, at the highest QoS any consumer asks for it', () => {
    const plan = planOf([consumer({ filters: ['a/#', 'b'], qos: 0 }), consumer({ filters: ['a/#'], qos: 2 }), consumer({ filters: ['b'], qos: 1 })]);
    assert.deepEqual([...plan.wanted], [['a/#', 2], ['b', 1]]);
  });

  it('takes a dynamic filter\'s own QoS and options over the node\'s', () => {
    const options = new Map<string, FilterOptions>([['d/1', { qos: 2, flags: { nl: true } }]]);
    const plan = planOf([consumer({ filters: ['d/1', 'd/2'], qos: 0, flags: { rap: true }, options })]);
    assert.deepEqual([...plan.wanted], [['d/1', 2], ['d/2', 0]]);
    assert.deepEqual(plan.flags, [['d/1', { nl: true }], ['d/2', { rap: true }]]);
  });

  it('lists every consumer\'s options for a shared filter, for the session to merge', () => {
    const plan = planOf([consumer({ filters: ['s'], flags: { nl: true } }), consumer({ filters: ['s'] })]);
    assert.deepEqual(plan.flags, [['s', { nl: true }], ['s', {}]]);
  });

  it('asks for a Receive Maximum of the windows\' sum, at most 65,535, and none when no consumer has a window', () => {
    assert.equal(planOf([consumer({ window: 1000 }), consumer({ window: 24 }), consumer({})]).receiveMaximum, 1024);
    assert.equal(planOf([consumer({ window: 65000 }), consumer({ window: 1000 })]).receiveMaximum, 65535);
    assert.equal(planOf([consumer({}), consumer({})]).receiveMaximum, undefined);
    assert.equal(planOf([]).wanted.size, 0);
  });
});
