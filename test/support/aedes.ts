// Test helper: an in-process Aedes broker (plain TCP or TLS) that counts SUBSCRIBE/UNSUBSCRIBE packets.
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { freePort } from './ports.js';

export interface AedesOptions {
  /** Port to listen on; reuse a previous handle's port to simulate a broker restart that lost its sessions. */
  port?: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Return false to refuse the CONNECT with return code 4 (bad user name or password). */
  authenticate?: (user: string | undefined, password: string | undefined) => boolean;
  /** Return false to deny one subscription of a SUBSCRIBE; see `denySubscribeWith`. */
  authorizeSubscribe?: (topic: string) => boolean;
  /**
   * How a denied subscription is reported. 'error' (default) passes an Error to Aedes, which
   * emits clientError and drops the connection without a SUBACK. 'suback' negates the
   * subscription, so the client gets a SUBACK with granted QoS 128 (0x80) and stays connected,
   * which is what Mosquitto does for an ACL denial.
   */
  denySubscribeWith?: 'error' | 'suback';
}

export interface AedesHandle {
  port: number;
  url: string;
  broker: Aedes;
  /** SUBSCRIBE packets received since start, one per packet (however many topics it carries). */
  subscribeCount(): number;
  /** UNSUBSCRIBE packets received since start, one per packet. */
  unsubscribeCount(): number;
  /** Publishes from the broker itself (no client involved). */
  publish(topic: string, payload: string | Buffer, qos?: 0 | 1 | 2, retain?: boolean): Promise<void>;
  /** Destroys every client socket, closes the listener and the broker. Safe to call twice. */
  close(): Promise<void>;
}

// Aedes keeps its MQTT parser private; counting at the parser sees every packet, including
// SUBSCRIBEs that authorizeSubscribe rejects with an error (those never reach the 'subscribe' event).
interface ParserLike {
  on(event: 'packet', listener: (packet: { cmd: string }) => void): unknown;
}

export async function startAedes(opts: AedesOptions = {}): Promise<AedesHandle> {
  const port = opts.port ?? (await freePort());
  const broker = await Aedes.createBroker();
  let subscribes = 0;
  let unsubscribes = 0;

  const { authenticate, authorizeSubscribe } = opts;
  if (authenticate) {
    broker.authenticate = (_client, username, password, done) => {
      if (authenticate(username, password?.toString('utf8'))) {
        done(null, true);
        return;
      }
      const err = new Error('bad user name or password') as AuthenticateError;
      err.returnCode = 4; // AuthErrorCode.BAD_USERNAME_OR_PASSWORD: tsx (esbuild) cannot inline a const enum from a .d.ts
      done(err, false);
    };
  }
  if (authorizeSubscribe) {
    const mode = opts.denySubscribeWith ?? 'error';
    broker.authorizeSubscribe = (_client, sub, done) => {
      if (authorizeSubscribe(sub.topic)) done(null, sub);
      else if (mode === 'suback') done(null, null);
      else done(new Error('denied'));
    };
  }

  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A peer reset must not become an unhandled 'error' that kills mocha; Aedes also listens.
    socket.on('error', () => undefined);
    const client: Client = broker.handle(socket);
    const parser = (client as unknown as { _parser?: ParserLike })._parser;
    if (parser) {
      parser.on('packet', (packet) => {
        if (packet.cmd === 'subscribe') subscribes++;
        else if (packet.cmd === 'unsubscribe') unsubscribes++;
      });
    } else {
      // Fallback if Aedes internals change: these events miss error-denied SUBSCRIBEs.
      broker.on('subscribe', (_subs, c) => { if (c === client) subscribes++; });
      broker.on('unsubscribe', (_unsubs, c) => { if (c === client) unsubscribes++; });
    }
  };

  const server: Server = opts.tls
    ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, onConnection)
    : createNetServer(onConnection);
  // TLS handshake failures (e.g. a client that rejects our cert) are expected in tests.
  server.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close() waits for open connections, so cut them now (what a crashing broker does).
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await serverClosed;
    })();
    return closing;
  };

  return {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    broker,
    subscribeCount: () => subscribes,
    unsubscribeCount: () => unsubscribes,
    publish: (topic, payload, qos = 0, retain = false) =>
      new Promise<void>((resolve, reject) => {
        broker.publish(
          {
            cmd: 'publish', topic, qos, retain, dup: false,
            payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          },
          (err) => (err ? reject(err) : resolve()),
        );
      }),
    close,
  };
}

/** An Aedes broker per test, with the payload of every PUBACK it receives, in order; the flows are unloaded after each test. */
export function aedesRecordingAcks(unload: () => Promise<void>): { broker(): AedesHandle; acks: string[] } {
  let handle: AedesHandle | undefined;
  const acks: string[] = [];
  beforeEach(async () => {
    acks.length = 0;
    handle = await startAedes();
    handle.broker.on('ack', (packet) => {
      if (packet && 'payload' in packet) acks.push(String(packet.payload));
    });
  });
  afterEach(async () => {
    await unload();
    await handle?.close();
  });
  return {
    broker: () => {
      if (!handle) throw new Error('Aedes is not running');
      return handle;
    },
    acks,
  };
}
