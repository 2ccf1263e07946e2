// Specs for scripts/test-preflight.ts: the README's test command never passes on a machine without Mosquitto.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { REPO_ROOT } from './support/demo';
import { MOSQUITTO_INSTALL } from './support/mosquitto';

describe('test preflight (npm test without Mosquitto)', function () {
  it('stops `npm test` at once, before any spec, naming the exact install command', () => {
    // PATH keeps node and npm but no sbin; TEST_MOSQUITTO_DIRS empty hides /usr/sbin; no install as root.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, TEST_MOSQUITTO_DIRS: '', TEST_NO_INSTALL: '1' };
    const run = spawnSync('npm', ['test'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 120_000 });
    const output = `${run.stdout}${run.stderr}`;
    assert.notEqual(run.status, 0, output);
    assert.ok(output.includes(MOSQUITTO_INSTALL), output);
    assert.doesNotMatch(output, /passing|pending/, 'no spec ran');
  });
});
