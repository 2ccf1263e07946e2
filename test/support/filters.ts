// Reference helpers for the topic-filter property specs: an independent matcher, a seeded PRNG, random filters and a small topic universe.

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
