// Specifications of the pure modules: topic filters, cover, router, backoff, reasons, config, payload and message.
import { strict as assert } from 'node:assert';
import type { IPublishPacket } from 'mqtt';
import { backoffDelay } from '../nodes/session/backoff.js';
import { DEFAULTS, displayUrl, normaliseBrokerUrl, parseConfig, type SessionConfig } from '../nodes/session/config.js';
import { coverFilters, diffSubscriptions, type QoS } from '../nodes/session/cover.js';
import { reasonFor, reasonForDisconnect } from '../nodes/session/reasons.js';
import { TopicRouter } from '../nodes/session/router.js';
import { covers, filterError, generalise, overlaps, parseFilter, splitFilters } from '../nodes/session/topic.js';
import { convertPayload } from '../nodes/consumer/payload.js';
import { toMessage } from '../nodes/consumer/message.js';

/** Independent reference matcher (MQTT 3.1.1 §4.7): the specs below check the module against it. */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0].startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Deterministic PRNG (mulberry32), so a failing property run can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const err = (code: string | number, message = 'boom'): Error & { code: string | number } => Object.assign(new Error(message), { code });

function configOf(raw: Parameters<typeof parseConfig>[0]): SessionConfig {
  const r = parseConfig(raw);
  if (!r.ok) throw new Error(`expected a valid config, got: ${r.error}`);
  return r.config;
}

function errorOf(raw: Parameters<typeof parseConfig>[0]): string {
  const r = parseConfig(raw);
  if (r.ok) throw new Error(`expected an invalid config, got ${JSON.stringify(r.config)}`);
  return r.error;
}

describe('topic', () => {
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

  describe('generalise', () => {
    it('turns differing levels into + (a/+/c and a/b/+ give a/+/+)', () => {
      assert.equal(generalise('a/+/c', 'a/b/+'), 'a/+/+');
      assert.equal(generalise('a/b', 'c/d'), '+/+');
    });

    it('returns the wider filter when one covers the other', () => {
      assert.equal(generalise('a/#', 'a/b'), 'a/#');
      assert.equal(generalise('a/b', 'a/#'), 'a/#');
    });

    it("ends in '#' when the lengths differ, so the shorter topic's level is still matched", () => {
      assert.equal(generalise('a/b', 'a/b/c'), 'a/b/#');
      assert.equal(covers('a/b/#', 'a/b'), true);
      assert.equal(generalise('a/b/c', 'a/d/#'), 'a/+/#');
    });

    it('covers both inputs for overlapping random filters', () => {
      const random = seeded(11);
      for (let i = 0; i < 500; i++) {
        const a = randomFilter(random);
        const b = randomFilter(random);
        if (!overlaps(a, b)) continue;
        const g = generalise(a, b);
        assert.ok(covers(g, a) && covers(g, b), `generalise(${a}, ${b}) = ${g}`);
      }
    });
  });
});

const LEVELS = ['a', 'b', '+'];

/** A random valid filter of 1–4 levels over a, b, +, sometimes starting with $SYS or ending in #. */
function randomFilter(random: () => number): string {
  const length = 1 + Math.floor(random() * 4);
  const levels: string[] = [];
  for (let i = 0; i < length; i++) levels.push(LEVELS[Math.floor(random() * LEVELS.length)]);
  if (random() < 0.15) levels[0] = '$SYS';
  if (random() < 0.3) levels[length - 1] = '#';
  return levels.join('/');
}

/** Every topic of 1–5 levels over a, b, c (and $SYS first), enough to witness any overlap of randomFilter()s. */
function topicUniverse(): string[] {
  const out: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('/'));
    if (prefix.length === 5) return;
    for (const l of prefix.length === 0 ? ['a', 'b', 'c', '$SYS'] : ['a', 'b', 'c']) grow([...prefix, l]);
  };
  grow([]);
  return out;
}

