// Specs for nodes/session/ledger.ts: the file ledger writes atomically and durably, and says why it could not read or write.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger, MemoryLedger } from '../nodes/session/ledger.js';

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
});
