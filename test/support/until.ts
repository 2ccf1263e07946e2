// The one polling wait of the test suite: a condition, not a sleep.

/** Resolves once `check()` is true, looking every `everyMs`; rejects naming `what` after `ms`. */
export async function until(check: () => boolean, what: string, ms = 15000, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
