// When an out node's append must be on disk: at the next group commit, or later while a durable mqtt in still holds the message.

/**
 * How long an append whose sender still holds the message may wait in memory for the broker's
 * answer before it is written. Behind a durable mqtt in, nearly every message is acknowledged well
 * within it (in the bridge the slowest 1% took 175 ms), so next to nothing reaches the disk.
 */
export const WRITE_BEHIND_MS = 1000;

/**
 * `writeBy` for Outbox.add: 0 (the next group commit) unless a consumer acknowledges the message
 * only after the flow's done(), which this node calls after the broker's answer; `deadline` is when
 * that consumer stops waiting (its ackTimeout, from the tracker) and acknowledges anyway. Then the
 * consumer's broker keeps a copy meanwhile, and the append waits WRITE_BEHIND_MS, ending at least
 * WRITE_BEHIND_MS before that deadline so it is on disk before the broker's copy goes.
 */
export function writeByOf(deadline: number | undefined, now: number): number {
  if (deadline === undefined) return 0;
  const by = Math.min(now + WRITE_BEHIND_MS, deadline - WRITE_BEHIND_MS);
  return by > now ? by : 0;
}
