// The outbox's LevelDB records: their keys, the bytes of a group and of one message, and reading them back with what cannot be read set apart for quarantine.
import type { QoS } from '../session/subscriptions/cover';

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

/**
 * A group commit is one LevelDB record per GROUP_MAX entries (below), `g` + the first entry's sequence number in fixed-width hex,
 * holding its entries' records one after another, each behind its length; it is deleted once none
 * of them is left. One put and one delete per batch rather than per message: LevelDB's per-op cost
 * was the largest of ours in the publish profile. Records of one message under the bare hex key
 * (the first format) are still read. Hex digits sort before `g`, and older records have lower
 * sequence numbers, so LevelDB's byte order is arrival order.
 */
const KEY_WIDTH = 13;
export const GROUP_PREFIX = 'g';
export const groupKeyOf = (seq: number): string => GROUP_PREFIX + seq.toString(16).padStart(KEY_WIDTH, '0');
export const LENGTH_BYTES = 4;
const GROUP_KEY = new RegExp(`^${GROUP_PREFIX}[0-9a-f]{${KEY_WIDTH}}$`);
const FIRST_FORMAT_KEY = new RegExp(`^[0-9a-f]{1,${KEY_WIDTH}}$`);

/**
 * The most entries, and bytes, one record (group) takes: a record is read whole, so this bounds
 * what a read adds to the read-ahead, however many appends one turn brought.
 */
export const GROUP_MAX = { count: 1024, bytes: 1024 * 1024 } as const;

/** The LevelDB record an entry is stored in, and how many of its entries are still in the outbox. */
export interface Group {
  readonly key: string;
  live: number;
}

/** A batch's appends (in sequence order) cut into records of at most GROUP_MAX entries and bytes (a larger message has one to itself), each keyed by its first seq. */
export function groupsOf<P extends { readonly entry: { readonly seq: number; readonly bytes: number } }>(pending: readonly P[]): [Group, P[]][] {
  const groups: [Group, P[]][] = [];
  let members: P[] = [];
  let bytes = 0;
  for (const p of pending) {
    if (members.length > 0 && (members.length >= GROUP_MAX.count || bytes + p.entry.bytes > GROUP_MAX.bytes)) {
      groups.push([{ key: groupKeyOf(members[0].entry.seq), live: members.length }, members]);
      members = [];
      bytes = 0;
    }
    members.push(p);
    bytes += p.entry.bytes;
  }
  if (members.length > 0) groups.push([{ key: groupKeyOf(members[0].entry.seq), live: members.length }, members]);
  return groups;
}

/**
 * Bytes the outbox could not read, each under `q` + the key it was in + `.` + its place there:
 * after every other kind of key, so never read as a message, and the same key each time, so a
 * move repeated after a crash does not copy it twice.
 */
export const QUARANTINE_PREFIX = 'q';
const QUARANTINE_KEY = new RegExp(`^${QUARANTINE_PREFIX}(${GROUP_PREFIX}?)([0-9a-f]{1,${KEY_WIDTH}})\\.(\\d+)$`);

interface Header {
  t: string;
  q: QoS;
  r: boolean;
  p?: Omit<PublishProperties, 'correlationData'> & { correlationData?: string };
}

/** A message as it goes into a group: its record's length, its header as JSON, and the payload. */
export interface Encoded {
  readonly entry: { readonly bytes: number; readonly publication: Publication };
  readonly header: string;
  readonly headerBytes: number;
}

/** One record is a 4-byte header length, the header as JSON, then the payload bytes as they are; this is its header. */
export function headerOf(p: Publication): { header: string; headerBytes: number } {
  const h: Header = { t: p.topic, q: p.qos, r: p.retain };
  if (p.properties) {
    const { correlationData, ...rest } = p.properties;
    h.p = correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest;
  }
  const header = JSON.stringify(h);
  return { header, headerBytes: Buffer.byteLength(header) };
}

/**
 * headerOf, remembering the last header without properties: a node publishes to one topic, QoS and
 * retain flag message after message, and making the same JSON each time cost about 0.7 µs a message.
 */
export class Headers {
  private last?: { readonly topic: string; readonly qos: QoS; readonly retain: boolean; readonly made: { header: string; headerBytes: number } };

  of(p: Publication): { header: string; headerBytes: number } {
    const last = this.last;
    if (!p.properties && last && last.topic === p.topic && last.qos === p.qos && last.retain === p.retain) return last.made;
    const made = headerOf(p);
    if (!p.properties) this.last = { topic: p.topic, qos: p.qos, retain: p.retain, made };
    return made;
  }
}

/**
 * A group's value: each record behind its 4-byte length. The records are written straight into the
 * one buffer: a buffer or two per message (length, header, concatenation) were a good part of the
 * garbage per message.
 */
