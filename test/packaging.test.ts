// Specifies the package as a user gets it: `npm pack`, `npm install <tarball>` in a fresh user directory, `node-red`.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { startAedes } from './support/aedes';
import { freePort } from './support/ports';
import { publishMany } from './support/publisher';
import { NODE_RED_CLI, NODE_RED_VERSION } from './support/runtime';
import { until } from './support/until';

const REPO_ROOT = resolve(__dirname, '..');
const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const OUR_TYPES = ['durable-mqtt-broker', 'durable-mqtt-in', 'durable-mqtt-out'];
const START_TIMEOUT_MS = 60_000;
// Node-RED prefixes what a module's loading went wrong with the module's name (or says a type is missing).
const ABOUT_US = new RegExp(`\\[(warn|error)\\].*(${PKG.name}|durable-mqtt)|Missing node types|Waiting for missing types|Failed to register`);

/** Every file below `dir`, as paths relative to `root`, with forward slashes. */
function filesUnder(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** `npm pack` as `npm publish` would pack (the `prepare` script builds dist/ first); returns the tarball's path. */
function pack(into: string): string {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', into], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  return join(into, filename);
}

/** Installs the tarball as a user would in `~/.node-red`: from the npm cache when it can (mqtt and classic-level are the dependencies). */
function install(tarball: string, userDir: string): void {
  mkdirSync(userDir, { recursive: true });
  // What Node-RED writes into a new user directory; without it npm would look for a project further up.
  writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', version: '0.0.1', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: userDir, stdio: 'pipe' });
}

/** Settings for a plain local install: loopback only, nothing but what is in the user directory. */
function writeSettings(userDir: string, port: number): string {
  const settings = { uiHost: '127.0.0.1', uiPort: port, flowFile: 'flows.json', logging: { console: { level: 'info', metrics: false, audit: false } } };
  const file = join(userDir, 'settings.js');
  writeFileSync(file, `module.exports = ${JSON.stringify(settings)};\n`);
  return file;
}

describe(`package as installed from its tarball (Node-RED ${NODE_RED_VERSION}, Node ${process.version})`, function () {
  this.timeout(3 * START_TIMEOUT_MS);
  let work = '';
  let userDir = '';
  let entries: string[] = [];
  let child: ChildProcess | undefined;
  let output = '';
  let editor = '';

  /** Polls until `check` passes; fails early, with Node-RED's log, if Node-RED exits. */
  /** Polls `check`, failing at once when Node-RED has exited; either failure shows its output. */
  async function waitFor(what: string, check: () => boolean): Promise<void> {
    const exited = (): boolean => !child || child.exitCode !== null || child.signalCode !== null;
    await until(() => check() || exited(), what, START_TIMEOUT_MS, 100).catch((err: Error) => assert.fail(`${err.message}:\n${output}`));
    if (!check()) assert.fail(`Node-RED exited before ${what}:\n${output}`);
  }

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'durable-pack-'));
    userDir = join(work, 'userdir');
    const tarball = pack(work);
    entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    install(tarball, userDir);
    const port = await freePort();
    editor = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [NODE_RED_CLI, '--settings', writeSettings(userDir, port), '--userDir', userDir], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => (output += chunk));
    }
    // An empty flow file still ends in "Started flows": by then every module has been loaded or has failed.
    await waitFor('Node-RED started its flows', () => /Started flows/.test(output));
  });

  after(async function () {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function get(path: string, accept = 'application/json'): Promise<Response> {
    const res = await fetch(`${editor}${path}`, { headers: { Accept: accept } });
    assert.equal(res.status, 200, `GET ${path}`);
    return res;
  }

  it('holds the built runtime, the editor html, locales, icons, examples, docs, README and licence', () => {
    const packed = new Set(entries.map((e) => e.replace(/^package\//, '')));
    const shipped = new Set([
      ...filesUnder(REPO_ROOT, 'dist'),
      ...filesUnder(REPO_ROOT, 'examples'),
      // README links these.
      ...filesUnder(REPO_ROOT, 'docs'),
      // The runtime looks for editor files beside the entry file (copied there by the build).
      ...readdirSync(join(REPO_ROOT, 'nodes')).filter((f) => f.endsWith('.html')).map((f) => `dist/${f}`),
      ...filesUnder(join(REPO_ROOT, 'nodes'), 'locales').map((f) => `dist/${f}`),
      ...filesUnder(REPO_ROOT, 'icons').map((f) => `dist/${f}`),
      ...filesUnder(join(REPO_ROOT, 'nodes'), '.').filter((f) => f.endsWith('.ts')).map((f) => `dist/${f.replace(/\.ts$/, '.js')}`),
      'package.json',
      'README.md',
      'LICENSE',
    ]);
    assert.deepEqual([...shipped].filter((f) => !packed.has(f)), [], 'missing from the tarball');
    assert.deepEqual([...packed].filter((f) => !shipped.has(f)), [], 'in the tarball but not meant to ship');
  });

  it('ships no tests, no TypeScript sources and no node_modules', () => {
    const stray = entries.filter((e) => /^package\/(test|nodes|scripts|bench|node_modules|\.ci)\/|\/node_modules\/|\.ts$/.test(e) && !e.endsWith('.d.ts'));
    assert.deepEqual(stray, []);
    assert.ok(entries.length > 0, 'the tarball lists files');
  });

  it('installs with npm into a fresh user directory, with mqtt and classic-level (its prebuilt LevelDB binary inside the package) as dependencies', () => {
    const installed = JSON.parse(readFileSync(join(userDir, 'node_modules', PKG.name, 'package.json'), 'utf8')) as { version: string };
    assert.equal(installed.version, PKG.version);
    assert.ok(existsSync(join(userDir, 'node_modules', 'mqtt', 'package.json')), 'mqtt installed');
    assert.ok(existsSync(join(userDir, 'node_modules', 'classic-level', 'prebuilds', `${process.platform}-${process.arch}`)), 'classic-level installed with a binary for this platform');
  });

  it(`runs in Node-RED ${NODE_RED_VERSION}: the Admin API reports that version`, async () => {
    const settings = (await (await get('/settings')).json()) as { version: string };
    // A runtime installed inside a git checkout (this repository) calls itself "<version>-git".
    assert.ok([NODE_RED_VERSION, `${NODE_RED_VERSION}-git`].includes(settings.version), settings.version);
  });

  it('registers durable-mqtt-broker, durable-mqtt-in and durable-mqtt-out, enabled, from the copy npm installed in the user directory', async () => {
    const sets = (await (await get('/nodes')).json()) as { module: string; version: string; types: string[]; enabled: boolean; err?: unknown }[];
    const ours = sets.filter((s) => s.module === PKG.name);
    assert.equal(ours.length, 1, `one node set from ${PKG.name}; modules: ${[...new Set(sets.map((s) => s.module))].join(', ')}`);
    const [set] = ours;
    assert.deepEqual([...set.types].sort(), OUR_TYPES);
    assert.deepEqual({ enabled: set.enabled, err: set.err, version: set.version }, { enabled: true, err: undefined, version: PKG.version });
    const module = (await (await get(`/nodes/${PKG.name}`)).json()) as Record<string, unknown>;
    // `user`: listed in the user directory's package.json, as the palette manager would list it.
    assert.deepEqual({ local: module.local, user: module.user }, { local: true, user: true }, JSON.stringify(module));
  });

  it('logs no warning or error about the module while loading', () => {
    const lines = output.split('\n').filter((l) => ABOUT_US.test(l));
    assert.deepEqual(lines, [], output);
    assert.match(output, /\[info\] Node-RED version: v/, 'the log was captured');
  });

  it('serves the editor definitions, the messages of every locale and the icon from the installed copy', async () => {
    const html = await (await get('/nodes', 'text/html')).text();
    for (const type of OUR_TYPES) assert.match(html, new RegExp(`registerType\\(\\s*['"]${type}['"]`));
    for (const lng of readdirSync(join(REPO_ROOT, 'nodes', 'locales'))) {
      const file = join(REPO_ROOT, 'nodes', 'locales', lng, 'durable-mqtt.json');
      if (!existsSync(file)) continue; // a locale may carry only help text
      const messages = (await (await get(`/nodes/${PKG.name}/durable-mqtt/messages?lng=${lng}`)).json()) as unknown;
      assert.deepEqual(messages, JSON.parse(readFileSync(file, 'utf8')), `${lng} messages`);
    }
    for (const icon of readdirSync(join(REPO_ROOT, 'icons'))) {
      // An unknown icon gets Node-RED's default one with 200, so compare the bytes.
      const served = await (await get(`/icons/${PKG.name}/${icon}`, '*/*')).text();
      assert.equal(served, readFileSync(join(REPO_ROOT, 'icons', icon), 'utf8'), icon);
    }
  });

  it("offers every flow in examples/ under Import > Examples, as the file's content", async () => {
    const modules = (await (await get('/library/examples/flows/')).json()) as string[];
    assert.ok(modules.includes(PKG.name), `example modules: ${modules.join(', ')}`);
    const listed = (await (await get(`/library/examples/flows/${PKG.name}`)).json()) as { fn?: string }[];
    const files = readdirSync(join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json'));
    assert.ok(files.length > 0, 'examples/ has a flow');
    assert.deepEqual(listed.map((e) => e.fn).sort(), files.map((f) => f.replace(/\.json$/, '')).sort());
    for (const file of files) {
      const flow = (await (await get(`/library/examples/flows/${PKG.name}/${file.replace(/\.json$/, '')}`)).json()) as unknown;
      assert.deepEqual(flow, JSON.parse(readFileSync(join(REPO_ROOT, 'examples', file), 'utf8')), file);
    }
  });

  it('carries a message from the broker through the installed node, in a flow deployed through the Admin API', async () => {
    const broker = await startAedes();
    try {
      const flow = [
        { id: 'pack-tab', type: 'tab' },
        { id: 'pack-broker', type: 'durable-mqtt-broker', broker: broker.url, clientId: 'durable-pack-test' },
        { id: 'pack-in', z: 'pack-tab', type: 'durable-mqtt-in', broker: 'pack-broker', topic: 'pack/#', wires: [['pack-debug']] },
        // console: the debug node prints what it receives to Node-RED's log, which is all this test sees.
        { id: 'pack-debug', z: 'pack-tab', type: 'debug', active: true, console: true, tosidebar: false, complete: 'payload', wires: [] },
      ];
      const res = await fetch(`${editor}/flows`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flow) });
      assert.ok(res.ok, `deploy answered ${res.status}: ${await res.text()}`);
      await waitFor('the consumer to subscribe', () => /subscribed pack\/# \(QoS 1\)/.test(output));
      await publishMany(broker.url, 'pack/hello', 1, { qos: 1, payload: () => 'sent-to-the-installed-package' });
      await waitFor('the debug node to log the message', () => output.includes('sent-to-the-installed-package'));
      assert.doesNotMatch(output, ABOUT_US);
    } finally {
      await broker.close();
    }
  });
});
