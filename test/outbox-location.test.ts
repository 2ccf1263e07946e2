// Specs for nodes/publisher/outbox-location.ts: which folder an out node's outbox is, and which folders of the first layout it takes over.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { adoptLegacyOutbox, outboxDir, outboxRoot } from '../nodes/publisher/outbox-location';
import { tempDirForEach } from './support/temp-dir';

const A = { url: 'mqtt://a:1883', clientId: 'pub' };

describe('outbox location', () => {
  const userDir = tempDirForEach('outbox-location-');

  it('names one folder under the outbox root per node id, broker URL and client ID', () => {
    const dirs = [outboxDir(userDir(), 'n1', A), outboxDir(userDir(), 'n2', A), outboxDir(userDir(), 'n1', { ...A, url: 'mqtt://b:1883' }), outboxDir(userDir(), 'n1', { ...A, clientId: 'other' })];
    assert.equal(new Set(dirs).size, 4);
    for (const d of [...dirs, outboxDir(userDir(), '../../x', A), outboxDir(userDir(), '/etc', A)]) assert.equal(dirname(d), outboxRoot(userDir()));
    assert.equal(outboxDir(userDir(), 'n1', A), dirs[0], 'the same node and session always find the same folder');
  });

  it('moves a first-layout folder of a plain id into the new one, and leaves it when the new one exists', () => {
    const legacy = join(outboxRoot(userDir()), 'a1b2c3d4.e5f6');
    mkdirSync(legacy, { recursive: true });
    const dir = outboxDir(userDir(), 'a1b2c3d4.e5f6', A);
    assert.deepEqual(adoptLegacyOutbox(userDir(), 'a1b2c3d4.e5f6', dir), { kind: 'moved', from: legacy });
    assert.deepEqual([existsSync(legacy), existsSync(dir)], [false, true]);
    mkdirSync(legacy);
    assert.deepEqual(adoptLegacyOutbox(userDir(), 'a1b2c3d4.e5f6', dir), { kind: 'left', from: legacy });
    assert.ok(existsSync(legacy));
  });

  it('never takes a folder for an id that leads out of the root, is only dots, or looks like a hashed folder', () => {
    const hashed = outboxDir(userDir(), 'someone-else', A);
    mkdirSync(hashed, { recursive: true });
    mkdirSync(join(userDir(), 'escape'));
    for (const id of ['../../escape', '..', '.', hashed.slice(-32)]) {
      assert.equal(adoptLegacyOutbox(userDir(), id, outboxDir(userDir(), id, A)), undefined, id);
    }
    assert.deepEqual([existsSync(hashed), existsSync(join(userDir(), 'escape'))], [true, true]);
  });
});
