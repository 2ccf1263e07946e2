// Exponential reconnect delays with jitter, so many clients dropped together do not return together.

export interface BackoffOptions {
  /** First delay, ms. */
  readonly min: number;
  /** Largest delay, ms. */
  readonly max: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): min·2^(attempt-1), capped at max, then
 * "equal jitter" (half fixed, half random) so the delay never collapses to zero.
 */
export function backoffDelay(attempt: number, { min, max }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(max, min * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
