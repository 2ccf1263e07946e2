// Routes a received message to the consumers whose filters match it: by topic through a trie, or by MQTT 5 subscription identifier.
import { covers, parseFilter } from './topic';

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

  /** Sets (or replaces) the filters of one target. Shared-subscription prefixes are stripped. */
  set(target: T, filters: readonly string[]): void {
    this.byTarget.set(target, filters.map((f) => parseFilter(f).filter));
    this.rebuild();
  }

  delete(target: T): void {
    if (this.byTarget.delete(target)) this.rebuild();
  }

  get size(): number {
    return this.byTarget.size;
  }

  /** Every target with a filter matching `topic`, each once however many of its filters match. */
  match(topic: string): ReadonlySet<T> {
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

/** One held subscription: the consumers it serves, and whether it is shared (its copies may go to another client). */
interface Via<T> {
  readonly router: TopicRouter<T>;
  /** For a plain subscription: the plain subscriptions with lower identifiers, whose copies come too. */
  readonly before: readonly TopicRouter<T>[];
  readonly cache: Map<string, ReadonlySet<T>>;
}

/**
 * MQTT 5: routes a copy by the Subscription Identifiers it carries. A broker may send one copy per
 * matching subscription (Mosquitto 2 does) or one copy with every identifier (MQTT 5 §3.3.4), so a
 * consumer takes a copy only from the lowest-numbered plain subscription serving it that matches
 * the topic: each consumer gets each message once either way. A consumer's filter is served by the
 * held filter equal to it, or else by a held plain filter covering it (coverFilters dropped it).
 */
export class IdRouter<T> {
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
    const via = this.byId.get(id);
    if (!via) return undefined;
    const known = via.cache.get(topic);
    if (known) return known;
    const hit = via.router.match(topic);
    const out = via.before.length === 0 ? hit : new Set([...hit].filter((t) => !via.before.some((r) => r.match(topic).has(t))));
    if (via.cache.size >= CACHE_LIMIT) via.cache.clear();
    via.cache.set(topic, out);
    return out;
  }
}
