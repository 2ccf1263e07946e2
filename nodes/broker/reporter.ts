// What a broker config node logs about its session: connects and moves at info, each failure once per episode at warn, never the password.
import type { Node } from 'node-red';
import type { EventEmitter } from 'node:events';
import type { SessionConfig } from '../session/config/config';
import type { SessionEvents, SessionState } from '../session/session';

/**
 * Logs the session's events for `node`. `session` is the broker's SessionHandle, whose session the
 * `connect` action replaces, and `server` names the server it is on or trying (with several it
 * changes), so nothing here holds one session.
 */
export function reportSession(node: Node, session: EventEmitter<SessionEvents>, config: SessionConfig, server: () => string): void {
  // What this episode of trouble has logged already; an episode ends at the next "connected".
  const logged = new Set<string>();
  const where = (): string => `${server()} as "${config.clientId}"`;
  session.on('state', (s) => logState(node, s, where(), logged));
  session.on('takeover', () => node.warn(`client ID "${config.clientId}" is in use by another client at ${server()}: the broker keeps disconnecting one of you; backing off`));
  // Once per server left behind: a cluster moves the session with us, independent brokers do not.
  const leftBehind = new Set<string>();
  session.on('moved', ({ from, to }, sessionPresent) => {
    if (sessionPresent || config.cleanSession) return node.log(`moved from ${from} to ${to}`);
    if (leftBehind.has(from)) return node.log(`moved from ${from} to ${to}, which holds no session for "${config.clientId}": subscribed again`);
    leftBehind.add(from);
    node.warn(`moved from ${from} to ${to}, which holds no session for "${config.clientId}" (not one cluster): subscribed again; what ${from} held for this session (queued and unacknowledged messages) stays there until this client connects to it again or the session expires`);
  });
  // Work of the session that failed (ledger, SUBSCRIBE, birth, close message…): once per episode, with its cause, into the log and the debug sidebar.
  session.on('failure', ({ operation, error }) => {
    const key = `failure:${operation}`;
    if (logged.has(key)) return;
    logged.add(key);
    node.warn(`${operation} failed at ${where()}: ${error.message}`);
  });
  session.on('subscribed', (subs) => node.log(`subscribed ${[...subs].map(([f, q]) => `${f} (QoS ${q})`).join(', ')}`));
  session.on('unsubscribed', (filters) => node.log(`unsubscribed ${filters.join(', ')}`));
  session.on('redelivery', (attempt, delayMs) => {
    // The first redelivery may be a redeploy's; a second in a row means a message keeps failing. Once per episode.
    const text = `messages left unacknowledged (ackOnError false, or a redeploy) come back by reconnecting in ${(delayMs / 1000).toFixed(1)} s (redelivery ${attempt} in a row)`;
    if (attempt === 2) node.warn(`${text}; a message that keeps failing comes back with growing delays up to ${config.backoff.max / 1000} s`);
    else node.debug(text);
  });
  let shedWarned = false;
  session.on('shed', ({ qos12, qos0 }) => {
    // Each refetch is a new connection, a new episode; a broker that overshoots keeps doing it, so the warning comes once.
    const say = shedWarned ? (text: string) => node.debug(text) : (text: string) => node.warn(text);
    shedWarned = true;
    // Mosquitto 2.0.11 sends a reconnecting client its whole queue, over MQTT 3.1.1 and 5 alike (docs/performance.md).
    say(`${where()} sent more messages than the flows take while they were full, past what is held in memory (a broker with no in-flight limit, ` +
      `or one that sends a reconnecting client its whole queue): ${qos12} QoS 1/2 messages are fetched again by reconnecting` +
      `${qos0 ? `, ${qos0} QoS 0 messages were dropped` : ''}. Set the broker's in-flight limit or use MQTT 5 if it has none; ` +
      `a durable mqtt out on this connection keeps it reading, and a broker config of its own lets it pause instead.`);
  });
  session.on('subscribeFailed', (filter, code) => node.error(`broker refused subscription ${filter} (code 0x${code.toString(16)})`));
}

/** Connects and disconnects at info level, each failure once per episode at warn; never the password. */
function logState(node: Node, s: SessionState, where: string, logged: Set<string>): void {
  const first = (key: string): boolean => !logged.has(key) && logged.add(key).size > 0;
  switch (s.state) {
    case 'connected':
      logged.clear();
      node.log(`connected to ${where} (session ${s.sessionPresent ? 'present' : 'new'})`);
      break;
    case 'disconnected':
      if (first('disconnected')) node.log(`disconnected from ${where}${s.reason ? `: ${s.reason}` : ''}`);
      break;
    case 'error':
      if (first(s.reason)) node.warn(`cannot stay connected to ${where}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
      break;
    default:
      break;
  }
}
