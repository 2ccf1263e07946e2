// Routes a received message to the consumers whose filters match it: by topic through a trie, or by MQTT 5 subscription identifier.
import { FilterIndex } from './filter-index';
import { parseFilter } from './topic';

interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  /** Consumers whose filter ends exactly here. */
  exact: Set<T>;
  /** Consumers whose filter ends here with `#` (matches this level and everything below). */
  rest: Set<T>;
}

const node = <T>(): TrieNode<T> => ({ children: new Map(), exact: new Set(), rest: new Set() });

/** Topics whose match is remembered; most streams use few topics, and the cap bounds the rest. */
const CACHE_LIMIT = 10_000;

/** Maps topics to targets; rebuilt on subscription changes, never per message. */
export class TopicRouter<T> {
  private root: TrieNode<T> = node();
  private readonly byTarget = new Map<T, string[]>();
  private cache = new Map<string, ReadonlySet<T>>();

  /** The trie is built again at the next `match`, not at each change: setting many targets stays linear. */
  private stale = false;

  /** Sets (or replaces) the filters of one target. Shared-subscription prefixes are stripped. */
  set(target: T, filters: readonly string[]): void {
    this.byTarget.set(target, filters.map((f) => parseFilter(f).filter));
    this.stale = true;
  }

  delete(target: T): void {
    if (this.byTarget.delete(target)) this.stale = true;
  }

  get size(): number {
    return this.byTarget.size;
  }

  /** Every target with a filter matching `topic`, each once however many of its filters match. */
  match(topic: string): ReadonlySet<T> {
    if (this.stale) this.rebuild();
    const known = this.cache.get(topic);
    if (known) return known;
    const out = new Set<T>();
    const levels = topic.split('/');
    // Wildcards in the first level never match `$` topics (MQTT 3.1.1 §4.7.2).
    this.walk(this.root, levels, 0, out, levels[0].startsWith('$'));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(topic, out);
    return out;
  }

  private walk(n: TrieNode<T>, levels: string[], i: number, out: Set<T>, dollar: boolean): void {
    const wildOk = !(dollar && i === 0);
    if (wildOk) for (const t of n.rest) out.add(t);
    if (i === levels.length) {
      for (const t of n.exact) out.add(t);
      return;
    }
    const lit = n.children.get(levels[i]);
    if (lit) this.walk(lit, levels, i + 1, out, dollar);
    const plus = wildOk ? n.children.get('+') : undefined;
    if (plus) this.walk(plus, levels, i + 1, out, dollar);
  }

  private rebuild(): void {
    const root = node<T>();
    for (const [target, filters] of this.byTarget) for (const f of filters) insert(root, target, f);
    this.root = root;
    this.cache = new Map();
    this.stale = false;
  }
}

function insert<T>(root: TrieNode<T>, target: T, filter: string): void {
  let n = root;
  for (const level of filter.split('/')) {
    if (level === '#') {
      n.rest.add(target);
      return;
    }
    let child = n.children.get(level);
    if (!child) n.children.set(level, (child = node()));
    n = child;
  }
  n.exact.add(target);
}

/** The consumers one held subscription serves; a plain one's copies come beside those of the plain subscriptions with lower identifiers. */
interface Served<T> {
  readonly target: T;
  readonly id: number;
  readonly plain: boolean;
  readonly filters: string[];
}

const NONE: ReadonlySet<never> = new Set();

/**
 * MQTT 5: routes a copy by the Subscription Identifiers it carries. A broker may send one copy per
 * matching subscription (Mosquitto 2 does) or one copy with every identifier (MQTT 5 §3.3.4), so a
 * consumer takes a copy only from the lowest-numbered plain subscription serving it that matches
 * the topic: each consumer gets each message once either way. A consumer's filter is served by the
 * held filter equal to it, or else by the lowest-numbered held plain filter covering it (coverFilters
 * dropped it). One trie of (consumer, identifier) pairs and a per-topic answer for every identifier:
 * a router and a list of lower routers per identifier grew with the square of the filters.
 */
export class IdRouter<T> {
  private readonly known: ReadonlySet<number>;
  private readonly router = new TopicRouter<Served<T>>();
  private cache = new Map<string, Map<number, Set<T>>>();

  /** `ids`: held filter → identifier; `targets`: each consumer's filters as written. */
  constructor(ids: ReadonlyMap<string, number>, targets: ReadonlyMap<T, readonly string[]>) {
    this.known = new Set(ids.values());
    const plain = new FilterIndex<number>();
    const plainIds = new Set<number>();
    for (const [f, id] of ids) {
      if (parseFilter(f).group !== undefined) continue;
      plain.add(f, id);
      plainIds.add(id);
    }
    const served = new Map<number, Map<T, Served<T>>>();
    for (const [target, filters] of targets) {
      for (const f of filters) {
        const id = ids.get(f) ?? (parseFilter(f).group === undefined ? lowest(plain.covering(f)) : undefined);
        if (id === undefined) continue;
        let byTarget = served.get(id);
        if (!byTarget) served.set(id, (byTarget = new Map<T, Served<T>>()));
        let s = byTarget.get(target);
        if (!s) byTarget.set(target, (s = { target, id, plain: plainIds.has(id), filters: [] }));
        s.filters.push(f);
      }
    }
    for (const byTarget of served.values()) for (const s of byTarget.values()) this.router.set(s, s.filters);
  }

  /** The consumers this copy is for, or undefined when an identifier is unknown (route it by topic then). */
  match(topic: string, id: number | readonly number[]): ReadonlySet<T> | undefined {
    if (typeof id === 'number') return this.one(topic, id);
    const out = new Set<T>();
    for (const each of id) {
      const hit = this.one(topic, each);
      if (!hit) return undefined;
      for (const t of hit) out.add(t);
    }
    return out;
  }

  private one(topic: string, id: number): ReadonlySet<T> | undefined {
    if (!this.known.has(id)) return undefined;
    return this.copies(topic).get(id) ?? NONE;
  }

  /** For one topic, the consumers each identifier's copy is for. */
  private copies(topic: string): Map<number, Set<T>> {
    const known = this.cache.get(topic);
    if (known) return known;
    const hits = this.router.match(topic);
    const first = new Map<T, number>();
    for (const h of hits) if (h.plain && h.id < (first.get(h.target) ?? Infinity)) first.set(h.target, h.id);
    const out = new Map<number, Set<T>>();
    for (const h of hits) {
      if (h.plain && first.get(h.target) !== h.id) continue;
      let set = out.get(h.id);
      if (!set) out.set(h.id, (set = new Set()));
      set.add(h.target);
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    this.cache.set(topic, out);
    return out;
  }
}

function lowest(ids: readonly number[]): number | undefined {
  return ids.length === 0 ? undefined : ids.reduce((a, b) => Math.min(a, b));
}
