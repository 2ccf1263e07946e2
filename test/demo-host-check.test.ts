// Specs for scripts/demo-host-check.ts: which Host headers the demo editor answers (the running demo is checked in demo.test.ts).
import { strict as assert } from 'node:assert';
import { hostAllowed } from '../scripts/demo-host-check';

describe('demo host check', () => {
  it('lets through only this machine\'s names for the editor, with its port, in any case', () => {
    for (const host of ['localhost:1880', '127.0.0.1:1880', '[::1]:1880', 'LocalHost:1880']) assert.equal(hostAllowed(host, 1880), true, host);
  });

  it('refuses every other name, a missing or other port, a name that only begins like ours, and no Host at all', () => {
    for (const host of ['evil.example:1880', 'localhost', '127.0.0.1:1881', 'localhost:1880.evil.example', '127.0.0.1.nip.io:1880', '0.0.0.0:1880', '', undefined]) {
      assert.equal(hostAllowed(host, 1880), false, String(host));
    }
  });
});
