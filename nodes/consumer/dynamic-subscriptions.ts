// A durable-mqtt-in's dynamic subscriptions: msg.topic read as core's mqtt in reads it, and the filter set it adds to the node's own.
import type { FilterOptions } from '../broker/types';
import { asBool } from '../session/config/config';
import type { QoS } from '../session/subscriptions/cover';
import type { SubscribeFlags } from '../session/subscriptions/flags';
import { TopicRouter } from '../session/subscriptions/router';
import { filterError } from '../session/subscriptions/topic';
import { numberOf, ownValue, unset } from '../session/config/values';
import { DATATYPES, type Datatype } from './settings';
import type { DynamicStore } from './dynamic-store';
import { MAX_FILTERS_PER_ACTION, MAX_FILTERS_PER_NODE } from './limits';

/**
 * One subscription as `getSubscriptions` lists it and the store keeps it: core's object shape
 * (10-mqtt.js, MQTTInNode input handler). Options the msg left out are absent and take the node's.
 */
export interface DynamicSubscription {
  readonly topic: string;
  readonly qos?: QoS;
  readonly nl?: boolean;
  readonly rap?: boolean;
  readonly rh?: 0 | 1 | 2;
  /** Core's names: `auto-detect`, `auto` (text or Buffer, never parsed), `utf8`, `buffer`, `json`, `base64`. */
  readonly datatype?: string;
}

/** Core's per-subscription datatypes, in our terms: core's `auto` is the older one that never parses JSON. */
const CORE_DATATYPES: Readonly<Record<string, Datatype>> = { 'auto-detect': 'auto', auto: 'text-or-buffer' };

/** A refusal may name its status message (`key`); invalidSubscription when it does not. */
export type Parsed = { ok: true; subscriptions: DynamicSubscription[] } | { ok: false; error: string; key?: string };

/**
 * msg.topic as core takes it: a filter, a `{topic, qos, nl, rap, rh, datatype}` object, or an array
 * of either; `true` with `unsubscribe` means every dynamic subscription. Unlike core, a qos, rh or
 * datatype that is not one of its values is an error rather than silently the default.
 */
export function parseTopics(topic: unknown, current: readonly DynamicSubscription[], unsubscribe: boolean): Parsed {
  if (unsubscribe && topic === true) return { ok: true, subscriptions: [...current] };
  const items: unknown[] = Array.isArray(topic) ? topic : typeof topic === 'string' || (typeof topic === 'object' && topic !== null) ? [topic] : [];
  if (items.length === 0) return { ok: false, error: 'msg.topic must be a topic filter, a {topic, qos} object or an array of them' };
  if (items.length > MAX_FILTERS_PER_ACTION) {
    return { ok: false, key: 'tooManyFilters', error: `msg.topic lists ${items.length} subscriptions; one action takes at most ${MAX_FILTERS_PER_ACTION} (MAX_FILTERS_PER_ACTION): split the list over several msgs` };
  }
  const out: DynamicSubscription[] = [];
  for (const item of items) {
    const sub = parseOne(item);
    if (typeof sub === 'string') return { ok: false, error: sub };
    out.push(sub);
  }
  return { ok: true, subscriptions: out };
}

function parseOne(item: unknown): DynamicSubscription | string {
  const o = (typeof item === 'string' ? { topic: item } : item) as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || typeof o.topic !== 'string') return `not a topic filter or a {topic, qos} object: ${JSON.stringify(item)}`;
  const why = filterError(o.topic);
  if (why) return `invalid topic filter "${o.topic}": ${why}`;
  const sub: { -readonly [K in keyof DynamicSubscription]: DynamicSubscription[K] } = { topic: o.topic };
  if (!unset(o.qos)) {
    const qos = numberOf(o.qos);
    if (qos !== 0 && qos !== 1 && qos !== 2) return `qos of "${o.topic}" must be 0, 1 or 2, not ${JSON.stringify(o.qos)}`;
    sub.qos = qos;
  }
  if (!unset(o.rh)) {
    const rh = numberOf(o.rh);
    if (rh !== 0 && rh !== 1 && rh !== 2) return `rh of "${o.topic}" must be 0, 1 or 2, not ${JSON.stringify(o.rh)}`;
    sub.rh = rh;
  }
  if (!unset(o.nl)) sub.nl = asBool(o.nl);
  if (!unset(o.rap)) sub.rap = asBool(o.rap);
  if (!unset(o.datatype)) {
    if (typeof o.datatype !== 'string' || datatypeOf(o.datatype) === undefined) {
      return `datatype of "${o.topic}" must be one of auto-detect, auto, ${DATATYPES.filter((d) => d !== 'auto').join(', ')}`;
    }
    sub.datatype = o.datatype;
  }
  return sub;
}

