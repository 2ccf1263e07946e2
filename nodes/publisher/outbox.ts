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
  /** The record it is in: set when its batch is formed, or as it is read from disk. */
  group?: Group;
  /** In memory: in the read-ahead or handed out, before its write or after. */
  admitted: boolean;
  /** Removed before its batch was formed: it is left out of it. */
  gone: boolean;
}

/** An added entry until its batch is formed: the record's header (JSON, encoded into the batch's value then), who to tell, and when it must be written by. */
interface Pending {
  readonly entry: Stored;
  readonly header: string;
  readonly headerBytes: number;
  readonly written: Written;
  /** Date.now() by which it goes into a batch if still in the outbox; 0: the next one. */
  readonly due: number;
}

/** Appends removed before their batch was formed are taken out of the queue of appends once this many, or bytes, wait there. */
const GONE_SWEEP = { count: 1024, bytes: 8 * 1024 * 1024 } as const;

const NONE_EVICTED: readonly Queued[] = [];

/**
 * An append is reported written only after LevelDB has fsynced its log (`sync: true`), and appends
 * that arrive while a write is under way share the next fsync (group commit). An append that goes
 * to the read-ahead is takeable at once, before its write: its done() waits for the broker's answer
 * all the same, and a message the broker has acknowledged needs no copy on disk, so one removed
 * before its batch is formed is never written. A crash before both the fsync and that answer loses
 * it from the outbox; done() has not been called then, so its sender still holds it (a durable mqtt
 * in sends it again). An append whose sender says it holds the message (`writeBy`) waits for its
 * batch until then, so behind a durable mqtt in the outbox writes next to nothing.
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
  private readonly entries = new IdTable<Stored>();
  /** The read-ahead: entries in memory not handed out by `take`, oldest first. */
  private waiting = new Fifo<Stored>();
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
  /** Appends whose batch is not formed yet, in order. */
  private pending: Pending[] = [];
  /** The earliest `due` of `pending` (Infinity when empty). */
  private dueAt = Infinity;
  /** Entries of `pending` removed already, and their bytes (see GONE_SWEEP). */
  private goneCount = 0;
  private goneBytes = 0;
  /** Appends not admitted (the read-ahead was full, or older entries wait on disk), until their write places them. */
  private unadmitted = 0;
  /** Ends the flush's wait for `dueAt`: an earlier due, or the close. */
  private wake?: () => void;
  private announcing = false;
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
   * the record for the next group commit, or for the first one after `writeBy` (a Date.now()) when
   * its sender still holds the message until done(): removed by then, it is never written.
   * `written` is called when its batch is on disk (or failed). When it goes to the read-ahead, it is
   * takeable at once (`readable`, once per turn); otherwise its write places it.
   * Returns the entries evicted to make room (`dropOldest`), already removed: the oldest of the
   * read-ahead, which are the oldest waiting. Throws an OutboxFullError when the message does not
   * fit (`refuse`, or nothing left in the read-ahead to evict), and the OutboxWriteError of the last
   * failed write until a write succeeds again.
   */
  add(publication: Publication, written: Written, done?: Done, writeBy = 0): readonly Queued[] {
    if (this.closed) throw new Error('the outbox is closed');
    if (this.failure) throw this.failure;
    const { header, headerBytes } = this.headers.of(publication);
    const bytes = LENGTH_BYTES + headerBytes + publication.payload.length;
    let evicted = NONE_EVICTED;
    const { maxMessages, maxBytes, whenFull } = this.limits;
    if (!this.fits(bytes) && whenFull === 'dropOldest' && bytes <= maxBytes) {
      const dropped: Queued[] = [];
      while (!this.fits(bytes) && this.waiting.size > 0) {
        const old = this.shift() as Stored;
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
    const entry: Stored = { seq: this.nextSeq++, publication, bytes, done, group: undefined, admitted: false, gone: false };
    this.reservedCount++;
    this.reservedBytes += bytes;
    // In order: only when every earlier append is in memory too, and none waits on disk.
    const admitted = this.unadmitted === 0 && this.admissible();
    if (admitted) {
      this.admit(entry);
      this.announce();
    } else {
      this.unadmitted++;
    }
    // One not admitted cannot be sent before its write places it: nothing is gained by waiting.
    const due = admitted ? writeBy : 0;
    this.pending.push({ entry, header, headerBytes, written, due });
    if (this.goneCount >= GONE_SWEEP.count || this.goneBytes >= GONE_SWEEP.bytes) this.sweepGone();
    if (due < this.dueAt) {
      this.dueAt = due;
      this.wake?.();
    }
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
    this.waiting = new Fifo<Stored>();
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
    const group = stored.group;
    if (!group) {
      // Its batch is not formed yet: it is left out, and there is nothing on disk to delete.
      stored.gone = true;
      this.goneCount++;
      this.goneBytes += stored.bytes;
      return true;
    }
    // The record goes with its last entry; one left by a crash before that is sent again (a duplicate).
    if (--group.live > 0 || this.closed) return true;
    this.deletes.push(group.key);
    this.startWriting();
    return true;
  }

  /** Finishes pending writes and reads, and closes the database; entries left in it are sent after the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.readRetry);
    // Appends waiting for their due are written now.
    this.wake?.();
    while (this.writing || this.reading) await (this.writing ?? this.reading);
    // A failed attempt to write again may have left it closed. Removals still owed are lost: those messages are sent again after the next open.
    if (this.db.status === 'open') await this.db.close();
  }

  private fits(bytes: number): boolean {
    return this.reservedCount + 1 <= this.limits.maxMessages && this.reservedBytes + bytes <= this.limits.maxBytes;
  }

  /** The front of the read-ahead, taken out of it; starts a read from disk when it runs low. */
  private shift(): Stored | undefined {
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

  private admit(entry: Stored): void {
    entry.admitted = true;
    this.entries.set(entry.seq, entry);
    this.waiting.push(entry);
    this.waitingBytes += entry.bytes;
  }

  /**
   * Tells of appends taken into the read-ahead once per turn of the event loop, after it: Node-RED
   * delivers each msg in a setImmediate of its own, so the pump takes what the turn's deliveries
   * appended together and their PUBLISHes share a socket write (once per append, in a microtask, it
   * was a write per message: 2.1 TCP segments a message in the bridge instead of 1.45).
   */
  private announce(): void {
    if (this.announcing) return;
    this.announcing = true;
    setImmediate(() => {
      this.announcing = false;
      if (!this.closed) this.events.readable?.();
    });
  }

  /** Drops appends removed before their batch from the queue, so a long `writeBy` keeps no acknowledged payloads. */
  private sweepGone(): void {
    this.pending = this.pending.filter((p) => !p.entry.gone);
    this.goneCount = 0;
    this.goneBytes = 0;
  }

  /** The messages of one record read from disk, into the read-ahead; those this run added get their done() back. */
  private admitRead(key: string, reads: readonly Read[]): void {
    const group: Group = { key, live: reads.length };
    for (const r of reads) {
      const done = this.dones.get(r.seq);
      if (done) this.dones.delete(r.seq);
      this.admit({ seq: r.seq, publication: r.publication, bytes: r.bytes, done, group, admitted: true, gone: false });
    }
    this.cursor = key;
  }

  /** Entries may join the read-ahead now: none wait on disk before them, no read is under way, and it has room. */
  private admissible(): boolean {
    return this.onDisk === 0 && !this.reading && !this.full();
  }

  /** Written entries of one record not admitted when added: into the read-ahead, or left on disk when the read-ahead is full or entries older than them wait on disk. */
  private place(pending: readonly Pending[], group: Group): void {
    this.unadmitted -= pending.length;
    if (this.admissible()) {
      for (const p of pending) {
        p.entry.group = group;
        this.admit(p.entry);
      }
      this.cursor = group.key;
      return;
    }
    this.onDisk += pending.length;
    if (this.reading) this.spilledWhileReading = true;
    for (const p of pending) if (p.entry.done) this.dones.set(p.entry.seq, p.entry.done);
  }

  private startWriting(): void {
    // Everything queued while a write is under way goes in the next batch, behind one fsync; nothing is written while writes fail.
    if (!this.writing && !this.failure) this.writing = this.flush();
  }

  private async flush(): Promise<void> {
    // Let the current turn's appends join this batch, and the pump take them first (`announce`, queued before): a write that fails fast then finds them handed out, whatever phase of the event loop they came in.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0 || this.deletes.length > 0) {
      if (this.deletes.length === 0 && !this.closed && this.dueAt > Date.now()) {
        await this.due();
        continue;
      }
      const deletes = this.deletes;
      this.deletes = [];
      const pending = this.takeDue();
      // Entries in memory come before those not admitted (see `add`); the removed need no record.
      const kept: Pending[] = [];
      const spilled: Pending[] = [];
      for (const p of pending) if (!p.entry.gone) (p.entry.admitted ? kept : spilled).push(p);
      // Appends take sequence numbers in order, so one group is a run of them, at most GROUP_MAX; a read starts after those in memory.
      const inMemory = groupsOf(kept);
      for (const [group, members] of inMemory) for (const p of members) p.entry.group = group;
      if (inMemory.length > 0) this.cursor = maxKey(this.cursor, inMemory[inMemory.length - 1][0].key);
      const toDisk = groupsOf(spilled);
      try {
        if (deletes.length > 0 || kept.length > 0 || spilled.length > 0) {
          const batch = this.db.batch();
          for (const key of deletes) batch.del(key);
          for (const [group, members] of [...inMemory, ...toDisk]) batch.put(group.key, groupValue(members));
          this.batchFrom = toDisk[0]?.[0].key;
          await batch.write({ sync: kept.length > 0 || spilled.length > 0 });
          this.batchFrom = undefined;
        }
        // All of them are takeable before anyone hears of it, so the pump fills its window in one go.
        for (const [group, members] of toDisk) this.place(members, group);
        for (const p of pending) p.written(p.entry);
      } catch (err) {
        this.batchFrom = undefined;
        // The groups may be on disk or not: delete them with the removals still owed, at the first write that works.
        const groups = [...inMemory, ...toDisk];
        for (const [group] of groups) this.abandoned.add(group.key);
        this.deletes = [...deletes, ...groups.map(([group]) => group.key), ...this.deletes];
        const behind = this.pending.filter((p) => !p.entry.gone);
        this.pending = [];
        this.dueAt = Infinity;
        this.unadmitted = 0;
        const untaken = this.withdraw([...kept, ...behind.filter((p) => p.entry.admitted)]);
        this.failed(err as Error, [...untaken, ...spilled, ...behind.filter((p) => !p.entry.admitted)]);
        break;
      }
    }
    this.writing = undefined;
  }

  /**
   * The appends the next batch writes: all of them when closing, else those up to the last one due,
   * with the ones before it (a record holds a run of appends, and records are read back in key
   * order). Removals alone do not take appends that are not due.
   */
  private takeDue(): Pending[] {
    const all = this.pending;
    let end = all.length;
    let dueAt = Infinity;
    if (!this.closed) {
      const now = Date.now();
      while (end > 0 && all[end - 1].due > now) dueAt = Math.min(dueAt, all[--end].due);
    }
    this.pending = end === all.length ? [] : all.slice(end);
    this.dueAt = dueAt;
    // The count is only a cue for sweeping; what stays is counted again as it is removed.
    this.goneCount = 0;
    this.goneBytes = 0;
    return end === all.length ? all : all.slice(0, end);
  }

  /** Waits until the earliest append is due, or something makes it sooner (see `wake`). */
  private due(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.dueAt - Date.now());
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
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
    const kept = new Fifo<Stored>();
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

/** The later of two record keys (LevelDB's byte order, which is arrival order). */
function maxKey(a: string, b: string): string {
  return b > a ? b : a;
}

/** What an open read: the records kept in memory (the front of the order), and the count of the rest. */
interface Opened {
  readonly loaded: [key: string, reads: Read[]][];
  onDisk: number;
  count: number;
  bytes: number;
  nextSeq: number;
}
