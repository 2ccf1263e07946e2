// Small statistics: median and spread over rounds, percentiles over latency samples.

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every round's value, in run order. */
  values: number[];
}

export function spread(values: number[]): Spread | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  return { median: percentile([...finite].sort((x, y) => x - y), 50), min: Math.min(...finite), max: Math.max(...finite), values };
}

/** Linear-interpolated percentile `p` (0-100) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
