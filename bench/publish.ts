// The publish scenario: msgs per second into an out node with a connected broker, core `mqtt out` against ours (QoS 1, persisting), until done().
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { v8Flags } from './consumer-process';
import { summarizeProfile, type ProfileSummary } from './profile';
import { profileTable } from './report';
import { spread } from './stats';

const REPO_ROOT = resolve(__dirname, '..');
const TAB = 'bench-tab';
const BROKER = 'bench-broker';
const TOPIC = 'bench/publish';
const CHILD_TIMEOUT_MS = 180_000;

export type Publisher = 'core' | 'ours';
export interface PublishSpec {
  n: number;
  size: number;
  rounds: number;
}
export interface PublishResult {
  spec: PublishSpec;
  rates: Record<Publisher, number[]>;
  median: Record<Publisher, number>;
  /** CPU time of the whole Node-RED process per msg, µs, round by round. */
  cpuUsPerMsg: Record<Publisher, number[]>;
  /** The same split: the main thread, and all other threads (GC helpers, LevelDB's writes and fsyncs). */
  threadUsPerMsg: Record<Publisher, { main: number; others: number }[]>;
  medianCpuUsPerMsg: Record<Publisher, number>;
  /** ours / core, of the medians. */
  ratio: number;
  /** Self-time summaries of the extra profiled runs BENCH_PUBLISH_PROFILE asked for. */
  profiles?: Partial<Record<Publisher, ProfileSummary>>;
}

/**
 * `BENCH_PUBLISH_PROFILE=ours` (or `core`, or `core,ours`): after the measured rounds, one more run
 * of each under `node --cpu-prof`, so the profiler's cost stays out of the figures.
 */
function profiled(): Publisher[] {
  const asked = (process.env.BENCH_PUBLISH_PROFILE ?? '').split(',').filter(Boolean);
  return (['core', 'ours'] as const).filter((who) => asked.includes(who));
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

/** One out node fed by the child, and a complete node counting its done() calls. */
export function publishFlow(who: Publisher, url: string, clientId: string): FlowNode[] {
  const { hostname, port } = new URL(url);
  const nodes: FlowNode[] =
    who === 'core'
      ? [
          { id: BROKER, type: 'mqtt-broker', name: 'bench', broker: hostname, port, clientid: clientId, autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: false, birthTopic: '', closeTopic: '', willTopic: '' },
          { id: 'bench-out', type: 'mqtt out', z: TAB, topic: TOPIC, qos: '1', retain: 'false', broker: BROKER, wires: [] },
        ]
      : [
          { id: BROKER, type: 'durable-mqtt-broker', name: 'bench', broker: url, clientId, cleanSession: false, protocolVersion: 4, keepalive: 60 },
          { id: 'bench-out', type: 'durable-mqtt-out', z: TAB, topic: TOPIC, qos: '1', retain: '', broker: BROKER, wires: [] },
        ];
  return [
    { id: TAB, type: 'tab', label: 'bench' },
    ...nodes,
    { id: 'bench-complete', type: 'complete', z: TAB, scope: ['bench-out'], uncaught: false, wires: [['bench-count']] },
    { id: 'bench-count', type: 'function', z: TAB, func: "global.get('benchDone')();\nreturn null;", outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [] },
  ];
}

interface Run {
  rate: number;
  cpuUsPerMsg: number;
  mainUsPerMsg: number;
  othersUsPerMsg: number;
  /** Monotonic µs at the start and the end of the measured feed. */
  window: [number, number];
}

function runOnce(who: Publisher, url: string, spec: PublishSpec, round: number, cpuProfDir?: string): Promise<Run> {
  const userDir = mkdtempSync(join(tmpdir(), 'durable-bench-pub-'));
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(publishFlow(who, url, `bench-pub-${who}-${process.pid}-${round}`)));
  const args = { userDir, n: spec.n, warm: Math.min(2000, spec.n), size: spec.size };
  const profiling = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const child = spawn(process.execPath, [...v8Flags(), ...profiling, '--import', 'tsx', 'bench/publish-child.ts', JSON.stringify(args)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [child.stdout, child.stderr]) {
    s.setEncoding('utf8');
    s.on('data', (c: string) => (output += c));
  }
  // A publisher whose done() calls never all come (a lost message) must fail the bench, not hang it.
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  return new Promise<Run>((resolvePromise, reject) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(userDir, { recursive: true, force: true });
      const line = /RESULT (.*)/.exec(output)?.[1];
      if (code !== 0 || !line) return reject(new Error(`${who} publisher failed (exit ${code}):\n${output.slice(-4000)}`));
      resolvePromise(JSON.parse(line) as Run);
    });
  });
}

