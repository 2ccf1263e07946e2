// Specifies the outbox: a durable FIFO on disk that keeps order across reopen and enforces its bounds.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { OutboxLimits } from '../nodes/publisher/limits';
import { GROUP_MAX, Outbox, OutboxFullError, READ_AHEAD, type Done, type OutboxEvents, type Publication, type Queued } from '../nodes/publisher/outbox';
import { until } from './support/until';
import { smallFsForEach } from './support/small-fs';
import { append } from './support/outbox';

const LIMITS: OutboxLimits = { maxMessages: 1000, maxBytes: 1024 * 1024, whenFull: 'refuse' };
const pub = (i: number, extra: Partial<Publication> = {}): Publication => ({ topic: `t/${i}`, payload: Buffer.from(String(i)), qos: 1, retain: false, ...extra });

/** The bytes of one message as the outbox stores it: the header's length, the header (JSON, or anything), the payload. */
function record(header: string, payload: string): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(Buffer.byteLength(header));
  return Buffer.concat([length, Buffer.from(header), Buffer.from(payload)]);
}
/** A group record's value: each record behind its own length. */
function group(...records: Buffer[]): Buffer {
  return Buffer.concat(records.flatMap((r) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(r.length);
    return [length, r];
  }));
}
const header = (topic: string): string => JSON.stringify({ t: topic, q: 1, r: false });
const groupKey = (seq: number): string => `g${seq.toString(16).padStart(13, '0')}`;
const openDb = (dir: string): ClassicLevel<string, Buffer> => new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
/** Every topic the outbox hands out, in order. */
function drain(box: Outbox): string[] {
  const topics: string[] = [];
  for (let e = box.take(); e; e = box.take()) topics.push(e.publication.topic);
  return topics;
}

/** Takes the next entry, waiting for reads from disk while the outbox has more than it holds in memory. */
function taker(): { events: OutboxEvents; next: (box: Outbox) => Promise<Queued | undefined> } {
  let wake: (() => void) | undefined;
  return {
    events: { readable: () => wake?.() },
    async next(box) {
      let entry = box.take();
      while (!entry && box.depth > box.inMemory) {
        await new Promise<void>((resolve) => (wake = resolve));
        entry = box.take();
      }
      return entry;
    },
  };
}
/** What the outbox may hold in memory with nothing handed out: its read-ahead, plus the one record that crossed the bound. */
const HELD_AT_MOST = READ_AHEAD.count + GROUP_MAX.count;

