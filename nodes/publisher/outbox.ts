// The durable queue of QoS 1/2 publications: a LevelDB (classic-level) whose appends are fsynced and whose entries leave only after the broker's ack.
import { ClassicLevel } from 'classic-level';
import { backoffDelay, type BackoffOptions } from '../session/backoff';
import { privateDir } from '../session/durable-file';
import { Fifo } from '../session/fifo';
import { Table } from '../session/table';
import type { OutboxLimits } from './limits';
import { groupKeyOf, groupValue, headerOf, LENGTH_BYTES, RecordReader, type Publication, type Read } from './outbox-records';

export type { Publication, PublishProperties } from './outbox-records';

export interface Queued {
  /** Position in the outbox: the order messages arrived in, kept across restarts. */
  readonly seq: number;
  readonly publication: Publication;
  /** Bytes on disk, as counted against `maxBytes`. */
  readonly bytes: number;
  /** The msg's done(), carried for the node that added the entry; none for entries loaded from disk. */
  readonly done?: Done;
}

export type Done = (err?: Error) => void;
/** Called once per added entry: without an error once it is on disk, or with the write's error (the entry is gone then). */
export type Written = (entry: Queued, err?: Error) => void;

export class OutboxFullError extends Error {
  override name = 'OutboxFullError';
}

/** A write to the outbox failed: the message is not on disk, and new ones are refused until a write succeeds again. */
export class OutboxWriteError extends Error {
  override name = 'OutboxWriteError';
}

/** What the outbox tells its owner besides each append's result. */
export interface OutboxEvents {
  /** Writes failed (with why), or work again (undefined) after they had failed. */
  writeFailure?(error: OutboxWriteError | undefined): void;
}

/**
 * Delays between attempts to write again after a failed write (a full disk, an I/O error): soon
 * at first, since space is often freed within seconds, and at most every 10 s after that, an
 * attempt being a close and open of the database.
 */
export const WRITE_RETRY: BackoffOptions = { min: 500, max: 10_000 };

/** The LevelDB record an entry is stored in, and how many of its entries are still in the outbox. */
interface Group {
  readonly key: string;
  live: number;
}

/** An entry as added; the same object is handed out once written, so nothing is copied per message. */
interface Stored extends Queued {
  /** Set once its batch is written. */
  group?: Group;
}

/** A written entry: in the outbox, in memory and on disk. */
interface Admitted extends Stored {
  group: Group;
}

/** An added entry until its batch is written: the record's header (JSON, encoded into the batch's value then) and who to tell. */
interface Pending {
  readonly entry: Stored;
  readonly header: string;
  readonly headerBytes: number;
  readonly written: Written;
}

const NONE_EVICTED: readonly Queued[] = [];

/**
 * Everything in the outbox is also held in memory (bounded by `maxBytes`), so sending never waits for
 * a read. What makes the promise true is the write order: an append resolves only after LevelDB has
 * fsynced its log (`sync: true`), and appends that arrive while a write is under way share the next
 * fsync (group commit). Removals are not synced: one lost in a crash only means the message is sent
 * again after the restart, and duplicates are allowed at QoS 1/2.
 */
export class Outbox {
  /** By seq; a Table, not a bare Map: see Table. */
  private readonly entries = new Table<number, Admitted>();
  /** Durable entries not handed out by `take`, oldest first. */
  private waiting = new Fifo<Admitted>();
  private nextSeq = 0;
  /** Count and bytes reserved, including appends still being written. */
  private reservedCount = 0;
  private reservedBytes = 0;
  private deletes: string[] = [];
  private pending: Pending[] = [];
  private writing?: Promise<void>;
  private closed = false;
  /** Set from a failed write until a write succeeds again; appends are refused meanwhile. */
  private failure?: OutboxWriteError;
  private retries = 0;
  private retryTimer?: NodeJS.Timeout;

