// Remembers which filters the broker holds for a persistent session, across redeploys and restarts.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QoS, SubscriptionSet } from './cover';

/**
 * With a session present the broker still has our subscriptions, but not which ones: the ledger
 * is what lets a restart subscribe only what changed instead of everything again.
 */
export interface SubscriptionLedger {
  /** What the broker holds, or undefined when unknown. */
  load(): SubscriptionSet | undefined;
  save(subscriptions: SubscriptionSet): void;
  clear(): void;
}

const memory = new Map<string, SubscriptionSet>();

/** Lives as long as the process: enough for redeploys, and for tests. */
export class MemoryLedger implements SubscriptionLedger {
  constructor(private readonly key: string) {}
  load(): SubscriptionSet | undefined {
    const s = memory.get(this.key);
    return s && new Map(s);
  }
  save(subscriptions: SubscriptionSet): void {
    memory.set(this.key, new Map(subscriptions));
  }
  clear(): void {
    memory.delete(this.key);
  }
}

/** A JSON file per session in `dir` (Node-RED's userDir), written atomically. */
export class FileLedger implements SubscriptionLedger {
  private readonly file: string;
  constructor(
    private readonly dir: string,
    private readonly key: string,
  ) {
    this.file = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
  }
  load(): SubscriptionSet | undefined {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as { subscriptions?: Record<string, QoS> };
      return data.subscriptions ? new Map(Object.entries(data.subscriptions)) : undefined;
    } catch {
      return undefined;
    }
  }
  save(subscriptions: SubscriptionSet): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ session: this.key, subscriptions: Object.fromEntries(subscriptions) }, null, 1));
    renameSync(tmp, this.file);
  }
  clear(): void {
    rmSync(this.file, { force: true });
  }
}
