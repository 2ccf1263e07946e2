// The durable queue of QoS 1/2 publications: a LevelDB (classic-level) whose appends are fsynced and whose entries leave only after the broker's ack.
import { ClassicLevel } from 'classic-level';
import { mkdirSync } from 'node:fs';
import type { QoS } from '../session/cover';
import { Fifo } from '../session/fifo';
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
}

export class OutboxFullError extends Error {
  override name = 'OutboxFullError';
}

/** The LevelDB record an entry is stored in, and how many of its entries are still in the outbox. */
interface Group {
  readonly key: string;
  live: number;
}

interface Stored extends Queued {
  readonly group: Group;
}

interface Waiter {
  readonly entry: Queued;
  readonly value: Buffer;
  resolve(): void;
  reject(err: Error): void;
}

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
  private readonly entries = new Map<number, Stored>();
  /** Durable entries not handed out by `take`, oldest first. */
  private waiting = new Fifo<Stored>();
  private nextSeq: number;
  /** Count and bytes reserved, including appends still being written. */
  private reservedCount = 0;
  private reservedBytes = 0;
  private deletes: string[] = [];
  private waiters: Waiter[] = [];
  private writing?: Promise<void>;
  private closed = false;

  private constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    readonly limits: OutboxLimits,
    loaded: Stored[],
  ) {
    for (const e of loaded) this.admit(e);
    this.reservedCount = loaded.length;
    this.reservedBytes = loaded.reduce((n, e) => n + e.bytes, 0);
    this.nextSeq = loaded.length > 0 ? loaded[loaded.length - 1].seq + 1 : 0;
  }

  /** Opens (or creates) the outbox in `dir` and loads what an earlier run left, in order. */
  static async open(dir: string, limits: OutboxLimits): Promise<Outbox> {
    mkdirSync(dir, { recursive: true });
    const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    const loaded: Stored[] = [];
    for await (const [key, value] of db.iterator()) {
      if (!key.startsWith(GROUP_PREFIX)) {
        loaded.push({ seq: parseInt(key, 16), publication: decode(value), bytes: value.length, group: { key, live: 1 } });
        continue;
      }
      const records = split(value);
      const group: Group = { key, live: records.length };
      const first = parseInt(key.slice(GROUP_PREFIX.length), 16);
      records.forEach((r, i) => loaded.push({ seq: first + i, publication: decode(r), bytes: r.length, group }));
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
  append(publication: Publication): Promise<{ entry: Queued; evicted: Queued[] }> {
    if (this.closed) return Promise.reject(new Error('the outbox is closed'));
    const value = encode(publication);
    const evicted: Queued[] = [];
    const { maxMessages, maxBytes, whenFull } = this.limits;
    const fits = (): boolean => this.reservedCount + 1 <= maxMessages && this.reservedBytes + value.length <= maxBytes;
    if (!fits() && whenFull === 'dropOldest' && value.length <= maxBytes) {
      while (!fits() && this.waiting.size > 0) {
        const old = this.waiting.shift() as Stored;
        this.remove(old);
        evicted.push(old);
      }
    }
    if (!fits()) {
      return Promise.reject(
        new OutboxFullError(
          `outbox full (${this.reservedCount} of ${maxMessages} messages, ${this.reservedBytes + value.length} of ${maxBytes} bytes with this one): message refused`,
        ),
      );
    }
    const entry: Queued = { seq: this.nextSeq++, publication, bytes: value.length };
    this.reservedCount++;
    this.reservedBytes += value.length;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ entry, value, resolve, reject });
      this.startWriting();
    }).then(() => ({ entry, evicted }));
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
  }

  /** Deletes an entry (acknowledged, refused by the broker, or evicted). */
  remove(entry: Queued): void {
    const stored = this.entries.get(entry.seq);
    if (!stored) return;
    this.entries.delete(entry.seq);
    this.reservedCount--;
    this.reservedBytes -= stored.bytes;
    // The record goes with its last entry; one left by a crash before that is sent again (a duplicate).
    if (--stored.group.live > 0 || this.closed) return;
    this.deletes.push(stored.group.key);
    this.startWriting();
  }

  /** Finishes pending writes and closes the database; entries left in it are sent after the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.writing;
    await this.db.close();
  }

  private admit(entry: Stored): void {
    this.entries.set(entry.seq, entry);
    this.waiting.push(entry);
  }

  private startWriting(): void {
    // Everything queued while a write is under way goes in the next batch, behind one fsync.
    if (!this.writing) this.writing = this.flush();
  }

  private async flush(): Promise<void> {
    // Let the current turn's appends join this batch.
    await Promise.resolve();
    while (this.waiters.length > 0 || this.deletes.length > 0) {
      const deletes = this.deletes;
      const waiters = this.waiters;
      this.deletes = [];
      this.waiters = [];
      try {
        const batch = this.db.batch();
        for (const key of deletes) batch.del(key);
        // Appends take sequence numbers in order and all join the batch, so one group is a run of them.
        const group: Group = { key: groupKeyOf(waiters[0]?.entry.seq ?? 0), live: waiters.length };
        if (waiters.length > 0) batch.put(group.key, join(waiters.map((w) => w.value)));
        await batch.write({ sync: waiters.length > 0 });
        for (const w of waiters) {
          this.admit({ ...w.entry, group });
          w.resolve();
        }
      } catch (err) {
        for (const w of waiters) {
          this.reservedCount--;
          this.reservedBytes -= w.entry.bytes;
          w.reject(err as Error);
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

/** A group's value: each record behind its 4-byte length. */
function join(records: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const length = Buffer.allocUnsafe(LENGTH_BYTES);
    length.writeUInt32BE(r.length);
    parts.push(length, r);
  }
  return Buffer.concat(parts);
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

/** One record: a 4-byte header length, the header as JSON, then the payload bytes as they are. */
function encode(p: Publication): Buffer {
  const header: Header = { t: p.topic, q: p.qos, r: p.retain };
  if (p.properties) {
    const { correlationData, ...rest } = p.properties;
    header.p = correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, p.payload]);
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
