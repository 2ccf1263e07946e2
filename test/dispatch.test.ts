// Specs for nodes/broker/dispatch.ts: which in nodes a received message goes to, how their settles join, and parking while flows do not run.
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt';
import { Dispatcher, joinSettles } from '../nodes/broker/dispatch';
import type { Consumer } from '../nodes/broker/types';
import type { Settle } from '../nodes/session/session';

type Verdict = Parameters<Settle>[0];

/** A consumer that records what it is given, and settles each message as `answer` says (or leaves it to the spec). */
interface Probe extends Consumer {
  readonly got: { topic: string; settle: Settle }[];
  readonly refusals: string[];
  filters: string[];
}

function probe(filters: string[], answer?: Verdict): Probe {
  const got: Probe['got'] = [];
  const refusals: string[] = [];
  return {
    filters,
    qos: 1,
    got,
    refusals,
    stopping: () => undefined,
    deliver: (topic, _payload, _packet, settle) => {
      got.push({ topic, settle });
      if (answer) settle(answer);
    },
    onState: () => undefined,
    onSubscribeFailed: (filter) => refusals.push(filter),
  };
}

function packet(topic: string, subscriptionIdentifier?: number | number[]): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 1, ...(subscriptionIdentifier === undefined ? {} : { properties: { subscriptionIdentifier } }) };
}

/** A dispatcher with the given held identifiers (MQTT 5), recording what it reports. */
function dispatcher(ids: () => ReadonlyMap<string, number> = held()) {
  const failures: string[] = [];
  const debug: string[] = [];
  const d = new Dispatcher({ subscriptionIds: ids, routeFailed: (err, topic) => failures.push(`${topic}: ${err.message}`), debug: (text) => debug.push(text) });
  return { d, failures, debug };
}

/** A dispatcher with `consumers` registered, after flows:started. */
function running(consumers: Consumer[], ids?: () => ReadonlyMap<string, number>): Dispatcher {
  const { d } = dispatcher(ids);
  for (const c of consumers) d.add(c);
  d.start();
  return d;
}

/** The held identifiers as MqttSession.subscriptionIds gives them: the same map until they change. */
function held(entries: [filter: string, id: number][] = []): () => ReadonlyMap<string, number> {
  const ids = new Map(entries);
  return () => ids;
}

/** The broker's settle of one message: every verdict it was called with. */
function verdicts(): { settle: Settle; calls: Verdict[] } {
  const calls: Verdict[] = [];
  return { settle: (v) => calls.push(v), calls };
}

const send = (d: Dispatcher, topic: string, settle: Settle, ids?: number | number[]): void => d.route(topic, Buffer.from('x'), packet(topic, ids), settle);