describe('cover', () => {
  describe('coverFilters', () => {
    it('merges a/# and a/b into a/# at the higher QoS', () => {
      assert.deepEqual(coverFilters(new Map<string, QoS>([['a/#', 0], ['a/b', 1]])), new Map([['a/#', 1]]));
      assert.deepEqual(coverFilters(new Map<string, QoS>([['a/b', 2], ['a/#', 1]])), new Map([['a/#', 2]]));
    });

    it('merges a/+/c and a/b/+ into a/+/+', () => {
      assert.deepEqual(coverFilters(new Map<string, QoS>([['a/+/c', 1], ['a/b/+', 0]])), new Map([['a/+/+', 1]]));
    });

    it('keeps a shared subscription separate from a plain filter it overlaps', () => {
      const out = coverFilters(new Map<string, QoS>([['$share/g/a/#', 1], ['a/b', 0]]));
      assert.deepEqual(out, new Map<string, QoS>([['$share/g/a/#', 1], ['a/b', 0]]));
    });

    it('leaves disjoint filters untouched, including $SYS/# next to #', () => {
      const wanted = new Map<string, QoS>([['a/b', 0], ['c/+', 1], ['$SYS/#', 2]]);
      assert.deepEqual(coverFilters(wanted), wanted);
      const withHash = new Map<string, QoS>([['#', 1], ['$SYS/x', 0]]);
      assert.deepEqual(coverFilters(withHash), withHash);
    });

    it('folds again when a merge makes the result overlap an earlier survivor', () => {
      // a/z/z meets neither a/+/c nor a/b/+, but their merge a/+/+ covers it.
      const out = coverFilters(new Map<string, QoS>([['a/z/z', 2], ['a/+/c', 0], ['a/b/+', 1]]));
      assert.deepEqual(out, new Map([['a/+/+', 2]]));
    });

    it('returns no overlapping pair, and covers every wanted filter at least at its QoS, for random batches', () => {
      const random = seeded(20240601);
      const universe = topicUniverse();
      for (let run = 0; run < 200; run++) {
        const wanted = new Map<string, QoS>();
        const n = 1 + Math.floor(random() * 8);
        for (let i = 0; i < n; i++) wanted.set(randomFilter(random), Math.floor(random() * 3) as QoS);
        const out = [...coverFilters(wanted)];
        const context = `run ${run}: ${JSON.stringify([...wanted])} -> ${JSON.stringify(out)}`;
        for (let i = 0; i < out.length; i++) {
          for (let j = i + 1; j < out.length; j++) {
            assert.equal(overlaps(out[i][0], out[j][0]), false, context);
            assert.ok(!universe.some((t) => matches(out[i][0], t) && matches(out[j][0], t)), `${context} (brute force)`);
          }
        }
        for (const [filter, qos] of wanted) {
          for (const t of universe.filter((topic) => matches(filter, topic))) {
            assert.ok(out.some(([f, q]) => matches(f, t) && q >= qos), `${context}: ${t} (via ${filter}) lost`);
          }
        }
      }
    });
  });

  describe('diffSubscriptions', () => {
    it('subscribes new and re-QoSed filters and unsubscribes dropped ones', () => {
      const have = new Map<string, QoS>([['keep', 1], ['requalify', 0], ['drop', 1]]);
      const want = new Map<string, QoS>([['keep', 1], ['requalify', 2], ['new', 0]]);
      const { subscribe, unsubscribe } = diffSubscriptions(have, want);
      assert.deepEqual(subscribe, new Map<string, QoS>([['requalify', 2], ['new', 0]]));
      assert.deepEqual(unsubscribe, ['drop']);
    });

    it('plans nothing when the broker already holds what is wanted', () => {
      const same = new Map<string, QoS>([['a/#', 1]]);
      const { subscribe, unsubscribe } = diffSubscriptions(same, new Map(same));
      assert.equal(subscribe.size, 0);
      assert.deepEqual(unsubscribe, []);
    });
  });
});

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

describe('backoff', () => {
  const opts = { min: 100, max: 1000 };

  it('doubles the delay with every attempt', () => {
    const top = (): number => 1;
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, opts, top)), [100, 200, 400, 800]);
  });

  it('caps the delay at max', () => {
    for (const attempt of [5, 6, 30, 31, 1000, 1e9]) {
      assert.equal(backoffDelay(attempt, opts, () => 1), 1000, `attempt ${attempt}`);
      assert.equal(backoffDelay(attempt, opts, () => 0), 500, `attempt ${attempt}`);
    }
  });

  it('never goes below half the ceiling, whatever the random draw', () => {
    const random = seeded(3);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(opts.max, opts.min * 2 ** (attempt - 1));
      assert.equal(backoffDelay(attempt, opts, () => 0), ceiling / 2);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, opts, random);
        assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d} outside [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  it('treats attempt 0 or below like the first attempt', () => {
    assert.equal(backoffDelay(0, opts, () => 1), 100);
    assert.equal(backoffDelay(-3, opts, () => 1), 100);
  });
});

