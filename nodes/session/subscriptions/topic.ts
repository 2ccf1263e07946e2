// MQTT topics and topic filters: validation, `$share`/`$queue` prefixes, and whether one filter covers or meets another.
import { mqttStringError } from '../config/utf8';

/** A filter as the user wrote it, split into the group (if shared) and the filter topics are matched against. */
export interface ParsedFilter {
  /** The string sent in SUBSCRIBE, e.g. `$share/g/a/#`. */
  readonly raw: string;
  /** The filter messages are matched against, without `$share/<group>/` or `$queue/`. */
  readonly filter: string;
  /** Shared-subscription group, when the filter is shared. */
  readonly group?: string;
}

/** Why a topic cannot be published to (a PUBLISH's, a will's, a response topic), or undefined when it can. */
export function topicError(topic: string): string | undefined {
  if (topic.length === 0) return 'it is empty';
  if (/[+#]/.test(topic)) return 'a topic to publish to cannot contain the wildcards + or #';
  return mqttStringError(topic);
}

/**
 * Why a topic a broker sent cannot be delivered, or undefined. Only U+0000 (MQTT-1.5.4-2): other
 * control characters are allowed in MQTT, and MQTT.js decodes bytes that are not UTF-8 to U+FFFD,
 * so those can no longer be told from a broker's own U+FFFD.
 */
export function inboundTopicError(topic: string): string | undefined {
  const at = topic.indexOf('\u0000');
  return at < 0 ? undefined : `its topic contains U+0000 at position ${at}, which MQTT forbids (MQTT-1.5.4-2)`;
}

/** Why a filter is invalid, or undefined when it is valid (MQTT 3.1.1 §4.7, MQTT 5 §4.8.2). */
export function filterError(raw: string): string | undefined {
  if (raw.length === 0) return 'empty topic filter';
  const why = mqttStringError(raw);
  if (why) return `topic filter: ${why}`;
  let filter = raw;
  if (raw.startsWith('$share/')) {
    const slash = raw.indexOf('/', 7);
    const group = slash < 0 ? raw.slice(7) : raw.slice(7, slash);
    if (group.length === 0 || /[+#]/.test(group)) return 'shared subscription needs a group name without + or #';
    if (slash < 0 || slash === raw.length - 1) return 'shared subscription needs a topic filter after the group';
    filter = raw.slice(slash + 1);
  } else if (raw.startsWith('$queue/')) {
    filter = raw.slice(7);
    if (filter.length === 0) return '$queue/ needs a topic filter after it';
  }
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be a whole level and the last one";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return undefined;
}

/** Parses a valid filter; call filterError first. */
export function parseFilter(raw: string): ParsedFilter {
  if (raw.startsWith('$share/')) {
    const slash = raw.indexOf('/', 7);
    return { raw, group: raw.slice(7, slash), filter: raw.slice(slash + 1) };
  }
  if (raw.startsWith('$queue/')) return { raw, group: '$queue', filter: raw.slice(7) };
  return { raw, filter: raw };
}

/** Splits a node's `topic` property (one filter per line, blank lines ignored) into trimmed filters. */
export function splitFilters(text: string): string[] {
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim();
    if (f.length > 0) seen.add(f);
  }
  return [...seen];
}

/** True when every topic matching `narrow` also matches `wide`. */
export function covers(wide: string, narrow: string): boolean {
  const w = wide.split('/');
  const n = narrow.split('/');
  for (let i = 0; i < w.length; i++) {
    if (w[i] === '#') return i > 0 || !n[0]?.startsWith('$') || n[0] === '#' || n[0] === '+';
    if (i >= n.length) return false;
    // `+/#` matches every topic `#` does: no topic has zero levels, and neither matches `$` topics.
    if (n[i] === '#') return i === 0 && w[0] === '+' && w[1] === '#' && w.length === 2;
    if (w[i] === '+') {
      // A wildcard in the first level never matches a `$` topic, so it cannot cover a literal one.
      if (i === 0 && n[i].startsWith('$')) return false;
      continue;
    }
    if (n[i] === '+' || w[i] !== n[i]) return false;
  }
  return w.length === n.length;
}

/** True when some topic matches both filters. */
export function overlaps(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') {
      const other = p === '#' ? q : p;
      return i > 0 || other === undefined || !other.startsWith('$') || other === '+';
    }
    if (p === undefined || q === undefined) return p === q;
    if (p === '+' || q === '+') {
      const other = p === '+' ? q : p;
      if (i === 0 && other.startsWith('$')) return false;
      continue;
    }
    if (p !== q) return false;
  }
}

/**
 * True when the broker subscription `broker` delivers what filter `f` asks for: the same filter, or
 * plain filters where one covers the other. A shared subscription delivers only its own share, so it
 * carries, and is carried by, nothing but itself.
 */
export function carries(broker: string, f: string): boolean {
  if (broker === f) return true;
  const b = parseFilter(broker);
  const p = parseFilter(f);
  return b.group === undefined && p.group === undefined && covers(b.filter, p.filter);
}