export function groupValue(pending: readonly Encoded[]): Buffer {
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

/** The records of a group, and the bytes from the first length that runs past the end, if any. */
function split(value: Buffer): { records: Buffer[]; tail?: Buffer } {
  const records: Buffer[] = [];
  let at = 0;
  while (at < value.length) {
    const end = at + LENGTH_BYTES + (at + LENGTH_BYTES <= value.length ? value.readUInt32BE(at) : Infinity);
    if (end > value.length) return { records, tail: value.subarray(at) };
    records.push(value.subarray(at + LENGTH_BYTES, end));
    at = end;
  }
  return { records };
}

/** The publication in one message's record, or undefined when the bytes are not one (cut short, a header that is not ours). */
function decode(value: Buffer): Publication | undefined {
  if (value.length < LENGTH_BYTES) return undefined;
  const length = value.readUInt32BE(0);
  if (LENGTH_BYTES + length > value.length) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(value.subarray(LENGTH_BYTES, LENGTH_BYTES + length).toString());
  } catch {
    // Not JSON: the record is damaged, and the caller sets it apart.
    return undefined;
  }
  if (!isHeader(header)) return undefined;
  const payload = Buffer.from(value.subarray(LENGTH_BYTES + length));
  let properties: PublishProperties | undefined;
  if (header.p) {
    const { correlationData, ...rest } = header.p;
    properties = correlationData !== undefined ? { ...rest, correlationData: Buffer.from(correlationData, 'base64') } : rest;
  }
  return { topic: header.t, payload, qos: header.q, retain: header.r, ...(properties ? { properties } : {}) };
}

function isHeader(h: unknown): h is Header {
  if (typeof h !== 'object' || h === null) return false;
  const { t, q, r, p } = h as Record<string, unknown>;
  if (typeof t !== 'string' || t === '' || (q !== 0 && q !== 1 && q !== 2) || typeof r !== 'boolean') return false;
  if (p === undefined) return true;
  return typeof p === 'object' && p !== null && !Array.isArray(p) && ['undefined', 'string'].includes(typeof (p as Record<string, unknown>).correlationData);
}

/** A message read back, with the key of the record it is in. */
export interface Read {
  readonly seq: number;
  readonly publication: Publication;
  /** Bytes on disk, as counted against `maxBytes`. */
  readonly bytes: number;
  readonly key: string;
}

/** What changes on disk before the outbox is used: copies into quarantine, and the records they came from rewritten without them (or deleted). */
export type QuarantineOp = { readonly type: 'put'; readonly key: string; readonly value: Buffer } | { readonly type: 'del'; readonly key: string };

/**
 * Reads the records of an outbox in key order, as LevelDB hands them out, one at a time: `add`
 * returns that record's messages and keeps none, so reading an outbox takes memory for one record,
 * not for all of them. What cannot be read (a key of no known kind, a record cut short, a header
 * that is not ours) is set apart, so one damaged record no longer fails the whole outbox: `ops`
 * copy its bytes into quarantine and rewrite the record it was in with only what could be read,
 * one batch for the caller to write.
 */
export class RecordReader {
  readonly ops: QuarantineOp[] = [];
  /** Pieces moved to quarantine by `ops`. */
  quarantined = 0;
  /** One past the highest sequence number any key used, quarantined ones included, so a new group never takes an old key. */
  nextSeq = 0;

  /** The messages of one record, in order (none for a quarantined key or a record set apart whole). */
  add(key: string, value: Buffer): Read[] {
    if (key.startsWith(QUARANTINE_PREFIX)) {
      const kept = QUARANTINE_KEY.exec(key);
      if (kept) this.saw(parseInt(kept[2], 16) + Number(kept[3]));
      return [];
    }
    if (FIRST_FORMAT_KEY.test(key)) return this.addFirstFormat(key, value);
    if (GROUP_KEY.test(key)) return this.addGroup(key, value);
    this.setApart(key, 0, value);
    this.ops.push({ type: 'del', key });
    return [];
  }

  private addFirstFormat(key: string, value: Buffer): Read[] {
    const seq = parseInt(key, 16);
    this.saw(seq);
    const publication = decode(value);
    if (publication) return [{ seq, publication, bytes: value.length, key }];
    this.setApart(key, 0, value);
    this.ops.push({ type: 'del', key });
    return [];
  }

  private addGroup(key: string, value: Buffer): Read[] {
    const first = parseInt(key.slice(GROUP_PREFIX.length), 16);
    const { records, tail } = split(value);
    const good: Buffer[] = [];
    const messages: Read[] = [];
    records.forEach((r, i) => {
      const publication = decode(r);
      if (!publication) return this.setApart(key, i, r);
      // Rewritten without the bad records, the group numbers its messages from `first` again: read them so.
      messages.push({ seq: first + good.length, publication, bytes: r.length, key });
      good.push(r);
    });
    if (tail) this.setApart(key, records.length, tail);
    this.saw(first + records.length + (tail ? 1 : 0) - 1);
    // An empty group (never written so) holds nothing to keep: it goes.
    if (good.length === records.length && !tail && records.length > 0) return messages;
    this.ops.push(good.length > 0 ? { type: 'put', key, value: framed(good) } : { type: 'del', key });
    return messages;
  }

  private setApart(key: string, place: number, bytes: Buffer): void {
    this.ops.push({ type: 'put', key: `${QUARANTINE_PREFIX}${key}.${place}`, value: Buffer.from(bytes) });
    this.quarantined++;
  }

  private saw(seq: number): void {
    if (Number.isSafeInteger(seq)) this.nextSeq = Math.max(this.nextSeq, seq + 1);
  }
}

/** Records as a group's value: each behind its length. */
function framed(records: readonly Buffer[]): Buffer {
  return Buffer.concat(records.flatMap((r) => {
    const length = Buffer.allocUnsafe(LENGTH_BYTES);
    length.writeUInt32BE(r.length);
    return [length, r];
  }));
}
