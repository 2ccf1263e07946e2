// Seeded random draws, so a soak's fault sequence can be run again from the seed it printed.
import { seeded } from '../../test/support/filters';

/** A number in [0, 1), like Math.random; mulberry32, the property specs' own. */
export type Random = () => number;
export { seeded };

/** A whole number in [min, max]. */
export function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** A fresh seed when none was given (printed, so the run can be repeated). */
export function newSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
