// Broker URLs as a user writes them: normalised to the four schemes MQTT.js speaks, listed in order of preference, shown without credentials.
import { asText, ownValue } from './values';

const SCHEMES: Record<string, string> = { 'mqtt:': 'mqtt:', 'tcp:': 'mqtt:', 'mqtts:': 'mqtts:', 'ssl:': 'mqtts:', 'tls:': 'mqtts:', 'ws:': 'ws:', 'wss:': 'wss:' };

/** Accepts a URL with one of the MQTT schemes, or a bare `host` / `host:port` meaning `mqtt://`. */
export function normaliseBrokerUrl(input: string, useTls = false): { url: string } | { error: string } {
  const text = input.trim();
  if (text.length === 0) return { error: 'broker URL is empty' };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `mqtt://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    // The text may carry a password (mqtt://user:secret@…): never echo it.
    return { error: `invalid broker URL "${redact(text)}"` };
  }
  const scheme = ownValue(SCHEMES, url.protocol);
  if (!scheme) return { error: `unsupported scheme "${url.protocol}" in broker URL (use mqtt, mqtts, ws or wss)` };
  if (!url.hostname) return { error: `broker URL "${redact(text)}" has no host` };
  // URL cannot change a special scheme (http→ws) into a non-special one, so rebuild from parts.
  const secure = useTls ? { 'mqtt:': 'mqtts:', 'ws:': 'wss:' }[scheme] ?? scheme : scheme;
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  const path = secure === 'ws:' || secure === 'wss:' ? (url.pathname === '/' ? '/mqtt' : url.pathname) : '';
  return { url: `${secure}//${auth}${url.host}${path}${url.search}` };
}

/**
 * The broker property: one URL, or several (one per line, or separated by commas or spaces) in
 * order of preference, each normalised as normaliseBrokerUrl does. Core's separate `port` applies
 * to each bare host, as it does to one.
 */
export function parseServers(input: string, port: unknown, useTls = false): { urls: string[] } | { error: string } {
  const parts = input.split(/[\s,]+/).filter((p) => p !== '');
  const urls: string[] = [];
  for (const part of parts.length > 0 ? parts : ['']) {
    const parsed = normaliseBrokerUrl(withPort(part, port), useTls);
    if ('error' in parsed) return parts.length > 1 ? { error: `${parsed.error} (server ${urls.length + 1} of ${parts.length})` } : parsed;
    if (urls.includes(parsed.url)) return { error: `broker URL "${displayUrl(parsed.url)}" is listed twice` };
    urls.push(parsed.url);
  }
  return { urls };
}

/** The URL without credentials, for logs and status. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return redact(url).replace(/\/\/[^@/]*@/, '//');
  }
}

/** The text without the user name and password of its authority (`scheme://user:pass@` or a bare `user:pass@host`). */
function redact(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, '$1');
}

/** A bare host (core's `broker`) joined with core's separate `port`; a URL or a host with a port is left alone, as core ignores `port` then. */
export function withPort(broker: string, port: unknown): string {
  const text = broker.trim();
  const portText = asText(port).trim();
  if (portText === '' || text.includes('://')) return text;
  // Core takes a bare IPv6 address without brackets.
  const host = text === '' ? 'localhost' : /^[0-9a-f]*:[0-9a-f:.%a-z]*$/i.test(text) ? `[${text}]` : text;
  return /:\d+$/.test(host) ? host : `${host}:${portText}`;
}
