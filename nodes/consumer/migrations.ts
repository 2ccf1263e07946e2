// Versions of the durable-mqtt-in's saved properties; version 1 also reads the core mqtt in's, version 2 pins the delivery limit of older nodes.
import type { Migration, Props } from '../common/migrations';

/** A core mqtt in (Node-RED ≥ 2) always saves these MQTT 5 and dynamic-subscription properties; 0.1 of ours saved none. */
export const isCoreConsumer = (p: Props): boolean => ['nl', 'rap', 'rh', 'inputs'].some((k) => Object.hasOwn(p, k));

/**
 * Version 1: unversioned properties are ours from 0.1 or a core mqtt in's with its type switched.
 * Core's `auto-detect` is our `auto`; core's `auto` (its default before Node-RED 3) never parses
 * JSON, which our `text-or-buffer` does likewise. A core dynamic node (`inputs: 1`, which 0.1 of ours
 * never saved) ignores its `topic` (10-mqtt.js subscribes it only when not dynamic), while ours
 * subscribes its own filters too: a topic left in such a flow is dropped. Every other name and
 * value is the same in both.
 */
function fromCore(input: Props): Props {
  const p = { ...input };
  if (p.datatype === 'auto-detect') p.datatype = 'auto';
  else if (p.datatype === 'auto' && isCoreConsumer(p)) p.datatype = 'text-or-buffer';
  if (Number(p.inputs) === 1) p.topic = '';
  return p;
}

/**
 * Version 2 brought `maxDeliveries`, whose editor default (10) differs from what a node saved
 * without it does (0: no limit). Pinning 0 keeps an older node as it ran, also once its dialog is
 * opened and saved (the dialog would otherwise show the new node's default).
 */
function noDeliveryLimit(p: Props): Props {
  return p.maxDeliveries === undefined ? { ...p, maxDeliveries: 0 } : p;
}

export const consumerMigrations: readonly Migration[] = [
  { version: 1, up: fromCore },
  { version: 2, up: noDeliveryLimit },
];
