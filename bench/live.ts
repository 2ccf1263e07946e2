// Live throughput and latency: a publisher at a fixed rate while the consumer is connected.
import { clearSession, primeSession, publishSequence, warmUp } from './broker';
import { startConsumer, TimeoutError } from './consumer-process';
import type { Contestant } from './contestants';
import { clientIdFor, rotate } from './drain';
import { spread, type Spread } from './stats';

export interface LiveSpec {
  id: string;
  rates: number[];
  seconds: number;
  size: number;
  contestants: Contestant[];
}

export interface LiveRound {
  contestant: string;
  rate: number;
  round: number;
  sent: number;
  received: number;
  duplicates: number;
  /** What the publisher managed, msg/s (below `rate` when it could not keep the pace). */
  publishedRate: number;
  /** received / (first -> last distinct message), msg/s. */
  receivedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LiveCell {
  label: string;
  keptUp: number;
  receivedRatio?: Spread;
  receivedRate?: Spread;
  publishedRate?: Spread;
  p50Ms?: Spread;
  p99Ms?: Spread;
}

export interface LiveResult {
  id: string;
  seconds: number;
  size: number;
  rounds: LiveRound[];
  /** rate -> contestant id -> medians and spreads over rounds. */
  byRate: Record<string, Record<string, LiveCell>>;
}

const START_TIMEOUT_MS = 60_000;
// After the publisher finishes, how long stragglers may take to arrive.
const GRACE_MS = 5000;

async function liveOne(spec: LiveSpec, c: Contestant, rate: number, round: number, url: string): Promise<LiveRound> {
  const scenario = `${spec.id}-${rate}`;
  const clientId = clientIdFor(scenario, c, round);
  const topic = `bench/${scenario}/r${round}`;
  await primeSession(url, clientId, [topic]);
  const consumer = startConsumer({ contestant: c, url, clientId, filters: [topic], sink: 'sync', arm: { n: 0, latency: false } });
  const sent = rate * spec.seconds;
  try {
    // Warm-up until the sink sees a message: the consumer is connected and the pipe flows.
    await warmUp(url, topic, spec.size, consumer.next('warm', START_TIMEOUT_MS));
    await consumer.arm({ n: sent, latency: true });
    const began = Date.now();
    await publishSequence(url, [topic], sent, spec.size, rate);
    const publishedRate = (sent / (Date.now() - began)) * 1000;
    await consumer.next('done', GRACE_MS).catch((err: unknown) => {
      if (!(err instanceof TimeoutError)) throw err;
    });
    const s = await consumer.summary();
    return {
      contestant: c.id, rate, round, sent, received: s.distinct, duplicates: s.duplicates, publishedRate,
      receivedRate: (s.distinct / (s.lastAt - s.firstAt)) * 1000,
      p50Ms: s.latency?.p50 ?? NaN, p99Ms: s.latency?.p99 ?? NaN, maxMs: s.latency?.max ?? NaN,
    };
  } finally {
    await consumer.stop();
    await clearSession(url, clientId);
  }
}

export async function runLive(spec: LiveSpec, url: string, rounds: number): Promise<LiveResult> {
  const result: LiveResult = { id: spec.id, seconds: spec.seconds, size: spec.size, rounds: [], byRate: {} };
  for (let round = 0; round < rounds; round++) {
    for (const rate of spec.rates) {
      for (const c of rotate(spec.contestants, round)) {
        const r = await liveOne(spec, c, rate, round, url);
        console.log(
          `  round ${round + 1}/${rounds} ${rate} msg/s ${c.id.padEnd(18)} got ${r.received}/${r.sent}, published at ${Math.round(r.publishedRate)} msg/s, ` +
            `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`,
        );
        result.rounds.push(r);
      }
    }
  }
  for (const rate of spec.rates) {
    const cells: Record<string, LiveCell> = {};
    for (const c of spec.contestants) {
      const mine = result.rounds.filter((r) => r.contestant === c.id && r.rate === rate);
      cells[c.id] = {
        label: c.label,
        keptUp: mine.filter((r) => r.received === r.sent).length,
        receivedRatio: spread(mine.map((r) => r.received / r.sent)),
        receivedRate: spread(mine.map((r) => r.receivedRate)),
        publishedRate: spread(mine.map((r) => r.publishedRate)),
        p50Ms: spread(mine.map((r) => r.p50Ms)),
        p99Ms: spread(mine.map((r) => r.p99Ms)),
      };
    }
    result.byRate[rate] = cells;
  }
  return result;
}
