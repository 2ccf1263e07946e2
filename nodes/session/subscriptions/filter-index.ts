// Topic filters in a tree by level, to find the ones that cover or meet a filter without comparing it with every other.
import { parseFilter } from './topic';

/** `children` and `values` are made when first needed: most levels have only one of them, and a plan of 20,000 filters makes 40,000 levels. */
interface Level<T> {
  children?: Map<string, Level<T>>;
  /** Values of the filters that end at this level. */
  values?: T[];
  /** Values in this level and below: a level with none is taken out of its parent, so later walks skip it. */
  size: number;
}

/**
 * Answers `covers` and `overlaps` (topic.ts) for one filter against all indexed ones by walking the
 * levels they share, as a topic is matched, instead of testing every pair: comparing every pair
 * made a plan of 5,000 filters take 42 s, with the event loop blocked. Indexed filters are plain
 * ones (no `$share/`), given as `parseFilter(raw).filter`. The walks are methods, not closures:
 * a plan asks tens of thousands of them, and their garbage was a third of its time.
 */
export class FilterIndex<T> {
  private readonly root: Level<T> = { size: 0 };

  add(filter: string, value: T): void {
    let n = this.root;
    n.size++;
    for (const l of filter.split('/')) {
      n.children ??= new Map();
      let child = n.children.get(l);
      if (!child) n.children.set(l, (child = { size: 0 }));
      n = child;
      n.size++;
    }
    (n.values ??= []).push(value);
  }

  /** Removes one value of `filter`; levels left empty go. */
  delete(filter: string, value: T): void {
    const levels = filter.split('/');
    const path = [this.root];
    for (const l of levels) {
      const child = path[path.length - 1].children?.get(l);
      if (!child) return;
      path.push(child);
    }
    const end = path[path.length - 1];
    const at = end.values?.indexOf(value) ?? -1;
    if (at < 0) return;
    end.values?.splice(at, 1);
    for (let i = path.length - 1; i >= 0; i--) {
      if (--path[i].size === 0 && i > 0) path[i - 1].children?.delete(levels[i - 1]);
    }
  }

  /** The values of the indexed filters that cover `narrow` (`covers(filter, narrow)`), `narrow`'s own included. */
  covering(narrow: string): T[] {
    const out: T[] = [];
    const n = narrow.split('/');
    this.cover(this.root, n, 0, n[0].startsWith('$'), out);
    return out;
  }

  /** The values of the indexed filters that `filter` overlaps (`overlaps(filter, other)`: some topic matches both). */
  overlapping(filter: string): T[] {
    const out: T[] = [];
    this.meet(this.root, filter.split('/'), 0, out);
    return out;
  }

  /** `dollar`: a wildcard in the first level never matches a `$` topic, so it covers no filter that starts with one. */
  private cover(node: Level<T>, n: readonly string[], i: number, dollar: boolean, out: T[]): void {
    const hash = node.children?.get('#');
    if (hash?.values && (i > 0 || !dollar)) push(out, hash.values);
    if (i === n.length) return push(out, node.values);
    const l = n[i];
    if (l === '#') {
      // `+/#` matches every topic `#` does (no topic has zero levels); nothing else covers a `#` level.
      if (i === 0) push(out, node.children?.get('+')?.children?.get('#')?.values);
      return;
    }
    const plus = node.children?.get('+');
    if (plus && !(i === 0 && dollar)) this.cover(plus, n, i + 1, dollar, out);
    const literal = l === '+' ? undefined : node.children?.get(l);
    if (literal) this.cover(literal, n, i + 1, dollar, out);
  }

  private meet(node: Level<T>, q: readonly string[], i: number, out: T[]): void {
    const l = q[i];
    if (l === '#') return this.everything(node, i === 0, out);
    const hash = node.children?.get('#');
    if (hash && (i > 0 || l === undefined || !l.startsWith('$'))) push(out, hash.values);
    if (l === undefined) return push(out, node.values);
    if (!node.children) return;
    if (l === '+') {
      for (const [key, child] of node.children) if (key !== '#' && !(i === 0 && key.startsWith('$'))) this.meet(child, q, i + 1, out);
      return;
    }
    const plus = node.children.get('+');
    if (plus && !(i === 0 && l.startsWith('$'))) this.meet(plus, q, i + 1, out);
    const literal = node.children.get(l);
    if (literal) this.meet(literal, q, i + 1, out);
  }

  /** Every value at and below `node`; at the root, none under a `$` level (a `#` there never matches a `$` topic). */
  private everything(node: Level<T>, root: boolean, out: T[]): void {
    push(out, node.values);
    if (node.children) for (const [key, child] of node.children) if (!(root && key.startsWith('$'))) this.everything(child, false, out);
  }
}

function push<T>(out: T[], values: readonly T[] | undefined): void {
  if (values) for (const v of values) out.push(v);
}

const plainIndexes = new WeakMap<ReadonlyMap<string, unknown>, FilterIndex<string>>();

/**
 * The plain (not shared) filters of a set of broker subscriptions, indexed once per set: the
 * options (flags.ts) and the change a resubscribe waits for (until-applied.ts) both ask which of
 * them cover a node's filters, of the same set the session holds. A set is never changed once
 * made (coverFilters makes a new one each time), so its index stays true.
 */
export function plainIndexOf(subscriptions: ReadonlyMap<string, unknown>): FilterIndex<string> {
  let index = plainIndexes.get(subscriptions);
  if (!index) {
    index = new FilterIndex<string>();
    for (const broker of subscriptions.keys()) if (parseFilter(broker).group === undefined) index.add(broker, broker);
    plainIndexes.set(subscriptions, index);
  }
  return index;
}