describe('outbox', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-outbox-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands out entries in the order they were appended, and keeps that order and their content after a reopen', async () => {
    let box = await Outbox.open(dir, LIMITS);
    await Promise.all(Array.from({ length: 50 }, (_, i) => append(box, pub(i))));
    await append(box, pub(50, { qos: 2, retain: true, properties: { correlationData: Buffer.from([0, 1, 255]), userProperties: { a: 'b' }, contentType: 'text/plain' } }));
    const first = box.take();
    assert.equal(first?.publication.topic, 't/0');
    await box.close();

    box = await Outbox.open(dir, LIMITS);
    assert.equal(box.depth, 51, 'a taken but unremoved entry is still there after a reopen');
    const topics: string[] = [];
    let last: Publication | undefined;
    for (let e = box.take(); e; e = box.take()) {
      topics.push(e.publication.topic);
      last = e.publication;
    }
    assert.deepEqual(topics, Array.from({ length: 51 }, (_, i) => `t/${i}`));
    assert.deepEqual(last, pub(50, { qos: 2, retain: true, properties: { correlationData: Buffer.from([0, 1, 255]), userProperties: { a: 'b' }, contentType: 'text/plain' } }));
    await box.close();
  });

  it('forgets removed entries, and appends after a reopen go behind what is left', async () => {
    let box = await Outbox.open(dir, LIMITS);
    for (let i = 0; i < 5; i++) await append(box, pub(i));
    for (let i = 0; i < 3; i++) box.remove(box.take()!);
    await box.close();
    box = await Outbox.open(dir, LIMITS);
    await append(box, pub(5));
    assert.deepEqual([box.take(), box.take(), box.take(), box.take()].map((e) => e?.publication.topic), ['t/3', 't/4', 't/5', undefined]);
    await box.close();
  });

  it('writes the appends of one turn as one record, kept until its last entry is removed, so a crash can repeat its entries but never lose one', async () => {
    let box = await Outbox.open(dir, LIMITS);
    await Promise.all([0, 1, 2].map((i) => append(box, pub(i))));
    box.remove(box.take()!);
    box.remove(box.take()!);
    await box.close();
    box = await Outbox.open(dir, LIMITS);
    assert.deepEqual([box.take(), box.take(), box.take(), box.take()].map((e) => e?.publication.topic), ['t/0', 't/1', 't/2', undefined]);
    for (const seq of [0, 1, 2]) box.remove({ seq, publication: pub(seq), bytes: 0 });
    await box.close();
    box = await Outbox.open(dir, LIMITS);
    assert.equal(box.depth, 0, 'the record went with its last entry');
    await box.close();
  });

  it('hands out an append while its write is under way, and an entry removed before that write ends is gone after a reopen', async () => {
    let written = false;
    const seen: { taken: Queued | undefined; writtenBefore: boolean }[] = [];
    const box: Outbox = await Outbox.open(dir, LIMITS, { readable: () => seen.push({ taken: box.take(), writtenBefore: written }) });
    const done = new Promise<void>((resolve, reject) =>
      box.add(pub(0), (_entry, err) => {
        written = true;
        if (err) reject(err);
        else resolve();
      }),
    );
    await until(() => seen.length > 0, 'the append to be takeable');
    const taken = seen[0].taken;
    assert.equal(taken?.publication.topic, 't/0');
    assert.equal(seen[0].writtenBefore, false, 'handed out before its write ended');
    // The broker's answer came before the fsync: the record is deleted behind its own write.
    assert.equal(box.remove(taken), true);
    await done;
    await box.close();
    const again = await Outbox.open(dir, LIMITS);
    try {
      assert.equal(again.depth, 0);
    } finally {
      await again.close();
    }
  });

  it('tells of the appends of one turn of the event loop once, after all of them, so the pump takes them together', async () => {
    const seen: string[][] = [];
    const box: Outbox = await Outbox.open(dir, LIMITS, { readable: () => seen.push(drain(box)) });
    // Node-RED delivers each msg in a setImmediate of its own: these three come in one turn.
    await new Promise<void>((resolve) => {
      for (const i of [0, 1, 2]) {
        setImmediate(() => {
          box.add(pub(i), () => undefined);
          if (i === 2) resolve();
        });
      }
    });
    await until(() => seen.length > 0, 'readable');
    await box.close();
    assert.deepEqual(seen, [['t/0', 't/1', 't/2']]);
  });

  describe('an append whose sender still holds the message (writeBy)', () => {
    /** The keys of every record the outbox puts, seen by wrapping LevelDB's chained batch (a real database still does the writing). */
    let puts: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back after each spec, and only ever called with its own this
    const batch = ClassicLevel.prototype.batch;
    beforeEach(() => {
      puts = [];
      ClassicLevel.prototype.batch = function (this: ClassicLevel<string, Buffer>, ...args: unknown[]) {
        const chained = (batch as (...a: unknown[]) => ReturnType<ClassicLevel<string, Buffer>['batch']>).apply(this, args);
        if (args.length > 0) return chained;
        const put = chained.put.bind(chained);
        chained.put = (key: string, value: Buffer) => (puts.push(key), put(key, value));
        return chained;
      } as typeof batch;
    });
    afterEach(() => {
      ClassicLevel.prototype.batch = batch;
    });

    it('is takeable at once, is not written before writeBy, and is never written when removed by then; one still there is written and kept across a reopen', async () => {
      const box = await Outbox.open(dir, LIMITS);
      const written: string[] = [];
      const by = Date.now() + 300;
      for (const i of [0, 1]) box.add(pub(i), (entry, err) => written.push(`${entry.publication.topic}${err ? ' failed' : ''}`), undefined, by);
      const [first, second] = [box.take(), box.take()];
      assert.deepEqual([first?.publication.topic, second?.publication.topic], ['t/0', 't/1'], 'both handed out before any write');
      assert.equal(box.remove(first as Queued), true, "t/0's broker answered");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual({ puts, written }, { puts: [], written: [] }, 'nothing written before writeBy');
      await until(() => written.length === 2, 'the batch after writeBy');
      assert.deepEqual(written, ['t/0', 't/1']);
      assert.deepEqual(puts, [groupKey(1)], 'one record, holding only t/1');
      await box.close();
      const again = await Outbox.open(dir, LIMITS);
      try {
        assert.deepEqual(drain(again), ['t/1']);
      } finally {
        await again.close();
      }
    });

    it('does not hold back an append due now, nor the close: both write what waits at once', async () => {
      const box = await Outbox.open(dir, LIMITS);
      const later = Date.now() + 60_000;
      const written: string[] = [];
      const note: Parameters<Outbox['add']>[1] = (entry, err) => written.push(`${entry.publication.topic}${err ? ' failed' : ''}`);
      const aWhile = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
      box.add(pub(0), note, undefined, later);
      await aWhile();
      box.add(pub(1), note);
      // Due now: its batch takes the held one before it too, in order (records are read back in key order).
      await until(() => written.length === 2, 'the append due now to be written');
      assert.deepEqual(puts, [groupKey(0)]);
      box.add(pub(2), note, undefined, later);
      box.add(pub(3), note, undefined, later);
      await aWhile();
      for (const topic of ['t/0', 't/1']) {
        const entry = box.take() as Queued;
        assert.equal(entry.publication.topic, topic);
        assert.equal(box.remove(entry), true);
      }
      await aWhile();
      assert.deepEqual({ puts, written }, { puts: [groupKey(0)], written: ['t/0', 't/1'] }, 'removals alone write no append before its writeBy');
      await box.close();
      assert.deepEqual(written, ['t/0', 't/1', 't/2', 't/3'], 'the close wrote what waited for writeBy');
      const again = await Outbox.open(dir, LIMITS);
      try {
        assert.deepEqual(drain(again), ['t/2', 't/3'], 't/0 and t/1 were removed after their write, t/2 and t/3 are kept');
      } finally {
        await again.close();
      }
    });
  });

  it('reads records of one message under a bare hex key (the first format), before newer ones', async () => {
    const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    const header = Buffer.from(JSON.stringify({ t: 't/old', q: 1, r: false }));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    await db.put('0000000000007', Buffer.concat([length, header, Buffer.from('old')]));
    await db.close();
    const box = await Outbox.open(dir, LIMITS);
    await append(box, pub(8));
    const old = box.take();
    assert.deepEqual(old?.publication, { topic: 't/old', payload: Buffer.from('old'), qos: 1, retain: false });
    assert.equal(box.take()?.publication.topic, 't/8');
    box.remove(old);
    await box.close();
    const again = await Outbox.open(dir, LIMITS);
    assert.deepEqual([again.take()?.publication.topic, again.take()], ['t/8', undefined]);
    await again.close();
  });

  it('moves records it cannot read to quarantine with their bytes as they were, counts them, and loads the rest in order', async () => {
    const box = await Outbox.open(dir, LIMITS);
    await Promise.all([0, 1].map((i) => append(box, pub(i))));
    await box.close();
    const db = openDb(dir);
    const corrupt: Record<string, Buffer> = {
      // A first-format record too short for its header length.
      '0000000000005': Buffer.from('xx'),
      // A group whose first length runs past the end.
      [groupKey(10)]: Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      // A key of no kind the outbox writes.
      zzz: Buffer.from('?'),
    };
    for (const [key, value] of Object.entries(corrupt)) await db.put(key, value);
    // Groups with good records around bad ones: a header that is not JSON, one that is JSON but no header, a length past the end.
    await db.put(groupKey(20), group(record(header('t/20'), 'a'), record('not json', 'b'), record(JSON.stringify({ t: 5 }), 'c'), record(header('t/23'), 'd')));
    await db.put(groupKey(30), Buffer.concat([group(record(header('t/30'), 'e')), Buffer.from([0, 0, 0, 99, 7])]));
    await db.close();

    const opened = await Outbox.open(dir, LIMITS);
    assert.equal(opened.quarantined, 6);
    assert.equal(opened.depth, 5);
    assert.deepEqual(drain(opened), ['t/0', 't/1', 't/20', 't/23', 't/30']);
    await opened.close();

    const again = await Outbox.open(dir, LIMITS);
    assert.equal(again.quarantined, 0, 'moved once: a second open finds nothing new');
    assert.deepEqual(drain(again), ['t/0', 't/1', 't/20', 't/23', 't/30']);
    await again.close();
    const raw = openDb(dir);
    const kept = (await raw.values({ gte: 'q', lt: 'r' }).all()).map((v) => v.toString('hex')).sort();
    await raw.close();
    for (const value of Object.values(corrupt)) assert.ok(kept.includes(value.toString('hex')), `the bytes ${value.toString('hex')} kept`);
    assert.equal(kept.length, 6);
  });

  it('puts an untaken entry back at its place in the order', async () => {
    const box = await Outbox.open(dir, LIMITS);
    for (let i = 0; i < 4; i++) await append(box, pub(i));
    const a = box.take()!;
    const b = box.take()!;
    box.untake(b);
    box.untake(a);
    assert.deepEqual([1, 2, 3, 4].map(() => box.take()?.publication.topic), ['t/0', 't/1', 't/2', 't/3']);
    await box.close();
  });

  it('creates its folders 0700, so the LevelDB files in them are Node-RED\'s user\'s alone', async () => {
    const box = await Outbox.open(join(dir, 'outbox', 'one'), LIMITS);
    await append(box, pub(0));
    await box.close();
    const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);
    assert.deepEqual([modeOf(join(dir, 'outbox')), modeOf(join(dir, 'outbox', 'one'))], ['700', '700']);
  });

  it('refuses a message when full by count or by bytes, and takes one again once room is made', async () => {
    const box = await Outbox.open(dir, { maxMessages: 3, maxBytes: 1024 * 1024, whenFull: 'refuse' });
    for (let i = 0; i < 3; i++) await append(box, pub(i));
    await assert.rejects(append(box, pub(3)), OutboxFullError);
    assert.equal(box.depth, 3);
    box.remove(box.take()!);
    await append(box, pub(3));
    await box.close();

    const small = await Outbox.open(join(dir, 'bytes'), { maxMessages: 100, maxBytes: 200, whenFull: 'refuse' });
    await append(small, pub(0, { payload: Buffer.alloc(100) }));
    await assert.rejects(append(small, pub(1, { payload: Buffer.alloc(100) })), OutboxFullError);
    await small.close();
  });

  it('with dropOldest, evicts the oldest waiting entries and reports them, never one already taken', async () => {
    const box = await Outbox.open(dir, { maxMessages: 3, maxBytes: 1024 * 1024, whenFull: 'dropOldest' });
    for (let i = 0; i < 3; i++) await append(box, pub(i));
    const inFlight = box.take()!;
    const { evicted } = await append(box, pub(3));
    assert.deepEqual(evicted.map((e) => e.publication.topic), ['t/1']);
    assert.equal(box.depth, 3);
    assert.deepEqual([box.take(), box.take(), box.take()].map((e) => e?.publication.topic), ['t/2', 't/3', undefined]);
    // Everything left is in flight: nothing may be evicted, so the new message is refused.
    await assert.rejects(append(box, pub(4)), OutboxFullError);
    box.remove(inFlight);
    await box.close();
  });
});

