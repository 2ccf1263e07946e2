// Specs for nodes/session/subscriptions/topic.ts: filter validation, parsing, covering, overlap and generalisation, checked against a reference matcher.
import { strict as assert } from 'node:assert';
import { carries, covers, filterError, inboundTopicError, overlaps, parseFilter, splitFilters, topicError } from '../nodes/session/subscriptions/topic.js';
import { matches, randomFilter, seeded, topicUniverse } from './support/filters';

describe('topic', () => {
  describe('topicError', () => {
    it('takes a topic to publish to, $ topics included', () => {
      for (const t of ['a', 'a/b/c', '/', 'a//b', '$SYS/x', 'temp °C/室']) assert.equal(topicError(t), undefined, t);
    });

    it('refuses an empty topic, wildcards, and what Mosquitto closes the connection on', () => {
      assert.match(topicError('') ?? '', /empty/);
      for (const t of ['a/+', '#', 'a/b#']) assert.match(topicError(t) ?? '', /wildcards/, t);
      for (const t of ['a\u0001b', 'a\u0000', 'a\u009f', 'a\uffff', 'a\udfff']) assert.notEqual(topicError(t), undefined, JSON.stringify(t));
      assert.match(topicError('t'.repeat(65536)) ?? '', /65535/);
    });
  });

  describe('inboundTopicError', () => {
    it('refuses only U+0000 in a topic a broker sent, naming where; other control characters and U+FFFD pass', () => {
      assert.match(inboundTopicError('a/\u0000b') ?? '', /U\+0000 at position 2/);
      for (const ok of ['a/b', 'a/\u0001\u001f\u007f', 'a/\ufffd', '']) assert.equal(inboundTopicError(ok), undefined);
    });
  });

  describe('filterError', () => {
    it('accepts ordinary, wildcard, shared and $queue filters', () => {
      for (const f of ['a', 'a/b', 'a/#', '#', '+', 'a/+/c', '+/+/#', '/', '$SYS/#', '$share/g/a/#', '$share/g/#', '$queue/x']) {
        assert.equal(filterError(f), undefined, f);
      }
    });

    it('rejects an empty filter', () => {
      assert.equal(filterError(''), 'empty topic filter');
    });

    it("rejects '#' anywhere but the last level (a/#/b, #/a)", () => {
      assert.match(filterError('a/#/b') ?? '', /'#'/);
      assert.match(filterError('#/a') ?? '', /'#'/);
    });

    it("rejects '#' or '+' sharing a level with other characters (a+, a/b#)", () => {
      assert.match(filterError('a+') ?? '', /'\+'/);
      assert.match(filterError('a/+b/c') ?? '', /'\+'/);
      assert.match(filterError('a/b#') ?? '', /'#'/);
    });

    it('rejects a null character', () => {
      assert.notEqual(filterError('a/\u0000'), undefined);
    });

    it('rejects what Mosquitto closes the connection on: control characters, non-characters and lone surrogates', () => {
      for (const f of ['a\u0001b/#', 'a/\u007f', '$share/g\u0085/a', 'a/\ufffe', 'a/\ud800']) assert.notEqual(filterError(f), undefined, JSON.stringify(f));
    });

    it('rejects $share/ without a group name', () => {
      assert.match(filterError('$share/') ?? '', /group/);
      assert.match(filterError('$share//a/b') ?? '', /group/);
      assert.match(filterError('$share/g+/a') ?? '', /group/);
    });

    it('rejects $share/<group> without a filter after it', () => {
      assert.match(filterError('$share/g') ?? '', /topic filter after the group/);
      assert.match(filterError('$share/g/') ?? '', /topic filter after the group/);
    });

    it('rejects a $queue/ without a filter and checks the filter after $queue/', () => {
      assert.notEqual(filterError('$queue/'), undefined);
      assert.notEqual(filterError('$queue/a/#/b'), undefined);
    });

    it('checks the filter inside a shared subscription', () => {
      assert.notEqual(filterError('$share/g/a/#/b'), undefined);
    });
  });

  describe('parseFilter', () => {
    it('splits $share/<group>/<filter> into group and filter', () => {
      assert.deepEqual(parseFilter('$share/g/a/+'), { raw: '$share/g/a/+', group: 'g', filter: 'a/+' });
    });

    it('treats $queue/<filter> as the group "$queue"', () => {
      assert.deepEqual(parseFilter('$queue/x/y'), { raw: '$queue/x/y', group: '$queue', filter: 'x/y' });
    });

    it('leaves a plain filter without a group', () => {
      const p = parseFilter('a/b/#');
      assert.deepEqual(p, { raw: 'a/b/#', filter: 'a/b/#' });
      assert.equal('group' in p, false);
    });
  });

  describe('splitFilters', () => {
    it('trims lines, ignores blank ones, accepts CRLF and drops duplicates in first-seen order', () => {
      assert.deepEqual(splitFilters('  a/b \n\n\tc/#\r\n a/b \n   \r\nd'), ['a/b', 'c/#', 'd']);
    });

    it('gives no filters for blank text', () => {
      assert.deepEqual(splitFilters(''), []);
      assert.deepEqual(splitFilters(' \n\t\n'), []);
    });
  });

  describe('covers', () => {
    it("covers the parent level with '#' (a/# covers a)", () => {
      assert.equal(covers('a/#', 'a'), true);
      assert.equal(covers('a/#', 'a/b/c'), true);
      assert.equal(covers('+/#', 'a'), true);
      assert.equal(covers('a/b/#', 'a/b'), true);
    });

    it("covers exactly one level with '+'", () => {
      assert.equal(covers('a/+', 'a/b'), true);
      assert.equal(covers('a/+', 'a/+'), true);
      assert.equal(covers('a/+', 'a/b/c'), false);
      assert.equal(covers('a/+', 'a'), false);
    });

    it('does not let a narrower filter cover a wider one', () => {
      assert.equal(covers('a/b', 'a/+'), false);
      assert.equal(covers('a/+', 'a/#'), false);
      assert.equal(covers('a/+/#', 'a/#'), false);
      assert.equal(covers('a/b', 'a/c'), false);
    });

    it("does not cover $SYS topics with a first-level '#' or '+'", () => {
      assert.equal(covers('#', '$SYS/x'), false);
      assert.equal(covers('+/x', '$SYS/x'), false);
      assert.equal(covers('+/#', '$SYS/x'), false);
      assert.equal(covers('#', '$SYS/#'), false);
      assert.equal(covers('$SYS/#', '$SYS/x'), true);
      assert.equal(covers('$SYS/+', '$SYS/x'), true);
    });

    it("lets '#' cover filters that themselves start with a wildcard", () => {
      assert.equal(covers('#', '+/x'), true);
      assert.equal(covers('#', '#'), true);
    });

    it("knows +/# and # match the same topics, but +/+/# is narrower than +/#", () => {
      assert.equal(covers('+/#', '#'), true);
      assert.equal(covers('#', '+/#'), true);
      assert.equal(covers('+/+/#', '+/#'), false);
    });
  });

  describe('overlaps', () => {
    it('finds a common topic for wildcards at different positions', () => {
      assert.equal(overlaps('a/+/c', 'a/b/+'), true);
      assert.equal(overlaps('a/+', 'a/#'), true);
      assert.equal(overlaps('a', 'a/#'), true);
      assert.equal(overlaps('#', '+/x'), true);
    });

    it('finds none for different literals or different lengths without #', () => {
      assert.equal(overlaps('a/b', 'a/c'), false);
      assert.equal(overlaps('a/b', 'a/b/c'), false);
      assert.equal(overlaps('a', 'a/+'), false);
    });

    it("finds none between $SYS filters and a first-level '#' or '+'", () => {
      assert.equal(overlaps('#', '$SYS/x'), false);
      assert.equal(overlaps('$SYS/#', '#'), false);
      assert.equal(overlaps('+/x', '$SYS/x'), false);
      assert.equal(overlaps('$SYS/+', '$SYS/#'), true);
    });

    it('agrees with a brute-force search over a small topic universe', () => {
      const random = seeded(7);
      const filters = Array.from({ length: 4000 }, () => randomFilter(random));
      const universe = topicUniverse();
      for (let i = 0; i < filters.length; i += 2) {
        const [a, b] = [filters[i], filters[i + 1]];
        const expected = universe.some((t) => matches(a, t) && matches(b, t));
        assert.equal(overlaps(a, b), expected, `overlaps(${a}, ${b})`);
        assert.equal(overlaps(b, a), expected, `overlaps(${b}, ${a})`);
        const coveredByBrute = universe.every((t) => !matches(b, t) || matches(a, t));
        assert.equal(covers(a, b), coveredByBrute, `covers(${a}, ${b})`);
      }
    });
  });

  describe('carries', () => {
    it('holds for the same filter and for a plain filter that covers a plain one', () => {
      assert.ok(carries('a/b', 'a/b'));
      assert.ok(carries('a/#', 'a/b/c'));
      assert.ok(carries('+/b', 'x/b'));
      assert.ok(!carries('a/b', 'a/#'), 'a narrower filter does not carry a wider one');
      assert.ok(!carries('a/+', 'b/c'));
    });

    it('holds for a shared subscription only with itself: a group gets its own share of the messages', () => {
      assert.ok(carries('$share/g/a/#', '$share/g/a/#'));
      assert.ok(!carries('$share/g/a/#', 'a/b'));
      assert.ok(!carries('a/#', '$share/g/a/b'));
      assert.ok(!carries('$share/g/a/#', '$share/h/a/b'));
    });
  });
});
