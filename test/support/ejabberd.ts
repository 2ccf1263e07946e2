// Test helper: run a private ejabberd (mod_mqtt) in a temp dir on a free loopback port, with one registered user.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { killOnExit } from './children.js';
import { freePort } from './ports.js';

export interface EjabberdOptions {
  /** user -> password, registered before the handle resolves. ejabberd refuses anonymous MQTT clients. */
  users?: Record<string, string>;
}

export interface EjabberdHandle {
  port: number;
  url: string;
  /** The XMPP domain; an MQTT user name `alice` is the account alice@<host>. */
  host: string;
  /** SIGTERM (the Erlang VM then runs init:stop()) and waits for exit; removes the temp dir. */
  stop(): Promise<void>;
  /** Everything the VM printed (ejabberd's log goes to stdout too). */
  log(): string;
}

/** The XMPP domain of the private instance; mod_mqtt puts every MQTT user in it. */
const XMPP_HOST = 'localhost';
// Booting the VM, Mnesia and the modules takes 10–15 s on a loaded 2-core machine.
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
/** Printed by our -eval once every user is registered: only then may a test connect. */
const READY_MARKER = 'DURABLE-MQTT-TEST-EJABBERD-READY';

/** The exact command that installs ejabberd; the preflight and every failure name it. */
export const EJABBERD_INSTALL = 'sudo apt-get install -y ejabberd';

/**
 * Where ejabberdctl is looked for besides PATH (Debian puts it in /usr/sbin). TEST_EJABBERD_DIRS
 * replaces these places (empty: PATH only), so a spec can stand for a machine without ejabberd.
 */
const ejabberdctlDirs = (): string[] => (process.env.TEST_EJABBERD_DIRS ?? '/usr/sbin:/usr/local/sbin').split(delimiter).filter(Boolean);

interface Runtime {
  erl: string;
  libs: string;
}

function findEjabberdctl(): string | undefined {
  for (const dir of [...ejabberdctlDirs(), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]) {
    const file = join(dir, 'ejabberdctl');
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
 * Debian starts ejabberd through /usr/sbin/ejabberdctl, a shell script that names the Erlang
 * binary (ERL=...) and the code path of ejabberd's applications (ERL_LIBS=...). We read both from
 * it and start `erl` ourselves: ejabberdctl would switch to the `ejabberd` user (which cannot read
 * a root-owned temp dir), insist on a distributed node name (epmd, cookie, clashes with a system
 * instance) and need a second VM to register users. Our VM is not distributed (nonode@nohost), so
 * it cannot clash with a system ejabberd, and registers its users with an -eval after start.
 *
 * Returns ERL and ERL_LIBS as ejabberdctl sets them; undefined when ejabberd is not installed.
 */
function runtime(): Runtime | undefined {
  const ctl = findEjabberdctl();
  if (!ctl) return undefined;
  const script = readFileSync(ctl, 'utf8');
  const erl = /^ERL="?([^"\n]+)"?$/m.exec(script)?.[1] ?? '/usr/bin/erl';
  const libs = /^ERL_LIBS='?([^'\n]+)'?$/m.exec(script)?.[1];
  if (!libs || !existsSync(erl) || !existsSync(libs)) return undefined;
  // The lib dir must really hold ejabberd (ejabberd-<version>/ebin/ejabberd.app).
  const app = readdirSync(libs).some((d) => d.startsWith('ejabberd') && existsSync(join(libs, d, 'ebin', 'ejabberd.app')));
  return app ? { erl, libs } : undefined;
}

export function ejabberdAvailable(): boolean {
  return runtime() !== undefined;
}

export const EJABBERD_MISSING = `ejabberd is not installed (looked for ejabberdctl, and the erl and ejabberd libraries it names, on PATH and in ${ejabberdctlDirs().join(', ') || 'no other place'}): run \`${EJABBERD_INSTALL}\`, then \`npm test\` again`;

