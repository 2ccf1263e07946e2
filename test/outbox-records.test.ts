// Specs for nodes/publisher/outbox-records.ts: cutting a batch into records, reading records back, and what it sets apart for quarantine.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { GROUP_MAX, groupKeyOf, groupsOf, groupValue, headerOf, Headers, RecordReader, type Publication } from '../nodes/publisher/outbox-records';

const pub = (topic: string): Publication => ({ topic, payload: Buffer.from(topic), qos: 1, retain: false });
/** A group value of `topics`, as the outbox writes it. */
function groupOf(...topics: string[]): Buffer {
  return groupValue(topics.map((t) => {
    const publication = pub(t);
    const { header, headerBytes } = headerOf(publication);
    return { entry: { bytes: 4 + headerBytes + publication.payload.length, publication }, header, headerBytes };
  }));
}

describe('outbox records', () => {
  it('reads a group back as the messages written, numbered from its key', () => {
    const reader = new RecordReader();
    const messages = reader.add(groupKeyOf(7), groupOf('a', 'b'));
    assert.deepEqual(messages.map((m) => [m.seq, m.publication.topic, m.key]), [[7, 'a', groupKeyOf(7)], [8, 'b', groupKeyOf(7)]]);
    assert.deepEqual([reader.ops, reader.quarantined, reader.nextSeq], [[], 0, 9]);
  });

  it('passes over what is in quarantine already, whatever key it came from, and numbers new groups past it', () => {
    const reader = new RecordReader();
    const messages = [groupKeyOf(1), `q${groupKeyOf(40)}.2`, 'qzzz.0'].map((key, i) => reader.add(key, i === 0 ? groupOf('a') : Buffer.from('bad')));
    assert.deepEqual([messages.map((m) => m.length), reader.ops, reader.quarantined], [[1, 0, 0], [], 0]);
    assert.equal(reader.nextSeq, 43, 'a new group never takes the key of one whose bytes are in quarantine');
  });

  it('rewrites a group without its bad records, numbering the rest from its key again, and deletes one with nothing left', () => {
    const reader = new RecordReader();
    const good = groupOf('a');
    const messages = [
      ...reader.add(groupKeyOf(0), Buffer.concat([good, Buffer.from([0, 0, 0, 3, 1, 2, 3]), good])),
      ...reader.add(groupKeyOf(5), Buffer.from([0, 0, 0, 3, 1, 2, 3])),
      ...reader.add(groupKeyOf(9), Buffer.alloc(0)),
    ];
    assert.deepEqual(messages.map((m) => m.seq), [0, 1]);
    assert.deepEqual(reader.ops.map((op) => [op.type, op.key]), [
      ['put', `q${groupKeyOf(0)}.1`], ['put', groupKeyOf(0)],
      ['put', `q${groupKeyOf(5)}.0`], ['del', groupKeyOf(5)],
      ['del', groupKeyOf(9)],
    ]);
    const rewritten = reader.ops[1];
    assert.ok(rewritten.type === 'put');
    assert.deepEqual(rewritten.value, groupOf('a', 'a'));
    assert.equal(reader.quarantined, 2);
  });

  it('cuts a batch into records of at most GROUP_MAX entries and bytes, in order, each keyed by its first entry (a larger message alone)', () => {
    const sizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constant(GROUP_MAX.bytes + 1)), { maxLength: 3 * GROUP_MAX.count });
    fc.assert(
      fc.property(fc.nat(1000), sizes, (first, bytes) => {
        const pending = bytes.map((b, i) => ({ entry: { seq: first + i, bytes: b } }));
        const groups = groupsOf(pending);
        assert.deepEqual(groups.flatMap(([, members]) => members), pending);
        for (const [group, members] of groups) {
          assert.equal(group.key, groupKeyOf(members[0].entry.seq));
          assert.equal(group.live, members.length);
          assert.ok(members.length <= GROUP_MAX.count);
          const total = members.reduce((sum, p) => sum + p.entry.bytes, 0);
          assert.ok(total <= GROUP_MAX.bytes || members.length === 1, `${members.length} entries of ${total} bytes in one record`);
        }
        // Cut only where the next entry would not fit: a record and the first entry of the next would pass a bound.
        for (let i = 1; i < groups.length; i++) {
          const [, members] = groups[i - 1];
          const next = groups[i][1][0].entry.bytes;
          const total = members.reduce((sum, p) => sum + p.entry.bytes, 0);
          assert.ok(members.length === GROUP_MAX.count || total + next > GROUP_MAX.bytes);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('Headers gives the header headerOf makes, for any sequence of topics, QoS, retain flags and properties', () => {
    const publication = fc.record({
      topic: fc.constantFrom('a', 'b', 'a/ü'),
      payload: fc.constant(Buffer.from('x')),
      qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
      retain: fc.boolean(),
      properties: fc.option(fc.record({ contentType: fc.constantFrom('text/plain', 'x'), correlationData: fc.option(fc.constant(Buffer.from('id')), { nil: undefined }) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(publication, { maxLength: 20 }), (publications) => {
        const headers = new Headers();
        for (const p of publications) assert.deepEqual(headers.of(p), headerOf(p));
      }),
    );
  });
});
