// Samples a process's resident set size from /proc every 100 ms (Linux), keeping the peak.
import { readFileSync } from 'node:fs';

const INTERVAL_MS = 100;

export interface RssSampler {
  /** Peak RSS in MiB seen so far, NaN where /proc is unavailable. */
  peakMiB(): number;
  /** The latest sample in MiB. */
  lastMiB(): number;
  stop(): void;
}

function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN; // the process has exited, or this is not Linux
  }
}

export function sampleRss(pid: number): RssSampler {
  let peak = NaN;
  let last = NaN;
  const sample = (): void => {
    last = rssKiB(pid);
    if (!(last <= peak)) peak = Number.isNaN(peak) ? last : Math.max(peak, last);
  };
  sample();
  const timer = setInterval(sample, INTERVAL_MS);
  timer.unref();
  return {
    peakMiB: () => peak / 1024,
    lastMiB: () => last / 1024,
    stop: () => clearInterval(timer),
  };
}
