// Specifies the adaptive window: it grows while a full window's messages pass through quickly, shrinks when they wait, and stays within its bounds.
import { strict as assert } from 'node:assert';
import { ADAPTIVE, AdaptiveWindow } from '../nodes/acks/adaptive-window';

/** One round: `size` messages enter with the window full (or not), each finishing after `ms`. */
function round(w: AdaptiveWindow, ms: number, full = true): number {
  const n = w.size;
  for (let i = 1; i <= n; i++) w.entered(full ? i : 1);
  let size = w.size;
  for (let i = 0; i < n; i++) size = w.finished(ms);
  return size;
}

describe('AdaptiveWindow', () => {
  it('starts at the least window, or at the cap when that is smaller', () => {
    assert.equal(new AdaptiveWindow(1000).size, ADAPTIVE.min);
    assert.equal(new AdaptiveWindow(3).size, 3);
  });

  it('grows up to the cap while a full window passes through well under the target', () => {
    const w = new AdaptiveWindow(1000);
    const sizes = [w.size];
    while (sizes.length < 30 && w.size < 1000) sizes.push(round(w, ADAPTIVE.targetMs / 10));
    assert.equal(w.size, 1000, `sizes ${sizes.join(' ')}`);
    assert.ok(sizes.every((s, i) => i === 0 || s > sizes[i - 1]), `grew every round: ${sizes.join(' ')}`);
    round(w, 1);
    assert.equal(w.size, 1000, 'never past the cap');
  });

  it('does not grow while the window is not full: a quiet flow keeps a small one', () => {
    const w = new AdaptiveWindow(1000);
    for (let i = 0; i < 10; i++) round(w, 1, false);
    assert.equal(w.size, ADAPTIVE.min);
  });

  it('halves when messages wait in the flow past the target, down to the least window', () => {
    const w = new AdaptiveWindow(1000);
    while (w.size < 500) round(w, 1);
    const before = w.size;
    assert.equal(round(w, ADAPTIVE.targetMs * 2), Math.floor(before / 2));
    for (let i = 0; i < 20; i++) round(w, ADAPTIVE.targetMs * 2);
    assert.equal(w.size, ADAPTIVE.min);
  });

  it('holds between half the target and the target', () => {
    const w = new AdaptiveWindow(1000);
    while (w.size < 100) round(w, 1);
    const before = w.size;
    for (let i = 0; i < 5; i++) round(w, ADAPTIVE.targetMs * 0.75);
    assert.equal(w.size, before);
  });

  it('settles where a rate-limited flow (a delay node at 1,000 msg/s) keeps messages about the target', () => {
    // Messages wait in the delay node one after another: the mean time is half the window at 1 ms each.
    const w = new AdaptiveWindow(1000);
    for (let i = 0; i < 50; i++) round(w, w.size / 2);
    assert.ok(w.size >= ADAPTIVE.targetMs * ADAPTIVE.growBelow && w.size <= ADAPTIVE.targetMs * 2 * ADAPTIVE.grow, `size ${w.size}`);
  });
});
