// Test helper: Node-RED (the one test/support/runtime.ts names) as a separate OS process loading this package, so tests can SIGKILL and restart it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exitOf, killOnExit } from './children.js';
import { freePort } from './ports.js';
import { NODE_RED_CLI } from './runtime.js';

export const REPO_ROOT = resolve(__dirname, '..', '..');
const FLOW_FILE = 'flows.json';
/** Node's own flags for every Node-RED started here, e.g. `NODE_RED_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'` to profile a bench (NODE_OPTIONS refuses --cpu-prof). */
const NODE_ARGS = (process.env.NODE_RED_NODE_ARGS ?? '').split(' ').filter(Boolean);
const START_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 15_000;
// Node-RED's own log line once every node of a (re)deployed flow has been started, for each deploy type.
const STARTED = /\[info\] Started (modified )?(flows|nodes)/g;
// What Node-RED prints when our package failed to load: no point waiting for "Started flows".
const BROKEN = /Waiting for missing types|Missing node types|Failed to register|Circular config node/;

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** The editor's three deploy types: everything, the flows (tabs) that changed, or only the nodes that changed. */
export type DeployType = 'full' | 'flows' | 'nodes';

export interface NodeRedOptions {
  /** Written to `<userDir>/flows.json` before the first start. */
  flow: FlowNode[];
  /** Extra environment, e.g. values for `${VAR}` properties in the flow. */
  env?: Record<string, string>;
  /** Reuse a user directory (a fresh temp dir by default). */
  userDir?: string;
}

export interface NodeRedProcess {
  readonly port: number;
  readonly url: string;
  readonly userDir: string;
  /** The running process's id, undefined between a kill and the next start. */
  readonly pid: number | undefined;
  /** stdout and stderr of every run so far. */
  output(): string;
  /** Resolves once `pattern` appears in the output after character `from` (default: anywhere). */
  untilLogged(pattern: RegExp, from?: number, ms?: number): Promise<void>;
  /** Deploys `flow` through the Admin API (full by default, as the editor's Deploy button types) and waits until the flows started again. */
  deploy(flow: FlowNode[], type?: DeployType): Promise<void>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts Node-RED again on the same user directory, port and flow file; waits for "Started flows". */
  start(): Promise<void>;
}

/** Builds dist/ once, since Node-RED loads the package from there. */
export function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'durable-mqtt.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'pipe' });
  }
}

/** Settings as a module: a JSON object is valid JavaScript, so no template beyond the export. */
function writeSettings(userDir: string, port: number): string {
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: FLOW_FILE,
    // Fixed so a restart can read the credentials file the first run wrote.
    credentialSecret: 'durable-mqtt-tests-not-a-secret',
    // Loads this package from the repository, as scripts/demo.ts does: no npm install into userDir.
    nodesDir: REPO_ROOT,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    telemetry: { enabled: false, updateNotification: false },
  };
  const file = join(userDir, 'settings.js');
  writeFileSync(file, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  return file;
}

/** Starts Node-RED on a free port and resolves once its flows have started. */
export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRedProcess> {
  ensureBuilt();
  const port = await freePort();
  const userDir = opts.userDir ?? mkdtempSync(join(tmpdir(), 'durable-nr-'));
  mkdirSync(userDir, { recursive: true });
  const settingsFile = writeSettings(userDir, port);
  writeFileSync(join(userDir, FLOW_FILE), JSON.stringify(opts.flow, null, 2));
  const url = `http://127.0.0.1:${port}`;
  let text = '';
  let child: ChildProcess | undefined;

  const startedCount = (): number => text.match(STARTED)?.length ?? 0;

  const waitFor = async (check: () => boolean, what: string, ms = START_TIMEOUT_MS): Promise<void> => {
    const end = Date.now() + ms;
    while (!check()) {
      if (BROKEN.test(text)) throw new Error(`Node-RED could not load the flow:\n${text}`);
      if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`Node-RED exited while waiting for ${what}:\n${text}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} from Node-RED:\n${text.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // search(), unlike test(), ignores a /g pattern's lastIndex.
  const untilLogged = (pattern: RegExp, from = 0, ms = START_TIMEOUT_MS): Promise<void> => waitFor(() => text.slice(from).search(pattern) >= 0, String(pattern), ms);

  /** Runs `action`, then waits for one more "Started flows" than there was before it. */
  const untilStartedAfter = async (action: () => void | Promise<void>): Promise<void> => {
    const before = startedCount();
    await action();
    await waitFor(() => startedCount() > before, 'the flows to start');
  };

  const handle: NodeRedProcess = {
    port,
    url,
    userDir,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    output: () => text,
    untilLogged,
    deploy: (flow, type = 'full') =>
      untilStartedAfter(async () => {
        const res = await fetch(`${url}/flows`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': type },
          body: JSON.stringify(flow),
        });
        const body = await res.text();
        if (res.status !== 204 && res.status !== 200) throw new Error(`deploy answered ${res.status}: ${body}`);
      }),
    kill: async (signal = 'SIGTERM') => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exitOf(proc, EXIT_TIMEOUT_MS);
    },
    start: () =>
      untilStartedAfter(() => {
        if (child && child.exitCode === null && child.signalCode === null) throw new Error('Node-RED is already running');
        const proc = spawn(process.execPath, [...NODE_ARGS, NODE_RED_CLI, '--settings', settingsFile, '--userDir', userDir, '--port', String(port), FLOW_FILE], {
          cwd: userDir,
          env: { ...process.env, ...opts.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        killOnExit(proc);
        child = proc;
        for (const stream of [proc.stdout, proc.stderr]) {
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => {
            text += chunk;
          });
        }
      }),
  };
  await handle.start();
  return handle;
}
