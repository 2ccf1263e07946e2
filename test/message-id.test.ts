// Specs for nodes/consumer/message-id.ts: msg._msgid in Node-RED's shape, unique within a runtime and across restarts.
import { strict as assert } from 'node:assert';
import { messageIds } from '../nodes/consumer/message-id';

describe('message id', () => {
  it('gives 16 hex digits, as Node-RED’s own ids, each different from the last 100,000', () => {
    const next = messageIds();
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = next();
      assert.match(id, /^[0-9a-f]{16}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 100_000);
  });

  it('starts each runtime (each messageIds) on its own random prefix', () => {
    const prefixes = new Set(Array.from({ length: 20 }, () => messageIds()().slice(0, 8)));
    assert.ok(prefixes.size >= 19, `only ${prefixes.size} prefixes in 20 starts`);
  });
});
