// Samples Node-RED's resident set size every few seconds across its restarts (the pid changes), for the memory over a soak.
import { readFileSync } from 'node:fs';

export const RSS_EVERY_MS = 5000;

export interface RssSample {
  /** ms since the soak started. */
  readonly t: number;
  /** MiB, or null while no Node-RED process runs. */
  readonly miB: number | null;
}

function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null; // the process has just exited, or this is not Linux
  }
}

export interface RssSeries {
  readonly samples: RssSample[];
  stop(): void;
}

export function sampleRss(pid: () => number | undefined, startedAt: number, everyMs = RSS_EVERY_MS): RssSeries {
  const samples: RssSample[] = [];
  const sample = (): void => {
    const p = pid();
    samples.push({ t: Date.now() - startedAt, miB: p === undefined ? null : rssMiB(p) });
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return { samples, stop: () => clearInterval(timer) };
}

/** The largest sample, in MiB. */
export function peakMiB(samples: readonly RssSample[]): number | null {
  let peak: number | null = null;
  for (const s of samples) if (s.miB !== null && (peak === null || s.miB > peak)) peak = s.miB;
  return peak;
}
