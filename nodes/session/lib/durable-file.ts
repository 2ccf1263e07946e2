// Small JSON files that must survive a crash as written: atomic replace, fsync of the file and of its folder.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** Modes of what the package writes under the user directory: session state and queued messages are Node-RED's user's alone. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

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
    privateDir(this.dir);
    // An explicit mode also replaces the mode of a file an earlier version wrote (write-file-atomic keeps the old one otherwise).
    writeFileAtomic.sync(this.path, JSON.stringify(value, null, 1), { mode: PRIVATE_FILE_MODE });
    syncFolder(this.dir);
  }

  remove(): void {
    rmSync(this.path, { force: true });
    syncFolder(this.dir);
  }
}

/**
 * Creates `dir` and the folders above it that are missing, 0700; an existing `dir` (an earlier
 * version made it with the umask's mode) is made 0700 too.
 */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    chmodSync(dir, PRIVATE_DIR_MODE);
  } catch (err) {
    // A folder someone else owns (a shared user directory) keeps its mode: it is theirs to set, and writing into it still works.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/** The folder in Node-RED's user directory that holds all this package keeps: ledgers, dynamic subscriptions, and outboxes below it. */
export function stateDirOf(userDir: string): string {
  return join(userDir, 'durable-mqtt');
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
