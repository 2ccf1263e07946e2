// Specs for nodes/session/subscriptions/router.ts: which consumers a received topic, or an MQTT 5 copy by subscription identifier, goes to.
import { strict as assert } from 'node:assert';
import { IdRouter, TopicRouter } from '../nodes/session/subscriptions/router.js';
import { randomFilter, ReferenceIdRouter, seeded, topicUniverse } from './support/filters';

describe('router', () => {
  it("matches the parent level a for a/#, and everything below it", () => {
    const r = new TopicRouter<string>();
    r.set('t', ['a/#']);
    assert.deepEqual(r.match('a'), new Set(['t']));
    assert.deepEqual(r.match('a/b/c'), new Set(['t']));
    assert.deepEqual(r.match('b'), new Set());
  });

  it("matches exactly one level with '+'", () => {
    const r = new TopicRouter<string>();
    r.set('t', ['a/+']);
    assert.equal(r.match('a/b').has('t'), true);
    assert.equal(r.match('a').has('t'), false);
    assert.equal(r.match('a/b/c').has('t'), false);
  });

  it("does not route $SYS/x to '#' or '+/x', but does to '$SYS/#'", () => {
    const r = new TopicRouter<string>();
    r.set('hash', ['#']);
    r.set('plus', ['+/x']);
    r.set('sys', ['$SYS/#']);
    assert.deepEqual(r.match('$SYS/x'), new Set(['sys']));
    assert.deepEqual(r.match('y/x'), new Set(['hash', 'plus']));
  });

  it('gives a target with two overlapping filters one entry', () => {
    const r = new TopicRouter<string>();
    r.set('t', ['a/#', 'a/+', 'a/b']);
    const hit = r.match('a/b');
    assert.equal(hit.size, 1);
    assert.equal(hit.has('t'), true);
  });

  it('routes $share/g/a/+ by a/+', () => {
    const r = new TopicRouter<string>();
    r.set('t', ['$share/g/a/+']);
    assert.deepEqual(r.match('a/b'), new Set(['t']));
    assert.deepEqual(r.match('$share/g/a/b'), new Set());
  });

  it('routes to every target whose filter matches', () => {
    const r = new TopicRouter<string>();
    r.set('one', ['a/b']);
    r.set('two', ['a/+']);
    r.set('three', ['c/#']);
    assert.deepEqual(r.match('a/b'), new Set(['one', 'two']));
  });

  it('replaces a target\'s filters on set and forgets the target on delete', () => {
    const r = new TopicRouter<string>();
    r.set('t', ['a']);
    r.set('u', ['a']);
    r.set('t', ['b']);
    assert.deepEqual(r.match('a'), new Set(['u']));
    assert.deepEqual(r.match('b'), new Set(['t']));
    assert.equal(r.size, 2);
    r.delete('t');
    assert.equal(r.size, 1);
    assert.deepEqual(r.match('b'), new Set());
    r.delete('nobody');
    assert.equal(r.size, 1);
  });
});

describe('IdRouter', () => {
  const targets = (entries: [string, string[]][]): Map<string, string[]> => new Map(entries);

  it('sends a copy by identifier only to the nodes of that filter: a/+/c (1) and a/b/+ (2)', () => {
    const r = new IdRouter(new Map([['a/+/c', 1], ['a/b/+', 2]]), targets([['one', ['a/+/c']], ['two', ['a/b/+']]]));
    assert.deepEqual(r.match('a/b/c', 1), new Set(['one']));
    assert.deepEqual(r.match('a/b/c', 2), new Set(['two']));
    assert.deepEqual(r.match('a/x/c', 1), new Set(['one']));
    assert.deepEqual(r.match('a/b/x', 2), new Set(['two']));
    // One copy carrying both identifiers serves both.
    assert.deepEqual(r.match('a/b/c', [1, 2]), new Set(['one', 'two']));
  });

  it('gives a node with two overlapping filters each message once: from the lower identifier', () => {
    const r = new IdRouter(new Map([['a/+/c', 1], ['a/b/+', 2]]), targets([['both', ['a/+/c', 'a/b/+']], ['two', ['a/b/+']]]));
    assert.deepEqual(r.match('a/b/c', 1), new Set(['both']));
    assert.deepEqual(r.match('a/b/c', 2), new Set(['two']));
    // a/b/x comes through 2 only, so 2 serves both nodes.
    assert.deepEqual(r.match('a/b/x', 2), new Set(['both', 'two']));
    // A copy that serves nobody is an empty set (the caller acks it at once).
    const lone = new IdRouter(new Map([['a/+/c', 1], ['a/b/+', 2]]), targets([['both', ['a/+/c', 'a/b/+']]]));
    assert.deepEqual(lone.match('a/b/c', 2), new Set());
  });

  it('routes a filter dropped under a covering one through the covering identifier, by topic', () => {
    const r = new IdRouter(new Map([['a/#', 7]]), targets([['wide', ['a/#']], ['narrow', ['a/b']]]));
    assert.deepEqual(r.match('a/b', 7), new Set(['wide', 'narrow']));
    assert.deepEqual(r.match('a/c', 7), new Set(['wide']));
  });

  it('serves a shared subscription\'s copy to its nodes whatever the plain ones do', () => {
    const r = new IdRouter(new Map([['a/b', 1], ['$share/g/a/#', 2]]), targets([['plain', ['a/b']], ['shared', ['$share/g/a/#']]]));
    assert.deepEqual(r.match('a/b', 1), new Set(['plain']));
    assert.deepEqual(r.match('a/b', 2), new Set(['shared']));
  });

  it('routes every copy as the router per identifier did, for random held filters and nodes', () => {
    const random = seeded(20261208);
    const universe = topicUniverse();
    for (let run = 0; run < 150; run++) {
      const held = [...new Set(Array.from({ length: 1 + Math.floor(random() * 8) }, () => (random() < 0.15 ? `$share/g/${randomFilter(random)}` : randomFilter(random))))];
      const ids = new Map(held.map((f, i) => [f, i + 1]));
      const nodes = targets(Array.from({ length: 1 + Math.floor(random() * 4) }, (_, n) => [`n${n}`, held.filter(() => random() < 0.5).concat(random() < 0.5 ? [randomFilter(random)] : [])]));
      const fast = new IdRouter(ids, nodes);
      const reference = new ReferenceIdRouter(ids, nodes);
      for (const topic of universe) {
        const context = `run ${run}: ${topic} with ${JSON.stringify([...ids])} for ${JSON.stringify([...nodes])}`;
        for (const id of ids.values()) assert.deepEqual(fast.match(topic, id), reference.one(topic, id), `${context} via ${id}`);
        // One copy carrying every identifier serves everyone the copies one by one do.
        const all = new Set([...ids.values()].flatMap((id) => [...(reference.one(topic, id) ?? [])]));
        assert.deepEqual(fast.match(topic, [...ids.values()]), all, `${context} via all`);
      }
    }
  });

  it('answers undefined for an unknown identifier, so the caller routes by topic', () => {
    const r = new IdRouter(new Map([['a/b', 1]]), targets([['t', ['a/b']]]));
    assert.equal(r.match('a/b', 9), undefined);
    assert.equal(r.match('a/b', [1, 9]), undefined);
  });
});
