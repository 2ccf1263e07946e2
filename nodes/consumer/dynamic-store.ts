// Keeps each durable-mqtt-in's dynamic subscriptions (msg.action "subscribe") across redeploys, restarts and kill -9.
import { DurableFile, stateDirOf, userDirOf } from '../session/lib/durable-file';

/**
 * The broker keeps a dynamic subscription in the persistent session whatever happens to Node-RED;
 * this is what lets a restarted node route what the broker queued meanwhile back to itself. The
 * store holds plain objects; DynamicSubscriptions checks what it reads back.
 */
export interface DynamicStore {
  load(): readonly unknown[];
  save(subscriptions: readonly object[]): void;
  clear(): void;
}

const memory = new Map<string, readonly object[]>();

/** Lives as long as the process: redeploys keep the subscriptions; used when the runtime has no userDir (the test helper). */
export class MemoryDynamicStore implements DynamicStore {
  constructor(private readonly nodeId: string) {}
  load(): readonly unknown[] {
    return [...(memory.get(this.nodeId) ?? [])];
  }
  save(subscriptions: readonly object[]): void {
    memory.set(this.nodeId, [...subscriptions]);
  }
  clear(): void {
    memory.delete(this.nodeId);
  }
}

/** One JSON file per node in `dir` (`<userDir>/durable-mqtt/`, beside the subscription ledgers), written atomically and durably. */
export class FileDynamicStore implements DynamicStore {
  private readonly file: DurableFile;
  constructor(
    dir: string,
    private readonly nodeId: string,
  ) {
    this.file = new DurableFile(dir, nodeId, 'dynamic-');
  }
  load(): readonly unknown[] {
    const data = this.file.read();
    // No file: the node has never subscribed dynamically (or unsubscribed everything).
    if (data === undefined) return [];
    // The file may have been edited by hand: any JSON value, and only its own `subscriptions` counts.
    const list = typeof data === 'object' && data !== null && Object.hasOwn(data, 'subscriptions') ? (data as { subscriptions: unknown }).subscriptions : undefined;
    if (!Array.isArray(list)) throw new Error(`${this.file.path} holds no subscriptions list`);
    return list as unknown[];
  }
  save(subscriptions: readonly object[]): void {
    if (subscriptions.length === 0) return this.clear();
    this.file.write({ node: this.nodeId, subscriptions });
  }
  clear(): void {
    this.file.remove();
  }
}

/** The file store under Node-RED's userDir, or memory when the runtime has none. */
export function dynamicStoreFor(settings: object, nodeId: string): DynamicStore {
  const userDir = userDirOf(settings);
  return userDir === undefined ? new MemoryDynamicStore(nodeId) : new FileDynamicStore(stateDirOf(userDir), nodeId);
}
