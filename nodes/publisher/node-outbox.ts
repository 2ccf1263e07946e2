// Opens an out node's outbox where it belongs, and says what the node should tell about what it found there and in the folders it used before.
import type { OutboxLimits } from './limits';
import { Outbox, type OutboxEvents } from './outbox';
import { adoptLegacyOutbox, outboxDir, type SessionIdentity } from './outbox-location';

/** A line for the node's log. */
export interface Note {
  readonly level: 'log' | 'warn';
  readonly text: string;
}

/**
 * Outboxes closed with messages in them, by node id, in this process: a node started again on
 * another broker URL or client ID gets another outbox, and says where the old one's messages stay.
 */
const leftBehind = new Map<string, { dir: string; session: SessionIdentity; count: number }>();

/** The outbox folder of node `nodeId` publishing through `session`, opened; with what to log about it. */
export async function openNodeOutbox(userDir: string, nodeId: string, session: SessionIdentity, limits: OutboxLimits, events: OutboxEvents): Promise<{ outbox: Outbox; notes: Note[] }> {
  const dir = outboxDir(userDir, nodeId, session);
  const adopted = adoptLegacyOutbox(userDir, nodeId, dir);
  const outbox = await Outbox.open(dir, limits, events);
  const notes: Note[] = [];
  if (adopted?.kind === 'moved') notes.push({ level: 'log', text: `moved the outbox of an earlier version from ${adopted.from} to ${dir} (${outbox.depth} messages)` });
  if (adopted?.kind === 'left') notes.push({ level: 'warn', text: `an outbox of an earlier version is left in ${adopted.from}: this node's outbox ${dir} exists already` });
  const before = leftBehind.get(nodeId);
  leftBehind.delete(nodeId);
  if (before && before.dir !== dir) {
    notes.push({ level: 'warn', text: `${before.count} messages stay in the outbox ${before.dir} for ${before.session.url} as "${before.session.clientId}": they are sent only when this node publishes through that broker URL and client ID again` });
  }
  if (outbox.quarantined > 0) notes.push({ level: 'warn', text: `${outbox.quarantined} records in the outbox ${dir} could not be read: their bytes were moved to its quarantine (LevelDB keys q…), and the other messages are sent` });
  if (outbox.depth > 0) notes.push({ level: 'log', text: `${outbox.depth} messages left in the outbox by an earlier run; sending them first` });
  return { outbox, notes };
}

/** Node `nodeId` closes with `count` messages in the outbox of `session`; a warning to log when it is being deleted. */
export function closingWith(nodeId: string, session: SessionIdentity, userDir: string, count: number, removed: boolean): Note | undefined {
  if (count === 0) return undefined;
  const dir = outboxDir(userDir, nodeId, session);
  leftBehind.set(nodeId, { dir, session, count });
  if (!removed) return undefined;
  return { level: 'warn', text: `${count} messages are still in the outbox ${dir}; a node with id ${nodeId} on ${session.url} as "${session.clientId}" sends them when it is deployed again` };
}
