// One-command demo (`npm start`): Node-RED running this package in a ready-made flow, against a demo broker that outlives it.
//
// LOCAL DEMO ONLY: the editor has no adminAuth, so anyone who can reach it can run code on this
// machine. It listens on 127.0.0.1 for that reason, and answers 403 to a Host header other than
// localhost, 127.0.0.1 or [::1] with its port, so a web page cannot reach it by DNS rebinding
// (scripts/demo-host-check.ts); do not expose it.
//
// The demo broker (scripts/demo-broker.ts: Aedes, sessions on disk) runs as its own detached
// process: the first `npm start` starts it, Ctrl-C stops Node-RED only, and the next `npm start`
// reuses it. So "Ctrl-C, publish a few messages, npm start" delivers them all, as a real broker
// would. `npm run stop` (`tsx scripts/demo.ts stop`) stops the broker.
//
// Every start rewrites the demo tab (and its nodes' credentials) in the user directory, so edits
// made to it are reset: the demo always starts in a known, working state. Other tabs are kept.
//
// Environment:
//   PORT              editor port; default 1880, or the next free one up to 1899, else any free port.
//                     When set, exactly that port is used (the demo fails if it is taken).
//   BROKER_URL        use this external broker (mqtt://user:pass@host:1883, mqtts://...) and start
//                     no demo broker.
//   DEMO_BROKER_PORT  port of a demo broker this start launches; default 1883, or the next free one
//                     up to 1899, else any free port. A running demo broker is reused on its port.
//                     Tests set it (and PORT) so they never collide with a developer's own demo.
//   DEMO_USERDIR      Node-RED user directory; default <repo>/.demo/userdir (git-ignored). The demo
//                     broker keeps its sessions, pid file and log there.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import RED from 'node-red';
import { BROKER_LOG, runningBroker, startBroker, stopBroker } from './demo-broker-control';
import { credentialSecret, readCredentials, writeCredentials } from './demo-credentials';
import { guardUpgrades, hostCheck } from './demo-host-check';
import { envPort, HOST, listenOnPort } from './demo-ports';
import { publishCommand } from './demo-publish-command';

const REPO_ROOT = resolve(__dirname, '..');
const PACKAGE_NAME = 'node-red-contrib-durable-mqtt';
const OUR_TYPES = ['durable-mqtt-broker', 'durable-mqtt-in'];
const FLOW_FILE = 'flows.json';
const DEMO_TAB = 'durable-demo-tab';
const PUBLISHER_BROKER_ID = 'durable-demo-publisher-broker';
const DURABLE_BROKER_ID = 'durable-demo-broker';
// After the first Ctrl-C, give up on a clean stop after this long.
const STOP_TIMEOUT_MS = 10_000;

type Handler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
type Settings = Parameters<typeof RED.init>[1];
/** The part of the runtime's internal nodes module we use (the typings declare it empty). */
interface NodeRegistry {
  getNodeList(): { module: string; types: string[]; enabled: boolean; err?: unknown }[];
}

interface Broker {
  /** Without credentials: safe to print, and what the flow uses. */
  url: string;
  /** From BROKER_URL's user info; they go into the flow's credentials file, never into logs. */
  user?: string;
  password?: string;
  host: string;
  port: number;
  /** The demo broker's process, when the demo runs one (no BROKER_URL). */
  demo?: { pid: number; reused: boolean; log: string };
}

function log(text: string): void {
  process.stdout.write(`[demo] ${text}\n`);
}

