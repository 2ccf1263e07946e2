// Test helper: a fresh temp dir for each test of the enclosing describe, removed after it.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Returns a getter for the current test's dir, made as `<tmpdir>/<prefix>XXXXXX`. */
export function tempDirForEach(prefix: string): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => dir ?? assert.fail('no temp dir outside a test');
}
