// Specs for nodes/session/router.ts: which consumers a received topic goes to.
import { strict as assert } from 'node:assert';
import { TopicRouter } from '../nodes/session/router.js';

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
