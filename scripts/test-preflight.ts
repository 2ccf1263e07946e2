// `npm test` runs this first (pretest): it installs Mosquitto where it can, else stops at once with the exact command.
import { spawnSync } from 'node:child_process';
import { MOSQUITTO_MISSING, mosquittoAvailable } from '../test/support/mosquitto';

const APT_PACKAGES = ['mosquitto', 'mosquitto-clients'];

/** apt-get as root, as `.ci/run` does; anywhere else installing is the user's call. */
function install(): boolean {
  if (process.getuid?.() !== 0 || process.env.TEST_NO_INSTALL) return false;
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return false;
  console.log(`[pretest] mosquitto is missing: apt-get install -y ${APT_PACKAGES.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...APT_PACKAGES]]) {
    if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0) return false;
  }
  return mosquittoAvailable();
}

if (!mosquittoAvailable() && !install()) {
  console.error(`[pretest] ${MOSQUITTO_MISSING}`);
  process.exit(1);
}
