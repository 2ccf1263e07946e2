// `npm test` runs this first (pretest): it installs the brokers the specs run (Mosquitto, ejabberd, RabbitMQ) where it can, else stops at once with the exact command.
import { spawnSync } from 'node:child_process';
import { EJABBERD_INSTALL, EJABBERD_MISSING, ejabberdAvailable } from '../test/support/ejabberd';
import { MOSQUITTO_INSTALL, MOSQUITTO_MISSING, mosquittoAvailable } from '../test/support/mosquitto';
import { RABBITMQ_INSTALL, RABBITMQ_MISSING, rabbitmqAvailable } from '../test/support/rabbitmq';

interface Broker {
  name: string;
  available: () => boolean;
  /** The Debian packages, taken from the install command every failure names. */
  packages: string[];
  missing: string;
}

const packagesOf = (command: string): string[] => command.split(' -y ')[1].split(' ');

const BROKERS: Broker[] = [
  { name: 'mosquitto', available: mosquittoAvailable, packages: packagesOf(MOSQUITTO_INSTALL), missing: MOSQUITTO_MISSING },
  { name: 'ejabberd', available: ejabberdAvailable, packages: packagesOf(EJABBERD_INSTALL), missing: EJABBERD_MISSING },
  { name: 'rabbitmq', available: rabbitmqAvailable, packages: packagesOf(RABBITMQ_INSTALL), missing: RABBITMQ_MISSING },
];

/** apt-get as root, as `.ci/run` does; anywhere else installing is the user's call. */
function install(packages: string[]): boolean {
  if (process.getuid?.() !== 0 || process.env.TEST_NO_INSTALL) return false;
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return false;
  console.log(`[pretest] missing: apt-get install -y ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...packages]]) {
    if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0) return false;
  }
  return true;
}

const missing = BROKERS.filter((b) => !b.available());
if (missing.length > 0) {
  install(missing.flatMap((b) => b.packages));
  const still = missing.filter((b) => !b.available());
  for (const b of still) console.error(`[pretest] ${b.missing}`);
  if (still.length > 0) process.exit(1);
}
