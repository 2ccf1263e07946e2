// Specs for nodes/session/subscriptions/ledger.ts: the file ledger writes atomically and durably, and says why it could not read or write.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { QoS } from '../nodes/session/subscriptions/cover.js';
import { FileLedger, MemoryLedger } from '../nodes/session/subscriptions/ledger.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'ledger-'));

describe('ledger', () => {
  it('leaves only the ledger file behind a save, no temporary file', () => {
    const dir = join(fresh(), 'durable-mqtt');
    const ledger = new FileLedger(dir, 'mqtt://h:1883|id');
    ledger.save(new Map([['a/#', 1]]));
    ledger.save(new Map([['b/#', 2]]));
    assert.equal(readdirSync(dir).length, 1, readdirSync(dir).join(', '));
    assert.deepEqual(ledger.load(), new Map([['b/#', 2]]));
    assert.equal(ledger.problem, undefined);
  });

  it('keeps the MQTT 5 subscription identifiers with the filters, and knows none in a file written without them', () => {
    const dir = join(fresh(), 'durable-mqtt');
    new FileLedger(dir, 'k').save(new Map([['a/+/c', 1], ['a/b/+', 1]]), new Map([['a/+/c', 1], ['a/b/+', 2]]));
    assert.deepEqual(new FileLedger(dir, 'k').loadIds(), new Map([['a/+/c', 1], ['a/b/+', 2]]));
    new FileLedger(dir, 'k').save(new Map([['a/+/c', 1]]));
    assert.deepEqual(new FileLedger(dir, 'k').loadIds(), new Map());
    const memory = new MemoryLedger(`ids-${process.pid}`);
    memory.save(new Map([['x', 0]]), new Map([['x', 7]]));
    assert.deepEqual(new MemoryLedger(`ids-${process.pid}`).loadIds(), new Map([['x', 7]]));
    memory.clear();
    assert.deepEqual(memory.loadIds(), new Map());
  });

  it('knows nothing, and reports nothing, before the first save', () => {
    const ledger = new FileLedger(join(fresh(), 'durable-mqtt'), 'k');
    assert.equal(ledger.load(), undefined);
    assert.equal(ledger.problem, undefined);
    ledger.clear();
  });

  it('reports a corrupt file as its problem and knows nothing, so the session subscribes everything again', () => {
    const dir = fresh();
    const ledger = new FileLedger(dir, 'k');
    ledger.save(new Map([['a', 1]]));
    writeFileSync(join(dir, readdirSync(dir)[0]), '{ not json');
    assert.equal(ledger.load(), undefined);
    assert.match(String(ledger.problem?.message), /cannot read the subscription ledger .*\.json/);
  });

  it('throws when it cannot write, instead of losing the write silently', () => {
    const parent = fresh();
    writeFileSync(join(parent, 'durable-mqtt'), 'a file where the folder should be');
    const ledger = new FileLedger(join(parent, 'durable-mqtt'), 'k');
    assert.throws(() => ledger.save(new Map([['a', 1]])), /EEXIST|ENOTDIR/);
  });

  describe('held', () => {
    const subscriptions = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom<QoS>(0, 1, 2)), { selector: ([f]) => f, maxLength: 5 }).map((e) => new Map(e));
    const commits = fc.array(fc.option(subscriptions, { nil: undefined }), { minLength: 1, maxLength: 5 });

    it('is, after every save and clear, what a fresh ledger reads from the file', () => {
      fc.assert(
        fc.property(commits, (steps) => {
          const dir = fresh();
          const ledger = new FileLedger(dir, 'k');
          for (const step of steps) {
            if (step) ledger.save(step);
            else ledger.clear();
            assert.deepEqual(ledger.held, new FileLedger(dir, 'k').load());
          }
        }),
        { numRuns: 25 },
      );
    });

    it('is answered from memory: a file changed behind its back is not read again until load', () => {
      const dir = fresh();
      const ledger = new FileLedger(dir, 'k');
      ledger.save(new Map([['a', 1]]));
      writeFileSync(join(dir, readdirSync(dir)[0]), '{ not json');
      assert.deepEqual(ledger.held, new Map([['a', 1]]));
      assert.equal(ledger.load(), undefined);
      assert.equal(ledger.held, undefined);
    });

    it('reads the file when nothing was read or written yet, and keeps no map its caller goes on changing', () => {
      const dir = fresh();
      const written = new Map<string, QoS>([['a', 1]]);
      new FileLedger(dir, 'k').save(written);
      const ledger = new FileLedger(dir, 'k');
      assert.deepEqual(ledger.held, written);
      ledger.save(written);
      written.set('b', 2);
      assert.deepEqual(ledger.held, new Map([['a', 1]]));
    });

    it('is what the memory ledger loads', () => {
      const memory = new MemoryLedger(`held-${process.pid}`);
      assert.equal(memory.held, undefined);
      memory.save(new Map([['x', 2]]));
      assert.deepEqual(memory.held, memory.load());
      memory.clear();
      assert.equal(memory.held, undefined);
    });
  });
});