/** Fails, never skips. */
export function requireEjabberd(): void {
  if (!ejabberdAvailable()) throw new Error(EJABBERD_MISSING);
}

/** ejabberd.yml for one private instance: only the MQTT listener, internal auth, Mnesia in the temp dir. */
function config(port: number): string {
  return `${[
    'hosts:',
    `  - ${XMPP_HOST}`,
    'loglevel: info',
    'log_rotate_count: 0',
    'auth_method: internal',
    'listen:',
    '  -',
    `    port: ${port}`,
    '    ip: "127.0.0.1"',
    '    module: mod_mqtt',
    'acl:',
    '  local:',
    '    user_regexp: ""',
    'access_rules:',
    '  local:',
    '    allow: local',
    'modules:',
    '  mod_mqtt: {}',
  ].join('\n')}\n`;
}

/** An Erlang binary literal for a string of ours (user names and passwords of tests: no quotes). */
function binary(s: string): string {
  if (!/^[\w.@-]+$/.test(s)) throw new Error(`unsupported character in "${s}"`);
  return `<<"${s}">>`;
}

export async function startEjabberd(opts: EjabberdOptions = {}): Promise<EjabberdHandle> {
  const rt = runtime();
  if (!rt) throw new Error(EJABBERD_MISSING);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ejabberd-test-'));
  const spool = join(dir, 'spool');
  const logs = join(dir, 'logs');
  mkdirSync(spool);
  mkdirSync(logs);
  const confFile = join(dir, 'ejabberd.yml');
  writeFileSync(confFile, config(port));

  // A refused registration stops the VM with the reason, so the start fails at once, not at the timeout.
  const register = Object.entries(opts.users ?? {}).map(([u, p]) => `ok = ejabberd_auth:try_register(${binary(u)}, <<"${XMPP_HOST}">>, ${binary(p)}), `);
  const ready = `try ${register.join('')}io:format("~s~n", ["${READY_MARKER}"]) catch C:E -> io:format("registration failed: ~p~n", [{C, E}]), halt(1) end`;
  const env = {
    ...process.env,
    EJABBERD_CONFIG_PATH: confFile,
    EJABBERD_LOG_PATH: join(logs, 'ejabberd.log'),
    ERL_LIBS: rt.libs,
    ERL_CRASH_DUMP_BYTES: '0',
  };
  // +K true as ejabberdctl; -mnesia dir keeps every table in our temp dir; -s ejabberd returns once started.
  const args = ['-noshell', '-noinput', '+K', 'true', '-mnesia', 'dir', `"${spool}"`, '-s', 'ejabberd', '-eval', ready];
  const child: ChildProcess = spawn(rt.erl, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let logText = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      logText += chunk;
    });
  }

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ejabberd did not start within ${START_TIMEOUT_MS} ms:\n${logText}`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      reject(new Error(`ejabberd exited during startup (code ${code}, signal ${signal}):\n${logText}`));
    };
    child.once('exit', onExit);
    const poll = setInterval(() => {
      if (!logText.includes(READY_MARKER)) return;
      clearInterval(poll);
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve();
    }, 50);
    child.once('exit', () => clearInterval(poll));
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, url: `mqtt://127.0.0.1:${port}`, host: XMPP_HOST, stop, log: () => logText };
}

/** One ejabberd for the enclosing describe (stopped after it); fails with the install command where it is missing. */
export function ejabberdForSuite(opts: EjabberdOptions = {}): () => EjabberdHandle {
  let handle: EjabberdHandle | undefined;
  before(async function () {
    requireEjabberd();
    this.timeout(START_TIMEOUT_MS + 5000);
    handle = await startEjabberd(opts);
  });
  after(async function () {
    this.timeout(STOP_TIMEOUT_MS + 5000);
    await handle?.stop();
  });
  return () => {
    if (!handle) throw new Error('ejabberd is not running');
    return handle;
  };
}