/** Rounds alternate core and ours, so drift on a shared machine hits both alike. */
export async function runPublish(spec: PublishSpec, url: string): Promise<PublishResult> {
  const rates: Record<Publisher, number[]> = { core: [], ours: [] };
  const cpu: Record<Publisher, number[]> = { core: [], ours: [] };
  const threads: PublishResult['threadUsPerMsg'] = { core: [], ours: [] };
  for (let round = 0; round < spec.rounds; round++) {
    for (const who of ['core', 'ours'] as const) {
      const run = await runOnce(who, url, spec, round);
      rates[who].push(run.rate);
      cpu[who].push(run.cpuUsPerMsg);
      threads[who].push({ main: run.mainUsPerMsg, others: run.othersUsPerMsg });
      console.log(
        `  round ${round + 1}: ${who} ${Math.round(run.rate)} msg/s, ${run.cpuUsPerMsg.toFixed(1)} µs CPU/msg ` +
          `(main thread ${run.mainUsPerMsg.toFixed(1)}, other threads ${run.othersUsPerMsg.toFixed(1)})`,
      );
    }
  }
  const median = (xs: number[]): number => spread(xs)?.median ?? NaN;
  const m = { core: median(rates.core), ours: median(rates.ours) };
  const profiles: PublishResult['profiles'] = {};
  for (const who of profiled()) profiles[who] = await profileOnce(who, url, spec);
  return { spec, rates, median: m, cpuUsPerMsg: cpu, threadUsPerMsg: threads, medianCpuUsPerMsg: { core: median(cpu.core), ours: median(cpu.ours) }, ratio: m.ours / m.core, profiles };
}

/** One run under the profiler; the profile is kept as bench/results/publish-<who>.cpuprofile and summarized over the measured feed. */
async function profileOnce(who: Publisher, url: string, spec: PublishSpec): Promise<ProfileSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'durable-bench-pubprof-'));
  try {
    const run = await runOnce(who, url, spec, spec.rounds, dir);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile written in ${dir}`);
    const kept = join(REPO_ROOT, 'bench', 'results', `publish-${who}.cpuprofile`);
    copyFileSync(join(dir, file), kept);
    const summary = { ...summarizeProfile(kept, REPO_ROOT, spec.n, run.window), file: kept.slice(REPO_ROOT.length + 1) };
    console.log(`\n  profiled run: ${who} ${Math.round(run.rate)} msg/s, ${run.cpuUsPerMsg.toFixed(1)} µs CPU/msg\n${profileTable(`publish ${who}`, summary)}\n`);
    return summary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function publishTable(r: PublishResult): string {
  const range = (xs: number[]): string => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
  return [
    `publish: ${r.spec.n} × ${r.spec.size} B, QoS 1, msg/s until done() (median of ${r.spec.rounds})`,
    '| core mqtt out | ours (outbox, fsync) | ours / core | CPU µs/msg core | CPU µs/msg ours |',
    '|---|---|---|---|---|',
    `| ${Math.round(r.median.core)} (${range(r.rates.core)}) | ${Math.round(r.median.ours)} (${range(r.rates.ours)}) | ${r.ratio.toFixed(2)}× (target ≥ 0.8×) | ${r.medianCpuUsPerMsg.core.toFixed(1)} | ${r.medianCpuUsPerMsg.ours.toFixed(1)} |`,
  ].join('\n');
}
