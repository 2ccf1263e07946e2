// The counting sink every contestant feeds: distinct sequence numbers, first/last times, latency.
// It runs inside the consumer's process and reports only at the first and the Nth distinct
// message, so reporting costs nothing per message.
import { nowMs } from './clock';
import { parsePayload } from './payload';
import { percentile } from './stats';

export interface Arm {
  /** Distinct sequence numbers 0..n-1 to wait for. */
  n: number;
  /** Record publish -> sink latency from the timestamp in each payload. */
  latency: boolean;
}

export type SinkEvent =
  | { type: 'warm' }
  | { type: 'first'; at: number }
  | { type: 'done'; at: number };

/** Monotonic microseconds: the clock of V8 CPU profile timestamps, to cut a profile to the drain. */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** CPU time (user + system) this process has used, in µs: unlike a rate, barely moved by other load. */
function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

export interface Summary {
  distinct: number;
  duplicates: number;
  firstAt: number;
  /** Time of the latest new distinct message (the Nth one once complete). */
  lastAt: number;
  /** The first and the Nth moment on the monotonic clock, in µs (NaN until complete). */
  firstMono: number;
  lastMono: number;
  /** CPU µs the consumer process spent between the first and the Nth message (NaN until complete). */
  cpuUs: number;
  latency?: { p50: number; p99: number; max: number; samples: number };
}

export class Sink {
  private seen = new Uint8Array(0);
  private latencies = new Float64Array(0);
  private arm: Arm = { n: 0, latency: false };
  private distinct = 0;
  private duplicates = 0;
  private firstAt = NaN;
  private lastAt = NaN;
  private firstMono = NaN;
  private lastMono = NaN;
  private firstCpu = NaN;
  private lastCpu = NaN;
  private warmed = false;

  constructor(private readonly report: (event: SinkEvent) => void) {}

  reset(arm: Arm): void {
    this.arm = arm;
    this.seen = new Uint8Array(arm.n);
    this.latencies = new Float64Array(arm.latency ? arm.n : 0);
    this.distinct = 0;
    this.duplicates = 0;
    this.firstAt = NaN;
    this.lastAt = NaN;
    this.firstMono = NaN;
    this.lastMono = NaN;
    this.firstCpu = NaN;
    this.lastCpu = NaN;
    this.warmed = false;
  }

  /** Called once per message, from the sink function node or the bare client's handler. */
  readonly record = (payload: string | Buffer): void => {
    const at = nowMs();
    const { seq, sentAt } = parsePayload(payload);
    if (seq === -1) {
      if (!this.warmed) this.report({ type: 'warm' });
      this.warmed = true;
      return;
    }
    if (!(seq >= 0 && seq < this.arm.n)) return;
    if (this.seen[seq] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    if (this.arm.latency) this.latencies[this.distinct] = at - sentAt;
    this.distinct++;
    this.lastAt = at;
    if (this.distinct === 1) {
      this.firstAt = at;
      this.firstMono = monoUs();
      this.firstCpu = cpuUs();
      this.report({ type: 'first', at });
    }
    if (this.distinct === this.arm.n) {
      this.lastMono = monoUs();
      this.lastCpu = cpuUs();
      this.report({ type: 'done', at });
    }
  };

  summary(): Summary {
    const s: Summary = {
      distinct: this.distinct, duplicates: this.duplicates, firstAt: this.firstAt, lastAt: this.lastAt,
      firstMono: this.firstMono, lastMono: this.lastMono, cpuUs: this.lastCpu - this.firstCpu,
    };
    if (this.arm.latency && this.distinct > 0) {
      const sorted = this.latencies.slice(0, this.distinct).sort();
      s.latency = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1], samples: sorted.length };
    }
    return s;
  }
}
