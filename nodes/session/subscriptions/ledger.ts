// Remembers which filters the broker holds for a persistent session, across redeploys and restarts.
import type { QoS, SubscriptionSet } from './cover';
import { DurableFile } from '../lib/durable-file';

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
  /**
   * What `load` would give now, as this ledger last read or wrote it, without reading again: the
   * session commits each SUBACK and UNSUBACK here before it emits the event, so a check made on
   * every event (until-applied.ts) needs no disk.
   */
  readonly held: ReadonlyMap<string, QoS> | undefined;
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
  get held(): ReadonlyMap<string, QoS> | undefined {
    return memory.get(this.key)?.subscriptions;
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
 * A JSON file per session in `dir` (Node-RED's userDir), written atomically and durably (DurableFile):
 * a crash leaves the old ledger or the new one, never half of one.
 */
export class FileLedger implements SubscriptionLedger {
  private readonly file: DurableFile;
  problem?: Error;
  /** The subscriptions as last read or written; none while a write is under way or after one failed (the file may hold the old or the new). */
  private last?: { readonly subscriptions: SubscriptionSet | undefined };

  constructor(
    dir: string,
    private readonly key: string,
  ) {
    this.file = new DurableFile(dir, key);
  }

  load(): SubscriptionSet | undefined {
    this.problem = undefined;
    let subscriptions: SubscriptionSet | undefined;
    try {
      const data = this.file.read() as { subscriptions?: Record<string, QoS> } | undefined;
      subscriptions = data?.subscriptions ? new Map(Object.entries(data.subscriptions)) : undefined;
    } catch (err) {
      // No file yet (read() gives undefined) is the normal unknown; anything else is worth a word.
      this.problem = new Error(`cannot read the subscription ledger ${this.file.path}: ${(err as Error).message}`, { cause: err });
    }
    this.last = { subscriptions };
    return subscriptions && new Map(subscriptions);
  }

  get held(): ReadonlyMap<string, QoS> | undefined {
    // Never read yet, or a write failed part-way: only the file can say.
    if (!this.last) this.load();
    return this.last?.subscriptions;
  }

  /** Files written before identifiers existed have none: those filters are routed by topic. */
  loadIds(): Map<string, number> {
    try {
      const data = this.file.read() as { ids?: Record<string, unknown> } | undefined;
      return new Map(Object.entries(data?.ids ?? {}).filter((e): e is [string, number] => Number.isInteger(e[1])));
    } catch {
      // load() reports an unreadable file; without it no identifier is known.
      return new Map();
    }
  }

  save(subscriptions: SubscriptionSet, ids?: ReadonlyMap<string, number>): void {
    this.last = undefined;
    this.file.write({ session: this.key, subscriptions: Object.fromEntries(subscriptions), ...(ids && ids.size > 0 ? { ids: Object.fromEntries(ids) } : {}) });
    // A copy: the caller may go on changing its map.
    this.last = { subscriptions: new Map(subscriptions) };
  }

  clear(): void {
    this.last = undefined;
    this.file.remove();
    this.last = { subscriptions: undefined };
  }
}
