// Parent side of a consumer process: spawn it, wait for its sink's events, sample its RSS, stop it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Contestant } from './contestants';
import { flowFor, type SinkKind } from './flows';
import type { ChildArgs, FromChild, ToChild } from './ipc';
import type { Arm, Summary } from './sink';
import { sampleRss, type RssSampler } from './rss';

const REPO_ROOT = resolve(__dirname, '..');
const OUTPUT_TAIL_CHARS = 4000;
const STOP_TIMEOUT_MS = 15_000;

export interface ConsumerSpec {
  contestant: Contestant;
  url: string;
  clientId: string;
  filters: string[];
  sink: SinkKind;
  arm: Arm;
  /** Directory for a V8 CPU profile (node --cpu-prof) of the consumer process. */
  cpuProfDir?: string;
}

export interface ConsumerProcess {
  rss: RssSampler;
  /** Resolves with the next event of this type (including one that already arrived unclaimed). */
  next<T extends FromChild['type']>(type: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>>;
  arm(arm: Arm): Promise<void>;
  summary(): Promise<Summary>;
  /** Asks the consumer to stop cleanly (Node-RED closes its nodes), then removes its user directory. */
  stop(): Promise<void>;
}

/**
 * Extra V8 flags for every consumer process from BENCH_V8_FLAGS, e.g. `--no-turbo-inlining`, so a
 * CPU profile charges each function its own time instead of its callers'.
 */
export function v8Flags(): string[] {
  return (process.env.BENCH_V8_FLAGS ?? '').split(' ').filter(Boolean);
}

export function startConsumer(spec: ConsumerSpec): ConsumerProcess {
  const args: ChildArgs = { arm: spec.arm };
  let userDir: string | undefined;
  let script: string;
  if (spec.contestant.kind === 'bare') {
    script = 'bench/bare-child.ts';
    Object.assign(args, { url: spec.url, clientId: spec.clientId });
  } else {
    script = 'bench/nodered-child.ts';
    userDir = mkdtempSync(join(tmpdir(), 'durable-bench-'));
    const flow = flowFor(spec.contestant, { url: spec.url, clientId: spec.clientId, filters: spec.filters, sink: spec.sink });
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow));
    args.userDir = userDir;
  }
  const profiling = spec.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${spec.cpuProfDir}`] : [];
  const child = spawn(process.execPath, [...v8Flags(), ...profiling, '--import', 'tsx', script, JSON.stringify(args)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
    });
  }
  const rss = sampleRss(child.pid ?? -1);

  const unclaimed: FromChild[] = [];
  const waiters = new Set<{ type: string; resolve: (m: FromChild) => void; reject: (e: Error) => void }>();
  child.on('message', (m: FromChild) => {
    for (const w of waiters) {
      if (w.type === m.type) {
        waiters.delete(w);
        w.resolve(m);
        return;
      }
    }
    unclaimed.push(m);
  });
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    rss.stop();
    const err = new Error(`${spec.contestant.id} consumer exited (code ${code}, signal ${signal}):\n${output}`);
    for (const w of waiters) w.reject(err);
    waiters.clear();
  });
  const exitPromise = new Promise<void>((done) => child.once('exit', () => done()));

  const next = <T extends FromChild['type']>(type: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>> => {
    const i = unclaimed.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(unclaimed.splice(i, 1)[0] as Extract<FromChild, { type: T }>);
    if (exited) return Promise.reject(new Error(`${spec.contestant.id} consumer has exited:\n${output}`));
    return new Promise((resolvePromise, reject) => {
      const waiter = {
        type,
        resolve: (m: FromChild) => {
          clearTimeout(timer);
          resolvePromise(m as Extract<FromChild, { type: T }>);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new TimeoutError(`no "${type}" from ${spec.contestant.id} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const tell = (m: ToChild): void => {
    if (!exited) child.send(m);
  };

  return {
    rss,
    next,
    arm: async (arm) => {
      tell({ type: 'arm', arm });
      await next('armed', 10_000);
    },
    summary: async () => {
      tell({ type: 'summary' });
      return (await next('summary', 30_000)).summary;
    },
    stop: async () => {
      tell({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
      rss.stop();
      if (userDir) rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** A wait that ran out of time (as opposed to a consumer that died). */
export class TimeoutError extends Error {}
