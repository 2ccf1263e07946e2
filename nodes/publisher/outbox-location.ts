// Where a durable-mqtt-out node keeps its outbox: a folder under the user directory named by a hash of the node and the session it publishes through.
import { createHash } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir, stateDirOf } from '../session/lib/durable-file';

/** Whom the broker knows a connection as: the broker URL without credentials, and the client ID. */
export interface SessionIdentity {
  readonly url: string;
  readonly clientId: string;
}

/** Hex characters of the sha256 that name a folder: 128 bits, more than enough to keep nodes apart. */
const HASH_CHARS = 32;
const HASHED = new RegExp(`^[0-9a-f]{${HASH_CHARS}}$`);
/** Node ids the first layout could have used as a folder name as they were: none of them leads out of the outbox root. */
const PLAIN_ID = /^[A-Za-z0-9_.-]+$/;

export function outboxRoot(userDir: string): string {
  return join(stateDirOf(userDir), 'outbox');
}

/**
 * The outbox of node `nodeId` publishing through `session`. A hash, not the id: an id is any
 * string in flows.json (`../` included), and a node given another broker URL or client ID gets
 * another, empty outbox, so what it queued for one broker is never sent to another.
 */
export function outboxDir(userDir: string, nodeId: string, session: SessionIdentity): string {
  const hash = createHash('sha256').update(JSON.stringify([nodeId, session.url, session.clientId])).digest('hex');
  return join(outboxRoot(userDir), hash.slice(0, HASH_CHARS));
}

/** What became of an outbox the first layout kept at `<outbox root>/<node id>`. */
export type Adoption = { readonly kind: 'moved' | 'left'; readonly from: string } | undefined;

/**
 * Moves the outbox an earlier version kept under the bare node id to `dir`, so its messages are
 * sent. That layout recorded no broker, so they go to the broker the node has now, as they did
 * at every start of that version. Left alone: an id that is not plain (it could lead elsewhere),
 * one that looks like a hashed folder (it may be another node's), and any folder when `dir`
 * exists already (reported as `left`).
 */
export function adoptLegacyOutbox(userDir: string, nodeId: string, dir: string): Adoption {
  if (!PLAIN_ID.test(nodeId) || /^\.+$/.test(nodeId) || HASHED.test(nodeId)) return undefined;
  const legacy = join(outboxRoot(userDir), nodeId);
  if (!existsSync(legacy)) return undefined;
  if (existsSync(dir)) return { kind: 'left', from: legacy };
  privateDir(outboxRoot(userDir));
  renameSync(legacy, dir);
  return { kind: 'moved', from: legacy };
}
