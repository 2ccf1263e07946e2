// Keeps each durable-mqtt-in's dynamic subscriptions (msg.action "subscribe") across redeploys, restarts and kill -9.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamicSubscription } from './dynamic-subscriptions';

/**
 * The broker keeps a dynamic subscription in the persistent session whatever happens to Node-RED;
 * this is what lets a restarted node route what the broker queued meanwhile back to itself.
 */
export interface DynamicStore {
  load(): DynamicSubscription[];
  save(subscriptions: readonly DynamicSubscription[]): void;
  clear(): void;
}

const memory = new Map<string, DynamicSubscription[]>();

/** Lives as long as the process: redeploys keep the subscriptions; used when the runtime has no userDir (the test helper). */
export class MemoryDynamicStore implements DynamicStore {
  constructor(private readonly nodeId: string) {}
  load(): DynamicSubscription[] {
    return [...(memory.get(this.nodeId) ?? [])];
  }
  save(subscriptions: readonly DynamicSubscription[]): void {
    memory.set(this.nodeId, [...subscriptions]);
  }
  clear(): void {
    memory.delete(this.nodeId);
  }
}

/** One JSON file per node in `dir` (`<userDir>/durable-mqtt/`, beside the subscription ledgers), written atomically. */
export class FileDynamicStore implements DynamicStore {
  private readonly file: string;
  constructor(
    private readonly dir: string,
    private readonly nodeId: string,
  ) {
    // Hashed like the ledgers' names: a subflow instance's node id may hold characters a file name should not.
    this.file = join(dir, `dynamic-${createHash('sha256').update(nodeId).digest('hex').slice(0, 24)}.json`);
  }
  load(): DynamicSubscription[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      // No file: the node has never subscribed dynamically (or unsubscribed everything).
      return [];
    }
    const data = JSON.parse(text) as { subscriptions?: unknown };
    if (!Array.isArray(data.subscriptions)) throw new Error(`${this.file} holds no subscriptions list`);
    return data.subscriptions as DynamicSubscription[];
  }
  save(subscriptions: readonly DynamicSubscription[]): void {
    if (subscriptions.length === 0) return this.clear();
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ node: this.nodeId, subscriptions }, null, 1));
    renameSync(tmp, this.file);
  }
  clear(): void {
    rmSync(this.file, { force: true });
  }
}

/** The file store under Node-RED's userDir, or memory when the runtime has none. */
export function dynamicStoreFor(settings: object, nodeId: string): DynamicStore {
  let userDir: unknown;
  try {
    userDir = (settings as { userDir?: unknown }).userDir;
  } catch {
    // Runtime settings not loaded (as under the test helper): remember in memory, as the ledger does.
  }
  return typeof userDir === 'string' ? new FileDynamicStore(join(userDir, 'durable-mqtt'), nodeId) : new MemoryDynamicStore(nodeId);
}