function external(raw: string): Broker {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `mqtt://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`BROKER_URL "${raw}" is not a URL`);
  }
  const secure = url.protocol === 'mqtts:' || url.protocol === 'wss:' || url.protocol === 'tls:' || url.protocol === 'ssl:';
  const port = url.port ? Number(url.port) : secure ? 8883 : 1883;
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  return { url: url.toString().replace(/\/$/, ''), user, password, host: url.hostname, port };
}

/** The running demo broker of this user directory, or a new one started detached (see scripts/demo-broker.ts). */
async function demoBroker(userDir: string): Promise<Broker> {
  mkdirSync(userDir, { recursive: true });
  const log = join(userDir, BROKER_LOG);
  let record = await runningBroker(userDir);
  const reused = record !== undefined;
  record ??= await startBroker(userDir, process.env);
  return { url: record.url, host: HOST, port: record.port, demo: { pid: record.pid, reused, log } };
}

/** The demo tab: a counter published with core `mqtt out`, consumed by our `durable-mqtt-in`. */
function demoFlow(broker: Broker): Record<string, unknown>[] {
  const tab = DEMO_TAB;
  const pub = publishCommand(broker, 'demo/hello', 'sent while away');
  const info = [
    'Every second the inject node fires, the function node counts, and the core **mqtt out** node publishes',
    '`{count, at}` with QoS 1 to `demo/counter`. **durable mqtt in** (client ID `durable-demo`, clean session off,',
    'topic `demo/#`, QoS 1) hands each message to the debug node, which shows it in the debug sidebar, and to the',
    '**count per topic** node, which logs each one to the terminal (topic, payload and count; `demo/counter` only once).',
    '',
    '### Seeing a persistent session at work',
    '1. Stop the flows: open the menu beside **Deploy** and choose **Stop**. The durable consumer disconnects but',
    '   keeps its session, so the broker queues QoS 1 messages for it. (The counter publisher lives in these',
    '   flows too, so it stops as well.)',
    '2. While stopped, publish from another MQTT client with QoS 1, for example:',
    `   \`${pub}\``,
    '3. Open the menu beside **Deploy** and choose **Start**: the message arrives as soon as the consumer reconnects.',
    '',
    '### Across a restart of Node-RED',
    'Press Ctrl-C in the terminal, publish a few messages as above, and run `npm start` again. The broker',
    broker.demo
      ? 'is the demo broker, a separate process that Ctrl-C does not stop; it keeps the session (on disk), so they all arrive. `npm run stop` stops it.'
      : `${broker.url} keeps the session if it persists sessions, so they all arrive.`,
    'They arrive before this editor has reconnected, so the debug sidebar does not show them: the **count per topic** node',
    'below the consumer counts every message per topic since `npm start`, e.g. `demo/hello: 5 · demo/counter: 12`.',
    '',
    '`npm start` rewrites this tab every time it starts: changes made here are reset. Other tabs are kept.',
  ].join('\n');
  return [
    { id: tab, type: 'tab', label: 'Durable MQTT demo', disabled: false, info: '' },
    {
      id: 'durable-demo-comment', type: 'comment', z: tab, name: 'How to see offline messages arrive (double-click)',
      info, x: 230, y: 60, wires: [],
    },
    {
      id: 'durable-demo-inject', type: 'inject', z: tab, name: 'every second',
      props: [{ p: 'payload' }], repeat: '1', crontab: '', once: true, onceDelay: '0.5',
      topic: '', payload: '', payloadType: 'date', x: 150, y: 140, wires: [['durable-demo-count']],
    },
    {
      id: 'durable-demo-count', type: 'function', z: tab, name: 'count',
      func: [
        "const n = (context.get('n') || 0) + 1;",
        "context.set('n', n);",
        'msg.payload = { count: n, at: new Date().toISOString() };',
        'return msg;',
      ].join('\n'),
      outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 330, y: 140,
      wires: [['durable-demo-publish']],
    },
    {
      id: 'durable-demo-publish', type: 'mqtt out', z: tab, name: 'publish demo/counter',
      topic: 'demo/counter', qos: '1', retain: 'false', respTopic: '', contentType: '', userProps: '',
      correl: '', expiry: '', broker: PUBLISHER_BROKER_ID, x: 530, y: 140, wires: [],
    },
    {
      id: 'durable-demo-consume', type: 'durable-mqtt-in', z: tab, name: '', broker: DURABLE_BROKER_ID,
      topic: 'demo/#', qos: 1, datatype: 'auto', statusOutput: false, outputs: 1, maxDeliveries: 0, version: 2, x: 150, y: 220,
      wires: [['durable-demo-debug', 'durable-demo-tally']],
    },
    {
      // Sidebar only: a console copy of every message would scroll the banner with the URLs away.
      id: 'durable-demo-debug', type: 'debug', z: tab, name: 'received', active: true, tosidebar: true,
      console: false, tostatus: false, complete: 'payload', targetType: 'msg', statusVal: '', statusType: 'auto',
      x: 360, y: 220, wires: [],
    },
    {
      // Its badge is retained by the runtime, so an editor opened after start-up sees what arrived before it.
      id: 'durable-demo-tally', type: 'function', z: tab, name: 'count per topic',
      func: [
        "const counts = context.get('counts') || {};",
        'counts[msg.topic] = (counts[msg.topic] || 0) + 1;',
        "context.set('counts', counts);",
        "node.status({ fill: 'blue', shape: 'dot', text: Object.entries(counts).map(([t, n]) => `${t}: ${n}`).join(' · ') });",
        '// One terminal line per message, with what it carried, but only the first of the every-second counter.',
        "if (msg.topic !== 'demo/counter' || counts[msg.topic] === 1) node.log(`${msg.topic} #${counts[msg.topic]}: ${typeof msg.payload === 'string' ? msg.payload : JSON.stringify(msg.payload)}`);",
        'return null;',
      ].join('\n'),
      outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 350, y: 280, wires: [],
    },
    {
      // The publisher's connection: the core node, a separate client from the durable consumer.
      id: PUBLISHER_BROKER_ID, type: 'mqtt-broker', name: 'demo broker (publisher)',
      broker: broker.url, port: '', clientid: '', autoConnect: true, usetls: false, protocolVersion: '4',
      keepalive: '60', cleansession: true, autoUnsubscribe: true,
      birthTopic: '', birthQos: '0', birthRetain: 'false', birthPayload: '', birthMsg: {},
      closeTopic: '', closeQos: '0', closeRetain: 'false', closePayload: '', closeMsg: {},
      willTopic: '', willQos: '0', willRetain: 'false', willPayload: '', willMsg: {},
      userProps: '', sessionExpiry: '',
    },
    {
      id: DURABLE_BROKER_ID, type: 'durable-mqtt-broker', name: 'demo broker (durable)', broker: broker.url,
      clientId: 'durable-demo', cleanSession: false, protocolVersion: 4, sessionExpiry: 86400, keepalive: 60, version: 1,
    },
  ];
}

