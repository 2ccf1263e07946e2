// What each contestant's sink file holds at the end of a soak: sent, lost, duplicates, and the duplicates in each fault's window.
import { existsSync, readFileSync } from 'node:fs';

/** One line of a sink: the sequence number and the ms it was written at. */
export interface Stamped {
  readonly seq: number;
  readonly at: number;
}

export interface SoakTally {
  sent: number;
  /** Distinct sequence numbers 0..sent-1 written. */
  processed: number;
  lost: number;
  /** Lines beyond the first for a sequence number. */
  duplicates: number;
  /**
   * Duplicates written in each window: [0] before the first fault, [k] from fault k's start to
   * fault k+1's (the last to the end).
   */
  perWindow: number[];
  /** The first missing sequence numbers, for diagnosis. */
  missing: number[];
}

const MISSING_SHOWN = 20;

/** Mosquitto's `max_inflight_messages` default: what it keeps unacknowledged to an MQTT 3.1.1 client. */
export const MOSQUITTO_MAX_INFLIGHT = 20;

/**
 * Duplicates per fault the soak holds us to: the messages inside the flow plus what the broker had
 * in flight. The window starts at 10 (ADAPTIVE.min) and grows only while a backlog drains quickly;
 * what a fault catches is what is inside the flow then, at a soak's rate about the starting window.
 * docs/acks.md promises less tightly: at most maxInFlight + 50 (1,000 at most).
 */
export function duplicateBound(maxInFlight = 10, brokerInFlight = MOSQUITTO_MAX_INFLIGHT): number {
  return maxInFlight + brokerInFlight;
}

/** The lines a stamped sink holds (an unfinished last line is skipped). */
export function readStamped(file: string): Stamped[] {
  if (!existsSync(file)) return [];
  const out: Stamped[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m) out.push({ seq: Number(m[1]), at: Number(m[2]) });
  }
  return out;
}

/** Which window a time falls in, for fault start times in ascending order. */
function windowOf(at: number, faultStarts: readonly number[]): number {
  let w = 0;
  while (w < faultStarts.length && at >= faultStarts[w]) w++;
  return w;
}

export function tallyStamped(sent: number, lines: readonly Stamped[], faultStarts: readonly number[]): SoakTally {
  const seen = new Uint8Array(sent);
  const perWindow = new Array<number>(faultStarts.length + 1).fill(0);
  let processed = 0;
  let duplicates = 0;
  // Lines are in the order written, so the first of a sequence number is the original.
  for (const { seq, at } of lines) {
    if (seq >= sent) continue;
    if (seen[seq]) {
      duplicates++;
      perWindow[windowOf(at, faultStarts)]++;
    } else {
      seen[seq] = 1;
      processed++;
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < sent && missing.length < MISSING_SHOWN; i++) if (!seen[i]) missing.push(i);
  return { sent, processed, lost: sent - processed, duplicates, perWindow, missing };
}

/** Duplicates written up to each of `times`, for a timeline. */
export function duplicatesBy(lines: readonly Stamped[], times: readonly number[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  let i = 0;
  let dups = 0;
  for (const t of times) {
    for (; i < lines.length && lines[i].at <= t; i++) {
      if (seen.has(lines[i].seq)) dups++;
      else seen.add(lines[i].seq);
    }
    out.push(dups);
  }
  return out;
}