/**
 * What the store gave back, checked as msg.topic is: an earlier version may have saved what this one
 * refuses (a datatype named `constructor` passed its `in` test), and a file may be edited by hand.
 * Each entry that does not pass is left out, with the reason.
 */
function checkSaved(saved: readonly unknown[]): { subscriptions: DynamicSubscription[]; dropped: string[] } {
  const subscriptions: DynamicSubscription[] = [];
  const dropped: string[] = [];
  for (const s of saved) {
    // A saved entry is always an object; a bare string here was not written by `save`.
    const sub = typeof s === 'object' && s !== null ? parseOne(s) : `not a {topic, qos} object: ${JSON.stringify(s)}`;
    if (typeof sub === 'string') dropped.push(`dropped the saved dynamic subscription ${JSON.stringify(s)}: ${sub}`);
    else subscriptions.push(sub);
  }
  return { subscriptions, dropped };
}

/** The first of `saved` that, with the node's own filters, make at most MAX_FILTERS_PER_NODE filters. */
function withinLimit(fixed: readonly string[], saved: DynamicSubscription[]): DynamicSubscription[] {
  const all = new Set(fixed);
  let keep = 0;
  for (const s of saved) {
    if (!all.has(s.topic) && all.size >= MAX_FILTERS_PER_NODE) break;
    all.add(s.topic);
    keep++;
  }
  return keep === saved.length ? saved : saved.slice(0, keep);
}

function datatypeOf(name: string): Datatype | undefined {
  return ownValue(CORE_DATATYPES, name) ?? ((DATATYPES as readonly string[]).includes(name) ? (name as Datatype) : undefined);
}

/** What a dynamic subscription inherits from the node: its QoS and MQTT 5 options. */
export interface NodeDefaults {
  readonly qos: QoS;
  readonly flags: SubscribeFlags;
}

/**
 * The node's filters: its own (from the dialog) and the dynamic ones, persisted on every change
 * before the broker hears of it, so a crash between the two leaves nothing the broker holds unrouted.
 */
export class DynamicSubscriptions {
  private subs: DynamicSubscription[];
  private all: string[] = [];
  private own = new Map<string, FilterOptions>();
  /** Dynamic filters with a datatype of their own, in the order they were subscribed. */
  private typed: Datatype[] = [];
  /** Routes a topic to the indexes in `typed` whose filter matches it: a list looked through per message grew with the filters. */
  private typedRouter = new TopicRouter<number>();

  private constructor(
    private readonly fixed: readonly string[],
    private readonly defaults: NodeDefaults,
    private readonly store: DynamicStore,
    saved: readonly DynamicSubscription[],
  ) {
    this.subs = [...saved];
    this.derive();
  }

  /**
   * Loads what the node subscribed before. A store that cannot be read starts empty (and is
   * overwritten at the next change), with the error; saved entries that are not valid are left out
   * and the store rewritten without them, each with a warning in `dropped`.
   */
  static open(fixed: readonly string[], defaults: NodeDefaults, store: DynamicStore): { subscriptions: DynamicSubscriptions; error?: string; dropped?: string[] } {
    let loaded: readonly unknown[];
    try {
      loaded = store.load();
    } catch (e) {
      return { subscriptions: new DynamicSubscriptions(fixed, defaults, store, []), error: `cannot read the saved dynamic subscriptions: ${(e as Error).message}` };
    }
    const checked = checkSaved(loaded);
    const { dropped } = checked;
    const subscriptions = withinLimit(fixed, checked.subscriptions);
    const past = checked.subscriptions.length - subscriptions.length;
    if (past > 0) dropped.push(`dropped the last ${past} saved dynamic subscriptions: with the node's own filters they pass the limit of ${MAX_FILTERS_PER_NODE} (MAX_FILTERS_PER_NODE)`);
    const opened = new DynamicSubscriptions(fixed, defaults, store, subscriptions);
    if (dropped.length === 0) return { subscriptions: opened };
    try {
      // Rewritten at once, so the warning comes once rather than at every start.
      store.save(subscriptions);
    } catch (e) {
      dropped.push(`cannot rewrite the saved dynamic subscriptions without them: ${(e as Error).message}`);
    }
    return { subscriptions: opened, dropped };
  }

