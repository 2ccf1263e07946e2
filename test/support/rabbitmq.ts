// Test helper: a real three-node RabbitMQ 3.10 cluster (Debian's rabbitmq-server, MQTT plugin, quorum queues) on one host, on free loopback ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { exitOf, killOnExit } from './children.js';
import { freePort } from './ports.js';

/** The exact command that installs RabbitMQ; the preflight and every failure name it. */
export const RABBITMQ_INSTALL = 'sudo apt-get install -y rabbitmq-server';

/**
 * Where the package's own start script is looked for. Debian's `rabbitmq-server` on PATH is a
 * wrapper that switches to the rabbitmq user and drops the environment (node name, ports, data
 * dirs); /usr/lib/rabbitmq/bin/rabbitmq-server (`dpkg -L rabbitmq-server`) takes them as they are.
 * TEST_RABBITMQ_DIRS replaces these places, so a spec can stand for a machine without RabbitMQ.
 */
const scriptDirs = (): string[] => (process.env.TEST_RABBITMQ_DIRS ?? '/usr/lib/rabbitmq/bin').split(delimiter).filter(Boolean);

/** Only these places, never PATH: on PATH is the wrapper. */
const serverScript = (): string | undefined => scriptDirs().map((dir) => join(dir, 'rabbitmq-server')).find(isExecutable);

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function rabbitmqAvailable(): boolean {
  return serverScript() !== undefined;
}

export const RABBITMQ_MISSING = `RabbitMQ is not installed (no rabbitmq-server in ${scriptDirs().join(', ') || 'no place'}): run \`${RABBITMQ_INSTALL}\`, then \`npm test\` again`;

/** Fails, never skips: a broker spec that does not run must not let the suite pass. */
export function requireRabbitmq(): void {
  if (!rabbitmqAvailable()) throw new Error(RABBITMQ_MISSING);
}

// Three nodes boot together in about 30 s on a 2-core machine (peer discovery, then the Ra clusters).
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const LOG_LIMIT_CHARS = 2 * 1024 * 1024;

export interface RabbitNode {
  /** 1-based, the order of the broker list. */
  readonly index: number;
  readonly mqttPort: number;
  readonly url: string;
  readonly running: boolean;
  /** SIGTERM (a clean shutdown) or SIGKILL to the node's process group, and waits for it to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the node again on its data dir and ports; resolves once its MQTT listener accepts connections. */
  start(): Promise<void>;
  log(): string;
}

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** Every node's URL, in order: the `broker` property of a config node for the whole cluster. */
  readonly broker: string;
  stop(): Promise<void>;
}

/**
 * A node's rabbitmq.conf: its own listeners, the MQTT plugin's sessions in quorum queues (replicated
 * on every node, so a session's messages outlive the node it was on), and the cluster's members by
 * name (classic peer discovery: nodes started together form the cluster without rabbitmqctl).
 */
function config(amqpPort: number, mqttPort: number, names: string[]): string {
  return [
    `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
    `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
    'mqtt.allow_anonymous = true',
    'mqtt.durable_queue_type = quorum',
    'loopback_users = none',
    'cluster_formation.peer_discovery_backend = classic_config',
    ...names.map((n, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${n}`),
    '',
  ].join('\n');
}

/** Whether `port` on 127.0.0.1 accepts a TCP connection now. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once `port` on 127.0.0.1 accepts a TCP connection; rejects when the child exits first or time runs out. */
async function untilListening(port: number, child: ChildProcess, what: string, log: () => string): Promise<void> {
  const end = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during startup:\n${log().slice(-4000)}`);
    if (await listening(port)) return;
    if (Date.now() > end) throw new Error(`${what} did not accept MQTT connections on ${port} within ${START_TIMEOUT_MS} ms:\n${log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `size` nodes together and resolves once every one accepts MQTT connections. */
export async function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  requireRabbitmq();
  const script = serverScript() as string;
  const dir = mkdtempSync(join(tmpdir(), 'durable-rabbit-'));
  // One cookie for the cluster: Erlang reads it from $HOME/.erlang.cookie, which must be private.
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.erlang.cookie'), `durable-mqtt-test-${process.pid}-${Date.now()}`, { mode: 0o400 });
  const host = hostname().split('.')[0];
  const names = Array.from({ length: size }, (_, i) => `durable${i + 1}-${process.pid}@${host}`);
  const nodes: RabbitNode[] = [];
  for (const [i, name] of names.entries()) {
    const base = join(dir, `node${i + 1}`);
    mkdirSync(base);
    const [amqpPort, distPort, mqttPort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(join(base, 'rabbitmq.conf'), config(amqpPort, mqttPort, names));
    writeFileSync(join(base, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
    const env = {
      ...process.env,
      HOME: home,
      RABBITMQ_NODENAME: name,
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq.conf'),
      // Files that do not exist, so nothing of a system-wide installation (/etc/rabbitmq) is read.
      RABBITMQ_ADVANCED_CONFIG_FILE: join(base, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: join(base, 'rabbitmq-env.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(base, 'plugins-expand'),
      RABBITMQ_PID_FILE: join(base, 'pid'),
      RABBITMQ_LOGS: '-',
    };
    let child: ChildProcess | undefined;
    let text = '';
    const node: RabbitNode = {
      index: i + 1,
      mqttPort,
      url: `mqtt://127.0.0.1:${mqttPort}`,
      get running() {
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      async stop(signal = 'SIGTERM') {
        const c = child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        // The script runs the VM as its child: signal the whole process group (spawned detached, so the group is the node's own).
        process.kill(-(c.pid as number), signal);
        await exitOf(c, STOP_TIMEOUT_MS);
        // The script exits before its VM has gone (a SIGKILLed VM takes a moment to be torn down, its listener with it):
        // a start before that would find the old listener and the node name still taken.
        const end = Date.now() + STOP_TIMEOUT_MS;
        while (await listening(mqttPort)) {
          if (Date.now() > end) throw new Error(`RabbitMQ node ${name} still accepts connections ${STOP_TIMEOUT_MS} ms after ${signal}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async start() {
        const c = spawn(script, [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        child = c;
        killOnExit(c);
        // killOnExit signals the script alone; the VM it started would outlive the test process.
        process.once('exit', () => {
          if (c.exitCode === null && c.signalCode === null) process.kill(-(c.pid as number), 'SIGKILL');
        });
        const append = (chunk: Buffer): void => {
          text = (text + chunk.toString()).slice(-LOG_LIMIT_CHARS);
        };
        c.stdout?.on('data', append);
        c.stderr?.on('data', append);
        await untilListening(mqttPort, c, `RabbitMQ node ${name}`, () => text);
      },
      log: () => text,
    };
    nodes.push(node);
  }
  try {
    // Together: each waits for its peers before it opens its listeners.
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    throw err;
  }
  return {
    nodes,
    broker: nodes.map((n) => n.url).join(' '),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One cluster for the enclosing describe (stopped after it); fails with the install command where RabbitMQ is missing. */
export function rabbitClusterForSuite(size = 3): () => RabbitCluster {
  let cluster: RabbitCluster | undefined;
  before(async function () {
    this.timeout(START_TIMEOUT_MS + 30_000);
    cluster = await startRabbitCluster(size);
  });
  after(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the RabbitMQ cluster is not running');
    return cluster;
  };
}
