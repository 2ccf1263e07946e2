// Finds, starts and stops the demo's detached broker process (scripts/demo-broker.ts) through the record file it keeps in the user directory.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { HOST } from './demo-ports';

/** The broker's session store, inside the user directory. */
export const BROKER_DATA_DIR = 'aedes-sessions';
/** Written by the broker once it listens, removed when it stops. */
export const BROKER_FILE = 'demo-broker.json';
/** The broker's output (appended across runs). */
export const BROKER_LOG = 'demo-broker.log';
// Loading tsx, Aedes and LevelDB takes a few seconds on a loaded machine.
const START_TIMEOUT_MS = 30_000;
// Aedes closes in milliseconds; past this the broker is killed.
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export interface BrokerRecord {
  pid: number;
  port: number;
  url: string;
  dataDir: string;
}

const REPO_ROOT = resolve(__dirname, '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readRecord(userDir: string): BrokerRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(join(userDir, BROKER_FILE), 'utf8')) as Partial<BrokerRecord>;
    return typeof r.pid === 'number' && typeof r.port === 'number' && typeof r.url === 'string' && typeof r.dataDir === 'string' ? (r as BrokerRecord) : undefined;
  } catch {
    return undefined; // no broker recorded, or a file cut short: either way none to reuse
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: the pid now belongs to another user's process, which is not our broker.
    return false;
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/** The recorded broker if its process lives and its port answers; a stale record (reboot, kill -9) is removed. */
export async function runningBroker(userDir: string): Promise<BrokerRecord | undefined> {
  const record = readRecord(userDir);
  if (!record) return undefined;
  if (alive(record.pid) && (await accepts(record.port))) return record;
  rmSync(join(userDir, BROKER_FILE), { force: true });
  return undefined;
}

/** Starts scripts/demo-broker.ts detached (its own process group, so Ctrl-C here never reaches it) and waits until it listens. */
export async function startBroker(userDir: string, env: NodeJS.ProcessEnv): Promise<BrokerRecord> {
  const logFile = join(userDir, BROKER_LOG);
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'demo-broker.ts')], {
    cwd: REPO_ROOT,
    env: { ...env, DEMO_USERDIR: userDir },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  const end = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the demo broker exited (code ${child.exitCode}): see ${logFile}\n${tail(logFile)}`);
    }
    const record = readRecord(userDir);
    if (record && record.pid === child.pid && (await accepts(record.port))) return record;
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`the demo broker did not listen within ${START_TIMEOUT_MS / 1000} s: see ${logFile}\n${tail(logFile)}`);
    }
    await sleep(POLL_MS);
  }
}

/** Stops the recorded broker (SIGTERM, SIGKILL after a timeout); the record it stopped, or undefined if none ran. */
export async function stopBroker(userDir: string): Promise<BrokerRecord | undefined> {
  const record = await runningBroker(userDir);
  if (!record) return undefined;
  process.kill(record.pid, 'SIGTERM');
  const end = Date.now() + STOP_TIMEOUT_MS;
  while (alive(record.pid)) {
    if (Date.now() > end) process.kill(record.pid, 'SIGKILL');
    await sleep(POLL_MS);
  }
  rmSync(join(userDir, BROKER_FILE), { force: true });
  return record;
}

/** The last lines of a log file, for an error message. */
function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
