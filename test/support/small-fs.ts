// Test helper: a real, small filesystem (tmpfs) a test can fill to the last byte, for the write errors of a full disk.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallFs {
  /** The mount point. */
  readonly dir: string;
  /** Fills the filesystem until a write of one byte fails (ENOSPC), leaving about `leaveBytes` free (page-rounded). */
  fill(leaveBytes?: number): void;
  /** Removes what fill() wrote. */
  free(): void;
}

const FILLER = '.filler';
const CHUNKS = [64 * 1024, 4096, 1];

/** Writes `chunk`-byte blocks to `fd` until the filesystem refuses one. */
function writeUntilFull(fd: number, chunk: number): void {
  const block = Buffer.alloc(chunk, 0x5a);
  for (;;) {
    try {
      writeSync(fd, block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

/**
 * Mounts a tmpfs of `size` (mount(8) syntax, e.g. `1m`) for each test of the enclosing describe
 * and unmounts it after; the test must have closed what it opened there. Mounting needs root
 * (CAP_SYS_ADMIN): elsewhere the tests fail, with that reason, rather than pass unrun.
 */
export function smallFsForEach(size = '1m'): () => SmallFs {
  let fs: SmallFs | undefined;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'small-fs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      rmdirSync(dir);
      throw new Error(`a small filesystem needs \`mount -t tmpfs\`, which needs root (CAP_SYS_ADMIN): ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    }
    const filler = join(dir, FILLER);
    fs = {
      dir,
      fill: (leaveBytes = 0) => {
        const spacer = join(dir, '.spacer');
        if (leaveBytes > 0) writeFileSync(spacer, Buffer.alloc(leaveBytes));
        const fd = openSync(filler, 'a');
        try {
          for (const chunk of CHUNKS) writeUntilFull(fd, chunk);
        } finally {
          closeSync(fd);
        }
        rmSync(spacer, { force: true });
      },
      free: () => rmSync(filler, { force: true }),
    };
  });
  afterEach(() => {
    if (!fs) return;
    const { dir } = fs;
    fs = undefined;
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch (err) {
      // Something the test opened there is still open: detach the mount anyway, and say so.
      execFileSync('umount', ['--lazy', dir], { stdio: 'pipe' });
      throw new Error(`${dir} was still in use after the test (left open?): ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    } finally {
      rmdirSync(dir);
    }
  });
  return () => fs ?? assert.fail('no small filesystem outside a test');
}
