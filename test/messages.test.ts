// Specs for the broker config's birth, close and will messages (session/config/messages.ts), read from core's property names.
import { strict as assert } from 'node:assert';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { clientOptions, parseConfig } from '../nodes/session/config/config';
import { parseMessages } from '../nodes/session/config/messages';
import { mosquittoForSuite } from './support/mosquitto';
import { consumerFlow, helper, lastStatus, load } from './support/nodered';
import { until } from './support/until';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

let seq = 0;
const freshId = (): string => `nr-lwt-${process.pid}-${++seq}`;

describe('birth, close and will messages', () => {
  describe('parseMessages', () => {
    it("reads core's fields, strings included, and sends nothing for an empty topic", () => {
      const r = parseMessages({ birthTopic: 'st/up', birthPayload: 'online', birthQos: '1', birthRetain: 'true', closeTopic: '', willTopic: ' ' }, false);
      assert.ok('messages' in r);
      assert.deepEqual(r.messages.birth, { topic: 'st/up', payload: 'online', options: { qos: 1, retain: true } });
      assert.equal(r.messages.close, undefined);
      assert.equal(r.messages.will, undefined);
    });

    it("maps core's MQTT 5 extras (birthMsg, willMsg) onto MQTT.js properties, with MQTT 5 only", () => {
      const raw = {
        willTopic: 'st/gone', willQos: '2', willRetain: false,
        willMsg: { contentType: 'text/plain', userProps: '{"site":"a","n":1}', respTopic: 'st/ask', correl: 'c-1', expiry: '60', delay: '5' },
      };
      const r = parseMessages(raw, true);
      assert.ok('messages' in r);
      assert.deepEqual(r.messages.will, {
        topic: 'st/gone', payload: '', qos: 2, retain: false,
        properties: { contentType: 'text/plain', responseTopic: 'st/ask', correlationData: Buffer.from('c-1'), messageExpiryInterval: 60, willDelayInterval: 5, userProperties: { site: 'a', n: '1' } },
      });
      const v4 = parseMessages(raw, false);
      assert.ok('messages' in v4);
      assert.equal(v4.messages.will?.properties, undefined);
    });

    it('refuses a wildcard topic, a bad QoS and bad extras, naming the property', () => {
      assert.match((parseMessages({ birthTopic: 'a/#' }, false) as { error: string }).error, /^birthTopic "a\/#": .*wildcards \+ or #/);
      // Mosquitto closes the connection on such a topic: a will would keep the CONNECT from ever succeeding.
      assert.match((parseMessages({ willTopic: 'st\u0001gone' }, false) as { error: string }).error, /^willTopic "st\\u0001gone": .*control character U\+0001/);
      assert.match((parseMessages({ birthTopic: 'st', birthMsg: { contentType: 'a\u0000' } }, true) as { error: string }).error, /^birthMsg: invalid contentType: .*U\+0000/);
      assert.match((parseMessages({ birthTopic: 'st', birthMsg: { respTopic: 'r/+' } }, true) as { error: string }).error, /^birthMsg: invalid responseTopic "r\/\+": .*wildcards/);
      assert.deepEqual(parseMessages({ closeTopic: 'a', closeQos: '3' }, false), { error: 'closeQos must be 0, 1 or 2' });
      assert.deepEqual(parseMessages({ willTopic: 'a', willMsg: { userProps: '{' } }, true), { error: 'willMsg.userProps must be a JSON object' });
      assert.deepEqual(parseMessages({ willTopic: 'a', willMsg: { delay: 'x' } }, true), { error: 'willMsg.delay must be a whole number of seconds' });
    });

    it('puts the will into the CONNECT options, and refuses a broker config with a bad message', () => {
      const parsed = parseConfig({ broker: 'h', clientId: 'c', willTopic: 'st/gone', willPayload: 'offline' });
      assert.ok(parsed.ok);
      assert.deepEqual(clientOptions(parsed.config).will, { topic: 'st/gone', payload: 'offline', qos: 0, retain: false });
      assert.equal(parseConfig({ broker: 'h', clientId: 'c', birthTopic: '+' }).ok, false);
    });
  });

  describe('on the wire (Mosquitto, MQTT 5)', function () {
    const mosq = mosquittoForSuite();
    let observer: MqttClient | undefined;
    let proxy: TcpProxy | undefined;
    afterEach(async () => {
      await helper.unload();
      await observer?.endAsync();
      await proxy?.close();
      observer = proxy = undefined;
    });

    /** A client that records everything published under `prefix`. */
    async function observe(prefix: string): Promise<IPublishPacket[]> {
      const seen: IPublishPacket[] = [];
      observer = await connectAsync(mosq().url, { protocolVersion: 5, clean: true });
      observer.on('message', (_t, _p, packet) => seen.push(packet));
      await observer.subscribeAsync(`${prefix}/#`, { qos: 1 });
      return seen;
    }

    it('publishes the birth message after connecting, with its MQTT 5 properties, and the close message on shutdown', async () => {
      const seen = await observe('lwt1');
      await load(
        consumerFlow(mosq().url, [{ topic: 'lwt1/in' }], {
          clientId: freshId(), protocolVersion: 5,
          birthTopic: 'lwt1/state', birthPayload: 'online', birthQos: '1', birthRetain: 'false', birthMsg: { contentType: 'text/plain', userProps: '{"node":"red"}' },
          closeTopic: 'lwt1/state', closePayload: 'bye', closeQos: '1',
        }),
      );
      await until(() => seen.length === 1, 'the birth message');
      assert.equal(seen[0].payload.toString(), 'online');
      assert.equal(seen[0].properties?.contentType, 'text/plain');
      assert.deepEqual({ ...seen[0].properties?.userProperties }, { node: 'red' });
      await helper.unload();
      await until(() => seen.length === 2, 'the close message');
      assert.equal(seen[1].payload.toString(), 'bye');
    });

    it('leaves a will that the broker publishes when the connection dies without DISCONNECT', async () => {
      const seen = await observe('lwt2');
      proxy = await startTcpProxy(mosq().port);
      await load(consumerFlow(proxy.url, [{ topic: 'lwt2/in' }], { clientId: freshId(), protocolVersion: 5, willTopic: 'lwt2/state', willPayload: 'lost', willQos: '1', backoffMin: 5 }));
      await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected');
      assert.equal(seen.length, 0, 'no will while connected');
      proxy.drop();
      await until(() => seen.length === 1, 'the will');
      assert.equal(seen[0].payload.toString(), 'lost');
    });
  });
});
