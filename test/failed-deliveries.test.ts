// Specs for the memory of failed deliveries: by packet identifier, checked by fingerprint, bounded.
import assert from 'node:assert/strict';
import { FailedDeliveries, Received } from '../nodes/consumer/failed-deliveries';

const received = (id: number, dup: boolean, topic = 't', payload = 'p'): Received => new Received(id, dup, topic, Buffer.from(payload));

describe('failed deliveries', () => {
  it('finds the redelivery (DUP set) of a message that failed, by packet identifier, topic and payload', () => {
    const memory = new FailedDeliveries<number>();
    memory.remember(received(7, false), 1);
    assert.equal(memory.lookup(received(7, true)), 1);
    assert.equal(memory.lookup(received(7, true, 'other')), undefined, 'another topic');
    assert.equal(memory.lookup(received(7, true, 't', 'other')), undefined, 'another payload');
    assert.equal(memory.lookup(received(8, true)), undefined, 'another identifier');
  });

  it('forgets an entry when a first delivery (no DUP) comes on its identifier: the broker is done with the old message', () => {
    const memory = new FailedDeliveries<number>();
    memory.remember(received(7, false), 1);
    assert.equal(memory.lookup(received(7, false)), undefined);
    assert.equal(memory.size, 0);
  });

  it('fingerprints nothing while it remembers nothing, nor a message on an identifier it does not hold', () => {
    const memory = new FailedDeliveries<number>();
    const r = received(7, true);
    const hashed = (x: Received): boolean => (x as unknown as { print?: string }).print !== undefined;
    memory.lookup(r);
    assert.equal(hashed(r), false);
    memory.remember(received(8, false), 1);
    memory.lookup(r);
    assert.equal(hashed(r), false);
  });

  it('forgets an acknowledged message, and only that one', () => {
    const memory = new FailedDeliveries<number>();
    memory.remember(received(7, false), 1);
    memory.forget(received(7, true, 'other'));
    assert.equal(memory.size, 1);
    memory.forget(received(7, true));
    assert.equal(memory.size, 0);
  });

  it('holds at most its limit, forgetting the oldest first', () => {
    const memory = new FailedDeliveries<number>(3);
    for (const id of [1, 2, 3, 4]) memory.remember(received(id, false), id);
    assert.equal(memory.size, 3);
    assert.equal(memory.lookup(received(1, true)), undefined, 'the oldest went');
    assert.deepEqual([2, 3, 4].map((id) => memory.lookup(received(id, true))), [2, 3, 4]);
    // Remembering again moves an entry to the young end.
    memory.remember(received(2, true), 5);
    memory.remember(received(5, false), 5);
    assert.equal(memory.lookup(received(3, true)), undefined);
    assert.equal(memory.lookup(received(2, true)), 5);
  });
});
