// The durable queue of QoS 1/2 publications: a LevelDB (classic-level) whose appends are fsynced and whose entries leave only after the broker's ack.
import { ClassicLevel } from 'classic-level';
import { backoffDelay, type BackoffOptions } from '../session/connection/backoff';
import { privateDir } from '../session/lib/durable-file';
import { Fifo } from '../session/lib/fifo';
import { IdTable } from '../session/lib/id-table';
import type { OutboxLimits } from './limits';
import { full, low, OpenSplit } from './read-ahead';
import { groupsOf, groupValue, Headers, LENGTH_BYTES, QUARANTINE_PREFIX, RecordReader, type Group, type Publication, type Read } from './outbox-records';

export type { Publication, PublishProperties } from './outbox-records';
export { READ_AHEAD } from './read-ahead';
export { GROUP_MAX } from './outbox-records';

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
/** Called once per added entry: without an error once it is on disk, or with the write's error (the entry is gone then); not at all for one handed out before its write failed (its publish settles it). */
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
  /** Entries joined the read-ahead (read from disk, or appends whose write has started): `take` has more to hand out. */
  readable?(): void;
}

/**
 * Delays between attempts to write again after a failed write (a full disk, an I/O error): soon
 * at first, since space is often freed within seconds, and at most every 10 s after that, an
 * attempt being a close and open of the database.
 */
export const WRITE_RETRY: BackoffOptions = { min: 500, max: 10_000 };

/** Delay before reading again after a read from disk failed. */
const READ_RETRY_MS = 1000;

/** An entry as added; the same object is handed out, so nothing is copied per message. */
interface Stored extends Queued {
  /** Set once it joins the read-ahead (with its batch, or read from disk). */
  group?: Group;
}

/** An entry in memory: waiting in the read-ahead, or handed out. */
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
 * An append is reported written only after LevelDB has fsynced its log (`sync: true`), and appends
 * that arrive while a write is under way share the next fsync (group commit). An append that goes
 * to the read-ahead may be handed out while its write is still under way: its done() waits for the
 * broker's answer all the same, and a message the broker has acknowledged needs no copy on disk. A
 * crash before both the fsync and that answer loses it, as a crash before the fsync did when the
 * publish waited for it; either way done() has not been called, so its sender still holds it (a
 * durable mqtt in sends it again). Behind a durable mqtt in, the publish no longer waits for a group
 * commit, which had been most of each message's time in the flow while the broker's in-flight
 * window (20 on Mosquitto) bounds how many are in it.
 *
 * Removals are not synced: one lost in a crash only means the message is sent again after the
 * restart, and duplicates are allowed at QoS 1/2. Memory holds the entries handed out and a
 * read-ahead of those next in line (`READ_AHEAD`), not the whole outbox: entries past it are only on
 * disk, all behind the read-ahead in key order (`onDisk` of them, after the key `cursor`), and are
 * read as the read-ahead empties. So an entry written while some wait on disk goes to disk only,
 * behind them.
 */
export class Outbox {
  /** The entries in memory, by seq (see IdTable). */
  private readonly entries = new IdTable<Admitted>();
  /** The read-ahead: entries in memory not handed out by `take`, oldest first. */
  private waiting = new Fifo<Admitted>();
  private waitingBytes = 0;
  /** Durable entries only on disk, all in records after `cursor`. */
  private onDisk = 0;
  /** The key of the last record read into memory ('' before the first). */
  private cursor = '';
  /** The done() of entries this run added that are only on disk, until they are read. */
  private readonly dones = new Map<number, Done>();
  private reading?: Promise<void>;
  /** Set when entries went to disk only while a read was under way: it may not have seen them. */
  private spilledWhileReading = false;
  /**
   * The first key of the batch being written, until its entries are placed: a read leaves it out,
   * since LevelDB may have it before we know where its entries go (and with their done()).
   */
  private batchFrom?: string;
  /** Records of failed writes, to be deleted: a read must not bring back an entry that was failed. */
  private readonly abandoned = new Set<string>();
  private readRetry?: NodeJS.Timeout;
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
  private readonly headers = new Headers();