  /** Every filter of the node, its own first. */
  get filters(): readonly string[] {
    return this.all;
  }

  /** QoS and options of the dynamic filters, which may differ from the node's. */
  get options(): ReadonlyMap<string, FilterOptions> {
    return this.own;
  }

  /** As `getSubscriptions` answers and `msg.subscriptions` shows: each with the QoS it was subscribed with. */
  list(): DynamicSubscription[] {
    return this.subs.map((s) => ({ ...s, qos: s.qos ?? this.defaults.qos }));
  }

  get current(): readonly DynamicSubscription[] {
    return this.subs;
  }

  /** Why adding `subs` would take the node past MAX_FILTERS_PER_NODE, or undefined when it would not. */
  limitError(subs: readonly DynamicSubscription[]): string | undefined {
    const all = new Set(this.all);
    for (const s of subs) all.add(s.topic);
    if (all.size <= MAX_FILTERS_PER_NODE) return undefined;
    return `with this subscribe the node would hold ${all.size} topic filters; a node holds at most ${MAX_FILTERS_PER_NODE} (MAX_FILTERS_PER_NODE)`;
  }

  /** Adds or replaces (same topic) subscriptions and persists them; returns the filters that are new or changed. */
  add(subs: readonly DynamicSubscription[]): string[] {
    const byTopic = new Map(this.subs.map((s) => [s.topic, s]));
    for (const s of subs) byTopic.set(s.topic, s);
    this.commit([...byTopic.values()]);
    return subs.map((s) => s.topic);
  }

  /** Removes subscriptions by topic and persists the rest; a topic that is not a dynamic subscription is ignored, as in core. */
  remove(subs: readonly DynamicSubscription[]): void {
    const gone = new Set(subs.map((s) => s.topic));
    this.commit(this.subs.filter((s) => !gone.has(s.topic)));
  }

  /** The node was deleted, or no longer takes msg.action: its dynamic subscriptions go. */
  forget(): void {
    this.subs = [];
    this.store.clear();
    this.derive();
  }

  /** The payload format for a received topic: that of the first dynamic subscription with its own that matches, else undefined. */
  datatypeFor(topic: string): Datatype | undefined {
    let first: number | undefined;
    for (const i of this.typedRouter.match(topic)) if (first === undefined || i < first) first = i;
    return first === undefined ? undefined : this.typed[first];
  }

  private commit(next: DynamicSubscription[]): void {
    // Written before the broker is asked: after a crash the filter is routed again, whatever the broker holds.
    // A failed write throws before anything changed here.
    this.store.save(next);
    this.subs = next;
    this.derive();
  }

  private derive(): void {
    const { qos, flags } = this.defaults;
    this.own = new Map(this.subs.map((s) => [s.topic, { qos: s.qos ?? qos, flags: { nl: s.nl ?? flags.nl, rap: s.rap ?? flags.rap, rh: s.rh ?? flags.rh } }]));
    this.all = [...new Set([...this.fixed, ...this.own.keys()])];
    this.typed = [];
    this.typedRouter = new TopicRouter<number>();
    for (const s of this.subs) {
      const datatype = s.datatype === undefined ? undefined : datatypeOf(s.datatype);
      if (!datatype) continue;
      // The router strips a shared prefix, as parseFilter does.
      this.typedRouter.set(this.typed.length, [s.topic]);
      this.typed.push(datatype);
    }
  }
}
