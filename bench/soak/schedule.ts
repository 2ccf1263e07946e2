// The faults a soak injects, drawn from one seed: which kind, how long after the previous one, how long the broker stays down.
import { between, pick, seeded } from './random';

export const FAULT_KINDS = ['nodered-kill', 'nodered-term', 'deploy-full', 'deploy-nodes', 'broker-kill'] as const;
/**
 * kill -9 or SIGTERM of Node-RED (started again at once), a full deploy, a "nodes" deploy that
 * changes the delay nodes, kill -9 of Mosquitto (started again after a pause).
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  /** 1-based: fault 1 is the first. */
  readonly index: number;
  readonly kind: FaultKind;
  /** ms to wait after the previous fault has been dealt with (or after the start). */
  readonly gapMs: number;
  /** broker-kill only: ms between the kill and the restart. */
  readonly downMs?: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  /** Kinds to draw from; all by default. */
  readonly kinds?: readonly FaultKind[];
  readonly gapMs?: readonly [min: number, max: number];
  readonly downMs?: readonly [min: number, max: number];
}

/** The reported runs spaced faults 15–35 s apart and kept Mosquitto down 1–4 s. */
export const GAP_MS = [15_000, 35_000] as const;
export const BROKER_DOWN_MS = [1_000, 4_000] as const;

/**
 * An endless sequence: the runner takes faults while time is left. Each fault draws the same
 * three numbers whatever its kind, so fault k of a seed is the same whichever kinds came before.
 */
export function* faults(o: ScheduleOptions): Generator<Fault> {
  const random = seeded(o.seed);
  const kinds = o.kinds ?? FAULT_KINDS;
  const [gapMin, gapMax] = o.gapMs ?? GAP_MS;
  const [downMin, downMax] = o.downMs ?? BROKER_DOWN_MS;
  for (let index = 1; ; index++) {
    const gapMs = between(random, gapMin, gapMax);
    const kind = pick(random, kinds);
    const downMs = between(random, downMin, downMax);
    yield kind === 'broker-kill' ? { index, kind, gapMs, downMs } : { index, kind, gapMs };
  }
}

/** The first `n` faults of a seed, for printing a plan. */
export function firstFaults(o: ScheduleOptions, n: number): Fault[] {
  const out: Fault[] = [];
  for (const f of faults(o)) {
    if (out.length >= n) break;
    out.push(f);
  }
  return out;
}
