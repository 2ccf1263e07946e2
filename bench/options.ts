// Command-line options of `npm run bench`, with the sizes of the full and the --quick run.
import { parseArgs } from 'node:util';

export const SCENARIOS = ['drain-light', 'drain-100subs', 'drain', 'drain-1k', 'drain-10subs', 'live', 'memory', 'ack', 'publish', 'bridge', 'profile', 'outbox-memory'] as const;
export type ScenarioId = (typeof SCENARIOS)[number];
/** `profile` runs only when asked for: it measures where time goes, not how fast; `outbox-memory` too: it fills a million-message outbox on disk. */
const DEFAULT_SCENARIOS: ScenarioId[] = ['drain-light', 'drain-100subs', 'drain', 'drain-1k', 'drain-10subs', 'live', 'memory', 'ack', 'publish', 'bridge'];

export interface Options {
  quick: boolean;
  rounds: number;
  /** Backlog size of the drain scenarios (the light-sink ones included). */
  n: number;
  /** Backlog size of the memory scenario. */
  memoryN: number;
  /** Backlog size of the ack-mode scenario (5 ms per message at maxInFlight 1: 200 msg/s). */
  ackN: number;
  /** Backlog size drained under the CPU profiler. */
  profileN: number;
  /** Backlog sizes of the bridge scenario (in → out). */
  bridgeN: number[];
  /** Outbox depths of the outbox-memory scenario. */
  outboxN: number[];
  /** Seconds each live run publishes. */
  liveSeconds: number;
  liveRates: number[];
  only: ScenarioId[];
  /** Contestant ids to keep in every scenario (empty: all), for quick before/after comparisons. */
  contestants: string[];
  /** Mosquitto's max_inflight_messages (undefined: its default of 20; 0: no limit). */
  maxInflight?: number;
  out: string;
}

const USAGE = `usage: npm run bench -- [--quick] [--rounds R] [--n N] [--memory-n N] [--ack-n N] [--profile-n N] [--bridge-n N[,N]] [--outbox-n N[,N]]
                      [--live-seconds S] [--only ${SCENARIOS.join('|')}[,...]]
                      [--contestants bare|thin|core|ours-receive|ours-receive-hooks|ours-complete|ours-complete-N|core-1|core-2|ours-complete-1|ours-complete-2|ours-receive-1|ours-receive-2[,...]]
                      [--max-inflight N] [--out FILE]`;

function whole(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, not "${value}"\n${USAGE}`);
  return n;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      n: { type: 'string' },
      'memory-n': { type: 'string' },
      'ack-n': { type: 'string' },
      'profile-n': { type: 'string' },
      'bridge-n': { type: 'string' },
      'outbox-n': { type: 'string' },
      'live-seconds': { type: 'string' },
      'max-inflight': { type: 'string' },
      only: { type: 'string', multiple: true },
      contestants: { type: 'string', multiple: true },
      out: { type: 'string', default: 'bench/results/latest.json' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const only = (values.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  for (const id of only) {
    if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`unknown scenario "${id}"\n${USAGE}`);
  }
  return {
    quick,
    rounds: whole('rounds', values.rounds, 3),
    n: whole('n', values.n, quick ? 2000 : 20_000),
    memoryN: whole('memory-n', values['memory-n'], quick ? 50_000 : 1_000_000),
    ackN: whole('ack-n', values['ack-n'], quick ? 200 : 2000),
    profileN: whole('profile-n', values['profile-n'], quick ? 20_000 : 200_000),
    bridgeN: values['bridge-n'] ? values['bridge-n'].split(',').map((v) => whole('bridge-n', v, 20_000)) : quick ? [2000] : [20_000, 200_000],
    outboxN: values['outbox-n'] ? values['outbox-n'].split(',').map((v) => whole('outbox-n', v, 10_000)) : quick ? [10_000, 100_000] : [10_000, 1_000_000],
    liveSeconds: whole('live-seconds', values['live-seconds'], quick ? 2 : 10),
    liveRates: [5000, 20_000],
    only: only.length > 0 ? (only as ScenarioId[]) : DEFAULT_SCENARIOS,
    contestants: (values.contestants ?? []).flatMap((s) => s.split(',')).filter(Boolean),
    maxInflight: values['max-inflight'] === undefined ? undefined : values['max-inflight'] === '0' ? 0 : whole('max-inflight', values['max-inflight'], 20),
    out: values.out,
  };
}
