// The one mapping from session state to a Node-RED status badge.
import type { NodeStatus } from 'node-red';
import type { SessionState } from '../session/session';

/** Looks up a message in the node set's catalog (RED._), with `__name__` substitutions. */
export type Translate = (key: string, substitutions?: Record<string, string | number>) => string;

/**
 * The one translation policy of every badge: text in the runtime's language, never a bare key, so a
 * Status node receives words and the numbers and names in them (README, "Status").
 */
export function translator(RED: { _: (key: string, substitutions?: Record<string, string | number>) => string }): Translate {
  return (key, substitutions) => RED._(key, substitutions);
}

const NS = 'durable-mqtt';

/** Badge refreshes for a changing count (in flight, queued), at most this often: a status goes to every open editor. */
export const STATUS_INTERVAL_MS = 250;

export function statusFor(s: SessionState, t: Translate): NodeStatus {
  switch (s.state) {
    case 'idle':
      return {};
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: t(`${NS}.status.connecting`) };
    case 'connected':
      return { fill: 'green', shape: 'dot', text: s.server ? t(`${NS}.status.connectedTo`, { server: s.server }) : t(`${NS}.status.connected`) };
    case 'reconnecting':
      return { fill: 'yellow', shape: 'ring', text: t(`${NS}.status.reconnecting`, { attempt: s.attempt }) };
    case 'disconnected':
      return { fill: 'red', shape: 'ring', text: t(`${NS}.status.disconnected`) };
    case 'error':
      return { fill: 'red', shape: 'dot', text: t(`${NS}.reason.${s.reason}`) };
  }
}

/**
 * The badge of a connected consumer with `n` messages inside its flow, naming the server as the
 * connected badge does when the config lists several. `n`, not `count`: for `count` i18next resolves
 * a plural form, 28 µs a badge instead of 9 (100 nodes refresh 400 a second).
 */
export function inFlightStatus(s: SessionState & { state: 'connected' }, n: number, t: Translate): NodeStatus {
  return { fill: 'green', shape: 'dot', text: s.server ? t(`${NS}.status.inflightAt`, { n, server: s.server }) : t(`${NS}.status.inflight`, { n }) };
}

/** The badge for a problem found in the node's own configuration or surroundings (`errors.<key>`, with its substitutions). */
export function configErrorStatus(t: Translate, key: string, substitutions?: Record<string, string | number>): NodeStatus {
  return { fill: 'red', shape: 'dot', text: t(`${NS}.errors.${key}`, substitutions) };
}

/** The payload of the optional status output: the state without internal detail. */
export function statusPayload(s: SessionState): { state: string; reason?: string; sessionPresent?: boolean; attempt?: number; server?: string } {
  switch (s.state) {
    case 'connected':
      return s.server ? { state: s.state, sessionPresent: s.sessionPresent, server: s.server } : { state: s.state, sessionPresent: s.sessionPresent };
    case 'reconnecting':
      return { state: s.state, attempt: s.attempt };
    case 'disconnected':
      return s.reason ? { state: s.state, reason: s.reason } : { state: s.state };
    case 'error':
      return { state: s.state, reason: s.reason };
    default:
      return { state: s.state };
  }
}
