// Specs for scripts/test-preflight.ts: the README's test command never passes on a machine without one of the brokers the specs run.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { REPO_ROOT } from './support/demo';
import { EJABBERD_INSTALL } from './support/ejabberd';
import { MOSQUITTO_INSTALL } from './support/mosquitto';
import { RABBITMQ_INSTALL } from './support/rabbitmq';

/** Runs `npm test` with PATH keeping node and npm but no sbin, no install as root, and `hide` on top. */
function npmTest(hide: Record<string, string>): { status: number | null; output: string } {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, TEST_NO_INSTALL: '1', ...hide };
  const run = spawnSync('npm', ['test'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('test preflight (npm test without a broker)', function () {
  this.timeout(120_000);

  it('without Mosquitto: stops `npm test` at once, before any spec, naming the exact install command', () => {
    // TEST_MOSQUITTO_DIRS empty hides /usr/sbin.
    const { status, output } = npmTest({ TEST_MOSQUITTO_DIRS: '' });
    assert.notEqual(status, 0, output);
    assert.ok(output.includes(MOSQUITTO_INSTALL), output);
    assert.doesNotMatch(output, /passing|pending/, 'no spec ran');
  });

  it('without ejabberd: stops `npm test` at once, before any spec, naming the exact install command', () => {
    // TEST_EJABBERD_DIRS empty hides /usr/sbin/ejabberdctl; Mosquitto stays visible.
    const { status, output } = npmTest({ TEST_EJABBERD_DIRS: '' });
    assert.notEqual(status, 0, output);
    assert.ok(output.includes(EJABBERD_INSTALL), output);
    assert.ok(!output.includes(MOSQUITTO_INSTALL), `only the missing broker is named:\n${output}`);
    assert.doesNotMatch(output, /passing|pending/, 'no spec ran');
  });

  it('without RabbitMQ: stops `npm test` at once, before any spec, naming the exact install command', () => {
    // TEST_RABBITMQ_DIRS empty hides /usr/lib/rabbitmq/bin; Mosquitto and ejabberd stay visible.
    const { status, output } = npmTest({ TEST_RABBITMQ_DIRS: '' });
    assert.notEqual(status, 0, output);
    assert.ok(output.includes(RABBITMQ_INSTALL), output);
    assert.ok(!output.includes(MOSQUITTO_INSTALL) && !output.includes(EJABBERD_INSTALL), `only the missing broker is named:\n${output}`);
    assert.doesNotMatch(output, /passing|pending/, 'no spec ran');
  });
});
