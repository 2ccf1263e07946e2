// Routes a received topic to the consumers whose filters match it, through a trie built once per change.
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
