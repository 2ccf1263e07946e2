// Backlog drain: N messages queued in each contestant's persistent session while it is away, then drained.
import { clearSession, primeSession, publishSequence } from './broker';
import { startConsumer, TimeoutError } from './consumer-process';
import type { Contestant } from './contestants';
import type { SinkKind } from './flows';
import { spread, type Spread } from './stats';

export interface DrainSpec {
  id: string;
  title: string;
  n: number;
  size: number;
  /** Number of topic filters on the one connection; messages are spread evenly over them. */
  filters: number;
  sink: SinkKind;
  contestants: Contestant[];
  /** Directory for CPU profiles of the consumer processes; set by the profile scenario. */
  cpuProfDir?: string;
}

export interface DrainRound {
  contestant: string;
  round: number;
  /** n / (first -> Nth distinct message), msg/s; over what arrived when incomplete. */
  rate: number;
  distinct: number;
  duplicates: number;
  complete: boolean;
  /** CPU time of the consumer process per message, first -> Nth, in µs. */
  cpuUsPerMsg: number;
  peakRssMiB: number;
  /** Monotonic µs of the first and last distinct message, to cut a CPU profile to the drain. */
  window: [number, number];
}

export interface DrainResult extends Omit<DrainSpec, 'contestants' | 'cpuProfDir'> {
  rounds: DrainRound[];
  byContestant: Record<string, { label: string; rate?: Spread; cpuUsPerMsg?: Spread; peakRssMiB?: Spread; complete: number; rounds: number }>;
}

const START_TIMEOUT_MS = 60_000;
// Give up on a drain when no new message arrived for this long (a consumer that lost messages).
const STALL_MS = 20_000;
const POLL_MS = 2000;

/** Each round starts the contestant order one place later, so no contestant always goes first. */
export function rotate<T>(items: T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export function clientIdFor(scenario: string, c: Contestant, round: number): string {
  return `bench-${scenario}-${c.id}-r${round}`;
}

async function drainOne(spec: DrainSpec, c: Contestant, round: number, url: string, topics: string[]): Promise<DrainRound> {
  const consumer = startConsumer({
    contestant: c, url, clientId: clientIdFor(spec.id, c, round), filters: topics, sink: spec.sink,
    arm: { n: spec.n, latency: false }, cpuProfDir: spec.cpuProfDir,
  });
  try {
    await consumer.next('first', START_TIMEOUT_MS);
    const done = consumer.next('done', 24 * 3600_000);
    let seen = -1;
    let progressAt = Date.now();
    for (;;) {
      const finished = await Promise.race([done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), POLL_MS))]);
      if (finished) break;
      const { distinct } = await consumer.summary();
      if (distinct > seen) [seen, progressAt] = [distinct, Date.now()];
      else if (Date.now() - progressAt > STALL_MS) break;
    }
    done.catch(() => undefined); // settled by stop() if the drain stalled
    const s = await consumer.summary();
    return {
      contestant: c.id, round, rate: (s.distinct / (s.lastAt - s.firstAt)) * 1000, distinct: s.distinct,
      duplicates: s.duplicates, complete: s.distinct === spec.n, cpuUsPerMsg: s.cpuUs / (s.distinct - 1), peakRssMiB: consumer.rss.peakMiB(), window: [s.firstMono, s.lastMono],
    };
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    console.error(`  ${c.id}: ${err.message}`);
    return { contestant: c.id, round, rate: NaN, distinct: 0, duplicates: 0, complete: false, cpuUsPerMsg: NaN, peakRssMiB: consumer.rss.peakMiB(), window: [NaN, NaN] };
  } finally {
    await consumer.stop();
  }
}

export async function runDrain(spec: DrainSpec, url: string, rounds: number): Promise<DrainResult> {
  const result: DrainResult = {
    id: spec.id, title: spec.title, n: spec.n, size: spec.size, filters: spec.filters, sink: spec.sink, rounds: [], byContestant: {},
  };
  for (let round = 0; round < rounds; round++) {
    const topics = Array.from({ length: spec.filters }, (_, i) => `bench/${spec.id}/r${round}/${i}`);
    const order = rotate(spec.contestants, round);
    // One publish fills every contestant's session: the broker copies each message to all of them.
    for (const c of order) await primeSession(url, clientIdFor(spec.id, c, round), topics);
    const began = Date.now();
    await publishSequence(url, topics, spec.n, spec.size);
    console.log(`  round ${round + 1}/${rounds}: queued ${spec.n} × ${spec.size} B for ${order.length} sessions in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    for (const c of order) {
      const r = await drainOne(spec, c, round, url, topics);
      await clearSession(url, clientIdFor(spec.id, c, round));
      console.log(`    ${c.id.padEnd(18)} ${Math.round(r.rate).toString().padStart(7)} msg/s  ${r.cpuUsPerMsg.toFixed(1).padStart(5)} CPU µs/msg  ${r.distinct}/${spec.n}${r.duplicates ? ` (+${r.duplicates} dup)` : ''}  peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
      result.rounds.push(r);
    }
  }
  for (const c of spec.contestants) {
    const mine = result.rounds.filter((r) => r.contestant === c.id);
    result.byContestant[c.id] = {
      label: c.label,
      rate: spread(mine.map((r) => (r.complete ? r.rate : NaN))),
      cpuUsPerMsg: spread(mine.map((r) => r.cpuUsPerMsg)),
      peakRssMiB: spread(mine.map((r) => r.peakRssMiB)),
      complete: mine.filter((r) => r.complete).length,
      rounds: mine.length,
    };
  }
  return result;
}