describe('dispatch', () => {
  describe('routing', () => {
    it('gives a message to the one consumer whose filter matches, with the broker\'s own settle', () => {
      const a = probe(['a/#']);
      const b = probe(['b/#']);
      const d = running([a, b]);
      const v = verdicts();
      send(d, 'a/1', v.settle);
      assert.deepEqual(a.got.map((g) => g.topic), ['a/1']);
      assert.equal(b.got.length, 0);
      assert.equal(a.got[0].settle, v.settle, 'one consumer settles the message itself');
    });

    it('gives a message to every consumer that wants it, once each however many of its filters match', () => {
      const a = probe(['s/#', 's/+'], 'ack');
      const b = probe(['s/1'], 'ack');
      const d = running([a, b]);
      const v = verdicts();
      send(d, 's/1', v.settle);
      assert.equal(a.got.length, 1);
      assert.equal(b.got.length, 1);
      assert.deepEqual(v.calls, ['ack']);
    });

    it('acknowledges a message nobody wants while flows run', () => {
      const { d } = dispatcher();
      d.add(probe(['a']));
      d.start();
      const v = verdicts();
      send(d, 'b', v.settle);
      assert.deepEqual(v.calls, ['ack']);
    });

    it('routes by a consumer\'s new filters once rerouted, and not to one deleted', () => {
      const a = probe(['old'], 'ack');
      const d = running([a]);
      a.filters = ['new'];
      assert.equal(d.reroute(a), true);
      send(d, 'new', verdicts().settle);
      send(d, 'old', verdicts().settle);
      assert.deepEqual(a.got.map((g) => g.topic), ['new']);
      d.delete(a);
      send(d, 'new', verdicts().settle);
      assert.equal(a.got.length, 1);
    });

    it('does not route a consumer that is not registered (closed since) when it is rerouted', () => {
      const { d } = dispatcher();
      const gone = probe(['x']);
      d.start();
      assert.equal(d.reroute(gone), false);
      send(d, 'x', verdicts().settle);
      assert.equal(gone.got.length, 0);
    });

    it('reports a message whose routing throws, acknowledges it, and routes the next one', () => {
      const { d, failures } = dispatcher();
      const a = probe(['#'], 'ack');
      d.add(a);
      d.start();
      const bad = verdicts();
      send(d, 'a\u0000b', bad.settle);
      assert.deepEqual(bad.calls, ['ack']);
      assert.equal(failures.length, 1);
      assert.match(failures[0], /U\+0000/);
      send(d, 'a/b', verdicts().settle);
      assert.deepEqual(a.got.map((g) => g.topic), ['a/b']);
    });

    it('tells a refused broker filter to the consumers whose filters it carries', () => {
      const { d } = dispatcher();
      const a = probe(['r/1']);
      const b = probe(['r/#']);
      const c = probe(['other']);
      for (const x of [a, b, c]) d.add(x);
      d.refused('r/#', 0x87);
      assert.deepEqual([a.refusals, b.refusals, c.refusals], [['r/#'], ['r/#'], []]);
    });
  });

  describe('joinSettles', () => {
    it('settles once, with ack, when every consumer has acknowledged', () => {
      const v = verdicts();
      const each = joinSettles(3, v.settle);
      each('ack');
      each('ack');
      assert.deepEqual(v.calls, [], 'not before all have settled');
      each('ack');
      assert.deepEqual(v.calls, ['ack']);
    });

    it('withholds when any consumer withholds, whichever settles last', () => {
      for (const order of [['withhold', 'ack', 'ack'], ['ack', 'ack', 'withhold']] as Verdict[][]) {
        const v = verdicts();
        const each = joinSettles(order.length, v.settle);
        for (const verdict of order) each(verdict);
        assert.deepEqual(v.calls, ['withhold'], order.join(', '));
      }
    });

    it('joins the settles of the consumers one message went to', () => {
      const [a, b] = [probe(['j/#']), probe(['j/#'])];
      const v = verdicts();
      send(running([a, b]), 'j/1', v.settle);
      a.got[0].settle('withhold');
      assert.deepEqual(v.calls, []);
      b.got[0].settle('ack');
      assert.deepEqual(v.calls, ['withhold']);
    });
  });

  describe('parking while flows do not run', () => {
    it('parks a message nobody wants before flows:started, and routes it, in order, to the consumer that came meanwhile', () => {
      const { d } = dispatcher();
      const first = verdicts();
      const second = verdicts();
      send(d, 'p/1', first.settle);
      send(d, 'p/2', second.settle);
      assert.deepEqual([first.calls, second.calls], [[], []], 'neither acknowledged nor withheld');
      const late = probe(['p/#'], 'ack');
      d.add(late);
      d.start();
      assert.equal(late.got.length, 0, 'start alone does not route them');
      d.replay();
      assert.deepEqual(late.got.map((g) => g.topic), ['p/1', 'p/2']);
      assert.deepEqual([first.calls, second.calls], [['ack'], ['ack']]);
      d.replay();
      assert.equal(late.got.length, 2, 'each once');
    });

    it('acknowledges a parked message nobody wants once flows run, and says so at debug', () => {
      const { d, debug } = dispatcher();
      const v = verdicts();
      send(d, 'nobody', v.settle);
      d.start();
      d.replay();
      assert.deepEqual(v.calls, ['ack']);
      assert.deepEqual(debug, ['no consumer wants nobody any more; acknowledged']);
    });

    it('parks again from flows:stopping until the next flows:started', () => {
      const a = probe(['s/#'], 'ack');
      const d = running([a]);
      d.stop();
      d.delete(a);
      const v = verdicts();
      send(d, 's/1', v.settle);
      assert.deepEqual(v.calls, []);
      const b = probe(['s/#'], 'ack');
      d.add(b);
      d.start();
      d.replay();
      assert.deepEqual(b.got.map((g) => g.topic), ['s/1']);
      assert.deepEqual(v.calls, ['ack']);
      assert.equal(a.got.length, 0);
    });

    it('withholds a QoS 1/2 message a consumer wants while flows do not run, and delivers a QoS 0 one', () => {
      const { d } = dispatcher();
      const a = probe(['w/#'], 'ack');
      d.add(a);
      const v = verdicts();
      send(d, 'w/1', v.settle);
      assert.deepEqual(v.calls, ['withhold'], 'the broker sends it again once flows run');
      assert.equal(a.got.length, 0, 'a stopped node never sees it');
      d.route('w/0', Buffer.from('x'), { ...packet('w/0'), qos: 0 }, verdicts().settle);
      assert.deepEqual(a.got.map((g) => g.topic), ['w/0']);
    });

    it('tells each consumer at flows:stopping, so it withholds what is inside its flow', () => {
      const { d } = dispatcher();
      let stopped = 0;
      d.add({ ...probe(['x']), stopping: () => stopped++ });
      d.start();
      assert.equal(stopped, 0);
      d.stop();
      assert.equal(stopped, 1);
      assert.equal(d.running, false);
    });
  });

  describe('by MQTT 5 subscription identifier', () => {
    it('routes a copy to the consumers its identifier serves, not every consumer its topic matches', () => {
      const wide = probe(['i/#'], 'ack');
      const narrow = probe(['i/1'], 'ack');
      const d = running([wide, narrow], held([['i/#', 1], ['i/1', 2]]));
      send(d, 'i/1', verdicts().settle, 2);
      assert.deepEqual([wide.got.length, narrow.got.length], [0, 1]);
      send(d, 'i/1', verdicts().settle, 1);
      assert.deepEqual([wide.got.length, narrow.got.length], [1, 1]);
    });

    it('routes by topic a copy whose identifier is unknown', () => {
      const a = probe(['u/#'], 'ack');
      const d = running([a], held([['u/#', 1]]));
      send(d, 'u/1', verdicts().settle, 9);
      assert.equal(a.got.length, 1);
    });

    it('acknowledges, even before flows:started, a copy whose identifier serves nobody while its topic has a consumer', () => {
      // Mosquitto sends a copy per matching subscription: the other copy brings it to the consumer.
      const { d } = dispatcher(held([['c/#', 1], ['c/+', 2]]));
      d.add(probe(['c/+']));
      const v = verdicts();
      send(d, 'c/1', v.settle, 1);
      assert.deepEqual(v.calls, ['ack']);
    });

    it('builds the identifier routes again when a consumer comes or goes', () => {
      const a = probe(['k/#'], 'ack');
      const d = running([a], held([['k/#', 1]]));
      send(d, 'k/1', verdicts().settle, 1);
      const b = probe(['k/#'], 'ack');
      d.add(b);
      send(d, 'k/2', verdicts().settle, 1);
      assert.deepEqual([a.got.length, b.got.length], [2, 1], 'the consumer added after the first copy gets the next');
      d.delete(a);
      send(d, 'k/3', verdicts().settle, 1);
      assert.deepEqual([a.got.length, b.got.length], [2, 2], 'the one deleted gets no more');
    });

    it('builds the identifier routes again when the held identifiers change', () => {
      let ids: ReadonlyMap<string, number> = new Map([['h/#', 1], ['h/1', 2]]);
      const wide = probe(['h/#'], 'ack');
      const narrow = probe(['h/1'], 'ack');
      const d = running([wide, narrow], () => ids);
      send(d, 'h/1', verdicts().settle, 2);
      assert.deepEqual([wide.got.length, narrow.got.length], [0, 1]);
      // Subscribed again, the filters hold each other's identifiers: a new map, as MqttSession.subscriptionIds gives after each change.
      ids = new Map([['h/#', 2], ['h/1', 1]]);
      send(d, 'h/1', verdicts().settle, 2);
      assert.deepEqual([wide.got.length, narrow.got.length], [1, 1]);
    });
  });
});
