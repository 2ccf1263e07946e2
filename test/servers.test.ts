// Specifications of the server list (nodes/session/connection/servers.ts) and of a session failing over between two real Mosquittos.
import { strict as assert } from 'node:assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { parseConfig, parseServers, type SessionConfig } from '../nodes/session/config/config.js';
import { MemoryLedger } from '../nodes/session/subscriptions/ledger.js';
import { ReturnProbe } from '../nodes/session/connection/return-probe.js';
import { ServerList, type Move } from '../nodes/session/connection/servers.js';
import { MqttSession, type SessionState } from '../nodes/session/session.js';
import { requireMosquitto, startMosquitto, type MosquittoHandle } from './support/mosquitto.js';
import { freePort, listenLocally } from './support/ports.js';
import { until } from './support/until.js';
import { publishMany } from './support/publisher.js';
import { startScriptedBroker, type ScriptedBroker } from './support/scripted-broker.js';

const range = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

describe('servers', () => {
  describe('parseServers', () => {
    it('reads one URL per line, or separated by commas or spaces, in order, each with its own scheme and port', () => {
      const urls = ['mqtt://a:1883', 'mqtts://b:8883', 'ws://c:8080/mqtt'];
      for (const text of ['mqtt://a:1883\nmqtts://b:8883\nws://c:8080', 'mqtt://a:1883, mqtts://b:8883,ws://c:8080', '  mqtt://a:1883 mqtts://b:8883   ws://c:8080 ']) {
        assert.deepEqual(parseServers(text, undefined), { urls });
      }
    });

    it('applies Use TLS and the core port to each server, as to one', () => {
      assert.deepEqual(parseServers('x y:1884', 1885, true), { urls: ['mqtts://x:1885', 'mqtts://y:1884'] });
    });

    it('names the server that is invalid, and refuses one listed twice', () => {
      assert.match((parseServers('mqtt://a, ftp://b', undefined) as { error: string }).error, /unsupported scheme "ftp:".*server 2 of 2/);
      assert.match((parseServers('mqtt://a:1883 a:1883', undefined) as { error: string }).error, /listed twice/);
    });

    it('keeps one URL as before, and the first as the config URL', () => {
      const one = parseConfig({ broker: 'h', clientId: 'c' });
      assert.ok(one.ok);
      assert.deepEqual([one.config.url, one.config.servers, one.config.returnToFirst], ['mqtt://h', ['mqtt://h'], false]);
      const several = parseConfig({ broker: 'mqtt://a:1 mqtt://b:2', clientId: 'c', returnToFirst: true });
      assert.ok(several.ok);
      assert.deepEqual([several.config.url, several.config.servers, several.config.returnToFirst], ['mqtt://a:1', ['mqtt://a:1', 'mqtt://b:2'], true]);
    });

    it('refuses a proxy with servers of both kinds (one proxy setting serves them all)', () => {
      const r = parseConfig({ broker: 'mqtt://a ws://b', clientId: 'c', socksProxy: 'socks5://p:1080' });
      assert.ok(!r.ok);
      assert.match(r.error, /all mqtt:\/\/ \/ mqtts:\/\/ or all ws:\/\/ \/ wss:\/\//);
    });
  });

  describe('ServerList', () => {
    it('starts at the first, moves on round the list, and goes back to the first', () => {
      const list = new ServerList(['mqtt://a', 'mqtt://b', 'mqtt://c']);
      assert.equal(list.current, 'mqtt://a');
      list.next();
      assert.equal(list.current, 'mqtt://b');
      assert.ok(list.away);
      list.next();
      list.next();
      assert.equal(list.current, 'mqtt://a');
      list.next();
      list.first();
      assert.equal(list.current, 'mqtt://a');
      assert.ok(!list.away);
    });

    it('reports a move when a CONNACK comes from another server than the last, without credentials', () => {
      const list = new ServerList(['mqtt://u:secret@a:1', 'mqtt://b:2']);
      assert.equal(list.accepted(), undefined);
      assert.equal(list.accepted(), undefined);
      list.next();
      assert.deepEqual(list.accepted(), { from: 'mqtt://a:1', to: 'mqtt://b:2' });
    });
  });

  describe('ReturnProbe', () => {
    const INTERVAL = 50;
    /**
     * The client sockets opened while a spec runs, as Node announces them (diagnostics_channel
     * `net.client.socket`, published inside net.connect before the caller adds its listeners, so
     * ours run first): how many were refused, and whether each has closed.
     */
    let opened: { closed: boolean }[] = [];
    let refused = 0;
    const onSocket = (message: unknown): void => {
      const { socket } = message as { socket: Socket };
      const seen = { closed: false };
      opened.push(seen);
      socket.once('error', (err: NodeJS.ErrnoException) => void (err.code === 'ECONNREFUSED' && refused++));
      socket.once('close', () => void (seen.closed = true));
    };
    const allClosed = (): boolean => opened.every((s) => s.closed);
    beforeEach(() => {
      opened = [];
      refused = 0;
      subscribe('net.client.socket', onSocket);
    });
    afterEach(() => unsubscribe('net.client.socket', onSocket));

    /**
     * A barrier one probe interval long: a second probe, started now with the same interval, has
     * answered and every socket opened by then has closed. A probe whose timer was set before this
     * one (as long, so it fires first) has opened its socket by then, and handled its outcome before
     * that socket closed: what it would call back, it has.
     */
    async function oneInterval(url: string): Promise<void> {
      const clock = new ReturnProbe(INTERVAL);
      let ticked = false;
      clock.start(url, () => void (ticked = true));
      try {
        await until(() => ticked && allClosed(), 'one probe interval');
      } finally {
        clock.stop();
      }
    }

    it('calls back once the server accepts a TCP connection, and not while it refuses', async () => {
      const port = await freePort();
      const url = `mqtt://127.0.0.1:${port}`;
      const probe = new ReturnProbe(INTERVAL);
      let answered = 0;
      probe.start(url, () => answered++);
      await until(() => refused >= 3 && allClosed(), 'three probes refused');
      assert.equal(answered, 0);
      const server = createServer((socket) => socket.destroy());
      server.listen(port, '127.0.0.1');
      try {
        await until(() => answered === 1, 'the probe to answer');
        await oneInterval(url);
        assert.equal(answered, 1, 'it calls back once and stops');
      } finally {
        probe.stop();
        server.close();
      }
    });

    it('stops probing at stop()', async () => {
      const server = createServer((socket) => socket.destroy());
      const port = await listenLocally(server);
      const url = `mqtt://127.0.0.1:${port}`;
      const probe = new ReturnProbe(INTERVAL);
      let answered = 0;
      probe.start(url, () => answered++);
      probe.stop();
      try {
        await oneInterval(url);
      } finally {
        server.close();
      }
      assert.equal(answered, 0);
    });
  });

  describe('a session with two independent Mosquittos', function () {
    this.timeout(60000);
    const brokers: MosquittoHandle[] = [];
    const sessions: MqttSession[] = [];

    before(() => requireMosquitto());
    afterEach(async () => {
      await Promise.all(sessions.splice(0).map((s) => s.close()));
      for (const b of brokers.splice(0)) await b.stop();
    });

    async function pair(): Promise<[MosquittoHandle, MosquittoHandle]> {
      for (let i = 0; i < 2; i++) brokers.push(await startMosquitto({ persistence: true }));
      return [brokers[0], brokers[1]];
    }

    function session(config: SessionConfig, options: ConstructorParameters<typeof MqttSession>[2] = {}): { s: MqttSession; states: SessionState[]; payloads: string[]; moves: [Move, boolean][] } {
      const s = new MqttSession(config, new MemoryLedger(`ledger-${config.clientId}`), options);
      const states: SessionState[] = [];
      const payloads: string[] = [];
      const moves: [Move, boolean][] = [];
      s.on('state', (st) => states.push(st));
      s.on('message', (_topic, payload) => payloads.push(payload.toString()));
      s.on('moved', (move, present) => moves.push([move, present]));
      s.setSubscriptions(new Map([['fo/#', 1]]));
      sessions.push(s);
      return { s, states, payloads, moves };
    }

    const configOf = (a: MosquittoHandle, b: MosquittoHandle, clientId: string, extra: Partial<SessionConfig> = {}): SessionConfig => {
      const parsed = parseConfig({ broker: `${a.url}\n${b.url}`, clientId, backoffMin: 0.1, backoffMax: 0.4 });
      if (!parsed.ok) throw new Error(parsed.error);
      return { ...parsed.config, ...extra };
    };

    it('moves to the second at once when the first dies, subscribes there (session not present), and gets what the second receives', async () => {
      const [a, b] = await pair();
      const clientId = `fo-${process.pid}-1`;
      const { s, states, payloads, moves } = session(configOf(a, b, clientId));
      s.start();
      await until(() => states.some((st) => st.state === 'connected' && st.server === `mqtt://127.0.0.1:${a.port}`), 'connected to the first');
      await publishMany(a.url, 'fo/x', 100, { qos: 1 });
      await until(() => payloads.length === 100, '100 from the first');
      await a.stop('SIGKILL');
      const lostAt = Date.now();
      await until(() => states.some((st) => st.state === 'connected' && st.server === `mqtt://127.0.0.1:${b.port}`), 'connected to the second');
      const gap = Date.now() - lostAt;
      console.log(`      from the SIGKILL of the first to "connected" on the second: ${gap} ms`);
      assert.ok(gap < 2000, `failover took ${gap} ms; the next server is tried at once`);
      assert.deepEqual(moves, [[{ from: `mqtt://127.0.0.1:${a.port}`, to: `mqtt://127.0.0.1:${b.port}` }, false]]);
      await publishMany(b.url, 'fo/x', 100, { qos: 1, payload: (i) => String(100 + i) });
      await until(() => payloads.length === 200, '100 more from the second');
      assert.deepEqual(payloads, range(200));
    });

    it('backs off rather than spin when every server closes the connection right after CONNACK', async () => {
      const closing = (): Promise<ScriptedBroker> => startScriptedBroker(() => ({ connack: (c) => {
        c.send({ cmd: 'connack', returnCode: 0, sessionPresent: false });
        c.end();
      } }));
      const scripted = [await closing(), await closing()];
      try {
        const parsed = parseConfig({ broker: scripted.map((b) => b.url).join(' '), clientId: `fo-${process.pid}-spin`, backoffMin: 0.2, backoffMax: 0.4 });
        assert.ok(parsed.ok);
        const { s } = session(parsed.config);
        const began = Date.now();
        s.start();
        await until(() => scripted[0].connections() + scripted[1].connections() >= 4, 'four connections');
        const took = Date.now() - began;
        assert.ok(took >= 3 * 100, `four connections in ${took} ms: each retry waited at least half the first backoff`);
        assert.ok(scripted[0].connections() >= 2 && scripted[1].connections() >= 2, 'round the list');
      } finally {
        await Promise.all(sessions.splice(0).map((x) => x.close()));
        for (const b of scripted) await b.close();
      }
    });

    it('stays on the second when the first is back (default), and returns to the first with returnToFirst', async () => {
      const [a, b] = await pair();
      const stay = session(configOf(a, b, `fo-${process.pid}-2`));
      const back = session(configOf(a, b, `fo-${process.pid}-3`, { returnToFirst: true }), { returnProbeInterval: 100 });
      stay.s.start();
      back.s.start();
      await until(() => stay.s.state.state === 'connected' && back.s.state.state === 'connected', 'both on the first');
      await a.stop('SIGKILL');
      const onSecond = (st: SessionState): boolean => st.state === 'connected' && st.server === `mqtt://127.0.0.1:${b.port}`;
      await until(() => onSecond(stay.s.state) && onSecond(back.s.state), 'both on the second');
      await a.restart();
      await until(() => back.s.state.state === 'connected' && back.s.state.server === `mqtt://127.0.0.1:${a.port}`, 'returnToFirst back on the first');
      // The first has answered for at least one probe interval of the other session too; it does not move.
      assert.ok(onSecond(stay.s.state));
      assert.equal(stay.moves.length, 1);
      // Mosquitto with persistence kept the returning session's queue on the first: what was published there is delivered.
      const client = mqtt.connect(a.url, { clientId: `fo-pub-${process.pid}` });
      await client.publishAsync('fo/back', 'on the first', { qos: 1 });
      await client.endAsync();
      await until(() => back.payloads.includes('on the first'), 'the message on the first');
    });
  });
});
