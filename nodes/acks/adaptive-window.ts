// Chooses how many messages a consumer lets into its flow at once: more while they pass through quickly, fewer once they wait inside it.

/**
 * The named limits of the controller. The window is sized by the time messages spend in the flow,
 * not by how that time compares with its best: with group commits (the out node's fsync) the time
 * is noisy and hardly depends on the window, while the throughput grows with it; in a delay node or
 * a slow database the time grows with the window and the throughput does not.
 */
export const ADAPTIVE = {
  /**
   * The window a consumer starts with, and the least it shrinks to (or its maxInFlight, if smaller):
   * the fixed window of earlier versions, so a flow of slow but parallel work (an HTTP call of
   * seconds) takes as many at once as before.
   */
  min: 10,
  /** A round whose mean time in the flow is above this shrinks the window. */
  targetMs: 250,
  /** A round that stayed below `targetMs` × this, with the window full, grows it. */
  growBelow: 0.5,
  grow: 1.5,
  shrink: 0.5,
} as const;

/**
 * Decides once per round of `size` completions. It grows only when the window was the limit (full
 * during the round), so a quiet flow keeps a small one. So a flow holds about what it handles in
 * `targetMs`, at least `min` and at most the user's maxInFlight: that is what a crash can leave
 * processed but not acknowledged (docs/acks.md), and it keeps messages far from the ackTimeout.
 */
export class AdaptiveWindow {
  size: number;
  private count = 0;
  private total = 0;
  private full = false;

  constructor(readonly cap: number) {
    this.size = Math.min(cap, ADAPTIVE.min);
  }

  /** A message entered the flow, with `active` messages inside it now (it included). */
  entered(active: number): void {
    if (active >= this.size) this.full = true;
  }

  /** A message finished after `ms` in the flow. Returns the window's new size. */
  finished(ms: number): number {
    this.total += ms;
    if (++this.count < this.size) return this.size;
    const mean = this.total / this.count;
    if (mean > ADAPTIVE.targetMs) this.size = Math.max(Math.min(this.cap, ADAPTIVE.min), Math.floor(this.size * ADAPTIVE.shrink));
    else if (this.full && mean < ADAPTIVE.targetMs * ADAPTIVE.growBelow) this.size = Math.min(this.cap, Math.ceil(this.size * ADAPTIVE.grow));
    this.count = 0;
    this.total = 0;
    this.full = false;
    return this.size;
  }
}
