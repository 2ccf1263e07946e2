// Specs for MQTT 5 subscription options per node: No Local, Retain As Published, Retain Handling (session/subscriptions/flags.ts).
import { strict as assert } from 'node:assert';
import { connectAsync } from 'mqtt';
import { coverFilters } from '../nodes/session/subscriptions/cover';
import { coverFlags } from '../nodes/session/subscriptions/flags';
import { mosquittoForSuite } from './support/mosquitto';
import { collect, consumerFlow, helper, load, logged } from './support/nodered';
import { until } from './support/until';

let seq = 0;
const freshId = (): string => `nr-flags-${process.pid}-${++seq}`;
/** The config node logs this once the broker granted the SUBSCRIBE (SUBACK). */
const subscribed = (brokerId: string): boolean => logged(brokerId, 'log', /^subscribed /);

describe('subscription options (nl, rap, rh)', () => {
  it('merges the options of filters that share a broker subscription so that no node misses what it asked for', () => {
    const wanted = new Map([['a/b', 1], ['a/#', 1], ['$share/g/a/b', 1]] as const);
    const subs = coverFilters(wanted);
    const flags = coverFlags(subs, [
      ['a/b', { nl: true, rap: false, rh: 2 }],
      ['a/#', { nl: false, rap: true, rh: 1 }],
      ['$share/g/a/b', { nl: true, rh: 2 }],
    ]);
    assert.deepEqual(flags.get('a/#'), { nl: false, rap: true, rh: 1 });
    assert.deepEqual(flags.get('$share/g/a/b'), { nl: true, rap: false, rh: 2 }, 'a shared filter keeps its own');
  });

  describe('on the wire (Mosquitto, MQTT 5)', function () {
    const mosq = mosquittoForSuite();
    afterEach(async () => {
      await helper.unload();
    });

    async function publish(topic: string, payload: string, retain: boolean): Promise<void> {
      const c = await connectAsync(mosq().url, { protocolVersion: 5, clean: true });
      await c.publishAsync(topic, payload, { qos: 1, retain });
      await c.endAsync();
    }

    it('rh 2 gets no retained message on subscribe; rh 0 does', async () => {
      await publish('flags/rh/x', 'old', true);
      await load([
        ...consumerFlow(mosq().url, [{ id: 'never', topic: 'flags/rh/#', rh: 2 }], { clientId: freshId(), protocolVersion: 5 }),
        ...consumerFlow(mosq().url, [{ id: 'always', topic: 'flags/rh/#', rh: '0' }], { id: 'b2', clientId: freshId(), protocolVersion: 5 }).filter((n) => n.type !== 'tab').map((n) => (n.type === 'durable-mqtt-in' ? { ...n, broker: 'b2' } : n)),
      ]);
      const never = collect('never-out');
      const always = collect('always-out');
      await until(() => subscribed('b1') && subscribed('b2') && always.length === 1, 'the retained message at the rh 0 node');
      await publish('flags/rh/x', 'live', false);
      await until(() => never.length === 1 && always.length === 2, 'the live message at both');
      assert.deepEqual(never.map((m) => m.payload), ['live']);
      assert.deepEqual(always.map((m) => m.payload), ['old', 'live']);
      await publish('flags/rh/x', '', true);
    });

    it('rap keeps the retain flag of a message forwarded live; without it the broker clears it', async () => {
      await load([
        ...consumerFlow(mosq().url, [{ id: 'kept', topic: 'flags/rap/#', rap: true, rh: 2 }], { clientId: freshId(), protocolVersion: 5 }),
        ...consumerFlow(mosq().url, [{ id: 'cleared', topic: 'flags/rap/#', rh: 2 }], { id: 'b2', clientId: freshId(), protocolVersion: 5 }).filter((n) => n.type !== 'tab').map((n) => (n.type === 'durable-mqtt-in' ? { ...n, broker: 'b2' } : n)),
      ]);
      const kept = collect('kept-out');
      const cleared = collect('cleared-out');
      await until(() => subscribed('b1') && subscribed('b2'), 'both subscribed');
      await publish('flags/rap/x', 'r', true);
      await until(() => kept.length === 1 && cleared.length === 1, 'the message at both');
      assert.equal(kept[0].retain, true);
      assert.equal(cleared[0].retain, false);
      await publish('flags/rap/x', '', true);
    });

    it('nl keeps the config node\'s own birth message from its own consumer; without nl it arrives', async () => {
      const flow = (nl: boolean, id: string) =>
        consumerFlow(mosq().url, [{ id, topic: `flags/nl-${id}/#`, nl }], { id: `b-${id}`, clientId: freshId(), protocolVersion: 5, birthTopic: `flags/nl-${id}/birth`, birthPayload: 'hello' })
          .filter((n) => n.type !== 'tab')
          .map((n) => (n.type === 'durable-mqtt-in' ? { ...n, broker: `b-${id}` } : n));
      const observer = await connectAsync(mosq().url, { protocolVersion: 5, clean: true });
      let births = 0;
      observer.on('message', () => births++);
      await observer.subscribeAsync('flags/nl-local/birth', { qos: 1 });
      await load([{ id: 'f1', type: 'tab' }, ...flow(true, 'local'), ...flow(false, 'echo')]);
      const local = collect('local-out');
      const echo = collect('echo-out');
      await until(() => echo.length === 1, 'the birth message back at the node without nl');
      assert.equal(echo[0].payload, 'hello');
      // The nl node's own birth has been through the broker before the next message is published.
      await until(() => births === 1, 'the nl node\'s birth message at another client');
      await observer.endAsync();
      await publish('flags/nl-local/other', 'from elsewhere', false);
      await until(() => local.length === 1, 'a message from another client');
      assert.deepEqual(local.map((m) => m.payload), ['from elsewhere']);
    });
  });
});
