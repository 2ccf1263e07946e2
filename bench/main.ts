// `npm run bench`: ours vs Node-RED's core `mqtt in`, the ideal thin node and bare MQTT.js, side by side on one Mosquitto.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BRIDGE_CONTESTANTS, BRIDGE_OPTIONAL, bridgeTable, runBridge, type BridgeResult } from './bridge';
import { mosquittoVersion, startBenchBroker } from './broker';
import { BARE, CORE, OURS_COMPLETE, OURS_RECEIVE, OURS_RECEIVE_HOOKS, oursComplete, THIN, type Contestant } from './contestants';
import { runDrain, type DrainResult, type DrainSpec } from './drain';
import { runLive, type LiveResult } from './live';
import { parseOptions, type Options, type ScenarioId } from './options';
import { outboxMemoryTable, runOutboxMemory, type OutboxMemoryRun } from './outbox-memory';
import { summarizeProfile, type ProfileSummary } from './profile';
import { publishTable, runPublish, type PublishResult } from './publish';
import { drainTable, liveTable, profileTable, ratio, targetLines, type Target } from './report';

const REPO_ROOT = resolve(__dirname, '..');

function version(pkg: string): string {
  return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

function drainSpecs(o: Options): Partial<Record<ScenarioId, DrainSpec>> {
  const four: Contestant[] = [BARE, CORE, OURS_RECEIVE, OURS_COMPLETE];
  // The light sink costs next to nothing, so these show what each MQTT-in node itself costs.
  const five: Contestant[] = [BARE, THIN, CORE, OURS_RECEIVE, OURS_COMPLETE];
  return {
    'drain-light': { id: 'drain-light', title: 'backlog drain, light sink', n: o.n, size: 64, filters: 1, sink: 'light', contestants: [...five, oursComplete(1000), OURS_RECEIVE_HOOKS] },
    'drain-100subs': { id: 'drain-100subs', title: 'backlog drain, 100 subscriptions, light sink', n: o.n, size: 64, filters: 100, sink: 'light', contestants: five },
    drain: { id: 'drain', title: 'backlog drain', n: o.n, size: 64, filters: 1, sink: 'sync', contestants: [...four, oursComplete(100)] },
    'drain-1k': { id: 'drain-1k', title: 'backlog drain, 1 kB payloads', n: o.n, size: 1024, filters: 1, sink: 'sync', contestants: four },
    'drain-10subs': { id: 'drain-10subs', title: 'backlog drain, 10 subscriptions', n: o.n, size: 64, filters: 10, sink: 'sync', contestants: four },
    memory: { id: 'memory', title: 'memory: large backlog', n: o.memoryN, size: 64, filters: 1, sink: 'sync', contestants: [CORE, OURS_RECEIVE, OURS_COMPLETE] },
    ack: { id: 'ack', title: 'ack modes, async sink (5 ms per message)', n: o.ackN, size: 64, filters: 1, sink: 'async5ms', contestants: [oursComplete(20), oursComplete(1)] },
  };
}

/** The contestants `--contestants` keeps (all when it names none). */
function picked(all: Contestant[], o: Options): Contestant[] {
  return o.contestants.length === 0 ? all : all.filter((c) => o.contestants.includes(c.id));
}

/** The ratios issue 14 asks for: the default mode as fast as acking on arrival, and far ahead of core with many filters. */
const TARGETS: Partial<Record<ScenarioId, Target[]>> = {
  'drain-light': [
    { a: OURS_COMPLETE.id, b: OURS_RECEIVE.id, min: 0.95 },
    { a: OURS_COMPLETE.id, b: THIN.id, min: 1.0 },
  ],
  'drain-100subs': [
    { a: OURS_COMPLETE.id, b: CORE.id, min: 5 },
    { a: OURS_RECEIVE.id, b: CORE.id, min: 5 },
  ],
};

/**
 * Drains into the light sink with ours in both modes (and the ideal thin node and core, for
 * comparison) under --cpu-prof, and sums self time during the drain.
 */
async function runProfile(o: Options, url: string): Promise<Record<string, ProfileSummary>> {
  const out: Record<string, ProfileSummary> = {};
  for (const c of picked([OURS_COMPLETE, OURS_RECEIVE, THIN, CORE], o)) {
    const dir = mkdtempSync(join(tmpdir(), 'durable-bench-prof-'));
    const spec: DrainSpec = { id: `profile-${c.id}`, title: `profile ${c.id}`, n: o.profileN, size: 64, filters: 1, sink: 'light', contestants: [c], cpuProfDir: dir };
    const result = await runDrain(spec, url, 1);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile written in ${dir}`);
    const kept = join(REPO_ROOT, 'bench', 'results', `${c.id}.cpuprofile`);
    writeFileSync(kept, readFileSync(join(dir, file)));
    rmSync(dir, { recursive: true, force: true });
    const { window, distinct } = result.rounds[0];
    out[c.id] = { ...summarizeProfile(kept, REPO_ROOT, distinct, window), file: kept.slice(REPO_ROOT.length + 1) };
    console.log(`\n${profileTable(c.label, out[c.id])}\n`);
  }
  return out;
}

async function main(): Promise<void> {
  // exit() runs the 'exit' hooks that kill Mosquitto; consumer processes exit when their IPC channel closes.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  const o = parseOptions(process.argv.slice(2));
  const biggest = Math.max(o.n, o.only.includes('bridge') ? Math.max(...o.bridgeN) : 0, o.only.includes('memory') ? o.memoryN : 0, o.only.includes('profile') ? o.profileN : 0, o.ackN, ...o.liveRates.map((r) => r * o.liveSeconds));
  // Room for the whole backlog plus warm-up messages; Mosquitto drops silently past this.
  const broker = await startBenchBroker(biggest + 100_000, o.maxInflight);
  const meta = {
    date: new Date().toISOString(),
    machine: { nproc: cpus().length, cpu: cpuModel(), loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100) },
    versions: { node: process.version, nodeRed: version('node-red'), mqtt: version('mqtt'), mosquitto: mosquittoVersion(broker) },
    options: o,
  };
  console.log(`bench: ${meta.machine.nproc} × ${meta.machine.cpu}, load ${meta.machine.loadavgAtStart.join(' ')}; Node ${meta.versions.node}, ` +
    `Node-RED ${meta.versions.nodeRed}, MQTT.js ${meta.versions.mqtt}, Mosquitto ${meta.versions.mosquitto}` +
    `${o.maxInflight === undefined ? '' : ` (max_inflight_messages ${o.maxInflight})`}; ${o.rounds} rounds${o.quick ? ' (quick)' : ''}`);

  const results: Record<string, DrainResult | LiveResult | PublishResult | BridgeResult | OutboxMemoryRun[] | Record<string, ProfileSummary>> = {};
  const tables: string[] = [];
  const specs = drainSpecs(o);
  try {
    for (const id of o.only) {
      console.log(`\n== ${id}`);
      const full = specs[id];
      const spec = full && { ...full, contestants: picked(full.contestants, o) };
      if (spec && spec.contestants.length > 0) {
        const r = await runDrain(spec, broker.url, o.rounds);
        results[id] = r;
        let table = [drainTable(r), ...targetLines(r, TARGETS[id] ?? [])].join('\n');
        if (id === 'ack') {
          const [many, one] = spec.contestants.map((c) => r.byContestant[c.id].rate);
          table += `\nmaxInFlight 20 / maxInFlight 1: ${ratio(many, one).toFixed(2)}× (target ≥ 10×)`;
        }
        tables.push(table);
      } else if (id === 'live') {
        const r = await runLive({ id: 'live', rates: o.liveRates, seconds: o.liveSeconds, size: 64, contestants: picked([BARE, CORE, OURS_RECEIVE, OURS_COMPLETE], o) }, broker.url, o.rounds);
        results[id] = r;
        tables.push(liveTable(r));
      } else if (id === 'publish') {
        const r = await runPublish({ n: o.n, size: 64, rounds: o.rounds }, broker.url);
        results[id] = r;
        tables.push(publishTable(r));
      } else if (id === 'bridge') {
        const chosen = o.contestants.length === 0 ? BRIDGE_CONTESTANTS : [...BRIDGE_CONTESTANTS, ...BRIDGE_OPTIONAL].filter((c) => o.contestants.includes(c.id));
        const r = await runBridge(broker, o.bridgeN, o.rounds, chosen);
        results[id] = r;
        tables.push(bridgeTable(r));
      } else if (id === 'outbox-memory') {
        const r = await runOutboxMemory(o.outboxN, o.rounds);
        results[id] = r;
        tables.push(outboxMemoryTable(r));
      } else if (id === 'profile') {
        results[id] = await runProfile(o, broker.url);
      }
    }
  } finally {
    await broker.stop();
  }
  console.log(`\n${tables.join('\n\n')}`);
  mkdirSync(dirname(resolve(REPO_ROOT, o.out)), { recursive: true });
  writeFileSync(resolve(REPO_ROOT, o.out), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  console.log(`\nresults written to ${o.out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