  private constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    readonly limits: OutboxLimits,
    loaded: readonly Read[],
    nextSeq: number,
    /** Records this open found unreadable and moved to quarantine (see RecordReader). */
    readonly quarantined: number,
    private readonly events: OutboxEvents,
  ) {
    const groups = new Map<string, Group>();
    for (const m of loaded) {
      let group = groups.get(m.key);
      if (!group) groups.set(m.key, (group = { key: m.key, live: 0 }));
      group.live++;
      this.admit({ seq: m.seq, publication: m.publication, bytes: m.bytes, done: undefined, group }, group);
      this.reservedBytes += m.bytes;
    }
    this.reservedCount = loaded.length;
    this.nextSeq = nextSeq;
  }

  /**
   * Opens (or creates) the outbox in `dir` and loads what an earlier run left, in order. Records it
   * cannot read are moved to quarantine first (`quarantined` says how many); whatever fails, a
   * failed open has closed the database, so LevelDB's lock does not outlive it.
   */
  static async open(dir: string, limits: OutboxLimits, events: OutboxEvents = {}): Promise<Outbox> {
    // LevelDB creates its files with the umask's mode; a private folder is what keeps them private.
    privateDir(dir);
    const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    try {
      const reader = new RecordReader();
      for await (const [key, value] of db.iterator()) reader.add(key, value);
      // Synced like an append: the bad bytes are kept before the record holding them is rewritten.
      if (reader.ops.length > 0) await db.batch([...reader.ops], { sync: true });
      return new Outbox(db, limits, reader.messages, reader.nextSeq, reader.quarantined, events);
    } catch (err) {
      await db.close().catch((closing: unknown) => {
        // The open's own error is the one to report; this one only adds that the lock may stay.
        (err as Error).message += ` (and closing the database failed: ${(closing as Error).message})`;
      });
      throw err;
    }
  }

  /** Why writes fail, from a failed write until one succeeds again; undefined while they work. */
  get writeFailure(): OutboxWriteError | undefined {
    return this.failure;
  }

  /** How full the outbox is, from 0 to 1: the larger of its share of `maxMessages` and of `maxBytes`, appends being written included. */
  get fill(): number {
    return Math.max(this.reservedCount / this.limits.maxMessages, this.reservedBytes / this.limits.maxBytes);
  }

  /** Messages on disk: waiting, or sent and not yet acknowledged (appends still being written not counted). */
  get depth(): number {
    return this.entries.size;
  }

  /**
   * Resolves once `publication` is on disk. When the outbox is full, `refuse` rejects with an
   * OutboxFullError; `dropOldest` removes the oldest waiting entries to make room and returns them.
   */
  append(publication: Publication): Promise<{ entry: Queued; evicted: readonly Queued[] }> {
    return new Promise((resolve, reject) => {
      const evicted = this.add(publication, (entry, err) => (err ? reject(err) : resolve({ entry, evicted })));
    });
  }

  /**
   * `append` without a promise, for the node's per-message path: reserves room at once and queues
   * the record for the next group commit; `written` is called when that is on disk (or failed).
   * Returns the entries evicted to make room (`dropOldest`), already removed. Throws an
   * OutboxFullError when the message does not fit (`refuse`, or nothing left to evict), and the
   * OutboxWriteError of the last failed write until a write succeeds again.
   */
  add(publication: Publication, written: Written, done?: Done): readonly Queued[] {
    if (this.closed) throw new Error('the outbox is closed');
    if (this.failure) throw this.failure;
    const { header, headerBytes } = headerOf(publication);
    const bytes = LENGTH_BYTES + headerBytes + publication.payload.length;
    let evicted = NONE_EVICTED;
    const { maxMessages, maxBytes, whenFull } = this.limits;
    if (!this.fits(bytes) && whenFull === 'dropOldest' && bytes <= maxBytes) {
      const dropped: Queued[] = [];
      while (!this.fits(bytes) && this.waiting.size > 0) {
        const old = this.waiting.shift() as Admitted;
        this.remove(old);
        dropped.push(old);
      }
      evicted = dropped;
    }
    if (!this.fits(bytes)) {
      throw new OutboxFullError(
        `outbox full (${this.reservedCount} of ${maxMessages} messages, ${this.reservedBytes + bytes} of ${maxBytes} bytes with this one): message refused`,
      );
    }
    const entry: Stored = { seq: this.nextSeq++, publication, bytes, done, group: undefined };
    this.reservedCount++;
    this.reservedBytes += bytes;
    this.pending.push({ entry, header, headerBytes, written });
    this.startWriting();
    return evicted;
  }

  /** Hands out the oldest waiting entry, which stays in the outbox until `remove` or `untake`. */
  take(): Queued | undefined {
    return this.waiting.shift();
  }

  /** Returns a taken entry to its place in the order (its publish ended without the broker's answer). */
  untake(entry: Queued): void {
    const stored = this.entries.get(entry.seq);
    if (!stored) return;
    const rest = this.waiting.clear();
    this.waiting = new Fifo<Admitted>();
    let placed = false;
    for (const e of rest) {
      if (!placed && e.seq > entry.seq) {
        this.waiting.push(stored);
        placed = true;
      }
      this.waiting.push(e);
    }
    if (!placed) this.waiting.push(stored);
  }

  /** Deletes an entry (acknowledged, refused by the broker, or evicted); false when it was not in the outbox (any more). */
  remove(entry: Queued): boolean {
    const stored = this.entries.get(entry.seq);
    if (!stored) return false;
    this.entries.delete(entry.seq);
    this.reservedCount--;
    this.reservedBytes -= stored.bytes;
    // The record goes with its last entry; one left by a crash before that is sent again (a duplicate).
    if (--stored.group.live > 0 || this.closed) return true;
    this.deletes.push(stored.group.key);
    this.startWriting();
    return true;
  }

  /** Finishes pending writes and closes the database; entries left in it are sent after the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    while (this.writing) await this.writing;
    // A failed attempt to write again may have left it closed. Removals still owed are lost: those messages are sent again after the next open.
    if (this.db.status === 'open') await this.db.close();
  }

  private fits(bytes: number): boolean {
    return this.reservedCount + 1 <= this.limits.maxMessages && this.reservedBytes + bytes <= this.limits.maxBytes;
  }

  private admit(entry: Stored, group: Group): void {
    entry.group = group;
    const admitted = entry as Admitted; // its group is set just above
    this.entries.set(entry.seq, admitted);
    this.waiting.push(admitted);
  }

  private startWriting(): void {
    // Everything queued while a write is under way goes in the next batch, behind one fsync; nothing is written while writes fail.
    if (!this.writing && !this.failure) this.writing = this.flush();
  }

  private async flush(): Promise<void> {
    // Let the current turn's appends join this batch.
    await Promise.resolve();
    while (this.pending.length > 0 || this.deletes.length > 0) {
      const deletes = this.deletes;
      const pending = this.pending;
      this.deletes = [];
      this.pending = [];
      // Appends take sequence numbers in order and all join the batch, so one group is a run of them.
      const group: Group = { key: groupKeyOf(pending[0]?.entry.seq ?? 0), live: pending.length };
      try {
        const batch = this.db.batch();
        for (const key of deletes) batch.del(key);
        if (pending.length > 0) batch.put(group.key, groupValue(pending));
        await batch.write({ sync: pending.length > 0 });
        // All of the batch is takeable before anyone hears of it, so the pump fills its window in one go.
        for (const p of pending) this.admit(p.entry, group);
        for (const p of pending) p.written(p.entry);
      } catch (err) {
        // The group may be on disk or not: delete it with the removals still owed, at the first write that works.
        this.deletes = [...deletes, ...(pending.length > 0 ? [group.key] : []), ...this.deletes];
        this.failed(err as Error, [...pending, ...this.pending]);
        this.pending = [];
        break;
      }
    }
    this.writing = undefined;
  }

  /** A write failed: its appends and those queued behind it fail with it, and new ones are refused until `retry` works. */
  private failed(cause: Error, pending: readonly Pending[]): void {
    const first = !this.failure;
    this.failure = new OutboxWriteError(`outbox write failed: ${cause.message}`, { cause });
    for (const p of pending) {
      this.reservedCount--;
      this.reservedBytes -= p.entry.bytes;
      p.written(p.entry, this.failure);
    }
    if (first) this.events.writeFailure?.(this.failure);
    if (!this.closed) this.retryTimer = setTimeout(() => this.startRetry(), backoffDelay(++this.retries, WRITE_RETRY));
  }

  private startRetry(): void {
    // While writes fail nothing else writes (startWriting), so `writing` is free here.
    if (!this.writing && !this.closed) this.writing = this.retry();
  }

  /**
   * After a failed write LevelDB may refuse every write (after a failed sync), and its log may end
   * in a half-written record that makes it drop the records appended behind it at the next open
   * (a message acknowledged as on disk, lost). A close and open starts a new log; then the
   * removals owed, never fewer than one (the failed group's), are written and synced: when that
   * works, so do writes.
   */
  private async retry(): Promise<void> {
    const deletes = this.deletes;
    this.deletes = [];
    try {
      await this.db.close();
      await this.db.open();
      await this.db.batch(deletes.map((key) => ({ type: 'del' as const, key })), { sync: true });
    } catch (err) {
      this.deletes = [...deletes, ...this.deletes];
      this.writing = undefined;
      this.failed(err as Error, []);
      return;
    }
    this.failure = undefined;
    this.retries = 0;
    this.writing = undefined;
    this.events.writeFailure?.(undefined);
    this.startWriting();
  }
}