  private constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    readonly limits: OutboxLimits,
    opened: Opened,
    /** Records this open found unreadable and moved to quarantine (see RecordReader). */
    readonly quarantined: number,
    private readonly events: OutboxEvents,
  ) {
    for (const [key, reads] of opened.loaded) this.admitRead(key, reads);
    this.onDisk = opened.onDisk;
    this.reservedCount = opened.count;
    this.reservedBytes = opened.bytes;
    this.nextSeq = opened.nextSeq;
  }

  /**
   * Opens (or creates) the outbox in `dir`: reads its records one at a time, in order, keeping the
   * first ones as the read-ahead and counting the rest. Records it cannot read are moved to
   * quarantine first (`quarantined` says how many); whatever fails, a failed open has closed the
   * database, so LevelDB's lock does not outlive it.
   */
  static async open(dir: string, limits: OutboxLimits, events: OutboxEvents = {}): Promise<Outbox> {
    // LevelDB creates its files with the umask's mode; a private folder is what keeps them private.
    privateDir(dir);
    const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    try {
      const reader = new RecordReader();
      const opened: Opened = { loaded: [], onDisk: 0, count: 0, bytes: 0, nextSeq: 0 };
      const split = new OpenSplit();
      for await (const [key, value] of db.iterator()) {
        const reads = reader.add(key, value);
        if (reads.length === 0) continue;
        let bytes = 0;
        for (const r of reads) bytes += r.bytes;
        opened.count += reads.length;
        opened.bytes += bytes;
        if (split.keep(reads.length, bytes)) opened.loaded.push([key, reads]);
      }
      opened.onDisk = split.onDisk;
      opened.nextSeq = reader.nextSeq;
      // Synced like an append: the bad bytes are kept before the record holding them is rewritten.
      if (reader.ops.length > 0) await db.batch([...reader.ops], { sync: true });
      return new Outbox(db, limits, opened, reader.quarantined, events);
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

  /** Messages in the outbox: waiting (in the read-ahead or on disk only), or sent and not yet acknowledged; appends still being written count once they join the read-ahead. */
  get depth(): number {
    return this.entries.size + this.onDisk;
  }

  /** Entries held in memory: the read-ahead and those handed out; bounded by `READ_AHEAD` plus what is in flight, whatever the depth. */
  get inMemory(): number {
    return this.entries.size;
  }

  /**
   * Adds `publication`, for the node's per-message path without a promise: reserves room at once and queues
   * the record for the next group commit; `written` is called when that is on disk (or failed).
   * When its batch goes to the read-ahead, it is takeable as the write starts (`readable`).
   * Returns the entries evicted to make room (`dropOldest`), already removed: the oldest of the
   * read-ahead, which are the oldest waiting. Throws an OutboxFullError when the message does not
   * fit (`refuse`, or nothing left in the read-ahead to evict), and the OutboxWriteError of the last
   * failed write until a write succeeds again.
   */
  add(publication: Publication, written: Written, done?: Done): readonly Queued[] {
    if (this.closed) throw new Error('the outbox is closed');
    if (this.failure) throw this.failure;
    const { header, headerBytes } = this.headers.of(publication);
    const bytes = LENGTH_BYTES + headerBytes + publication.payload.length;
    let evicted = NONE_EVICTED;
    const { maxMessages, maxBytes, whenFull } = this.limits;
    if (!this.fits(bytes) && whenFull === 'dropOldest' && bytes <= maxBytes) {
      const dropped: Queued[] = [];
      while (!this.fits(bytes) && this.waiting.size > 0) {
        const old = this.shift() as Admitted;
        this.remove(old);
        dropped.push(old);
      }
      evicted = dropped;
    }
    if (!this.fits(bytes)) {
      const reading = this.onDisk > 0 ? `; the oldest ${this.onDisk} are still on disk, being read` : '';
      throw new OutboxFullError(
        `outbox full (${this.reservedCount} of ${maxMessages} messages, ${this.reservedBytes + bytes} of ${maxBytes} bytes with this one${reading}): message refused`,
      );
    }
    const entry: Stored = { seq: this.nextSeq++, publication, bytes, done, group: undefined };
    this.reservedCount++;
    this.reservedBytes += bytes;
    this.pending.push({ entry, header, headerBytes, written });
    this.startWriting();
    return evicted;
  }

  /**
   * Hands out the oldest waiting entry, which stays in the outbox until `remove` or `untake`.
   * Undefined when the read-ahead is empty, also while entries are still being read from disk:
   * `readable` tells when to take again.
   */
  take(): Queued | undefined {
    return this.shift();
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
    this.waitingBytes += stored.bytes;
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

  /** Finishes pending writes and reads, and closes the database; entries left in it are sent after the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.readRetry);
    while (this.writing || this.reading) await (this.writing ?? this.reading);
    // A failed attempt to write again may have left it closed. Removals still owed are lost: those messages are sent again after the next open.
    if (this.db.status === 'open') await this.db.close();
  }

  private fits(bytes: number): boolean {
    return this.reservedCount + 1 <= this.limits.maxMessages && this.reservedBytes + bytes <= this.limits.maxBytes;
  }

  /** The front of the read-ahead, taken out of it; starts a read from disk when it runs low. */
  private shift(): Admitted | undefined {
    const entry = this.waiting.shift();
    if (entry) this.waitingBytes -= entry.bytes;
    if (this.onDisk > 0 && !this.reading && this.low()) this.startReading();
    return entry;
  }

  private low(): boolean {
    return low(this.waiting.size, this.waitingBytes);
  }

  private full(): boolean {
    return full(this.waiting.size, this.waitingBytes);
  }

  private admit(entry: Stored, group: Group): void {
    entry.group = group;
    const admitted = entry as Admitted; // its group is set just above
    this.entries.set(entry.seq, admitted);
    this.waiting.push(admitted);
    this.waitingBytes += entry.bytes;
  }

  /** The messages of one record read from disk, into the read-ahead; those this run added get their done() back. */
  private admitRead(key: string, reads: readonly Read[]): void {
    const group: Group = { key, live: reads.length };
    for (const r of reads) {
      const done = this.dones.get(r.seq);
      if (done) this.dones.delete(r.seq);
      this.admit({ seq: r.seq, publication: r.publication, bytes: r.bytes, done, group: undefined }, group);
    }
    this.cursor = key;
  }

  /** Entries may join the read-ahead now: none wait on disk before them, no read is under way, and it has room. */
  private admissible(): boolean {
    return this.onDisk === 0 && !this.reading && !this.full();
  }

  /** The entries of one record, into the read-ahead. */
  private admitAll(pending: readonly Pending[], group: Group): void {
    for (const p of pending) this.admit(p.entry, group);
    this.cursor = group.key;
  }

  /** Written entries of one record: into the read-ahead, or left on disk when the read-ahead is full or entries older than them wait on disk. */
  private place(pending: readonly Pending[], group: Group): void {
    if (this.admissible()) return this.admitAll(pending, group);
    this.onDisk += pending.length;
    if (this.reading) this.spilledWhileReading = true;
    for (const p of pending) if (p.entry.done) this.dones.set(p.entry.seq, p.entry.done);
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
      // Appends take sequence numbers in order and all join the batch, so one group is a run of them, at most GROUP_MAX.
      const groups = groupsOf(pending);
      // Records that go to the read-ahead are takeable while their write is under way (see the class).
      let early = 0;
      while (early < groups.length && this.admissible()) {
        const [group, members] = groups[early++];
        this.admitAll(members, group);
      }
      if (early > 0) this.events.readable?.();
      try {
        const batch = this.db.batch();
        for (const key of deletes) batch.del(key);
        for (const [group, members] of groups) batch.put(group.key, groupValue(members));
        this.batchFrom = groups[0]?.[0].key;
        await batch.write({ sync: pending.length > 0 });
        this.batchFrom = undefined;
        // All of the rest is takeable before anyone hears of it, so the pump fills its window in one go.
        for (let i = early; i < groups.length; i++) this.place(groups[i][1], groups[i][0]);
        for (const p of pending) p.written(p.entry);
      } catch (err) {
        this.batchFrom = undefined;
        // The groups may be on disk or not: delete them with the removals still owed, at the first write that works.
        for (const [group] of groups) this.abandoned.add(group.key);
        this.deletes = [...deletes, ...groups.map(([group]) => group.key), ...this.deletes];
        const unplaced = groups.slice(early).flatMap(([, members]) => members);
        const untaken = this.withdraw(groups.slice(0, early).flatMap(([, members]) => members));
        this.failed(err as Error, [...untaken, ...unplaced, ...this.pending]);
        this.pending = [];
        break;
      }
    }
    this.writing = undefined;
  }

  private startReading(): void {
    if (!this.closed) this.reading = this.read();
  }

  /**
   * Reads records after `cursor` into the read-ahead until it is full or the disk has no more. A
   * LevelDB iterator reads a snapshot, so records written meanwhile may be missed: a second read
   * follows for them. A read that fails is tried again after READ_RETRY_MS; the entries stay on disk.
   */
  private async read(): Promise<void> {
    try {
      let more: boolean;
      do {
        this.spilledWhileReading = false;
        let read = 0;
        // Quarantined keys (q…) come after every record; a damaged record found now is passed over (the next open sets it apart).
        for await (const [key, value] of this.db.iterator({ gt: this.cursor, lt: this.batchFrom ?? QUARANTINE_PREFIX })) {
          if (this.closed) break;
          read++;
          if (this.abandoned.has(key)) {
            this.cursor = key;
            continue;
          }
          const reads = new RecordReader().add(key, value);
          this.onDisk -= reads.length;
          this.admitRead(key, reads);
          if (this.full()) break;
        }
        // Nothing after the cursor and nothing written meanwhile: nothing is on disk only, whatever the count says (a record damaged since the open held fewer entries).
        if (read === 0 && !this.spilledWhileReading && !this.closed) this.onDisk = 0;
        more = this.spilledWhileReading && !this.full() && !this.closed;
      } while (more);
    } catch {
      // The database is closed and opened again after a failed write, which ends the iterator; or a read failed. Nothing is lost: read again soon.
      if (!this.closed) this.readRetry = setTimeout(() => this.startReading(), READ_RETRY_MS);
    }
    this.reading = undefined;
    if (!this.closed) this.events.readable?.();
  }

  /**
   * A write failed after its entries joined the read-ahead: those still waiting there leave it and
   * are returned, to fail with the write. Those handed out already stay: their publish is under way
   * and settles them (done() once, from the broker's answer), as would a message still in the flow.
   */
  private withdraw(members: readonly Pending[]): Pending[] {
    if (members.length === 0) return [];
    const failing = new Set(members.map((p) => p.entry.seq));
    const gone = new Set<number>();
    const kept = new Fifo<Admitted>();
    for (const e of this.waiting.clear()) {
      if (!failing.has(e.seq)) {
        kept.push(e);
        continue;
      }
      gone.add(e.seq);
      this.waitingBytes -= e.bytes;
      this.entries.delete(e.seq);
    }
    this.waiting = kept;
    return members.filter((p) => gone.has(p.entry.seq));
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
    // A read under way would lose its iterator to the close.
    if (this.reading) await this.reading;
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
    for (const key of deletes) this.abandoned.delete(key);
    this.failure = undefined;
    this.retries = 0;
    this.writing = undefined;
    this.events.writeFailure?.(undefined);
    this.startWriting();
  }
}

/** What an open read: the records kept in memory (the front of the order), and the count of the rest. */
interface Opened {
  readonly loaded: [key: string, reads: Read[]][];
  onDisk: number;
  count: number;
  bytes: number;
  nextSeq: number;
}
