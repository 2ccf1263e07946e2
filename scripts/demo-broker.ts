// The demo's MQTT broker as its own long-lived process: Aedes with its sessions on disk, started detached by `npm start` so it outlives Node-RED's Ctrl-C.
//
// `npm start` (scripts/demo.ts) starts it once and reuses it at every later start; `npm run stop`
// stops it. It records itself in <userDir>/demo-broker.json (pid, port, URL), which it removes when
// it stops. Its output goes to <userDir>/demo-broker.log.
//
// Environment (set by scripts/demo.ts):
//   DEMO_USERDIR       the demo's user directory; the sessions live in its aedes-sessions/
//   DEMO_BROKER_PORT   exactly this port; else 1883, the next free one up to 1899, or any free port
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { Aedes } from 'aedes';
import aedesPersistenceLevel from 'aedes-persistence-level';
import { ClassicLevel } from 'classic-level';
import { BROKER_DATA_DIR, BROKER_FILE, type BrokerRecord } from './demo-broker-control';
import { envPort, HOST, listenOnPort } from './demo-ports';

function log(text: string): void {
  process.stdout.write(`${new Date().toISOString()} [demo-broker] ${text}\n`);
}

/**
 * Aedes with its sessions, subscriptions and queued QoS 1/2 messages in a LevelDB, so a consumer that
 * was away gets what was published meanwhile, across a restart of this process too.
 * aedes-persistence-level follows Aedes 1.x's persistence API; classic-level ships its LevelDB
 * binding prebuilt in the npm package.
 */
async function main(): Promise<void> {
  const userDir = process.env.DEMO_USERDIR;
  if (!userDir) throw new Error('DEMO_USERDIR is not set (scripts/demo.ts sets it)');
  const dataDir = join(resolve(userDir), BROKER_DATA_DIR);
  const recordFile = join(resolve(userDir), BROKER_FILE);
  mkdirSync(dataDir, { recursive: true });
  const db = new ClassicLevel(dataDir);
  const aedes = await Aedes.createBroker({ persistence: aedesPersistenceLevel(db) });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A client that resets its connection must not crash the broker; Aedes handles the rest.
    socket.on('error', () => undefined);
    aedes.handle(socket);
  });
  aedes.on('client', (c) => log(`client connected: ${c.id}`));
  aedes.on('clientDisconnect', (c) => log(`client disconnected: ${c.id}`));
  const port = await listenOnPort(server, 'broker', envPort('DEMO_BROKER_PORT', log), 1883, log);
  const record: BrokerRecord = { pid: process.pid, port, url: `mqtt://${HOST}:${port}`, dataDir };
  writeFileSync(recordFile, `${JSON.stringify(record, null, 2)}\n`);
  log(`listening on ${record.url}, sessions in ${dataDir}`);

  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    rmSync(recordFile, { force: true });
    const closed = new Promise<void>((done) => server.close(() => done()));
    // server.close() waits for open connections; cut the ones that remain.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((done) => aedes.close(() => done()));
    await closed;
    // Aedes closes its persistence; closing the database again is harmless and makes sure it is flushed.
    await db.close().catch(() => undefined);
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Started detached, a Ctrl-C in the demo's terminal never reaches it; run by hand, it should stop.
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  log(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