/** A JSON file's content, or `fallback` when it is missing or unreadable. */
function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/**
 * Resets the demo on every start, so a broken edit never sticks: the demo tab, its two broker
 * configs and their credentials are rewritten, everything else in the flow file is kept, and a
 * "Stop flows" left over from the last run is cleared, since the demo should start with its flows running.
 * Returns the user directory's credential secret.
 */
function prepareUserDir(userDir: string, broker: Broker): string {
  mkdirSync(userDir, { recursive: true });
  const key = credentialSecret(userDir);
  const flowFile = join(userDir, FLOW_FILE);
  const demo = demoFlow(broker);
  const ours = new Set([DEMO_TAB, ...demo.map((n) => n.id)]);
  const existing = readJson<Record<string, unknown>[]>(flowFile, []);
  const kept = Array.isArray(existing) ? existing.filter((n) => !ours.has(n.id as string) && n.z !== DEMO_TAB) : [];
  writeFileSync(flowFile, `${JSON.stringify([...kept, ...demo], null, 4)}\n`);
  const credFile = join(userDir, FLOW_FILE.replace(/\.json$/, '_cred.json'));
  const credentials = readCredentials(credFile, key);
  for (const id of [PUBLISHER_BROKER_ID, DURABLE_BROKER_ID]) delete credentials[id];
  if (broker.user !== undefined || broker.password !== undefined) {
    // Credentials from BROKER_URL go where Node-RED keeps them, so the core node never logs them in its URL.
    const creds = { user: broker.user ?? '', password: broker.password ?? '' };
    Object.assign(credentials, { [PUBLISHER_BROKER_ID]: creds, [DURABLE_BROKER_ID]: creds });
  }
  writeCredentials(credFile, credentials, key.secret);
  const runtimeConfig = join(userDir, '.config.runtime.json');
  if (existsSync(runtimeConfig)) {
    try {
      const config = JSON.parse(readFileSync(runtimeConfig, 'utf8')) as Record<string, unknown>;
      if ('runtimeFlowState' in config) {
        delete config.runtimeFlowState;
        writeFileSync(runtimeConfig, JSON.stringify(config, null, 4));
      }
    } catch {
      // Unreadable: Node-RED will report it; nothing of ours to reset.
    }
  }
  return key.secret;
}

