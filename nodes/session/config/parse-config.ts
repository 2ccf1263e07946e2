// Checks a config node's properties and fills in the defaults: a SessionConfig, or the error to show. Pure (the environment comes in as a value), so the editor runs it too.
import type { IClientOptions } from 'mqtt';
import type { BackoffOptions } from '../connection/backoff';
import { parseServers } from './broker-url';
import { HELD_BYTES } from '../stream/read-pacer';
import { parseMessages, type ConfiguredMessages, type RawMessages } from './messages';
import { MAX_TWO_BYTES } from '../connection/reasons';
import { asText, numberOf, unset } from './values';

/** TLS settings as the core `tls-config` node fills them in; MQTT.js hands them to `tls.connect`. */
export type TlsOptions = Pick<IClientOptions, 'key' | 'cert' | 'ca' | 'rejectUnauthorized' | 'ALPNProtocols' | 'servername'> & { passphrase?: string };

/** Everything one broker connection needs; the config node fills it from its properties. */
export interface SessionConfig {
  /** Normalised broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`), possibly with credentials: the first of `servers`. */
  readonly url: string;
  /** Every server in order of preference, `url` first (servers.ts); absent means `url` alone. */
  readonly servers?: readonly string[];
  /** Move back to the first server once it answers again; false (the default): stay where it works. */
  readonly returnToFirst?: boolean;
  readonly clientId: string;
  readonly cleanSession: boolean;
  readonly protocolVersion: 4 | 5;
  /** Seconds the broker keeps the session after disconnect (MQTT 5 only). */
  readonly sessionExpiry: number;
  /** Seconds. */
  readonly keepalive: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: TlsOptions;
  readonly backoff: BackoffOptions;
  /** A connection the broker closes sooner than this after CONNACK counts as kicked off, ms. */
  readonly takeoverWindow: number;
  /** Kicks in a row that mean another client uses our ID. */
  readonly takeoverCount: number;
  /**
   * Unsettled messages at which the session stops reading from the socket (and resumes at half),
   * for brokers that ignore any in-flight limit; `DEFAULTS.readHighWater` when absent. The most:
   * once the application says how many it takes (`MqttSession.receiveMaximum`), reading stops sooner.
   */
  readonly readHighWater?: number;
  /** Bytes of inbound PUBLISHes held at most while the flows take no more; HELD_BYTES when absent (nodes/session/stream/read-pacer.ts). */
  readonly heldBytes?: number;
  /**
   * Bytes a packet from the broker may have, sent in CONNECT as the MQTT 5 Maximum Packet Size. The
   * broker discards a message larger than this for us, as if delivered (MQTT 5 §3.1.2.11.4), and a
   * larger packet that comes anyway ends the connection with an error. Not sent on MQTT 3.1.1.
   */
  readonly maximumPacketSize: number;
  /** Birth (after each CONNACK), close (before a clean disconnect) and will (the broker's, on a lost connection). */
  readonly messages?: ConfiguredMessages;
  /** MQTT 5 CONNECT user properties. */
  readonly userProperties?: Record<string, string>;
  /** A SOCKS proxy (`socks5://host:port`, …) for mqtt:// and mqtts://, as MQTT.js's `socksProxy`. */
  readonly socksProxy?: string;
  /**
   * An HTTP(S) proxy URL (credentials included) that ws:// and wss:// tunnel through with CONNECT.
   * Undefined: no proxy node, so the environment decides at connect time as in core (`proxy.ts`);
   * null: a proxy node is set but its no-proxy list names the broker, so connect directly.
   */
  readonly httpProxy?: string | null;
}

export type ConfigResult = { ok: true; config: SessionConfig } | { ok: false; error: string };

/** The default of every setting and limit; each is a `SessionConfig` field of the same name. */
export const DEFAULTS = {
  protocolVersion: 4,
  /** Seconds: a day, so a Node-RED down overnight still finds its messages queued. */
  sessionExpiry: 86400,
  /** Seconds, as core's mqtt-broker node. */
  keepalive: 60,
  /** ms: first reconnect after 1 s, doubling up to a minute. */
  backoff: { min: 1000, max: 60000 },
  /** ms: a connection closed within 30 s of its CONNACK counts as kicked off… */
  takeoverWindow: 30000,
  /** …and three such closes in a row mean another client uses our client ID (one or two may be chance). */
  takeoverCount: 3,
  /** Unsettled messages: enough to keep a fast flow busy, few enough to bound memory with a broker that ignores flow control. */
  readHighWater: 1000,
  /**
   * Bytes: the read pacer's HELD_BYTES, so that any message we take can be held while the flows are
   * busy. Large on purpose: a broker drops what is larger without a word to us, a loss this limit
   * causes, so it only keeps out what no flow should take in one msg.
   */
  maximumPacketSize: HELD_BYTES,
} as const;

