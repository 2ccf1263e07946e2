// Test helper: run a real Mosquitto broker in a temp dir, with optional persistence, users and TLS.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, pbkdf2Sync } from 'node:crypto';
import { accessSync, constants, mkdtempSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { killOnExit } from './children.js';
import { freePort } from './ports.js';

export interface MosquittoOptions {
  port?: number;
  persistence?: boolean;
  /** Where the persistence DB lives; defaults to the fresh temp dir. */
  dataDir?: string;
  /** max_queued_messages per client; default 100000 so bulk tests don't hit Mosquitto's 1000. */
  maxQueued?: number;
  /** user -> password; turns anonymous access off. */
  users?: Record<string, string>;
  tls?: { cafile: string; certfile: string; keyfile: string };
  /** Appended verbatim to the generated config. */
  extraConfig?: string;
}

export interface MosquittoHandle {
  port: number;
  url: string;
  dataDir: string;
  /** Sends `signal` (default SIGTERM, which makes Mosquitto save its DB) and waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** stop('SIGTERM') then start again with the same config and port. */
  restart(): Promise<void>;
  /** stdout+stderr of every run of this handle (tail only, if it grew very large). */
  log(): string;
  /** The broker process's pid while it runs (the bench reads its CPU time). */
  readonly pid: number | undefined;
}

const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;
// A bulk test at log_type all logs several lines per message; keep memory bounded.
const LOG_LIMIT_CHARS = 8 * 1024 * 1024;

function findBinary(name: string, candidates: string[]): string | undefined {
  const dirs = [...candidates, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Debian installs the broker in /usr/sbin, which is not on a normal user's PATH. TEST_MOSQUITTO_DIRS
 * replaces these extra places (empty: PATH only), so a spec can stand for a machine without Mosquitto.
 */
const extraDirs = (): string[] => (process.env.TEST_MOSQUITTO_DIRS ?? '/usr/sbin:/usr/local/sbin').split(delimiter).filter(Boolean);

const mosquittoBin = (): string | undefined => findBinary('mosquitto', extraDirs());

export function mosquittoAvailable(): boolean {
  return mosquittoBin() !== undefined;
}

/** The exact command that installs what the broker specs need; the preflight and every failure name it. */
export const MOSQUITTO_INSTALL = 'sudo apt-get install -y mosquitto mosquitto-clients';
export const MOSQUITTO_MISSING = `mosquitto is not installed (looked on PATH and in ${extraDirs().join(', ') || 'no other place'}): run \`${MOSQUITTO_INSTALL}\`, then \`npm test\` again`;

/** Fails, never skips: a broker spec that does not run must not let the suite pass. */
export function requireMosquitto(): void {
  if (!mosquittoAvailable()) throw new Error(MOSQUITTO_MISSING);
}

interface Counters {
  subscribes: number;
  unsubscribes: number;
}
const counters = new WeakMap<MosquittoHandle, Counters>();

/** "Received SUBSCRIBE from <client id>" lines logged so far (log_type all), across restarts. */
export function mosquittoSubscribeCount(handle: MosquittoHandle): number {
  return countersOf(handle).subscribes;
}

/** "Received UNSUBSCRIBE from <client id>" lines logged so far, across restarts. */
export function mosquittoUnsubscribeCount(handle: MosquittoHandle): number {
  return countersOf(handle).unsubscribes;
}

function countersOf(handle: MosquittoHandle): Counters {
  const c = counters.get(handle);
  if (!c) throw new Error('not a handle returned by startMosquitto()');
  return c;
}

/** Writes a Mosquitto 2 password file: mosquitto_passwd if installed, else the same $7$ PBKDF2 format. */
function writePasswordFile(file: string, users: Record<string, string>): void {
  writeFileSync(file, '', { mode: 0o600 });
  const passwd = findBinary('mosquitto_passwd', ['/usr/bin']);
  for (const [user, password] of Object.entries(users)) {
    if (passwd) {
      execFileSync(passwd, ['-b', file, user, password], { stdio: ['ignore', 'pipe', 'pipe'] });
    } else {
      // Mosquitto 2 default: $7$<iterations>$<b64 salt>$<b64 PBKDF2-HMAC-SHA512(password, salt)>.
      const salt = randomBytes(12);
      const hash = pbkdf2Sync(password, salt, 101, 64, 'sha512');
      appendFileSync(file, `${user}:$7$101$${salt.toString('base64')}$${hash.toString('base64')}\n`);
    }
  }
  chmodSync(file, 0o600);
}

/**
 * Resolves once the port accepts TCP connections AND this process has logged "... running".
 * The port alone is not enough: if the port is taken, the connect succeeds against the other
 * listener while our Mosquitto is still about to fail with "Address already in use".
 */
function waitUntilReady(port: number, child: ChildProcess, isRunning: () => boolean, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    // No point polling once the broker died (bad config, port in use, ...).
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(new Error(`mosquitto exited during startup (code ${code}, signal ${signal}):\n${log()}`));
    child.once('exit', onExit);
    const retry = (): void => {
      if (done) return;
      if (Date.now() > deadline) {
        finish(new Error(`mosquitto did not accept connections on ${port} within ${START_TIMEOUT_MS} ms:\n${log()}`));
      } else {
        timer = setTimeout(attempt, 50);
      }
    };
    const attempt = (): void => {
      if (!isRunning()) {
        retry();
        return;
      }
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        finish();
      });
      socket.once('error', () => {
        socket.destroy();
        retry();
      });
    };
    attempt();
  });
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const bin = mosquittoBin();
  if (!bin) throw new Error(MOSQUITTO_MISSING);

  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-test-'));
  const dataDir = opts.dataDir ?? dir;
  const confFile = join(dir, 'mosquitto.conf');

  const lines = [
    // Started as root, Mosquitto 2 would switch to user "mosquitto", which cannot write our temp dir.
    'user root',
    `listener ${port} 127.0.0.1`,
  ];
  if (opts.tls) {
    lines.push(`cafile ${opts.tls.cafile}`, `certfile ${opts.tls.certfile}`, `keyfile ${opts.tls.keyfile}`);
  }
  if (opts.users) {
    const passwordFile = join(dir, 'passwd');
    writePasswordFile(passwordFile, opts.users);
    lines.push('allow_anonymous false', `password_file ${passwordFile}`);
  } else {
    lines.push('allow_anonymous true');
  }
  lines.push(`max_queued_messages ${opts.maxQueued ?? 100000}`);
  if (opts.persistence) {
    // The trailing slash matters: Mosquitto concatenates location and file name.
    lines.push('persistence true', `persistence_location ${dataDir.endsWith('/') ? dataDir : `${dataDir}/`}`);
  } else {
    lines.push('persistence false');
  }
  // stderr, not stdout: stdout to a pipe is block-buffered by Mosquitto, so lines would only
  // show up at exit; stderr is unbuffered and lets tests count SUBSCRIBEs as they happen.
  lines.push('log_type all', 'log_dest stderr');
  if (opts.extraConfig) lines.push(opts.extraConfig);
  writeFileSync(confFile, `${lines.join('\n')}\n`);

  const count: Counters = { subscribes: 0, unsubscribes: 0 };
  let logText = '';
  let truncated = false;
  const appendLog = (text: string): void => {
    logText += text;
    if (logText.length > LOG_LIMIT_CHARS) {
      logText = logText.slice(logText.length - LOG_LIMIT_CHARS / 2);
      truncated = true;
    }
  };
  const log = (): string => (truncated ? `[earlier log dropped]\n${logText}` : logText);

  // Counting happens per complete line, so it survives log truncation and chunk splits.
  const lineReader = (onRunning: () => void): ((chunk: string) => void) => {
    let partial = '';
    return (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.includes('Received SUBSCRIBE from ')) count.subscribes++;
        else if (line.includes('Received UNSUBSCRIBE from ')) count.unsubscribes++;
        else if (/: mosquitto version \S+ running$/.test(line)) onRunning();
      }
    };
  };

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const proc = spawn(bin, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(proc);
    child = proc;
    let running = false;
    for (const stream of [proc.stdout, proc.stderr]) {
      const countLines = lineReader(() => {
        running = true;
      });
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        appendLog(chunk);
        countLines(chunk);
      });
    }
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    try {
      await waitUntilReady(port, proc, () => running, log);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    // 'close' (not 'exit') so the last log lines have been read when we resolve.
    const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  const handle: MosquittoHandle = {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    dataDir,
    stop,
    restart: async () => {
      await stop('SIGTERM');
      await launch();
    },
    log,
    get pid() {
      return child?.pid;
    },
  };
  counters.set(handle, count);
  return handle;
}

/**
 * Starts one Mosquitto for the enclosing describe (stopped after it) and returns a getter for
 * it; where Mosquitto is not installed the describe fails with the command that installs it.
 */
export function mosquittoForSuite(opts: MosquittoOptions = {}): () => MosquittoHandle {
  let handle: MosquittoHandle | undefined;
  before(async function () {
    requireMosquitto();
    handle = await startMosquitto(opts);
  });
  after(async () => {
    await handle?.stop();
  });
  return () => {
    if (!handle) throw new Error('Mosquitto is not running');
    return handle;
  };
}
