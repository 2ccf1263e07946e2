// Small JSON files that must survive a crash as written: atomic replace, fsync of the file and of its folder.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/**
 * One file in `dir` named after a hash of `key` (a client ID or a subflow instance's node id may hold
 * characters a file name should not). write-file-atomic fsyncs the new content in a temporary file
 * and renames it over the old one; the folder is then fsynced so the rename survives a power cut.
 */
export class DurableFile {
  readonly path: string;

  constructor(
    private readonly dir: string,
    key: string,
    prefix = '',
  ) {
    this.path = join(dir, `${prefix}${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
  }

  /** The parsed content, or undefined when there is no file; throws on an unreadable or corrupt one. */
  read(): unknown {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return JSON.parse(text) as unknown;
  }

  /** Throws when the write fails: the caller reports it. */
  write(value: unknown): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic.sync(this.path, JSON.stringify(value, null, 1));
    syncFolder(this.dir);
  }

  remove(): void {
    rmSync(this.path, { force: true });
    syncFolder(this.dir);
  }
}

/** Node-RED's user directory, or undefined where the runtime has none (the test helper): callers then keep state in memory. */
export function userDirOf(settings: object): string | undefined {
  try {
    const dir = (settings as { userDir?: unknown }).userDir;
    return typeof dir === 'string' ? dir : undefined;
  } catch {
    // Runtime settings not loaded (as under the test helper): reading them throws.
    return undefined;
  }
}

/** fsync of a folder makes a rename or removal in it durable; Windows cannot open a folder for it, and does not need it. */
function syncFolder(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (err) {
    // The folder is gone (cleared before it was ever written): nothing to make durable.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
