// Checks the one-command demo (scripts/demo.ts) end to end, its broker that outlives Ctrl-C, and that every flow in examples/ deploys cleanly.
import { strict as assert } from 'node:assert';
import { execSync, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, BROKER_FILE } from '../scripts/demo-broker-control';
import { onPath, publishCommand } from '../scripts/demo-publish-command';
import { startAedes, type AedesHandle } from './support/aedes';
import { REPO_ROOT, START_TIMEOUT_MS, ensureBuilt, exitOf, spawnDemo, startDemo, type DemoRun } from './support/demo';
import { freePort } from './support/ports';
import { mosquittoForSuite, mosquittoSubscribeCount } from './support/mosquitto';
import { publishMany } from './support/publisher';
import { callsOf, helper, lastStatus, load, userDirForSuite } from './support/nodered';
import { until } from './support/until';

const EXIT_TIMEOUT_MS = 15_000;
// The count node logs the first counter message and every other message: topic, running count and payload.
const COUNTER_LINE = /\[function:count per topic\] demo\/counter #1: \{"count":\d+,"at":"[^"]+"\}/;
/** Messages published while Node-RED is down, as the README's story says "a few". */
const AWAY = 5;

/** The status of a GET (or, with `upgrade`, a WebSocket handshake) to the editor at `port`, sent with `host` as its Host header, as a DNS-rebound page would. */
function statusWithHost(port: number, path: string, host: string, upgrade = false): Promise<number> {
  const headers: Record<string, string> = { Host: host };
  if (upgrade) Object.assign(headers, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs what the banner's "Publish:" line says, as a user would, from the project folder (where `npx mqtt` resolves). Returns the program. */
function publishAsPrinted(command: string, count: number): string {
  for (let i = 0; i < count; i++) execSync(command, { stdio: 'pipe', cwd: REPO_ROOT });
  return command.startsWith('npx') ? 'npx mqtt pub' : 'mosquitto_pub';
}

describe('demo (npm start)', function () {
  this.timeout(2 * START_TIMEOUT_MS);
  let demo: DemoRun | undefined;

  before(async function () {
    demo = await startDemo();
  });

  after(async function () {
    await demo?.dispose();
  });

  function running(): DemoRun {
    if (!demo) assert.fail('demo not started');
    return demo;
  }

  it('serves the editor and carries the counter inject → mqtt out → broker → durable mqtt in → debug', async () => {
    const { editor, output, waitFor } = running();
    await running().editorReady();
    await waitFor('the debug node to print a counter payload', () => COUNTER_LINE.test(output()));
    assert.match(output(), /\[demo\] loaded node-red-contrib-durable-mqtt from .*: durable-mqtt-broker, durable-mqtt-in/);
    assert.match(output(), new RegExp(`Editor: +${editor.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.doesNotMatch(output(), /Waiting for missing types|Missing node types|Failed to register/);
  });

  it('prints a publish command that works without mosquitto-clients: `npx mqtt pub` with the same flags, and the terminal shows what arrived', async () => {
    const { brokerUrl, output, waitFor } = running();
    const url = new URL(brokerUrl);
    const command = publishCommand({ url: brokerUrl, host: url.hostname, port: Number(url.port) }, 'demo/npx', 'via npx', false);
    assert.match(command, /^npx mqtt pub -h 127\.0\.0\.1 -p \d+ -q 1 -t demo\/npx -m 'via npx'$/);
    publishAsPrinted(command, 1);
    await waitFor('the message published with npx mqtt pub', () => /\[function:count per topic\] demo\/npx #1: via npx$/m.test(output()));
  });

  it('answers 403 to a Host header other than its own address and port (DNS rebinding), on the editor, the admin API, HTTP-in routes and the comms WebSocket', async () => {
    await running().editorReady();
    const port = Number(new URL(running().editor).port);
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${port + 1}`, '127.0.0.1']) {
      for (const path of ['/', '/flows', '/no-such-route']) assert.equal(await statusWithHost(port, path, host), 403, `${host} ${path}`);
      assert.equal(await statusWithHost(port, '/comms', host, true), 403, `${host} WebSocket`);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      assert.equal(await statusWithHost(port, '/', host), 200, host);
      assert.equal(await statusWithHost(port, '/comms', host, true), 101, `${host} WebSocket`);
    }
  });

  it('keeps a random credential secret of its own in the user directory, readable by the user alone', async () => {
    await running().editorReady();
    const file = join(running().userDir, '.credential-secret');
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    assert.match(readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  });

  it('lists durable-mqtt-broker and durable-mqtt-in in the editor palette', async () => {
    const res = await fetch(`${running().editor}nodes`, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200);
    const sets = (await res.json()) as { types: string[] }[];
    const types = sets.flatMap((s) => s.types);
    assert.ok(types.includes('durable-mqtt-broker'), `durable-mqtt-broker missing from ${types.join(', ')}`);
    assert.ok(types.includes('durable-mqtt-in'), `durable-mqtt-in missing from ${types.join(', ')}`);
  });

  it('stops cleanly with exit code 0 on Ctrl-C (SIGINT), and leaves its broker running', async () => {
    const { child, output, brokerUrl } = running();
    child.kill('SIGINT');
    const code = await exitOf(child, EXIT_TIMEOUT_MS);
    assert.equal(code, 0, output());
    assert.match(output(), /\[demo\] stopped/);
    assert.match(output(), /the demo broker keeps running on mqtt:\/\/127\.0\.0\.1:\d+; `npm run stop` stops it/);
    assert.ok(await accepts(Number(new URL(brokerUrl).port)), 'the demo broker still listens');
  });

  it(`Ctrl-C, publish ${AWAY} messages with the printed command, npm start: all ${AWAY} arrive, through the same broker`, async () => {
    const demo = running();
    const printed = /Publish: ((?:mosquitto_pub|npx mqtt pub) .*)$/m.exec(demo.output())?.[1];
    assert.ok(printed, demo.output());
    assert.match(printed, new RegExp(` -p ${new URL(demo.brokerUrl).port} `));
    const firstPid = /demo broker: Aedes, pid (\d+), started now/.exec(demo.output())?.[1];
    assert.ok(firstPid, demo.output());
    assert.equal(printed.startsWith('mosquitto_pub'), onPath('mosquitto_pub'), 'mosquitto_pub only where it is installed');
    const client = publishAsPrinted(printed.replace(/-t demo\/hello/, '-t demo/away'), AWAY);
    process.stdout.write(`      published ${AWAY} with ${client} while Node-RED was down\n`);

    const before = demo.output().length;
    demo.start();
    const second = (): string => demo.output().slice(before);
    await demo.waitFor(`${AWAY} messages after npm start`, () => new RegExp(`\\[function:count per topic\\] demo/away #${AWAY}: hi$`, 'm').test(second()));
    assert.match(second(), new RegExp(`demo broker: Aedes, pid ${firstPid}, already running, reused`));
    assert.match(second(), /as "durable-demo" \(session present\)/);
    const counts = [...second().matchAll(/\[function:count per topic\] demo\/away #(\d+): hi$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(counts, Array.from({ length: AWAY }, (_, i) => i + 1), 'each message once');
    await demo.stop();
  });

  it('`npm run stop` stops the demo broker and removes its pid file', async () => {
    const { userDir, brokerUrl } = running();
    const env = { ...process.env, DEMO_USERDIR: userDir };
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', 'stop'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: EXIT_TIMEOUT_MS });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /\[demo\] demo broker \(pid \d+\) on mqtt:\/\/127\.0\.0\.1:\d+ stopped/);
    assert.equal(await accepts(Number(new URL(brokerUrl).port)), false, 'nothing listens any more');
    assert.ok(!existsSync(join(userDir, BROKER_FILE)), 'the pid file is gone');
  });

  it('npm start after `npm run stop` starts a new broker, which has kept the consumer\'s session on disk', async () => {
    const demo = running();
    const before = demo.output().length;
    demo.start();
    const third = (): string => demo.output().slice(before);
    await demo.waitFor('the consumer to connect', () => /as "durable-demo" \(session (present|new)\)/.test(third()));
    assert.match(third(), /demo broker: Aedes, pid \d+, started now/);
    assert.match(third(), /as "durable-demo" \(session present\)/);
    await demo.stop();
  });

  it('npm start after the broker was killed (SIGKILL: its pid file stays behind) starts a new one', async () => {
    const demo = running();
    const record = JSON.parse(readFileSync(join(demo.userDir, BROKER_FILE), 'utf8')) as { pid: number; port: number };
    process.kill(record.pid, 'SIGKILL');
    while (await accepts(record.port)) await new Promise((r) => setTimeout(r, 50));
    const before = demo.output().length;
    demo.start();
    const fourth = (): string => demo.output().slice(before);
    await demo.waitFor('the consumer to connect', () => /as "durable-demo" \(session (present|new)\)/.test(fourth()));
    const pid = /demo broker: Aedes, pid (\d+), started now/.exec(fourth())?.[1];
    assert.ok(pid !== undefined && Number(pid) !== record.pid, fourth());
    await demo.stop();
  });
});

describe('Node-RED restarted as a process (Mosquitto)', function () {
  this.timeout(2 * START_TIMEOUT_MS);
  const mosq = mosquittoForSuite();
  const userDir = mkdtempSync(join(tmpdir(), 'durable-restart-'));
  after(() => rmSync(userDir, { recursive: true, force: true }));

  /** Runs the demo against Mosquitto until our node reports its connection, then stops it with Ctrl-C. */
  async function runOnce(until: (output: string) => boolean): Promise<string> {
    let output = '';
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(await freePort()), BROKER_URL: mosq().url, DEMO_USERDIR: userDir };
    const child = spawnDemo(env, (chunk) => {
      output += chunk;
    });
    try {
      const end = Date.now() + START_TIMEOUT_MS;
      while (!until(output)) {
        if (child.exitCode !== null || Date.now() > end) assert.fail(`the demo stopped or timed out:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGINT');
      assert.equal(await exitOf(child, EXIT_TIMEOUT_MS), 0, output);
      return output;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  it('finds its session and its ledger after a restart: no SUBSCRIBE, and what was published meanwhile arrives', async () => {
    ensureBuilt();
    const first = await runOnce((o) => /subscribed demo\/# \(QoS 1\)/.test(o));
    assert.match(first, /connected to .* as "durable-demo" \(session new\)/);
    const subscribes = mosquittoSubscribeCount(mosq());
    await publishMany(mosq().url, 'demo/away', 50, { qos: 1, payload: (i) => `away-${i}` });
    const second = await runOnce((o) => /\[function:count per topic\] demo\/away #50: away-49$/m.test(o));
    assert.match(second, /connected to .* as "durable-demo" \(session present\)/);
    assert.doesNotMatch(second, /subscribed demo\/#/, 'the file ledger knew the broker still held demo/#');
    // The core mqtt out node's own connection subscribes nothing, so every SUBSCRIBE would be ours.
    assert.equal(mosquittoSubscribeCount(mosq()), subscribes);
  });
});

describe('examples', function () {
  // The core nodes the examples use besides ours; the helper loads only what it is given.
  const requireCore = createRequire(__filename);
  const coreNodes = [
    'common/21-debug.js',
    'common/90-comment.js',
    'common/25-catch.js',
    'function/10-function.js',
    'function/89-delay.js',
  ].map((f) => requireCore(`@node-red/nodes/core/${f}`) as unknown);
  const files = readdirSync(join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json'));
  let broker: AedesHandle | undefined;
  // The bridge example's out node keeps its outbox there.
  userDirForSuite();

  afterEach(async () => {
    await helper.unload();
    await broker?.close();
    broker = undefined;
  });

  it('has at least one example', () => {
    assert.ok(files.length > 0);
  });

  for (const file of files) {
    it(`examples deploy without error: ${file}`, async () => {
      broker = await startAedes();
      const url = broker.url;
      const nodes = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', file), 'utf8')) as (Record<string, unknown> & { id: string; type: string })[];
      assert.ok(Array.isArray(nodes), 'an example is an array of nodes');
      // Examples carry no tab (the editor imports them into the current one); give flow nodes one.
      const flow = [
        { id: 'example-tab', type: 'tab' },
        ...nodes.map((n) => {
          assert.equal(n.z, undefined, `${n.id} has a z; examples should not`);
          const placed = 'x' in n ? { ...n, z: 'example-tab' } : n; // config nodes have no position
          if (n.type !== 'durable-mqtt-broker') return placed;
          // Shipped without a broker or client ID: the user enters the URL, the dialog generates the ID.
          assert.deepEqual([n.broker, n.clientId], ['', ''], `${n.id} ships a broker URL or client ID`);
          return { ...placed, broker: url, clientId: `example-${n.id}` };
        }),
      ];
      const consumers = nodes.filter((n) => n.type === 'durable-mqtt-in').map((n) => n.id);
      assert.ok(consumers.length > 0, 'the example has a durable-mqtt-in node');
      await load(flow, {}, coreNodes);
      for (const id of consumers) {
        await until(() => lastStatus(id)?.fill === 'green', `${id} to show connected`);
        const status = lastStatus(id);
        assert.equal(status?.shape, 'dot');
        // The helper's RED._ returns the message key, a real runtime the text "connected".
        assert.match(String(status?.text), /connected$/);
      }
      for (const n of nodes) {
        if (helper.getNode(n.id)) assert.deepEqual(callsOf(n.id, 'error'), [], `${n.type} ${n.id} called error`);
      }
    });
  }
});
