// Process-level faults (issue 3): Node-RED killed, redeployed, Mosquitto killed (once, and again and again), the connection cut without FIN, a broker that reads our acks slowly.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForSuite, startMosquitto, type MosquittoHandle } from './support/mosquitto';
import { startNodeRed, type NodeRedProcess } from './support/nodered-process';
import { until } from './support/until';
import { publishMany } from './support/publisher';
import { figures, readStatuses, settle, sinkFlow, untilProcessed, type SinkFlowOptions, type Tally } from './support/sink';
import { startSlowReader, type SlowReader } from './support/slow-reader';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

const SENT = 4000;
// Mosquitto saves its in-memory state only every 30 minutes by default, so a SIGKILL would forget
// every message since; saving after each change narrows that to the packet being handled.
const MOSQUITTO_SAVE_EVERY_CHANGE = 'autosave_on_changes true\nautosave_interval 1';
// Restarts in a row, each before the connection lasted the takeover window: the churn soak's broker kills.
const RESTARTS = 4;

function report(what: string, t: Tally): void {
  console.log(`      ${what}: ${figures(t)}`);
}

describe('faults (Node-RED as a process, Mosquitto)', function () {
  this.timeout(180_000);
  const mosq = mosquittoForSuite();
  let dir = '';
  let red: NodeRedProcess | undefined;
  let proxy: TcpProxy | undefined;
  let ownBroker: MosquittoHandle | undefined;
  let slow: SlowReader | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-faults-'));
  });
  afterEach(async () => {
    await red?.kill('SIGKILL');
    await proxy?.close();
    await ownBroker?.stop('SIGKILL');
    await slow?.close();
    red = proxy = ownBroker = slow = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts Node-RED on the sink flow; the topic and client ID are the test's own. */
  async function consume(name: string, o: Partial<SinkFlowOptions> = {}): Promise<{ sink: string; flow: ReturnType<typeof sinkFlow> }> {
    const sink = join(dir, 'sink.log');
    const flow = sinkFlow({ brokerUrl: mosq().url, clientId: `faults-${name}`, topic: `faults/${name}`, sinkFile: sink, ...o });
    red = await startNodeRed({ flow, userDir: join(dir, 'userdir') });
    await red.untilLogged(/\] subscribed faults\//);
    return { sink, flow };
  }

  it('loses nothing when Node-RED is killed (SIGKILL) while messages wait in a delay node, and restarted', async () => {
    const { sink } = await consume('kill', { delayRate: 500, consumer: { ackMode: 'complete' } });
    const publishing = publishMany(mosq().url, 'faults/kill', SENT, { qos: 1 });
    await untilProcessed([sink], SENT / 4);
    await red?.kill('SIGKILL');
    await publishing;
    await red?.start();
    const t = await settle([sink], SENT);
    report('Node-RED SIGKILL at 25%', t);
    assert.match(red?.output() ?? '', /\(session present\)/, 'the restarted process found its session');
    assert.equal(t.lost, 0, 'messages acknowledged but still in the flow died with Node-RED');
  });

  it('loses nothing across three full redeploys through the Admin API at 1,000 msg/s', async () => {
    const sent = 6000;
    const { sink, flow } = await consume('deploy');
    const publishing = publishMany(mosq().url, 'faults/deploy', sent, { qos: 1, rate: 1000 });
    for (const share of [0.2, 0.4, 0.6]) {
      await untilProcessed([sink], sent * share);
      await red?.deploy(flow);
    }
    await publishing;
    const t = await settle([sink], sent);
    report('3 full redeploys', t);
    assert.equal(t.lost, 0);
    // Each deploy really closed the session and found it again.
    assert.equal(red?.output().match(/\(session present\)/g)?.length, 3);
  });

  it('loses nothing when Mosquitto (persistence true) is killed with SIGKILL mid-stream and restarted on the same data dir and port', async () => {
    ownBroker = await startMosquitto({ persistence: true, extraConfig: MOSQUITTO_SAVE_EVERY_CHANGE });
    const { sink } = await consume('broker-kill', { brokerUrl: ownBroker.url });
    // The publisher reconnects too, and resends what the dead broker had not acknowledged.
    const publishing = publishMany(ownBroker.url, 'faults/broker-kill', SENT, { qos: 1, rate: 500, connectOptions: { reconnectPeriod: 250 } });
    await untilProcessed([sink], SENT / 4);
    await ownBroker.stop('SIGKILL');
    await ownBroker.restart();
    await publishing;
    const t = await settle([sink], SENT);
    report('Mosquitto SIGKILL at 25%', t);
    assert.equal(t.lost, 0);
    assert.match(red?.output() ?? '', /\(session present\)/, 'the session survived the broker crash');
  });

  it('notices a connection cut without FIN through keepalive, reconnects and loses nothing', async () => {
    proxy = await startTcpProxy(mosq().port);
    const statusFile = join(dir, 'status.log');
    const { sink } = await consume('cut', { brokerUrl: proxy.url, broker: { keepalive: 2 }, statusFile });
    const publishing = publishMany(mosq().url, 'faults/cut', SENT, { qos: 1, rate: 500 });
    await untilProcessed([sink], SENT / 4);
    const before = readStatuses(statusFile).length;
    proxy.blackhole();
    await until(() => readStatuses(statusFile).slice(before).some((s) => s.state !== 'connected'), 'the consumer to notice the cut', 30_000);
    // Reset what went silent (as a NAT or firewall timing out would), then forward new connections.
    proxy.drop();
    proxy.resume();
    await publishing;
    const t = await settle([sink], SENT);
    report('connection cut without FIN at 25%', t);
    const after = readStatuses(statusFile).slice(before);
    console.log(`      status after the cut: ${after.map((s) => s.state + (s.reason ? ` (${s.reason})` : '')).join(' → ')}`);
    assert.equal(t.lost, 0);
    assert.ok(after.some((s) => s.state === 'reconnecting'), 'the badge showed reconnecting');
    // No FIN or RST reached the consumer: only its keepalive could tell the connection was dead.
    assert.match(red?.output() ?? '', /connectionLost \(Keepalive timeout\)/);
    assert.deepEqual(after[after.length - 1], { state: 'connected', sessionPresent: true });
  });

  it(`reconnects from the first backoff step after each of ${RESTARTS} Mosquitto restarts in a row, and sees no takeover in them`, async () => {
    ownBroker = await startMosquitto({ persistence: true, extraConfig: MOSQUITTO_SAVE_EVERY_CHANGE });
    const broker = ownBroker;
    const statusFile = join(dir, 'status.log');
    await consume('restarts', { brokerUrl: broker.url, statusFile });
    const firstAttempts: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      const before = readStatuses(statusFile).length;
      const since = (): ReturnType<typeof readStatuses> => readStatuses(statusFile).slice(before);
      await broker.stop('SIGKILL');
      // Down until a reconnect was refused, as when the broker takes a moment to come back.
      await until(() => since().some((s) => s.state === 'error' && s.reason === 'unreachable'), 'a refused reconnect', 60_000);
      await broker.restart();
      await until(() => since().some((s) => s.state === 'connected'), 'the consumer to reconnect', 120_000);
      firstAttempts.push(since().find((s) => s.state === 'reconnecting')?.attempt ?? NaN);
    }
    console.log(`      first reconnect attempt after each restart: ${firstAttempts.join(', ')}`);
    assert.deepEqual(firstAttempts, new Array<number>(RESTARTS).fill(1), 'each outage starts the backoff over');
    assert.doesNotMatch(red?.output() ?? '', /in use by another client/);
  });

  it('keeps the connection while the broker reads our acks more slowly than we send them, so nothing comes twice', async () => {
    // One packet of ours reaches the broker every 25 ms; our PINGREQ waits behind the acks before it.
    slow = await startSlowReader(mosq().port, 40);
    const reader = slow;
    const { sink } = await consume('slow-reader', { brokerUrl: reader.url, broker: { keepalive: 3 } });
    // A backlog the broker sends at once when the consumer comes back, then a trickle that keeps it sending.
    await red?.kill('SIGKILL');
    const backlog = 400;
    const trickle = 200;
    await publishMany(mosq().url, 'faults/slow-reader', backlog, { qos: 1 });
    await red?.start();
    await publishMany(mosq().url, 'faults/slow-reader', trickle, { qos: 1, rate: 20, payload: (i) => String(backlog + i) });
    await until(() => reader.queued() === 0, 'the broker to have read every ack', 60_000);
    const t = await settle([sink], backlog + trickle);
    report(`broker reading our acks slowly (${reader.dropped()} packets of ours never read)`, t);
    assert.doesNotMatch(red?.output() ?? '', /Keepalive timeout/);
    assert.equal(reader.dropped(), 0, 'a connection given up takes the unread acks with it, and the broker sends those messages again');
    assert.equal(t.lost, 0);
    assert.equal(t.duplicates, 0);
  });
});