describe('outbox memory', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-outbox-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const N = 200_000;
  const BIG: OutboxLimits = { maxMessages: 1_000_000, maxBytes: 1024 * 1024 * 1024, whenFull: 'refuse' };
  /** Appends `from`..`to` - 1, a few thousand per turn as a busy flow would. */
  async function fill(box: Outbox, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i += 5000) await Promise.all(Array.from({ length: Math.min(5000, to - i) }, (_, k) => append(box, pub(i + k))));
  }

  it('holds only its read-ahead in memory with 200,000 entries queued, and after a reopen hands them all out in order, appends made meanwhile after them', async () => {
    let box = await Outbox.open(dir, BIG);
    await fill(box, 0, N);
    assert.equal(box.depth, N);
    assert.ok(box.inMemory <= HELD_AT_MOST, `${box.inMemory} entries in memory while filling`);
    await box.close();

    const { events, next } = taker();
    box = await Outbox.open(dir, BIG, events);
    assert.equal(box.depth, N);
    assert.ok(box.inMemory <= HELD_AT_MOST, `${box.inMemory} entries in memory after the open`);
    const order: number[] = [];
    let most = 0;
    for (let entry = await next(box); entry; entry = await next(box)) {
      order.push(Number(entry.publication.topic.slice(2)));
      box.remove(entry);
      most = Math.max(most, box.inMemory);
      // Halfway, new appends: they must wait behind the backlog still on disk.
      if (order.length === N / 2) await fill(box, N, N + 10);
    }
    assert.ok(most <= HELD_AT_MOST, `${most} entries in memory at most while draining`);
    assert.equal(order.length, N + 10);
    assert.ok(order.every((seq, i) => seq === i), `in order (first out of place at ${order.findIndex((seq, i) => seq !== i)})`);
    await box.close();
    box = await Outbox.open(dir, BIG);
    assert.equal(box.depth, 0, 'every record went with its last entry');
    await box.close();
  });

  it('keeps the done() of every entry added while a backlog is on disk, whenever its write ends against the reads, and hands them all out in order', async () => {
    const { events, next } = taker();
    const box = await Outbox.open(dir, BIG, events);
    const total = 4 * READ_AHEAD.count;
    const order: number[] = [];
    let added = 0;
    let doneCalls = 0;
    const failures: Error[] = [];
    const feed = async (until: number, perTurn: number): Promise<void> => {
      while (added < until) {
        const batch = Array.from({ length: Math.min(perTurn, until - added) }, () => added++);
        await Promise.all(batch.map((i) => new Promise<void>((resolve) => box.add(pub(i), (_e, err) => (err ? failures.push(err) : undefined, resolve()), () => doneCalls++))));
      }
    };
    await feed(2 * READ_AHEAD.count, 5000);
    assert.ok(box.depth > box.inMemory, 'a backlog on disk');
    // A few hundred per turn while taking: writes end before, during and after the reads they race with.
    const feeding = feed(total, 300);
    while (order.length < total) {
      const entry = await next(box);
      if (!entry) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      order.push(Number(entry.publication.topic.slice(2)));
      box.remove(entry);
      entry.done?.();
    }
    await feeding;
    assert.deepEqual(failures, []);
    assert.ok(order.every((seq, i) => seq === i), `in order (first out of place at ${order.findIndex((seq, i) => seq !== i)})`);
    assert.equal(doneCalls, total, 'every entry handed out carried its done()');
    await box.close();
  });

  it('with dropOldest and a backlog on disk, evicts the oldest waiting entry with the done() it was added with', async () => {
    const max = 2 * READ_AHEAD.count;
    const { events, next } = taker();
    const box = await Outbox.open(dir, { maxMessages: max, maxBytes: 1024 * 1024 * 1024, whenFull: 'dropOldest' }, events);
    const dones: Done[] = [];
    const add = (i: number): Promise<void> => new Promise((resolve, reject) => {
      dones[i] = () => undefined;
      box.add(pub(i), (_entry, err) => (err ? reject(err) : resolve()), dones[i]);
    });
    await Promise.all(Array.from({ length: max }, (_, i) => add(i)));
    assert.ok(box.depth > box.inMemory, 'part of the outbox is on disk only');
    // Sending the first ones brings the rest into memory, and new ones go to disk behind them.
    const sent = max - READ_AHEAD.count / 4;
    for (let i = 0; i < sent; i++) box.remove((await next(box))!);
    await Promise.all(Array.from({ length: sent }, (_, i) => add(max + i)));
    const evicted = box.add(pub(2 * max), () => undefined);
    assert.deepEqual(evicted.map((e) => e.publication.topic), [`t/${sent}`]);
    assert.equal(evicted[0].done, dones[sent], 'the done() of an entry that was read back from disk');
    await box.close();
  });
});

