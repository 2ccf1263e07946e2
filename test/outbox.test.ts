// Specifies the outbox: a durable FIFO on disk that keeps order across reopen and enforces its bounds.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { OutboxLimits } from '../nodes/publisher/limits';
import { Outbox, OutboxFullError, type Publication } from '../nodes/publisher/outbox';

const LIMITS: OutboxLimits = { maxMessages: 1000, maxBytes: 1024 * 1024, whenFull: 'refuse' };
const pub = (i: number, extra: Partial<Publication> = {}): Publication => ({ topic: `t/${i}`, payload: Buffer.from(String(i)), qos: 1, retain: false, ...extra });

describe('outbox', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-outbox-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands out entries in the order they were appended, and keeps that order and their content after a reopen', async () => {
    let box = await Outbox.open(dir, LIMITS);
    await Promise.all(Array.from({ length: 50 }, (_, i) => box.append(pub(i))));
    await box.append(pub(50, { qos: 2, retain: true, properties: { correlationData: Buffer.from([0, 1, 255]), userProperties: { a: 'b' }, contentType: 'text/plain' } }));
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
    for (let i = 0; i < 5; i++) await box.append(pub(i));
    for (let i = 0; i < 3; i++) box.remove(box.take()!);
    await box.close();
    box = await Outbox.open(dir, LIMITS);
    await box.append(pub(5));
    assert.deepEqual([box.take(), box.take(), box.take(), box.take()].map((e) => e?.publication.topic), ['t/3', 't/4', 't/5', undefined]);
    await box.close();
  });

  it('writes the appends of one turn as one record, kept until its last entry is removed, so a crash can repeat its entries but never lose one', async () => {
    let box = await Outbox.open(dir, LIMITS);
    await Promise.all([0, 1, 2].map((i) => box.append(pub(i))));
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

  it('reads records of one message under a bare hex key (the first format), before newer ones', async () => {
    const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    const header = Buffer.from(JSON.stringify({ t: 't/old', q: 1, r: false }));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    await db.put('0000000000007', Buffer.concat([length, header, Buffer.from('old')]));
    await db.close();
    const box = await Outbox.open(dir, LIMITS);
    await box.append(pub(8));
    const old = box.take();
    assert.deepEqual(old?.publication, { topic: 't/old', payload: Buffer.from('old'), qos: 1, retain: false });
    assert.equal(box.take()?.publication.topic, 't/8');
    box.remove(old);
    await box.close();
    const again = await Outbox.open(dir, LIMITS);
    assert.deepEqual([again.take()?.publication.topic, again.take()], ['t/8', undefined]);
    await again.close();
  });

  it('puts an untaken entry back at its place in the order', async () => {
    const box = await Outbox.open(dir, LIMITS);
    for (let i = 0; i < 4; i++) await box.append(pub(i));
    const a = box.take()!;
    const b = box.take()!;
    box.untake(b);
    box.untake(a);
    assert.deepEqual([1, 2, 3, 4].map(() => box.take()?.publication.topic), ['t/0', 't/1', 't/2', 't/3']);
    await box.close();
  });

  it('creates its folders 0700, so the LevelDB files in them are Node-RED\'s user\'s alone', async () => {
    const box = await Outbox.open(join(dir, 'outbox', 'one'), LIMITS);
    await box.append(pub(0));
    await box.close();
    const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);
    assert.deepEqual([modeOf(join(dir, 'outbox')), modeOf(join(dir, 'outbox', 'one'))], ['700', '700']);
  });

  it('refuses a message when full by count or by bytes, and takes one again once room is made', async () => {
    const box = await Outbox.open(dir, { maxMessages: 3, maxBytes: 1024 * 1024, whenFull: 'refuse' });
    for (let i = 0; i < 3; i++) await box.append(pub(i));
    await assert.rejects(box.append(pub(3)), OutboxFullError);
    assert.equal(box.depth, 3);
    box.remove(box.take()!);
    await box.append(pub(3));
    await box.close();

    const small = await Outbox.open(join(dir, 'bytes'), { maxMessages: 100, maxBytes: 200, whenFull: 'refuse' });
    await small.append(pub(0, { payload: Buffer.alloc(100) }));
    await assert.rejects(small.append(pub(1, { payload: Buffer.alloc(100) })), OutboxFullError);
    await small.close();
  });

  it('with dropOldest, evicts the oldest waiting entries and reports them, never one already taken', async () => {
    const box = await Outbox.open(dir, { maxMessages: 3, maxBytes: 1024 * 1024, whenFull: 'dropOldest' });
    for (let i = 0; i < 3; i++) await box.append(pub(i));
    const inFlight = box.take()!;
    const { evicted } = await box.append(pub(3));
    assert.deepEqual(evicted.map((e) => e.publication.topic), ['t/1']);
    assert.equal(box.depth, 3);
    assert.deepEqual([box.take(), box.take(), box.take()].map((e) => e?.publication.topic), ['t/2', 't/3', undefined]);
    // Everything left is in flight: nothing may be evicted, so the new message is refused.
    await assert.rejects(box.append(pub(4)), OutboxFullError);
    box.remove(inFlight);
    await box.close();
  });
});