function banner(editor: string, broker: Broker, userDir: string): void {
  const lines = [
    'node-red-contrib-durable-mqtt demo',
    '',
    `  Editor:  ${editor}`,
    `  Broker:  ${broker.url}${broker.demo ? ` (demo broker: Aedes, pid ${broker.demo.pid}, ${broker.demo.reused ? 'already running, reused' : 'started now'}; sessions on disk)` : ' (external, from BROKER_URL)'}`,
    `  Flow:    tab "Durable MQTT demo", rewritten at every start (edits to it are reset; other tabs are kept)`,
    `  Data:    ${userDir}`,
    `  Publish: ${publishCommand(broker, 'demo/hello', 'hi')}`,
    ...(broker.demo
      ? [
        '           (also while Node-RED is stopped: the broker keeps running and queues them for the next `npm start`)',
        '  Stop:    Ctrl-C stops Node-RED (twice to force); the broker keeps running. `npm run stop` stops it.',
        `  Log:     ${broker.demo.log} (the broker's)`,
      ]
      : ['  Stop:    Ctrl-C (press twice to force)']),
  ];
  const rule = '='.repeat(Math.max(...lines.map((l) => l.length)) + 2);
  process.stdout.write(`\n${rule}\n${lines.map((l) => (l ? ` ${l}` : '')).join('\n')}\n${rule}\n\n`);
}

/** `npm run stop`: stops the demo broker of the user directory, if one runs. */
async function stop(userDir: string): Promise<void> {
  const stopped = await stopBroker(userDir);
  log(stopped ? `demo broker (pid ${stopped.pid}) on ${stopped.url} stopped; its sessions stay in ${stopped.dataDir}` : `no demo broker running for ${userDir}`);
}