describe('reasons', () => {
  it('maps MQTT 3.1.1 CONNACK 4 to badCredentials and 5 to notAuthorized', () => {
    assert.equal(reasonFor(err(4), 4), 'badCredentials');
    assert.equal(reasonFor(err(5), 4), 'notAuthorized');
    assert.equal(reasonFor(err(2), 4), 'clientIdRejected');
    assert.equal(reasonFor(err(3), 4), 'serverUnavailable');
  });

  it('maps MQTT 5 codes 0x86, 0x87 and 0x8E', () => {
    assert.equal(reasonFor(err(0x86), 5), 'badCredentials');
    assert.equal(reasonFor(err(0x87), 5), 'notAuthorized');
    assert.equal(reasonFor(err(0x8e), 5), 'clientIdInUse');
  });

  it('reads a numeric code by the protocol version in use', () => {
    assert.equal(reasonFor(err(4), 5), 'refused');
    assert.equal(reasonFor(err(0x87), 4), 'refused');
  });

  it('maps ECONNREFUSED to unreachable and ENOTFOUND / EAI_AGAIN to unknownHost', () => {
    assert.equal(reasonFor(err('ECONNREFUSED'), 4), 'unreachable');
    assert.equal(reasonFor(err('ENOTFOUND'), 5), 'unknownHost');
    assert.equal(reasonFor(err('EAI_AGAIN'), 4), 'unknownHost');
    assert.equal(reasonFor(err('ECONNRESET'), 4), 'connectionLost');
  });

  it('maps TLS verification and handshake codes to tlsError', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      assert.equal(reasonFor(err(code), 4), 'tlsError', code);
    }
  });

  it('falls back to refused for an error without a known code', () => {
    assert.equal(reasonFor(new Error('odd'), 4), 'refused');
    assert.equal(reasonFor(err('EWHATEVER'), 4), 'refused');
  });

  it('maps a DISCONNECT 0x8E to clientIdInUse, an unknown code to connectionLost, and a normal one to nothing', () => {
    assert.equal(reasonForDisconnect(0x8e), 'clientIdInUse');
    assert.equal(reasonForDisconnect(0x8b), 'serverUnavailable');
    assert.equal(reasonForDisconnect(0x99), 'connectionLost');
    assert.equal(reasonForDisconnect(0), undefined);
    assert.equal(reasonForDisconnect(undefined), undefined);
  });
});