/** The MQTT 5 Maximum Packet Size range we accept: a CONNACK and a small PUBLISH fit in the least; the most is the largest MQTT packet (a 4-byte remaining length). */
export const MAXIMUM_PACKET_SIZE_RANGE = { min: 1024, max: 268435460 } as const;

export interface RawConfig extends RawMessages {
  broker?: unknown;
  /** Core's separate port, used when `broker` is a bare host without one. */
  port?: unknown;
  /** Core's "Use TLS" tick: `mqtts://` even without TLS settings. */
  usetls?: unknown;
  /** MQTT 5 CONNECT user properties, a JSON object as core's `userProps`. */
  userProps?: unknown;
  socksProxy?: unknown;
  /** Core's `http proxy` config node (the one `proxy` names), resolved by the runtime. */
  httpProxy?: { url?: unknown; noproxy?: unknown; username?: string; password?: string };
  /** Move back to the first of several servers once it answers again (default false). */
  returnToFirst?: unknown;
  clientId?: unknown;
  cleanSession?: unknown;
  protocolVersion?: unknown;
  sessionExpiry?: unknown;
  keepalive?: unknown;
  username?: string;
  password?: string;
  tls?: TlsOptions;
  backoffMin?: unknown;
  backoffMax?: unknown;
  maximumPacketSize?: unknown;
}

/** A number property with its default when empty, or an error text naming it. */
export function numberIn(value: unknown, fallback: number, lo: number, hi: number, name: string, whole = true): number | string {
  if (unset(value)) return fallback;
  // Node-RED leaves `${NAME}` in place when NAME is not set.
  if (typeof value === 'string' && /^\$\{\S+\}$/.test(value.trim())) return `${name} is ${value}, an environment variable that is not set`;
  const n = typeof value === 'number' ? value : numberOf(value);
  if (!Number.isFinite(n) || (whole && !Number.isInteger(n)) || n < lo || n > hi) return `${name} must be a ${whole ? 'whole ' : ''}number from ${lo} to ${hi}`;
  return n;
}

export const asBool = (v: unknown): boolean => v === true || v === 'true';