async function main(): Promise<void> {
  const userDir = resolve(process.env.DEMO_USERDIR || join(REPO_ROOT, '.demo', 'userdir'));
  if (process.argv[2] === 'stop') {
    await stop(userDir);
    return;
  }
  if (!existsSync(join(REPO_ROOT, 'dist', 'durable-mqtt.js'))) {
    log('dist/durable-mqtt.js is missing: run `npm run build` first (`npm start` does it for you)');
    process.exit(1);
  }

  // Installed from here on, so a Ctrl-C during start-up still cleans up what did start.
  const running: { broker?: Broker; http?: HttpServer; red: boolean } = { red: false };
  const httpSockets = new Set<Socket>();
  let stopping = false;
  const shutdown = async (why: string, code: number): Promise<void> => {
    if (stopping) {
      log('second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    const { broker, http } = running;
    log(`${why}: stopping Node-RED and the HTTP server${broker?.demo ? ` (the demo broker keeps running on ${broker.url}; \`npm run stop\` stops it)` : ''}...`);
    setTimeout(() => {
      log(`still not stopped after ${STOP_TIMEOUT_MS / 1000} s: exiting anyway`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    try {
      // RED.stop() closes every node, so the durable consumer disconnects without unsubscribing.
      if (running.red) await RED.stop();
      if (http?.listening) {
        const closed = new Promise<void>((done) => http.close(() => done()));
        // The editor's websocket and keep-alive connections would hold close() open.
        for (const socket of httpSockets) socket.destroy();
        await closed;
      }
      log('stopped');
      process.exit(code);
    } catch (err) {
      log(`error while stopping: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  const broker = process.env.BROKER_URL ? external(process.env.BROKER_URL) : await demoBroker(userDir);
  running.broker = broker;
  if (broker.demo?.reused) {
    log(`demo broker (Aedes, pid ${broker.demo.pid}) already running on ${broker.url}: reusing it and its sessions`);
    const wanted = envPort('DEMO_BROKER_PORT', log);
    if (wanted !== undefined && wanted !== broker.port) log(`DEMO_BROKER_PORT=${wanted} is ignored while it runs; \`npm run stop\` first`);
  } else if (broker.demo) {
    log(`demo broker (Aedes, pid ${broker.demo.pid}) started on ${broker.url}; it keeps running after Ctrl-C`);
  } else {
    log(`using the external broker ${broker.url}; no demo broker started`);
    if (process.env.DEMO_BROKER_PORT) log('DEMO_BROKER_PORT is ignored because BROKER_URL is set');
  }

  const secret = prepareUserDir(userDir, broker);

  // Both Express apps of Node-RED hang off one plain HTTP server: the editor and admin API first,
  // then the routes of HTTP-in nodes, then 404.
  const chain = (req: IncomingMessage, res: ServerResponse): void => {
    const admin = RED.httpAdmin as unknown as Handler; // an Express app is also a (req, res, next) handler
    const node = RED.httpNode as unknown as Handler;
    admin(req, res, () => node(req, res, () => {
      res.statusCode = 404;
      res.end('Not found\n');
    }));
  };
  const http = createHttpServer(chain);
  running.http = http;
  http.on('connection', (socket: Socket) => {
    httpSockets.add(socket);
    socket.once('close', () => httpSockets.delete(socket));
  });
  const port = await listenOnPort(http, 'editor', envPort('PORT', log), 1880, log);
  const editor = `http://${HOST}:${port}/`;
  guardUpgrades(http, port);

  const settings: Settings & Record<string, unknown> = {
    uiHost: HOST,
    uiPort: port,
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    userDir,
    flowFile: FLOW_FILE,
    flowFilePretty: true,
    credentialSecret: secret,
    // DNS rebinding: only this machine's own names for the editor are answered (WebSockets: guardUpgrades above).
    httpAdminMiddleware: hostCheck(port),
    httpNodeMiddleware: hostCheck(port),
    // This package is loaded straight from the repository: Node-RED scans each nodesDir entry, and
    // one whose package.json has a "node-red" section is loaded as that module (its "nodes" map
    // points at dist/durable-mqtt.js). No copy, symlink or npm install into the userDir needed.
    nodesDir: REPO_ROOT,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    // No adminAuth: local demo only (see the top of this file).
    // Lets the editor stop and start the flows (Deploy menu), which the demo's comment node uses.
    runtimeState: { enabled: true, ui: true },
    // A demo should not ask for telemetry consent or phone home.
    telemetry: { enabled: false, updateNotification: false },
    // No welcome tour. `tours` is missing from the settings typings, hence the cast.
    editorTheme: { tours: false } as unknown as Settings['editorTheme'],
  };
  RED.init(http, settings);
  await RED.start();
  running.red = true;

  const ours = (RED.nodes as unknown as NodeRegistry).getNodeList().filter((set) => set.module === PACKAGE_NAME);
  const types = ours.flatMap((set) => (set.enabled && !set.err ? set.types : []));
  const missing = OUR_TYPES.filter((t) => !types.includes(t));
  if (missing.length > 0) {
    const errors = ours.map((set) => set.err).filter(Boolean).map(String);
    log(`${PACKAGE_NAME} did not register ${missing.join(', ')}${errors.length ? `: ${errors.join('; ')}` : ''}`);
    await shutdown('cannot run the demo', 1);
    return;
  }
  log(`loaded ${PACKAGE_NAME} from ${REPO_ROOT}: ${types.join(', ')}`);
  banner(editor, broker, userDir);
}

main().catch((err: unknown) => {
  log(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
