// Remembers which filters the broker holds for a persistent session, across redeploys and restarts.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { QoS, SubscriptionSet } from './cover';

/**
 * With a session present the broker still has our subscriptions, but not which ones: the ledger
 * is what lets a restart subscribe only what changed instead of everything again.
 */
export interface SubscriptionLedger {
  /** What the broker holds, or undefined when unknown (never throws: unknown means subscribe everything again). */
  load(): SubscriptionSet | undefined;
  /**
   * MQTT 5 subscription identifiers of the held filters, as last saved: a present session after a
   * restart still tells which filter a message came through. Empty when unknown.
   */
  loadIds?(): Map<string, number>;
  /** Throws when the write fails; the session reports it. */
  save(subscriptions: SubscriptionSet, ids?: ReadonlyMap<string, number>): void;
  clear(): void;
  /** Why the last `load` found nothing although there was something to read (an unreadable or corrupt file). */
  readonly problem?: Error;
}

const memory = new Map<string, { subscriptions: SubscriptionSet; ids: Map<string, number> }>();

/** Lives as long as the process: enough for redeploys, and for tests. */
export class MemoryLedger implements SubscriptionLedger {
  constructor(private readonly key: string) {}
  load(): SubscriptionSet | undefined {
    const s = memory.get(this.key);
    return s && new Map(s.subscriptions);
  }
  loadIds(): Map<string, number> {
    return new Map(memory.get(this.key)?.ids);
  }
  save(subscriptions: SubscriptionSet, ids?: ReadonlyMap<string, number>): void {
    memory.set(this.key, { subscriptions: new Map(subscriptions), ids: new Map(ids) });
  }
  clear(): void {
    memory.delete(this.key);
  }
}

/**
 * A JSON file per session in `dir` (Node-RED's userDir). Written atomically and durably: the new
 * content is fsynced in a temporary file renamed over the old one (write-file-atomic), then the
 * folder is fsynced so the rename itself survives a power cut.
 */
export class FileLedger implements SubscriptionLedger {
  private readonly file: string;
  problem?: Error;

  constructor(
    private readonly dir: string,
    private readonly key: string,
  ) {
    this.file = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
  }

  load(): SubscriptionSet | undefined {
    this.problem = undefined;
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as { subscriptions?: Record<string, QoS> };
      return data.subscriptions ? new Map(Object.entries(data.subscriptions)) : undefined;
    } catch (err) {
      // No file yet is the normal unknown; anything else is worth a word.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.problem = new Error(`cannot read the subscription ledger ${this.file}: ${(err as Error).message}`, { cause: err });
      return undefined;
    }
  }

  /** Files written before identifiers existed have none: those filters are routed by topic. */
  loadIds(): Map<string, number> {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as { ids?: Record<string, unknown> };
      return new Map(Object.entries(data.ids ?? {}).filter((e): e is [string, number] => Number.isInteger(e[1])));
    } catch {
      // load() reports an unreadable file; without it no identifier is known.
      return new Map();
    }
  }

  save(subscriptions: SubscriptionSet, ids?: ReadonlyMap<string, number>): void {
    mkdirSync(this.dir, { recursive: true });
    const data = { session: this.key, subscriptions: Object.fromEntries(subscriptions), ...(ids && ids.size > 0 ? { ids: Object.fromEntries(ids) } : {}) };
    writeFileAtomic.sync(this.file, JSON.stringify(data, null, 1));
    syncFolder(this.dir);
  }

  clear(): void {
    rmSync(this.file, { force: true });
    syncFolder(this.dir);
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
