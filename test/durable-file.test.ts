// Specs for nodes/session/lib/durable-file.ts: the files behind the subscription ledger and the dynamic subscriptions are private to Node-RED's user.
import { strict as assert } from 'node:assert';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDynamicStore } from '../nodes/consumer/dynamic-store';
import { DurableFile } from '../nodes/session/lib/durable-file';
import { FileLedger } from '../nodes/session/subscriptions/ledger';
import { tempDirForEach } from './support/temp-dir';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('durable file', () => {
  const tmp = tempDirForEach('durable-file-');

  it('creates its folders 0700 and its file 0600, whatever the umask lets others read', () => {
    const dir = join(tmp(), 'userdir', 'durable-mqtt');
    const file = new DurableFile(dir, 'key');
    file.write({ a: 1 });
    assert.deepEqual([modeOf(join(tmp(), 'userdir')), modeOf(dir), modeOf(file.path)], ['700', '700', '600']);
  });

  it('makes a file and a folder an earlier version left readable private at the next write', () => {
    const dir = join(tmp(), 'durable-mqtt');
    mkdirSync(dir, { mode: 0o755 });
    const file = new DurableFile(dir, 'key');
    writeFileSync(file.path, '{}', { mode: 0o644 });
    file.write({ a: 2 });
    assert.deepEqual([modeOf(dir), modeOf(file.path)], ['700', '600']);
  });

  it('is what the subscription ledger and the dynamic subscriptions are written through', () => {
    const dir = join(tmp(), 'durable-mqtt');
    const ledger = new FileLedger(dir, 'mqtt://h:1883|id');
    ledger.save(new Map([['a/#', 1]]));
    new FileDynamicStore(dir, 'node-1').save([{ topic: 'x' }]);
    assert.deepEqual([new DurableFile(dir, 'mqtt://h:1883|id').path, new DurableFile(dir, 'node-1', 'dynamic-').path].map(modeOf), ['600', '600']);
  });
});
