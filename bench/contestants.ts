// Who runs in the bench: a bare MQTT.js client, the ideal thin node, Node-RED's core `mqtt in`, and ours in each ack mode.

export type Contestant =
  | { id: string; label: string; kind: 'bare' }
  | { id: string; label: string; kind: 'thin' }
  | { id: string; label: string; kind: 'core' }
  | { id: string; label: string; kind: 'ours'; ackMode: 'receive' | 'complete'; maxInFlight?: number; noopHooks?: boolean };

export const BARE: Contestant = { id: 'bare', label: 'bare MQTT.js', kind: 'bare' };
/** MQTT.js inside Node-RED with one node.send per PUBLISH, acked on arrival (bench/nodes/thin-in.ts): the ceiling for any MQTT-in node. */
export const THIN: Contestant = { id: 'thin', label: 'ideal thin node', kind: 'thin' };
export const CORE: Contestant = { id: 'core', label: 'Node-RED core mqtt in', kind: 'core' };
export const OURS_RECEIVE: Contestant = { id: 'ours-receive', label: 'ours, ackMode receive', kind: 'ours', ackMode: 'receive' };
export const OURS_COMPLETE: Contestant = { id: 'ours-complete', label: 'ours, ackMode complete (default window)', kind: 'ours', ackMode: 'complete' };

export function oursComplete(maxInFlight: number): Contestant {
  return { id: `ours-complete-${maxInFlight}`, label: `ours, ackMode complete, maxInFlight ${maxInFlight}`, kind: 'ours', ackMode: 'complete', maxInFlight };
}

/**
 * Receive mode with complete mode's five runtime hooks added as no-ops (bench/nodes/noop-hooks.ts):
 * what Node-RED's hook dispatch costs before anything is tracked.
 */
export const OURS_RECEIVE_HOOKS: Contestant = { id: 'ours-receive-hooks', label: 'ours, ackMode receive + 5 no-op hooks', kind: 'ours', ackMode: 'receive', noopHooks: true };