describe('config', () => {
  describe('normaliseBrokerUrl', () => {
    it('reads a bare host as mqtt://host', () => {
      assert.deepEqual(normaliseBrokerUrl('broker.local'), { url: 'mqtt://broker.local' });
      assert.deepEqual(normaliseBrokerUrl('  broker.local  '), { url: 'mqtt://broker.local' });
    });

    it('reads host:port as mqtt://host:port', () => {
      assert.deepEqual(normaliseBrokerUrl('broker.local:1884'), { url: 'mqtt://broker.local:1884' });
    });

    it('turns tcp:// into mqtt:// and ssl:// into mqtts://', () => {
      assert.deepEqual(normaliseBrokerUrl('tcp://h:1883'), { url: 'mqtt://h:1883' });
      assert.deepEqual(normaliseBrokerUrl('ssl://h:8883'), { url: 'mqtts://h:8883' });
    });

    it('gives ws:// the /mqtt path when it has none, and keeps an explicit path', () => {
      assert.deepEqual(normaliseBrokerUrl('ws://h:8080'), { url: 'ws://h:8080/mqtt' });
      assert.deepEqual(normaliseBrokerUrl('ws://h:8080/custom'), { url: 'ws://h:8080/custom' });
    });

    it('keeps credentials in the URL', () => {
      assert.deepEqual(normaliseBrokerUrl('mqtt://u:p@h:1883'), { url: 'mqtt://u:p@h:1883' });
    });

    it('rejects http://', () => {
      assert.match((normaliseBrokerUrl('http://h') as { error: string }).error, /unsupported scheme "http:"/);
    });

    it('rejects garbage, an empty string and a URL without a host', () => {
      for (const bad of ['not a url', '::::', 'h:abc', '', '   ', 'mqtt://']) {
        assert.ok('error' in normaliseBrokerUrl(bad), JSON.stringify(bad));
      }
    });

    it('with useTls turns mqtt into mqtts and ws into wss', () => {
      assert.deepEqual(normaliseBrokerUrl('mqtt://h:8883', true), { url: 'mqtts://h:8883' });
      assert.deepEqual(normaliseBrokerUrl('h', true), { url: 'mqtts://h' });
      assert.deepEqual(normaliseBrokerUrl('ws://h', true), { url: 'wss://h/mqtt' });
      assert.deepEqual(normaliseBrokerUrl('mqtts://h', true), { url: 'mqtts://h' });
    });
  });

  describe('displayUrl', () => {
    it('strips user and password', () => {
      assert.equal(displayUrl('mqtt://user:pass@h:1883'), 'mqtt://h:1883');
      assert.equal(displayUrl('mqtts://user@h'), 'mqtts://h');
      assert.equal(displayUrl('ws://u:p@h:8080/mqtt'), 'ws://h:8080/mqtt');
    });

    it('leaves a URL without credentials as it is', () => {
      assert.equal(displayUrl('mqtt://h:1883'), 'mqtt://h:1883');
    });
  });

  describe('parseConfig', () => {
    it('applies the defaults: MQTT 3.1.1, 86400 s expiry, 60 s keepalive, persistent session', () => {
      const c = configOf({ broker: 'h', clientId: 'c1' });
      assert.equal(c.url, 'mqtt://h');
      assert.equal(c.clientId, 'c1');
      assert.equal(c.protocolVersion, 4);
      assert.equal(c.sessionExpiry, 86400);
      assert.equal(c.keepalive, 60);
      assert.equal(c.cleanSession, false);
      assert.deepEqual(c.backoff, { min: DEFAULTS.backoff.min, max: DEFAULTS.backoff.max });
      assert.equal(c.takeoverWindow, 30000);
      assert.equal(c.takeoverCount, 3);
    });

    it('requires a client ID for a persistent session', () => {
      assert.match(errorOf({ broker: 'h' }), /client ID/);
      assert.match(errorOf({ broker: 'h', clientId: '   ' }), /client ID/);
    });

    it('accepts a missing client ID with clean session on', () => {
      assert.equal(configOf({ broker: 'h', cleanSession: true }).clientId, '');
      assert.equal(configOf({ broker: 'h', cleanSession: 'true' }).cleanSession, true);
    });

    it('rejects a keepalive that is negative, too large, fractional or not a number', () => {
      for (const keepalive of [-1, 65536, 1.5, 'abc']) assert.match(errorOf({ broker: 'h', clientId: 'c', keepalive }), /keepalive/, String(keepalive));
    });

    it('rejects a protocol version other than 4 or 5', () => {
      assert.match(errorOf({ broker: 'h', clientId: 'c', protocolVersion: 3 }), /protocolVersion/);
    });

    it('rejects a bad broker URL', () => {
      assert.match(errorOf({ broker: 'http://h', clientId: 'c' }), /scheme/);
      assert.match(errorOf({ clientId: 'c' }), /empty/);
    });

    it('accepts numbers given as strings', () => {
      const c = configOf({ broker: 'h', clientId: 'c', keepalive: '30', sessionExpiry: '3600', protocolVersion: '5', backoffMin: '2', backoffMax: '10' });
      assert.equal(c.keepalive, 30);
      assert.equal(c.sessionExpiry, 3600);
      assert.equal(c.protocolVersion, 5);
      assert.deepEqual(c.backoff, { min: 2000, max: 10000 });
    });

    it('treats empty strings as missing and applies the default', () => {
      const c = configOf({ broker: 'h', clientId: 'c', keepalive: '', sessionExpiry: '' });
      assert.equal(c.keepalive, 60);
      assert.equal(c.sessionExpiry, 86400);
    });

    it('takes the backoff in seconds, fractions included', () => {
      assert.deepEqual(configOf({ broker: 'h', clientId: 'c', backoffMin: 0.1, backoffMax: '0.4' }).backoff, { min: 100, max: 400 });
      assert.match(errorOf({ broker: 'h', clientId: 'c', backoffMin: -1 }), /backoffMin/);
      assert.match(errorOf({ broker: 'h', clientId: 'c', backoffMax: 'soon' }), /backoffMax/);
    });

    it('floors the backoff at 100 ms and never lets max fall below min', () => {
      assert.deepEqual(configOf({ broker: 'h', clientId: 'c', backoffMin: 0, backoffMax: 0 }).backoff, { min: 100, max: 100 });
      assert.deepEqual(configOf({ broker: 'h', clientId: 'c', backoffMin: 5, backoffMax: 1 }).backoff, { min: 5000, max: 5000 });
    });

    it('turns mqtt:// into mqtts:// when TLS settings are given', () => {
      const c = configOf({ broker: 'mqtt://h:8883', clientId: 'c', tls: { rejectUnauthorized: true } });
      assert.equal(c.url, 'mqtts://h:8883');
      assert.deepEqual(c.tls, { rejectUnauthorized: true });
    });
  });
});

