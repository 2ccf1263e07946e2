// The outbox-memory scenario: the RSS of a process that opens an outbox holding N messages and drains it through a Pump, for several N (issue 21).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Outbox, type Publication } from '../nodes/publisher/outbox';
import { Pump } from '../nodes/publisher/pump';
import { v8Flags } from './consumer-process';
import { append } from '../test/support/outbox';

const REPO_ROOT = resolve(__dirname, '..');
const PAYLOAD_BYTES = 64;
/** Appends per turn while filling: group commits of a busy flow. */
const FILL_CHUNK = 5000;
const RSS_SAMPLE_MS = 50;
const CHILD_TIMEOUT_MS = 600_000;
/** Limits no fill reaches: the scenario measures memory, not the limits. */
const LIMITS = { maxMessages: 10_000_000, maxBytes: 100_000 * 1024 * 1024, whenFull: 'refuse' } as const;

export interface OutboxMemoryRun {
  n: number;
  /** Seconds to append the N messages (its own process, not measured for RSS). */
  fillSeconds: number;
  /** Seconds from the start of `Outbox.open` until it resolved. */
  openSeconds: number;
  rssAfterOpenMiB: number;
  heapAfterOpenMiB: number;
  /** Peak RSS from the open to the last ack, sampled every RSS_SAMPLE_MS. */
  peakRssDrainMiB: number;
  drainRate: number;
}

type ChildArgs = { mode: 'fill' | 'drain'; dir: string; n: number };

const MiB = (bytes: number): number => bytes / 1024 / 1024;
const pub = (i: number): Publication => ({ topic: `bench/outbox/${i}`, payload: Buffer.alloc(PAYLOAD_BYTES, i % 256), qos: 1, retain: false });

async function fill(dir: string, n: number): Promise<Record<string, number>> {
  const start = performance.now();
  const box = await Outbox.open(dir, LIMITS);
  for (let i = 0; i < n; i += FILL_CHUNK) await Promise.all(Array.from({ length: Math.min(FILL_CHUNK, n - i) }, (_, k) => append(box, pub(i + k))));
  await box.close();
  return { fillSeconds: (performance.now() - start) / 1000 };
}

/** Opens the outbox and drains it through a Pump whose broker acks each publish on the next turn: the outbox's memory alone, no socket. */
async function drain(dir: string, n: number): Promise<Record<string, number>> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), RSS_SAMPLE_MS);
  const opening = performance.now();
  let pump: Pump | undefined;
  const box = await Outbox.open(dir, LIMITS, { readable: () => pump?.run() });
  const openSeconds = (performance.now() - opening) / 1000;
  const rssAfterOpen = process.memoryUsage.rss();
  const heapAfterOpen = process.memoryUsage().heapUsed;
  if (box.depth !== n) throw new Error(`opened ${box.depth} messages, not ${n}`);
  const start = performance.now();
  let settled = 0;
  await new Promise<void>((done, fail) => {
    pump = new Pump(box, (_p, published) => setImmediate(() => published()), {
      settled: (_entry, err) => (err ? fail(err) : ++settled === n && done()),
      failed: fail,
    });
    pump.setConnected(true);
  });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  pump?.stop();
  await box.close();
  return { openSeconds, rssAfterOpenMiB: MiB(rssAfterOpen), heapAfterOpenMiB: MiB(heapAfterOpen), peakRssDrainMiB: MiB(Math.max(peak, rssAfterOpen)), drainRate: n / seconds };
}

function child(args: ChildArgs): Promise<Record<string, number>> {
  const proc = spawn(process.execPath, [...v8Flags(), '--import', 'tsx', __filename, '--child', JSON.stringify(args)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [proc.stdout, proc.stderr]) {
    s.setEncoding('utf8');
    s.on('data', (c: string) => (output += c));
  }
  const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  return new Promise((resolvePromise, reject) => {
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const line = /RESULT (.*)/.exec(output)?.[1];
      if (code !== 0 || !line) return reject(new Error(`outbox ${args.mode} of ${args.n} failed (exit ${code}):\n${output.slice(-4000)}`));
      resolvePromise(JSON.parse(line) as Record<string, number>);
    });
  });
}

/** For each N: one process fills an outbox, a fresh one opens and drains it; each N once per round, the median kept by the caller. */
export async function runOutboxMemory(sizes: number[], rounds: number): Promise<OutboxMemoryRun[]> {
  const runs: OutboxMemoryRun[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const n of sizes) {
      const dir = mkdtempSync(join(tmpdir(), 'durable-bench-outbox-'));
      try {
        const filled = await child({ mode: 'fill', dir, n });
        const drained = await child({ mode: 'drain', dir, n });
        const run = { n, ...filled, ...drained } as unknown as OutboxMemoryRun;
        runs.push(run);
        console.log(`  round ${round + 1}: ${String(n).padStart(9)} queued: open ${run.openSeconds.toFixed(1)} s, RSS after open ${run.rssAfterOpenMiB.toFixed(0)} MiB, peak while draining ${run.peakRssDrainMiB.toFixed(0)} MiB, ${Math.round(run.drainRate)} msg/s`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return runs;
}

export function outboxMemoryTable(runs: OutboxMemoryRun[]): string {
  const lines = ['outbox memory: open, then drain through a Pump (64-byte payloads; acks on the next turn, no socket)', '   queued   fill s   open s   RSS after open   heap after open   peak RSS draining   drain msg/s'];
  for (const r of runs) {
    lines.push(`${String(r.n).padStart(9)} ${r.fillSeconds.toFixed(1).padStart(8)} ${r.openSeconds.toFixed(1).padStart(8)} ${r.rssAfterOpenMiB.toFixed(0).padStart(12)} MiB ${r.heapAfterOpenMiB.toFixed(0).padStart(13)} MiB ${r.peakRssDrainMiB.toFixed(0).padStart(15)} MiB ${Math.round(r.drainRate).toString().padStart(13)}`);
  }
  return lines.join('\n');
}

if (process.argv[2] === '--child') {
  const args = JSON.parse(process.argv[3]) as ChildArgs;
  (args.mode === 'fill' ? fill(args.dir, args.n) : drain(args.dir, args.n)).then(
    (result) => console.log(`RESULT ${JSON.stringify(result)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
