// Specs for scripts/demo-credentials.ts: the demo's credential secret per user directory, and the credentials file under it.
import { strict as assert } from 'node:assert';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentialSecret, encrypt, LEGACY_SECRET, readCredentials, SECRET_FILE, writeCredentials } from '../scripts/demo-credentials';
import { tempDirForEach } from './support/temp-dir';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('demo credentials', () => {
  const tmp = tempDirForEach('demo-credentials-');
  const userDir = (name: string): string => {
    const dir = join(tmp(), name);
    mkdirSync(dir);
    return dir;
  };

  it('makes a different secret for each user directory, 0600, and reuses it at the next start', () => {
    const [a, b] = [userDir('a'), userDir('b')];
    const first = credentialSecret(a);
    assert.equal(first.created, true);
    assert.notEqual(credentialSecret(b).secret, first.secret);
    assert.deepEqual(credentialSecret(a), { secret: first.secret, created: false });
    assert.equal(modeOf(join(a, SECRET_FILE)), '600');
  });

  it('refuses an empty secret file rather than make a new secret the saved credentials cannot be read with', () => {
    const dir = userDir('empty');
    writeFileSync(join(dir, SECRET_FILE), '\n');
    assert.throws(() => credentialSecret(dir), /is empty/);
  });

  it('reads the credentials an earlier version wrote under the shared secret once, when the directory gets its own, and writes them back 0600 under it', () => {
    const dir = userDir('upgraded');
    const file = join(dir, 'flows_cred.json');
    writeFileSync(file, JSON.stringify(encrypt({ mine: { password: 'p' } }, LEGACY_SECRET)));
    const key = credentialSecret(dir);
    assert.deepEqual(readCredentials(file, key), { mine: { password: 'p' } });
    assert.deepEqual(readCredentials(file, { ...key, created: false }), {}, 'not after that');
    writeCredentials(file, { mine: { password: 'p' } }, key.secret);
    assert.equal(modeOf(file), '600');
    assert.deepEqual(readCredentials(file, credentialSecret(dir)), { mine: { password: 'p' } });
  });
});