/** MQTT 5 user properties from a JSON object of strings (core's `userProps`); other values are stringified as core does. */
export function userPropertiesOf(value: unknown, name: string): Record<string, string> | undefined | string {
  if (unset(value)) return undefined;
  let obj: unknown = value;
  if (typeof value === 'string') {
    try {
      obj = JSON.parse(value);
    } catch {
      return `${name} must be a JSON object`;
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return `${name} must be a JSON object`;
  // fromEntries, not out[k] = …: a property named __proto__ stays a property instead of setting the prototype.
  const out: Record<string, string> = Object.fromEntries(
    Object.entries(obj)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
  return Object.keys(out).length > 0 ? out : undefined;
}

const SOCKS = /^socks(4a?|5h?):\/\/[^/]+/i;

/**
 * The proxy URL a core `http proxy` node gives for this broker: null when its no-proxy list names
 * the broker (a substring match, as core's http request node does), or an error text.
 */
export function httpProxyOf(proxy: NonNullable<RawConfig['httpProxy']>, brokerUrl: string): string | null | { error: string } {
  if (!brokerUrl.startsWith('ws')) return { error: 'an HTTP proxy works with ws:// and wss:// only (MQTT.js tunnels mqtt:// through SOCKS only: use socksProxy)' };
  let url: URL;
  try {
    url = new URL(asText(proxy.url).trim());
  } catch {
    return { error: "the HTTP proxy node's URL must be an http:// or https:// URL" };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: "the HTTP proxy node's URL must be an http:// or https:// URL" };
  const noproxy = Array.isArray(proxy.noproxy) ? proxy.noproxy.map((h) => asText(h).trim()).filter((h) => h !== '') : [];
  if (noproxy.some((h) => brokerUrl.includes(h))) return null;
  if (proxy.username) url.username = encodeURIComponent(proxy.username);
  if (proxy.password) url.password = encodeURIComponent(proxy.password);
  return url.toString();
}

/** The environment variables a session's settings read; empty in the editor, which has no process. */
export interface Environment {
  /** MQTT.js's connect() reads it for mqtt:// and mqtts://; we build the client ourselves (transport.ts), so it is read here. */
  readonly MQTTJS_SOCKS_PROXY?: string;
}

/** Applies defaults to a flow's properties and checks them; a missing property gets its default. */
export function configOf(raw: RawConfig, env: Environment): ConfigResult {
  const servers = parseServers(typeof raw.broker === 'string' ? raw.broker : '', raw.port, raw.tls !== undefined || asBool(raw.usetls));
  if ('error' in servers) return { ok: false, error: servers.error };
  const parsed = { url: servers.urls[0] };
  const cleanSession = asBool(raw.cleanSession);
  const clientId = typeof raw.clientId === 'string' ? raw.clientId.trim() : '';
  if (!cleanSession && clientId.length === 0) return { ok: false, error: 'a client ID is required for a persistent session (clean session off)' };
  const protocolVersion = numberIn(raw.protocolVersion, DEFAULTS.protocolVersion, 4, 5, 'protocolVersion');
  if (protocolVersion !== 4 && protocolVersion !== 5) return { ok: false, error: 'protocolVersion must be 4 (MQTT 3.1.1) or 5 (MQTT 5)' };
  const sessionExpiry = numberIn(raw.sessionExpiry, DEFAULTS.sessionExpiry, 0, 0xffffffff, 'sessionExpiry');
  const keepalive = numberIn(raw.keepalive, DEFAULTS.keepalive, 0, MAX_TWO_BYTES, 'keepalive');
  const backoffMin = numberIn(raw.backoffMin, DEFAULTS.backoff.min / 1000, 0, 3600, 'backoffMin', false);
  const backoffMax = numberIn(raw.backoffMax, DEFAULTS.backoff.max / 1000, 0, 86400, 'backoffMax', false);
  const maximumPacketSize = numberIn(raw.maximumPacketSize, DEFAULTS.maximumPacketSize, MAXIMUM_PACKET_SIZE_RANGE.min, MAXIMUM_PACKET_SIZE_RANGE.max, 'maximumPacketSize');
  for (const v of [sessionExpiry, keepalive, backoffMin, backoffMax, maximumPacketSize]) if (typeof v === 'string') return { ok: false, error: v };
  const messages = parseMessages(raw, protocolVersion === 5);
  if ('error' in messages) return { ok: false, error: messages.error };
  const userProperties = userPropertiesOf(raw.userProps, 'userProps');
  if (typeof userProperties === 'string') return { ok: false, error: userProperties };
  const socksText = typeof raw.socksProxy === 'string' && raw.socksProxy.trim() !== '' ? raw.socksProxy.trim() : undefined;
  const viaWs = parsed.url.startsWith('ws');
  // One proxy setting serves every server, so the servers must all be of the kind it works with.
  const mixed = new Set(servers.urls.map((u) => u.startsWith('ws'))).size > 1;
  if (mixed && (socksText || raw.httpProxy)) return { ok: false, error: 'with a proxy, the servers must be all mqtt:// / mqtts:// or all ws:// / wss://' };
  if (socksText && !SOCKS.test(socksText)) return { ok: false, error: `socksProxy must be a socks4://, socks4a://, socks5:// or socks5h:// URL` };
  if (socksText && viaWs) return { ok: false, error: 'a SOCKS proxy works with mqtt:// and mqtts:// only (MQTT.js has none for WebSockets)' };
  const socksProxy = socksText ?? (viaWs ? undefined : env.MQTTJS_SOCKS_PROXY || undefined);
  const httpProxy = raw.httpProxy ? httpProxyOf(raw.httpProxy, parsed.url) : undefined;
  if (httpProxy && typeof httpProxy === 'object') return { ok: false, error: httpProxy.error };
  return {
    ok: true,
    config: {
      url: parsed.url,
      servers: servers.urls,
      returnToFirst: asBool(raw.returnToFirst),
      clientId,
      cleanSession,
      protocolVersion,
      sessionExpiry: sessionExpiry as number,
      keepalive: keepalive as number,
      username: raw.username || undefined,
      password: raw.password || undefined,
      tls: raw.tls,
      // Seconds in the flow, ms inside; a minimum of 0 would spin, so floor it at 100 ms.
      backoff: { min: Math.max(100, (backoffMin as number) * 1000), max: Math.max(100, (backoffMax as number) * 1000, (backoffMin as number) * 1000) },
      takeoverWindow: DEFAULTS.takeoverWindow,
      takeoverCount: DEFAULTS.takeoverCount,
      readHighWater: DEFAULTS.readHighWater,
      maximumPacketSize: maximumPacketSize as number,
      messages: messages.messages,
      userProperties,
      socksProxy,
      httpProxy,
    },
  };
}
