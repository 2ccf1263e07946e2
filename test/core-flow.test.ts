// Issue 10: a flow exported from the core MQTT nodes, with only the two types switched, runs as it is (Node-RED as a process, Mosquitto).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForSuite } from './support/mosquitto';
import { startNodeRed, type FlowNode, type NodeRedProcess } from './support/nodered-process';
import { publishMany } from './support/publisher';
import { figures, settle, untilProcessed } from './support/sink';

const FIXTURE = join(__dirname, 'fixtures', 'core-flow.json');
const BATCH = 200;

/**
 * The fixture as the core editor exported it (strings everywhere, `clientid`, `cleansession`,
 * `port`, `datatype: "auto-detect"`, `nl`/`rap`/`rh`/`inputs`), with the two `type`s switched.
 * Only what ties it to this machine changes: the broker's port and the file the readings go to.
 */
function fixtureFlow(port: number, sinkFile: string): FlowNode[] {
  const flow = JSON.parse(readFileSync(FIXTURE, 'utf8')) as FlowNode[];
  return flow.map((n) => (n.type === 'durable-mqtt-broker' ? { ...n, port: String(port) } : n.type === 'file' ? { ...n, filename: sinkFile } : n));
}

describe('core flow with the types switched (Node-RED as a process, Mosquitto)', function () {
  this.timeout(180_000);
  const mosq = mosquittoForSuite();
  let dir = '';
  let red: NodeRedProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-core-flow-'));
  });
  afterEach(async () => {
    await red?.kill('SIGKILL');
    red = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('receives every message, including those published while Node-RED was down', async () => {
    const sink = join(dir, 'readings.log');
    const flow = fixtureFlow(mosq().port, sink);
    const broker = flow.find((n) => n.type === 'durable-mqtt-broker');
    assert.equal(broker?.clientid, 'nodered-sensors-01', 'the fixture keeps core\'s property names');
    red = await startNodeRed({ flow, userDir: join(dir, 'userdir') });
    await red.untilLogged(/\] subscribed core-flow\/sensors\/# \(QoS 2\)/);
    // The payloads are numbers in text: auto-detect parses them, and the file node writes them back as text.
    await publishMany(mosq().url, 'core-flow/sensors/a', BATCH, { qos: 1 });
    await untilProcessed([sink], BATCH);
    await red.kill('SIGTERM');
    await publishMany(mosq().url, 'core-flow/sensors/b', BATCH, { qos: 1, payload: (i) => String(BATCH + i) });
    await red.start();
    const t = await settle([sink], 2 * BATCH);
    console.log(`      core flow, stopped after ${BATCH}: ${figures(t)}`);
    assert.equal(t.lost, 0);
    assert.match(red.output(), /connected to mqtt:\/\/127\.0\.0\.1:\d+ as "nodered-sensors-01" \(session present\)/);
    assert.doesNotMatch(red.output(), /invalid (broker )?configuration|datatype must be|client ID is required/);
  });
});
