// Versions of the durable-mqtt-in's saved properties; version 1 also reads the core mqtt in's, version 2 pins the delivery limit of older nodes.
import { holds, type Migration, type Props } from '../common/migrations';
import { numberOf } from '../session/config/values';

/**
 * A core mqtt in (Node-RED ≥ 2) always saves these MQTT 5 subscription options; 0.1 of ours saved
 * none. Not `inputs`, which core saves too: the editor adds it to every node of ours it loads, so it
 * would make a flow of ours, deployed once from the editor, read as core's.
 */
export const isCoreConsumer = (p: Props): boolean => ['nl', 'rap', 'rh'].some((k) => holds(p, k));

/**
 * Version 1: unversioned properties are ours from 0.1 or a core mqtt in's with its type switched.
 * Core's `auto-detect` is our `auto`; core's `auto` (its default before Node-RED 3) never parses
 * JSON, which our `text-or-buffer` does likewise. A core dynamic node (`inputs: 1`) ignores its
 * `topic` (10-mqtt.js subscribes it only when not dynamic), while ours subscribes its own filters
 * too: a topic left in such a core flow is dropped. Every other name and value is the same in both.
 */
function fromCore(input: Props): Props {
  const p = { ...input };
  const core = isCoreConsumer(p);
  if (p.datatype === 'auto-detect') p.datatype = 'auto';
  else if (p.datatype === 'auto' && core) p.datatype = 'text-or-buffer';
  if (core && numberOf(p.inputs) === 1) p.topic = '';
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
