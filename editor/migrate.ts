// Brings our nodes in the workspace to the current version of their properties, with the runtime's own migrations.
import type { EditorNodeInstance } from 'node-red';
import { brokerMigrations } from '../nodes/broker/migrations';
import { currentVersion, migrate, savedVersion, type Migration, type Props } from '../nodes/common/migrations';
import { consumerMigrations } from '../nodes/consumer/migrations';
import { publisherMigrations } from '../nodes/publisher/migrations';

const MIGRATIONS: Record<string, readonly Migration[]> = { 'durable-mqtt-broker': brokerMigrations, 'durable-mqtt-in': consumerMigrations, 'durable-mqtt-out': publisherMigrations };

/** The properties a node saves: everything but the editor's own (`_def`, `_`, `_config` …) and functions. */
function savedProps(node: object): Props {
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !k.startsWith('_') && typeof v !== 'function'));
}

/**
 * Upgrades one node in place. The editor keeps an imported node's properties only when its
 * definition lists them, so the core names a migration reads are listed there (editor/broker.ts).
 * Returns whether anything changed.
 */
export function upgradeInPlace(node: EditorNodeInstance | (Props & { type: string })): boolean {
  const steps = MIGRATIONS[node.type];
  const target = node as unknown as Props;
  if (!steps || savedVersion(target) >= currentVersion(steps)) return false;
  const before = savedProps(target);
  const after = migrate(before, steps);
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    // A property a migration dropped is set undefined: the editor then leaves it out of the saved flow.
    if (before[key] !== after[key]) target[key] = after[key];
  }
  return true;
}
