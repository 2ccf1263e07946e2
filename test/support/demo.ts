// Test helper: runs the one-command demo (scripts/demo.ts) as a separate process, as `npm start` would, and cleans up the broker process it leaves running.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKER_FILE, stopBroker } from '../../scripts/demo-broker-control';
import { exitOf } from './children';
import { ensureBuilt, REPO_ROOT } from './nodered-process';
import { freePort } from './ports';

export { ensureBuilt, exitOf, REPO_ROOT };

export const START_TIMEOUT_MS = 60_000;

/** Starts scripts/demo.ts as `npm start` would, feeding its stdout and stderr to `onOutput`. */
export function spawnDemo(env: NodeJS.ProcessEnv, onOutput: (chunk: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', onOutput);
  }
  return child;
}

/** A demo started on free ports in a fresh user directory, with its demo broker (stopped by dispose). Members are plain functions, safe to destructure. */
export interface DemoRun {
  /** The running demo process; a new one after `restart`. */
  readonly child: ChildProcess;
  /** Editor URL, with a trailing slash. */
  editor: string;
  /** URL of the demo broker (a detached process the demo started, which outlives it). */
  brokerUrl: string;
  userDir: string;
  /** Everything the demo printed so far. */
  output: () => string;
  /** Polls until `check` passes; fails early, with the demo's output, if the demo exits. */
  waitFor: (what: string, check: () => boolean | Promise<boolean>) => Promise<void>;
  /** Waits until the editor answers HTTP 200. */
  editorReady: () => Promise<void>;
  /** Ctrl-C (SIGINT) and waits for a clean exit (code 0); the demo broker keeps running. */
  stop: () => Promise<void>;
  /** `npm start` again on the same ports and user directory, as a user would. */
  start: () => void;
  /** stop(), then start(). */
  restart: () => Promise<void>;
  /** Kills the demo if it still runs, stops its broker, and removes its user directory. */
  dispose: () => Promise<void>;
}

export async function startDemo(): Promise<DemoRun> {
  ensureBuilt();
  const [port, brokerPort] = [await freePort(), await freePort()];
  const editor = `http://127.0.0.1:${port}/`;
  const userDir = mkdtempSync(join(tmpdir(), 'durable-demo-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DEMO_BROKER_PORT: String(brokerPort), DEMO_USERDIR: userDir };
  delete env.BROKER_URL; // a developer's own external broker must not leak into a test
  let output = '';
  const onOutput = (chunk: string): void => {
    output += chunk;
  };
  let child = spawnDemo(env, onOutput);
  // The broker is detached from us: if this test process dies before dispose(), take it along.
  const killBroker = (): void => {
    try {
      const { pid } = JSON.parse(readFileSync(join(userDir, BROKER_FILE), 'utf8')) as { pid: number };
      process.kill(pid, 'SIGKILL');
    } catch {
      // no broker recorded, or it is gone already
    }
  };
  process.once('exit', killBroker);

  const waitFor = async (what: string, check: () => boolean | Promise<boolean>): Promise<void> => {
    const end = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        assert.fail(`the demo exited (code ${child.exitCode}, signal ${child.signalCode}) before ${what}:\n${output}`);
      }
      if (await check()) return;
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stop = async (): Promise<void> => {
    child.kill('SIGINT');
    const code = await exitOf(child, START_TIMEOUT_MS);
    assert.equal(code, 0, `the demo did not stop cleanly on Ctrl-C:\n${output}`);
  };
  const start = (): void => {
    child = spawnDemo(env, onOutput);
  };

  return {
    get child() {
      return child;
    },
    editor,
    brokerUrl: `mqtt://127.0.0.1:${brokerPort}`,
    userDir,
    output: () => output,
    waitFor,
    editorReady: () =>
      waitFor('the editor to answer HTTP 200', async () => {
        try {
          const res = await fetch(editor);
          await res.arrayBuffer();
          return res.status === 200;
        } catch {
          return false; // not listening yet
        }
      }),
    stop,
    start,
    restart: async () => {
      await stop();
      start();
    },
    dispose: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exitOf(child, 5000).catch(() => undefined);
      }
      await stopBroker(userDir);
      process.off('exit', killBroker);
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}
