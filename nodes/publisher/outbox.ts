// The durable queue of QoS 1/2 publications: a LevelDB (classic-level) whose appends are fsynced and whose entries leave only after the broker's ack.
import { ClassicLevel } from 'classic-level';
import { mkdirSync } from 'node:fs';
import type { QoS } from '../session/cover';
import { Fifo } from '../session/fifo';
import { Table } from '../session/table';
import type { OutboxLimits } from './limits';

/** The MQTT 5 properties the out node takes from msg. */
export interface PublishProperties {
  userProperties?: Record<string, string | string[]>;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  messageExpiryInterval?: number;
}

export interface Publication {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: PublishProperties;
}

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
 * A group commit is one LevelDB record, `g` + the first entry's sequence number in fixed-width hex,
 * holding its entries' records one after another, each behind its length; it is deleted once none
 * of them is left. One put and one delete per batch rather than per message: LevelDB's per-op cost
 * was the largest of ours in the publish profile. Records of one message under the bare hex key
 * (the first format) are still read. Hex digits sort before `g`, and older records have lower
 * sequence numbers, so LevelDB's byte order is arrival order.
 */
const KEY_WIDTH = 13;
const GROUP_PREFIX = 'g';
const groupKeyOf = (seq: number): string => GROUP_PREFIX + seq.toString(16).padStart(KEY_WIDTH, '0');
const LENGTH_BYTES = 4;

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
  private nextSeq: number;
  /** Count and bytes reserved, including appends still being written. */
  private reservedCount = 0;
  private reservedBytes = 0;
  private deletes: string[] = [];
  private pending: Pending[] = [];
  private writing?: Promise<void>;
  private closed = false;

  private constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    readonly limits: OutboxLimits,
    loaded: Admitted[],
  ) {
    for (const e of loaded) this.admit(e, e.group);
    this.reservedCount = loaded.length;
    this.reservedBytes = loaded.reduce((n, e) => n + e.bytes, 0);
    this.nextSeq = loaded.length > 0 ? loaded[loaded.length - 1].seq + 1 : 0;
  }

  /** Opens (or creates) the outbox in `dir` and loads what an earlier run left, in order. */
  static async open(dir: string, limits: OutboxLimits): Promise<Outbox> {
    mkdirSync(dir, { recursive: true });
    const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    const loaded: Admitted[] = [];
    for await (const [key, value] of db.iterator()) {
      if (!key.startsWith(GROUP_PREFIX)) {
        // The first format: one message per record.
        loaded.push({ seq: parseInt(key, 16), publication: decode(value), bytes: value.length, done: undefined, group: { key, live: 1 } });
        continue;
      }
      const records = split(value);
      const group: Group = { key, live: records.length };
      const first = parseInt(key.slice(GROUP_PREFIX.length), 16);
      records.forEach((r, i) => loaded.push({ seq: first + i, publication: decode(r), bytes: r.length, done: undefined, group }));
    }
    return new Outbox(db, limits, loaded);
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
   * OutboxFullError when the message does not fit (`refuse`, or nothing left to evict).
   */
  add(publication: Publication, written: Written, done?: Done): readonly Queued[] {
    if (this.closed) throw new Error('the outbox is closed');
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
    while (this.writing) await this.writing;
    await this.db.close();
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
    // Everything queued while a write is under way goes in the next batch, behind one fsync.
    if (!this.writing) this.writing = this.flush();
  }

  private async flush(): Promise<void> {
    // Let the current turn's appends join this batch.
    await Promise.resolve();
    while (this.pending.length > 0 || this.deletes.length > 0) {
      const deletes = this.deletes;
      const pending = this.pending;
      this.deletes = [];
      this.pending = [];
      try {
        const batch = this.db.batch();
        for (const key of deletes) batch.del(key);
        // Appends take sequence numbers in order and all join the batch, so one group is a run of them.
        const group: Group = { key: groupKeyOf(pending[0]?.entry.seq ?? 0), live: pending.length };
        if (pending.length > 0) batch.put(group.key, groupValue(pending));
        await batch.write({ sync: pending.length > 0 });
        // All of the batch is takeable before anyone hears of it, so the pump fills its window in one go.
        for (const p of pending) this.admit(p.entry, group);
        for (const p of pending) p.written(p.entry);
      } catch (err) {
        for (const p of pending) {
          this.reservedCount--;
          this.reservedBytes -= p.entry.bytes;
          p.written(p.entry, err as Error);
        }
      }
    }
    this.writing = undefined;
  }
}

interface Header {
  t: string;
  q: QoS;
  r: boolean;
  p?: Omit<PublishProperties, 'correlationData'> & { correlationData?: string };
}

/**
 * A group's value: each record behind its 4-byte length. The records are written straight into the
 * one buffer: a buffer or two per message (length, header, concatenation) were a good part of the
 * garbage per message.
 */
function groupValue(pending: readonly Pending[]): Buffer {
  let total = 0;
  for (const p of pending) total += LENGTH_BYTES + p.entry.bytes;
  const value = Buffer.allocUnsafe(total);
  let at = 0;
  for (const { entry, header, headerBytes } of pending) {
    at = value.writeUInt32BE(entry.bytes, at);
    at = value.writeUInt32BE(headerBytes, at);
    at += value.write(header, at);
    at += entry.publication.payload.copy(value, at);
  }
  return value;
}

function split(value: Buffer): Buffer[] {
  const records: Buffer[] = [];
  for (let at = 0; at + LENGTH_BYTES <= value.length; ) {
    const length = value.readUInt32BE(at);
    records.push(value.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length));
    at += LENGTH_BYTES + length;
  }
  return records;
}

/** One record is a 4-byte header length, the header as JSON, then the payload bytes as they are; this is its header. */
function headerOf(p: Publication): { header: string; headerBytes: number } {
  const h: Header = { t: p.topic, q: p.qos, r: p.retain };
  if (p.properties) {
    const { correlationData, ...rest } = p.properties;
    h.p = correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest;
  }
  const header = JSON.stringify(h);
  return { header, headerBytes: Buffer.byteLength(header) };
}

function decode(value: Buffer): Publication {
  const length = value.readUInt32BE(0);
  const header = JSON.parse(value.subarray(LENGTH_BYTES, LENGTH_BYTES + length).toString()) as Header;
  const payload = Buffer.from(value.subarray(LENGTH_BYTES + length));
  let properties: PublishProperties | undefined;
  if (header.p) {
    const { correlationData, ...rest } = header.p;
    properties = correlationData !== undefined ? { ...rest, correlationData: Buffer.from(correlationData, 'base64') } : rest;
  }
  return { topic: header.t, payload, qos: header.q, retain: header.r, ...(properties ? { properties } : {}) };
}
