// Test helper: publish many messages from a bare mqtt.js client with bounded concurrency.
import mqtt from 'mqtt';

export interface PublishManyOptions {
  qos?: 0 | 1 | 2;
  /** Payload of message i (0-based); default String(i). */
  payload?: (i: number) => string | Buffer;
  protocolVersion?: 4 | 5;
  /** MQTT 5 PUBLISH properties applied to every message. */
  properties?: mqtt.IClientPublishOptions['properties'];
  /** Messages per second; default as fast as acknowledgements allow. */
  rate?: number;
  /** Extra connect options (auth, TLS CA, ...). */
  connectOptions?: mqtt.IClientOptions;
  /** Unacknowledged publishes at most; Mosquitto 2.0.11 acks and drops QoS 2 past 20 from a 3.1.1 publisher. */
  outstanding?: number;
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
  // A reconnecting publisher rides out a broker restart: connection errors are expected then, and
  // MQTT.js resends every unacknowledged publish once it is back.
  if ((opts.connectOptions?.reconnectPeriod ?? 0) > 0) client.on('error', () => undefined);
  // A window of unacknowledged publishes, not batches: waiting for a batch's PUBACKs stalls on
  // delayed ACKs and would cap a paced publisher far below its rate.
  const began = Date.now();
  const pending = new Set<Promise<unknown>>();
  try {
    for (let i = 0; i < count; i++) {
      if (opts.rate) {
        const due = began + (i / opts.rate) * 1000;
        if (due > Date.now() + 1) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const p: Promise<unknown> = client.publishAsync(topic, payload(i), properties ? { qos, properties } : { qos }).finally(() => pending.delete(p));
      pending.add(p);
      if (pending.size >= (opts.outstanding ?? MAX_OUTSTANDING)) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await client.endAsync();
  }
}
