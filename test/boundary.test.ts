// Specs for nodes/common/boundary.ts: the one error boundary of the per-message and per-timer paths.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { guarded } from '../nodes/common/boundary.js';

describe('boundary', () => {
  it('runs the path with its arguments, and hands a throw to the handler with the same arguments instead of the caller', () => {
    const seen: unknown[][] = [];
    const path = guarded(
      (n: number, label: string) => {
        if (n === 2) throw new Error(`bad ${label}`);
        seen.push(['ran', n, label]);
      },
      (err, n, label) => seen.push(['failed', err.message, n, label]),
    );
    for (const n of [1, 2, 3]) path(n, `#${n}`);
    assert.deepEqual(seen, [['ran', 1, '#1'], ['failed', 'bad #2', 2, '#2'], ['ran', 3, '#3']]);
  });

  it('hands the handler an Error whatever was thrown', () => {
    let got: Error | undefined;
    guarded(
      () => {
        // A library may throw anything; the rule is about our own throws.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'a string';
      },
      (err) => (got = err),
    )();
    assert.ok(got instanceof Error);
    assert.equal(got.message, 'a string');
  });

  it('hands the handler an Error for a thrown object that cannot even be turned into text', () => {
    let got: Error | undefined;
    guarded(
      () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw { toString: '' };
      },
      (err) => (got = err),
    )();
    assert.ok(got instanceof Error);
    assert.match(got.message, /cannot be shown as text/);
  });

  it('turns a handler that throws too into a process warning, never a throw to the caller', async () => {
    const warning = once(process, 'warning');
    const path = guarded(
      () => {
        throw new Error('first');
      },
      () => {
        throw new Error('second');
      },
    );
    assert.doesNotThrow(() => path());
    const [w] = (await warning) as [Error];
    assert.match(w.message, /first; reporting it failed too: second/);
  });
});
