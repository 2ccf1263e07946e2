// Field checks for the edit dialogs, built on the runtime's own parsers so editor and runtime agree.
import { displayUrl, parseServers } from '../nodes/session/config/broker-url';
import { configOf, type RawConfig } from '../nodes/session/config/parse-config';
import { filterError, splitFilters } from '../nodes/session/subscriptions/topic';
import { currentVersion } from '../nodes/common/migrations';
import { consumerMigrations } from '../nodes/consumer/migrations';
import { parseConsumer, type ConsumerProps } from '../nodes/consumer/settings';
import { parsePublisher, type PublisherProps } from '../nodes/publisher/settings';

/** What is wrong with a field: a key under the node type's `validation` catalog, and its substitutions. */
export interface Problem {
  readonly key: string;
  readonly subs?: Record<string, string>;
}

export type BrokerField = 'broker' | 'clientId' | 'protocolVersion' | 'sessionExpiry' | 'maximumPacketSize' | 'keepalive' | 'backoffMin' | 'backoffMax' | 'birthTopic' | 'closeTopic' | 'willTopic' | 'socksProxy' | 'userProps';

/**
 * Checks one broker property exactly as the runtime's parseConfig would: every other property gets
 * a value the runtime accepts, so a failure can only come from this one.
 */
export function brokerProblem(field: BrokerField, value: string, cleanSession: boolean): Problem | undefined {
  if (field === 'broker') {
    const parsed = parseServers(value, undefined);
    return 'error' in parsed ? { key: 'broker', subs: { detail: parsed.error } } : undefined;
  }
  const raw: RawConfig = { broker: 'localhost', clientId: 'probe', cleanSession, [field]: value };
  // The browser has no process environment: the runtime's parseConfig reads none there either.
  return configOf(raw, {}).ok ? undefined : { key: field };
}

// MQTT.js's default ports, shown so the user sees where a bare host name leads.
const DEFAULT_PORTS: Record<string, string> = { 'mqtt:': '1883', 'mqtts:': '8883', 'ws:': '80', 'wss:': '443' };

/** The URLs the runtime will connect to, in order, without credentials and with each port spelled out; undefined when one is invalid. */
export function connectUrl(value: string, tls: boolean): string | undefined {
  const parsed = parseServers(value, undefined, tls);
  if ('error' in parsed) return undefined;
  return parsed.urls.map(shownUrl).join(', ');
}

function shownUrl(normalised: string): string {
  const url = new URL(normalised);
  // URL keeps no port for a non-special scheme's default, so fill it in from the scheme.
  const port = url.port || DEFAULT_PORTS[url.protocol] || '';
  const shown = displayUrl(normalised);
  return url.port || !port ? shown : shown.replace(`//${url.hostname}`, `//${url.hostname}:${port}`);
}

/** The runtime's rule (nodes/consumer/settings.ts parseConsumer): each filter valid, and at least one unless msg.action subscribes (`dynamic`). */
export function topicProblem(text: string, dynamic = false): Problem | undefined {
  const filters = splitFilters(text);
  if (filters.length === 0) return dynamic ? undefined : { key: 'noTopic' };
  for (const filter of filters) {
    const detail = filterError(filter);
    if (detail) return { key: 'topic', subs: { filter, detail } };
  }
  return undefined;
}

type ConsumerField = 'qos' | 'datatype' | 'ackMode' | 'maxInFlight' | 'ackTimeout' | 'maxDeliveries' | 'rh';

/** Checks one durable-mqtt-in property with the runtime's parseConsumer; the others get values it accepts (`context`: values under which the runtime checks it at all). */
function consumerProblem(field: ConsumerField, value: string, context: Partial<ConsumerProps> = {}): Problem | undefined {
  // At the current version, so the value is checked as the dialog saves it, not as an old flow meant it.
  const probe: ConsumerProps = { id: 'probe', type: 'durable-mqtt-in', name: '', z: '', topic: 'probe', version: currentVersion(consumerMigrations), ...context, [field]: value };
  return parseConsumer(probe).ok ? undefined : { key: field };
}

/** Values of a select or a number field of durable-mqtt-in, checked like the runtime does; empty means the default. */
export const consumerChecks = {
  qos: (v: string): Problem | undefined => consumerProblem('qos', v),
  datatype: (v: string): Problem | undefined => consumerProblem('datatype', v),
  ackMode: (v: string): Problem | undefined => consumerProblem('ackMode', v),
  maxInFlight: (v: string): Problem | undefined => consumerProblem('maxInFlight', v),
  ackTimeout: (v: string): Problem | undefined => consumerProblem('ackTimeout', v),
  // The runtime checks the limit only where it applies: failed messages withheld.
  maxDeliveries: (v: string): Problem | undefined => consumerProblem('maxDeliveries', v, { ackOnError: false }),
  rh: (v: string): Problem | undefined => consumerProblem('rh', v),
} as const;

/** True when `group` can name a shared subscription: non-empty, no `/`, `+` or `#`. */
export function validGroup(group: string): boolean {
  return group.length > 0 && !group.includes('/') && filterError(`$share/${group}/t`) === undefined;
}

/** The filter without a `$share/<group>/` or `$queue/` prefix. */
function unshared(filter: string): string {
  if (filter.startsWith('$queue/')) return filter.slice(7);
  if (!filter.startsWith('$share/')) return filter;
  const slash = filter.indexOf('/', 7);
  return slash < 0 ? filter : filter.slice(slash + 1);
}

/** Rewrites every filter line as `$share/<group>/<filter>`; an empty group removes sharing. */
export function shareFilters(text: string, group: string): string {
  return splitFilters(text)
    .map((f) => (group ? `$share/${group}/${unshared(f)}` : unshared(f)))
    .join('\n');
}

/** The group every filter shares, or '' when they are not all in one group. */
export function sharedGroup(text: string): string {
  const groups = new Set(splitFilters(text).map((f) => (f.startsWith('$share/') ? f.slice(7, f.indexOf('/', 7)) : '')));
  return groups.size === 1 ? [...groups][0] : '';
}

/** A client ID any broker accepts (MQTT 3.1.1 §3.1.3.1: up to 23 of 0-9a-zA-Z), random enough to be unique. */
export function newClientId(bytes: Uint8Array = crypto.getRandomValues(new Uint8Array(6))): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `durable${hex}`;
}

type PublisherField = 'topic' | 'qos' | 'outboxMaxMessages' | 'outboxMaxMB' | 'outboxWhenFull';

/** Checks one durable-mqtt-out property with the runtime's parsePublisher; the others get values it accepts. */
function publisherProblem(field: PublisherField, value: string): Problem | undefined {
  const probe: PublisherProps = { id: 'probe', type: 'durable-mqtt-out', name: '', z: '', [field]: value };
  return parsePublisher(probe).ok ? undefined : { key: field };
}

/** Fields of durable-mqtt-out, checked like the runtime does; an empty topic or QoS leaves it to the msg. */
export const publisherChecks = {
  topic: (v: string): Problem | undefined => publisherProblem('topic', v),
  qos: (v: string): Problem | undefined => publisherProblem('qos', v),
  outboxMaxMessages: (v: string): Problem | undefined => publisherProblem('outboxMaxMessages', v),
  outboxMaxMB: (v: string): Problem | undefined => publisherProblem('outboxMaxMB', v),
  outboxWhenFull: (v: string): Problem | undefined => publisherProblem('outboxWhenFull', v),
} as const;
