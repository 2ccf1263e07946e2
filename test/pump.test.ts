// Specs for nodes/publisher/pump.ts on Aedes: the pump sends an outbox whole, in order, also when the outbox reads part of it from disk as it goes.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Outbox, READ_AHEAD } from '../nodes/publisher/outbox';
import { Pump } from '../nodes/publisher/pump';
import { startAedes, type AedesHandle } from './support/aedes';
import { append } from './support/outbox';

const LIMITS = { maxMessages: 1_000_000, maxBytes: 1024 * 1024 * 1024, whenFull: 'refuse' } as const;

describe('pump', () => {
  let dir = '';
  let broker: AedesHandle;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'durable-pump-'));
    broker = await startAedes();
  });
  afterEach(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a backlog several times its read-ahead whole and in order, taking again each time the outbox has read more from disk', async () => {
    const n = 4 * READ_AHEAD.count;
    const filling = await Outbox.open(dir, LIMITS);
    for (let i = 0; i < n; i += 5000) {
      await Promise.all(Array.from({ length: Math.min(5000, n - i) }, (_, k) => append(filling, { topic: `pump/${i + k}`, payload: Buffer.from(String(i + k)), qos: 1, retain: false })));
    }
    await filling.close();

    const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    let pump: Pump | undefined;
    const box = await Outbox.open(dir, LIMITS, { readable: () => pump?.run() });
    assert.ok(box.depth > box.inMemory, 'part of the backlog is on disk only');
    const sent: number[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        pump = new Pump(box, (p, published) => client.publish(p.topic, p.payload, { qos: 1 }, (err) => published(err)), {
          settled: (entry, err) => {
            if (err) return reject(err);
            sent.push(Number(entry.publication.payload.toString()));
            if (sent.length === n) resolve();
          },
          failed: reject,
        });
        pump.setConnected(true);
      });
    } finally {
      pump?.stop();
      await box.close();
      await client.endAsync();
    }
    assert.ok(sent.every((seq, i) => seq === i), `acknowledged in order (first out of place at ${sent.findIndex((seq, i) => seq !== i)})`);
  });
});
