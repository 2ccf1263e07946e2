// Specs for nodes/session/inbound/flow-control.ts on Aedes: a withheld message comes back by a backed-off recycle, and a settle from an older connection does nothing.
import { strict as assert } from 'node:assert';
import type { IPublishPacket } from 'mqtt';
import { parseConfig } from '../nodes/session/config/config.js';
import { Connection } from '../nodes/session/connection/connection.js';
import type { Settle } from '../nodes/session/events.js';
import { FlowControl } from '../nodes/session/inbound/flow-control.js';
import { startAedes, type AedesHandle } from './support/aedes.js';
import { until } from './support/until.js';

let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

describe('flow control', function () {
  let broker: AedesHandle;
  let conn: Connection | undefined;
  beforeEach(async () => {
    broker = await startAedes();
  });
  afterEach(async () => {
    if (conn) conn.beginClose();
    await conn?.end();
    conn = undefined;
    await broker.close();
  });

  /** A persistent-session connection to Aedes with flow control on it, subscribed to `fc/#`. */
  async function open(): Promise<{ flow: FlowControl; got: { packet: IPublishPacket; settle: Settle }[]; redeliveries: number[]; connects: () => number }> {
    const parsed = parseConfig({ broker: broker.url, clientId: unique('fc'), backoffMin: 0.1, backoffMax: 0.2 });
    if (!parsed.ok) throw new Error(parsed.error);
    const got: { packet: IPublishPacket; settle: Settle }[] = [];
    const redeliveries: number[] = [];
    let connects = 0;
    const c = new Connection(parsed.config, {
      stream: (s) => flow.attach(s),
      packet: (p) => p.cmd === 'publish' && got.push({ packet: p, settle: flow.track(p) }),
      connect: () => void connects++,
      error: () => undefined,
      disconnect: () => undefined,
      close: () => {
        flow.detach();
        if (c.recycled()) c.reconnect();
      },
    });
    const flow = new FlowControl({ readHighWater: 1000, heldBytes: 1 << 24, backoff: parsed.config.backoff }, { recycle: () => c.recycle(), redelivery: (attempt) => redeliveries.push(attempt), shed: () => undefined });
    conn = c;
    c.create();
    c.connect();
    await until(() => connects === 1 && c.open, 'connected');
    await c.client?.subscribeAsync('fc/#', { qos: 1 });
    return { flow, got, redeliveries, connects: () => connects };
  }

  it('fetches a withheld message again by one backed-off reconnect, and counts the redeliveries in a row', async () => {
    const { flow, got, redeliveries, connects } = await open();
    await broker.publish('fc/a', 'poison', 1);
    await until(() => got.length === 1, 'the message');
    got[0].settle('withhold');
    assert.equal(flow.withheld, 1);
    assert.deepEqual(redeliveries, [1], 'one redelivery scheduled');
    await until(() => got.length === 2 && connects() === 2, 'the message again on a new connection');
    assert.equal(got[1].packet.payload.toString(), 'poison');
    got[1].settle('withhold');
    assert.deepEqual(redeliveries, [1, 2], 'the second in a row backs off further');
  });

  it('ignores a settle that comes after its connection ended', async () => {
    const { flow, got, redeliveries, connects } = await open();
    await broker.publish('fc/b', 'x', 1);
    await until(() => got.length === 1, 'the message');
    conn?.recycle();
    await until(() => connects() === 2 && got.length === 2, 'the redelivered message on the new connection');
    got[0].settle('withhold');
    assert.equal(flow.withheld, 0, 'the old connection\'s withhold does not count on the new one');
    assert.deepEqual(redeliveries, [], 'nor schedules a redelivery');
    got[1].settle('ack');
    assert.equal(flow.withheld, 0);
  });
});
