// Specs for nodes/session/connection/refusals.ts: which filter a broker refuses by closing the connection on SUBSCRIBE.
import { strict as assert } from 'node:assert';
import type { QoS } from '../nodes/session/subscriptions/cover.js';
import { CLOSED_ON_SUBSCRIBE, REFUSAL_CLOSES, Refusals } from '../nodes/session/connection/refusals.js';

const plan = (...filters: string[]): Map<string, QoS> => new Map<string, QoS>(filters.map((f) => [f, 1]));

describe('refusals', () => {
  it('sends every filter in one SUBSCRIBE while none was closed on', () => {
    assert.deepEqual(new Refusals().batches(plan('a', 'b')), [[['a', 1], ['b', 1]]]);
  });

  it('asks for the filters of a closed SUBSCRIBE one per SUBSCRIBE, after the others', () => {
    const r = new Refusals();
    r.closedOn(['a', 'b'], undefined);
    assert.deepEqual(r.batches(plan('a', 'b', 'c')), [[['c', 1]], [['a', 1]], [['b', 1]]]);
    assert.deepEqual([...r.entries()], [], 'a close on several filters refuses none of them');
  });

  it(`refuses a filter after ${REFUSAL_CLOSES} closes on it alone, with the DISCONNECT code or ${CLOSED_ON_SUBSCRIBE}`, () => {
    const r = new Refusals();
    r.closedOn(['$share/g/x'], undefined);
    assert.deepEqual([...r.entries()], []);
    const shown = r.closedOn(['$share/g/x'], undefined);
    assert.deepEqual([...r.entries()], [['$share/g/x', CLOSED_ON_SUBSCRIBE]]);
    assert.equal(shown.reason, 'subscriptionRefused');
    assert.match(shown.detail, /after SUBSCRIBE \$share\/g\/x$/);
    const coded = new Refusals();
    coded.closedOn(['y'], 0x9e);
    assert.equal(coded.closedOn(['y'], 0x9e).reason, 'sharedNotSupported');
    assert.deepEqual([...coded.entries()], [['y', 0x9e]]);
  });

  it('forgets a suspect the broker answered with a SUBACK, and asks again for refused filters after clear', () => {
    const r = new Refusals();
    r.closedOn(['a', 'b'], undefined);
    r.answered('a');
    assert.deepEqual(r.batches(plan('a', 'b')), [[['a', 1]], [['b', 1]]]);
    r.closedOn(['b'], undefined);
    assert.deepEqual([...r.entries()].map(([f]) => f), ['b']);
    r.clear();
    assert.deepEqual([...r.entries()], []);
  });
});
