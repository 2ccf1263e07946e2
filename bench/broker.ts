// The bench's Mosquitto and what the bench does on it: prime sessions, publish backlogs, clear sessions.
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoHandle } from '../test/support/mosquitto';
import { publishMany } from '../test/support/publisher';
import { nowMs } from './clock';
import { makePayload, makeWarmup } from './payload';

/**
 * A Mosquitto that keeps `maxQueued` messages per offline session and logs no per-message lines.
 * `maxInflight` sets how many unacknowledged QoS 1/2 messages it sends a 3.1.1 client (default 20):
 * the window that an ack-after-complete consumer waits on.
 */
export function startBenchBroker(maxQueued: number, maxInflight?: number): Promise<MosquittoHandle> {
  // The test helper turns on `log_type all`, a few lines per message; at bench rates that logging
  // would cost the broker (and the bench reading it) more than the consumers under test.
  // `none` resets the set; `information` keeps the "running" line the helper waits for.
  const lines = ['log_type none', 'log_type information'];
  if (maxInflight !== undefined) lines.push(`max_inflight_messages ${maxInflight}`);
  return startMosquitto({ maxQueued, extraConfig: lines.join('\n') });
}

/** The version from the broker's "mosquitto version X running" line. */
export function mosquittoVersion(broker: MosquittoHandle): string {
  return /mosquitto version (\S+) running/.exec(broker.log())?.[1] ?? 'unknown';
}

/** Creates a persistent session holding `filters` at QoS 1, then leaves it, so the broker queues for it. */
export async function primeSession(url: string, clientId: string, filters: string[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  await client.subscribeAsync(filters, { qos: 1 });
  await client.endAsync();
}

/** Connects with clean session on, which discards the session and anything still queued for it. */
export async function clearSession(url: string, clientId: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
  await client.endAsync();
}

/** Publishes sequence numbers 0..n-1 at QoS 1, message i to topics[i % topics.length], one connection per topic. */
export async function publishSequence(url: string, topics: string[], n: number, size: number, rate?: number): Promise<void> {
  const k = topics.length;
  await Promise.all(
    topics.map((topic, t) =>
      publishMany(url, topic, Math.ceil((n - t) / k), {
        qos: 1,
        rate: rate === undefined ? undefined : rate / k,
        payload: (i) => makePayload(t + i * k, size, nowMs()),
      }),
    ),
  );
}

/** Publishes a warm-up message every 100 ms until `until` settles, so a live run starts on a flowing pipe. */
export async function warmUp(url: string, topic: string, size: number, until: Promise<unknown>): Promise<void> {
  const client = await mqtt.connectAsync(url, { clean: true, protocolVersion: 4, reconnectPeriod: 0 });
  let settled = false;
  const done = until.finally(() => {
    settled = true;
  });
  try {
    while (!settled) {
      await client.publishAsync(topic, makeWarmup(size, nowMs()), { qos: 1 });
      await Promise.race([done, new Promise((r) => setTimeout(r, 100))]);
    }
    await done;
  } finally {
    await client.endAsync();
  }
}
