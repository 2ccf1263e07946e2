// Test helper: publish many messages from a bare mqtt.js client with bounded concurrency.
import mqtt from 'mqtt';

export interface PublishManyOptions {
  qos?: 0 | 1 | 2;
  /** Payload of message i (0-based); default String(i). */
  payload?: (i: number) => string | Buffer;
  protocolVersion?: 4 | 5;
  /** MQTT 5 PUBLISH properties applied to every message. */
  properties?: mqtt.IClientPublishOptions['properties'];
  /** Extra connect options (auth, TLS CA, ...). */
  connectOptions?: mqtt.IClientOptions;
}

// Enough to keep the socket busy without an unbounded in-flight queue in the client.
const MAX_OUTSTANDING = 100;

/** Publishes `count` messages to `topic` in order of i and resolves once all are acknowledged (QoS>0) or written. */
export async function publishMany(url: string, topic: string, count: number, opts: PublishManyOptions = {}): Promise<void> {
  const { qos = 0, payload = (i: number) => String(i), protocolVersion = 4, properties } = opts;
  const client = await mqtt.connectAsync(url, {
    protocolVersion,
    clean: true,
    reconnectPeriod: 0, // a publisher that silently reconnects would hide broker failures
    ...opts.connectOptions,
  });
  try {
    for (let start = 0; start < count; start += MAX_OUTSTANDING) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(count, start + MAX_OUTSTANDING); i++) {
        batch.push(client.publishAsync(topic, payload(i), properties ? { qos, properties } : { qos }));
      }
      await Promise.all(batch);
    }
  } finally {
    await client.endAsync();
  }
}