describe('outbox on a full disk (tmpfs)', () => {
  const small = smallFsForEach('1m');

  it('closes the database when an open fails, so the next open in the same process finds it unlocked', async () => {
    const dir = join(small().dir, 'box');
    const db = openDb(dir);
    // Garbage that quarantine has to write again elsewhere, 96 KiB of it.
    await db.put(groupKey(0), Buffer.alloc(96 * 1024, 0xff));
    await db.close();
    // With room, one more open turns LevelDB's log into a table, so the next open itself writes only a few KiB.
    await db.open();
    await db.close();
    small().fill(32 * 1024);
    await assert.rejects(Outbox.open(dir, LIMITS), /No space left on device/);
    small().free();
    const box = await Outbox.open(dir, LIMITS);
    assert.equal(box.quarantined, 1);
    assert.equal(box.depth, 0);
    await box.close();
  });
});

describe('outbox when a write fails (full tmpfs)', () => {
  const small = smallFsForEach('1m');

  it('fails the appends still waiting when their write fails, and leaves one already handed out to its publish', async () => {
    const dir = join(small().dir, 'box');
    let takeOne = false;
    let taken: Queued | undefined;
    const box: Outbox = await Outbox.open(dir, LIMITS, {
      readable: () => {
        if (takeOne && !taken) taken = box.take();
      },
    });
    const first = (await append(box, pub(0))).entry;
    assert.equal(box.take(), first);
    box.remove(first);
    small().fill();
    takeOne = true;
    const results: string[] = [];
    const big = { payload: Buffer.alloc(64 * 1024) };
    for (const i of [1, 2]) box.add(pub(i, big), (entry, err) => results.push(`${entry.publication.topic} ${err ? 'failed' : 'written'}`));
    await until(() => box.writeFailure !== undefined, 'the write to fail');
    assert.equal(taken?.publication.topic, 't/1');
    assert.deepEqual(results, ['t/2 failed'], 't/1 is not failed: the answer to its publish settles it');
    assert.equal(box.take(), undefined, 't/2 left the read-ahead');
    assert.equal(box.remove(taken), true, 't/1 stays in the outbox until the broker answers');
    small().free();
    await until(() => box.writeFailure === undefined, 'writes to work again');
    await box.close();
    const again = await Outbox.open(dir, LIMITS);
    try {
      assert.equal(again.depth, 0, 'neither record of the failed write came back');
    } finally {
      await again.close();
    }
  });

  it('writes again by itself once the disk has room after a failed write, and keeps every message it accepted after that across a reopen', async () => {
    const dir = join(small().dir, 'box');
    const reported: (string | undefined)[] = [];
    const box = await Outbox.open(dir, LIMITS, { writeFailure: (err) => reported.push(err?.message) });
    await append(box, pub(0));
    small().fill();
    // Larger than a page, so the write cannot go into one LevelDB's log has room left in.
    await assert.rejects(append(box, pub(1, { payload: Buffer.alloc(64 * 1024) })), /No space left on device/);
    small().free();
    await until(() => box.writeFailure === undefined, 'writes to work again');
    await append(box, pub(2));
    await box.close();
    const again = await Outbox.open(dir, LIMITS);
    try {
      assert.deepEqual(drain(again), ['t/0', 't/2'], 'what was accepted after the failure is on disk');
    } finally {
      await again.close();
    }
    assert.equal(reported.length, 2, JSON.stringify(reported));
    assert.match(String(reported[0]), /^outbox write failed: .*No space left on device/);
    assert.equal(reported[1], undefined, 'and that it is over');
  });
});
