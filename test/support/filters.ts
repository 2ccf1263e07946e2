// Reference helpers for the topic-filter property specs: an independent matcher, a seeded PRNG, random filters, a small topic universe and the first cover.
import type { QoS } from '../../nodes/session/subscriptions/cover';
import { TopicRouter } from '../../nodes/session/subscriptions/router';
import { covers, overlaps, parseFilter } from '../../nodes/session/subscriptions/topic';

/** Independent reference matcher (MQTT 3.1.1 §4.7): the specs check the module against it. */
export function matches(filter: string, topic: string): boolean {
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
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LEVELS = ['a', 'b', '+'];

/** A random valid filter of 1–4 levels over a, b, +, sometimes starting with $SYS or ending in #. */
export function randomFilter(random: () => number): string {
  const length = 1 + Math.floor(random() * 4);
  const levels: string[] = [];
  for (let i = 0; i < length; i++) levels.push(LEVELS[Math.floor(random() * LEVELS.length)]);
  if (random() < 0.15) levels[0] = '$SYS';
  if (random() < 0.3) levels[length - 1] = '#';
  return levels.join('/');
}

/** Every topic of 1–5 levels over a, b, c (and $SYS first), enough to witness any overlap of randomFilter()s. */
export function topicUniverse(): string[] {
  const out: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('/'));
    if (prefix.length === 5) return;
    for (const l of prefix.length === 0 ? ['a', 'b', 'c', '$SYS'] : ['a', 'b', 'c']) grow([...prefix, l]);
  };
  grow([]);
  return out;
}

/** coverFilters as first written, comparing every pair (quadratic): the reference the near-linear one must agree with. */
export function referenceCover(wanted: ReadonlyMap<string, QoS>): Map<string, QoS> {
  const out = new Map<string, QoS>();
  const plain: [string, QoS][] = [];
  for (const [raw, qos] of wanted) {
    if (parseFilter(raw).group !== undefined) out.set(raw, Math.max(out.get(raw) ?? 0, qos) as QoS);
    else plain.push([raw, qos]);
  }
  // `#` and `+/#` cover each other: of two such, the first in string order stays.
  plain.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const kept: [string, QoS][] = [];
  for (const [f, q] of plain) {
    const wider = plain.find(([g]) => g !== f && covers(g, f) && (!covers(f, g) || g < f));
    if (wider === undefined) kept.push([f, q]);
  }
  // Each survivor at the highest QoS of what it covers, then of its overlap group.
  const qos = kept.map(([f, q]) => plain.reduce<number>((m, [g, p]) => (covers(f, g) ? Math.max(m, p) : m), q));
  const group = kept.map((_, i) => i);
  const root = (i: number): number => (group[i] === i ? i : (group[i] = root(group[i])));
  for (let i = 0; i < kept.length; i++) for (let j = i + 1; j < kept.length; j++) if (overlaps(kept[i][0], kept[j][0])) group[root(j)] = root(i);
  const top = new Map<number, number>();
  for (let i = 0; i < kept.length; i++) top.set(root(i), Math.max(top.get(root(i)) ?? 0, qos[i]));
  for (let i = 0; i < kept.length; i++) out.set(kept[i][0], top.get(root(i)) as QoS);
  return out;
}

/** One held subscription: the consumers it serves, and whether it is shared (its copies may go to another client). */
interface Via<T> {
  readonly router: TopicRouter<T>;
  /** For a plain subscription: the plain subscriptions with lower identifiers, whose copies come too. */
  readonly before: readonly TopicRouter<T>[];
  readonly cache: Map<string, ReadonlySet<T>>;
}

/** IdRouter as first written (a router per identifier, each with the routers below it): the reference the linear one must agree with. */
export class ReferenceIdRouter<T> {
  private readonly byId = new Map<number, Via<T>>();

  /** `ids`: held filter → identifier; `targets`: each consumer's filters as written. */
  constructor(ids: ReadonlyMap<string, number>, targets: ReadonlyMap<T, readonly string[]>) {
    const plain = [...ids].filter(([f]) => parseFilter(f).group === undefined).sort((a, b) => a[1] - b[1]);
    const served = new Map<number, Map<T, string[]>>();
    for (const [target, filters] of targets) {
      for (const f of filters) {
        const id = ids.get(f) ?? (parseFilter(f).group === undefined ? plain.find(([held]) => covers(held, f))?.[1] : undefined);
        if (id === undefined) continue;
        let list = served.get(id);
        if (!list) served.set(id, (list = new Map<T, string[]>()));
        list.set(target, [...(list.get(target) ?? []), f]);
      }
    }
    const routers = new Map<number, TopicRouter<T>>();
    for (const [, id] of ids) {
      const router = new TopicRouter<T>();
      for (const [target, filters] of served.get(id) ?? []) router.set(target, filters);
      routers.set(id, router);
    }
    for (const [f, id] of ids) {
      const before = parseFilter(f).group === undefined ? plain.filter(([, other]) => other < id).map(([, other]) => routers.get(other) as TopicRouter<T>) : [];
      this.byId.set(id, { router: routers.get(id) as TopicRouter<T>, before, cache: new Map() });
    }
  }

  /** The consumers the copy with this one identifier is for, or undefined when it is unknown. */
  one(topic: string, id: number): ReadonlySet<T> | undefined {
    const via = this.byId.get(id);
    if (!via) return undefined;
    const known = via.cache.get(topic);
    if (known) return known;
    const hit = via.router.match(topic);
    const out = via.before.length === 0 ? hit : new Set([...hit].filter((t) => !via.before.some((r) => r.match(topic).has(t))));
        via.cache.set(topic, out);
    return out;
  }
}