describe('payload', () => {
  const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

  describe('auto', () => {
    it('parses a JSON object', () => {
      assert.deepEqual(convertPayload(buf('{"a":1,"b":[true,null]}'), 'auto'), { ok: true, value: { a: 1, b: [true, null] } });
    });

    it('turns the number string "123" into 123', () => {
      assert.deepEqual(convertPayload(buf('123'), 'auto'), { ok: true, value: 123 });
    });

    it('keeps a plain string as a string', () => {
      assert.deepEqual(convertPayload(buf('hello world'), 'auto'), { ok: true, value: 'hello world' });
    });

    it('keeps a string that only looks like JSON at the start', () => {
      assert.deepEqual(convertPayload(buf('[1, 2'), 'auto'), { ok: true, value: '[1, 2' });
      assert.deepEqual(convertPayload(buf('12 apples'), 'auto'), { ok: true, value: '12 apples' });
    });

    it('gives an empty payload as an empty string', () => {
      assert.deepEqual(convertPayload(Buffer.alloc(0), 'auto'), { ok: true, value: '' });
    });

    it('gives invalid UTF-8 as the Buffer itself', () => {
      const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x00]);
      const r = convertPayload(raw, 'auto');
      assert.equal(r.ok, true);
      assert.ok(Buffer.isBuffer(r.value));
      assert.equal(r.value, raw);
    });
  });

  describe('json', () => {
    it('parses valid JSON', () => {
      assert.deepEqual(convertPayload(buf('"text"'), 'json'), { ok: true, value: 'text' });
    });

    it('reports invalid JSON with ok:false and the raw text as value', () => {
      const r = convertPayload(buf('not json'), 'json');
      assert.equal(r.ok, false);
      assert.equal(r.value, 'not json');
      assert.match((r as { error: string }).error, /not valid JSON/);
    });
  });

  it('base64 encodes the bytes', () => {
    assert.deepEqual(convertPayload(Buffer.from([0, 1, 2, 0xff]), 'base64'), { ok: true, value: 'AAEC/w==' });
  });

  it('buffer passes the Buffer through untouched', () => {
    const raw = Buffer.from([1, 2, 3]);
    assert.equal(convertPayload(raw, 'buffer').value, raw);
  });

  it('utf8 decodes to a string, even when the text is JSON', () => {
    assert.deepEqual(convertPayload(buf('{"a":1} €'), 'utf8'), { ok: true, value: '{"a":1} €' });
    assert.deepEqual(convertPayload(buf('123'), 'utf8'), { ok: true, value: '123' });
  });
});

describe('message', () => {
  const packet = (extra: Partial<IPublishPacket> = {}): IPublishPacket => ({
    cmd: 'publish', topic: 't/1', payload: Buffer.from('x'), qos: 1, retain: true, dup: false, messageId: 7, ...extra,
  });

  it('copies topic, payload, qos and retain', () => {
    assert.deepEqual(toMessage('t/1', 'converted', packet()), { topic: 't/1', payload: 'converted', qos: 1, retain: true });
  });

  it('copies the MQTT 5 properties under the core node\'s names', () => {
    const correlationData = Buffer.from('corr');
    const msg = toMessage('t/1', 'p', packet({
      properties: {
        userProperties: { k: 'v', list: ['a', 'b'] },
        contentType: 'application/json',
        responseTopic: 'reply/here',
        correlationData,
        messageExpiryInterval: 60,
        payloadFormatIndicator: true,
        topicAlias: 3,
      },
    }));
    assert.deepEqual(msg.userProperties, { k: 'v', list: ['a', 'b'] });
    assert.equal(msg.contentType, 'application/json');
    assert.equal(msg.responseTopic, 'reply/here');
    assert.equal(msg.correlationData, correlationData);
    assert.equal(msg.messageExpiryInterval, 60);
    assert.equal(msg.payloadFormatIndicator, true);
    assert.equal('topicAlias' in msg, false);
  });

  it('leaves absent properties off msg instead of setting them undefined', () => {
    const msg = toMessage('t/1', 'p', packet({ properties: { contentType: 'text/plain' } }));
    assert.deepEqual(Object.keys(msg).sort(), ['contentType', 'payload', 'qos', 'retain', 'topic']);
  });
});
