// Scale-out (issue 5): three Node-RED processes, one flow, one MQTT 5 shared subscription, persistent sessions.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForSuite } from './support/mosquitto';
import { startNodeRed, type NodeRedProcess } from './support/nodered-process';
import { publishMany } from './support/publisher';
import { figures, missing, readSink, settle, sinkFlow, tally, untilProcessed } from './support/sink';

const INSTANCES = 3;
const GROUP_FILTER = '$share/workers/scale/#';

describe('scale-out: a consumer group of three Node-RED processes (Mosquitto, MQTT 5 shared subscription)', function () {
  this.timeout(120_000);
  const mosq = mosquittoForSuite();
  const dir = mkdtempSync(join(tmpdir(), 'durable-scale-'));
  const sinks = Array.from({ length: INSTANCES }, (_, i) => join(dir, `sink-${i + 1}.log`));
  const reds: NodeRedProcess[] = [];

  before(async () => {
    // One flow for every member: Node-RED fills in `${DURABLE_ID}` and `${DURABLE_SINK}` from each process's environment.
    const flow = sinkFlow({
      brokerUrl: mosq().url, clientId: '${DURABLE_ID}', topic: GROUP_FILTER, sinkFile: '${DURABLE_SINK}',
      broker: { protocolVersion: 5 }, consumer: { ackMode: 'complete' },
    });
    reds.push(...(await Promise.all(sinks.map((sink, i) =>
      startNodeRed({ flow, userDir: join(dir, `userdir-${i + 1}`), env: { DURABLE_ID: `scale-${i + 1}`, DURABLE_SINK: sink } })))));
    await Promise.all(reds.map((red, i) => red.untilLogged(new RegExp(`subscribed \\$share/workers/scale/#[\\s\\S]*as "scale-${i + 1}" \\(session new\\)`))));
  });
  beforeEach(() => {
    for (const s of sinks) writeFileSync(s, ''); // same inode: the file nodes keep appending to it
  });
  after(async () => {
    await Promise.all(reds.map((r) => r.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Prints the group's figures and each member's share. */
  function report(what: string, sent: number): ReturnType<typeof tally> {
    const per = sinks.map(readSink);
    const t = tally(sent, ...per);
    console.log(`      ${what}: ${figures(t)}; per member ${per.map((p) => p.length).join(' / ')}`);
    return t;
  }

  it('processes every one of 30,000 messages once across the group, and every member takes a share', async () => {
    const sent = 30_000;
    await publishMany(mosq().url, 'scale/all', sent, { qos: 1 });
    await settle(sinks, sent);
    const t = report('3 members', sent);
    assert.equal(t.lost, 0);
    for (const [i, s] of sinks.entries()) assert.ok(readSink(s).length > 0, `member ${i + 1} processed nothing`);
  });

  it('keeps a killed member\'s messages for its session, and delivers them when it returns with the same client ID', async () => {
    const sent = 9000;
    const killed = reds[0];
    const publishing = publishMany(mosq().url, 'scale/kill', sent, { qos: 1, rate: 3000 });
    await untilProcessed(sinks, sent / 4);
    await killed.kill('SIGKILL');
    await publishing;
    const away = report('member 1 SIGKILLed at 25%, not yet back', sent);
    const beforeReturn = readSink(sinks[0]).length;
    const lastBeforeKill = readSink(sinks[0]).at(-1);
    await killed.start();
    await settle(sinks, sent);
    const t = report('member 1 back with the same client ID', sent);
    console.log(`      held for the dead member's session: ${away.lost}; member 1 processed ${readSink(sinks[0]).length - beforeReturn} after its return`);
    if (t.lost > 0) console.log(`      lost: ${missing(sent, sinks.map(readSink)).join(', ')}; member 1's last line before the kill: ${lastBeforeKill}`);
    assert.match(killed.output(), /as "scale-1" \(session present\)/);
    assert.equal(t.lost, 0);
  });

  it('drops what Mosquitto held for a member that never returns once its session expires; later messages go to the others', async () => {
    const expiry = 3;
    const sink = join(dir, 'sink-gone.log');
    const flow = sinkFlow({ brokerUrl: mosq().url, clientId: 'scale-gone', topic: GROUP_FILTER, sinkFile: sink, broker: { protocolVersion: 5, sessionExpiry: expiry } });
    const gone = await startNodeRed({ flow, userDir: join(dir, 'userdir-gone') });
    try {
      await gone.untilLogged(/subscribed \$share\/workers\/scale\/#/);
      await gone.kill('SIGKILL');
      const batch = 3000;
      await publishMany(mosq().url, 'scale/gone', batch, { qos: 1 });
      await settle(sinks, batch, { idleMs: (expiry + 2) * 1000 });
      const held = report(`a fourth member SIGKILLed for good (session expiry ${expiry} s), after expiry`, batch);
      // Numbered after the first batch, so the tally of both batches together tells them apart.
      await publishMany(mosq().url, 'scale/gone', batch, { qos: 1, payload: (i) => String(batch + i) });
      await settle(sinks, 2 * batch);
      const second = tally(2 * batch, ...sinks.map(readSink));
      report('both batches, the second published after expiry', 2 * batch);
      console.log(`      dropped with the expired session: ${held.lost} of ${batch} (not redistributed); lost of the second batch: ${second.lost - held.lost}`);
      assert.ok(held.lost > 0 && held.lost < batch, 'Mosquitto assigned part of the first batch to the dead member');
      assert.equal(second.lost, held.lost, 'after expiry every message went to the living members');
      assert.equal(readSink(sink).length, 0);
    } finally {
      await gone.kill('SIGKILL');
    }
  });
});
