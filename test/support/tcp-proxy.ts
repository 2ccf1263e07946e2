// Test helper: a TCP proxy that can go silent like a cut cable (no FIN, no RST), then drop or resume its connections.
import { connect, createServer, type Socket } from 'node:net';
import { listenLocally } from './ports.js';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /**
   * Stops forwarding in both directions without closing anything: bytes stay unread, a side that
   * closes is not told to the other, new connections are accepted but not connected onward.
   */
  blackhole(): void;
  /** Forwards again: held connections are connected onward, paused ones carry on where they stopped. */
  resume(): void;
  /** Resets (RST) every connection it carries, on both sides. */
  drop(): void;
  /** Connections currently held, forwarded or not. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

/** Listens on a free 127.0.0.1 port and forwards to `targetPort` on 127.0.0.1. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let silent = false;

  const forget = (pair: Pair): void => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  /** Closing one side closes the other, unless the proxy is silent: then nobody hears of it. */
  const whenClosed = (pair: Pair, side: Socket): void => {
    side.on('error', () => undefined); // a reset side is expected here; 'close' follows
    side.once('close', () => {
      if (!silent) forget(pair);
    });
  };

  const connectOnward = (pair: Pair): void => {
    const upstream = connect(targetPort, '127.0.0.1');
    pair.upstream = upstream;
    whenClosed(pair, upstream);
    upstream.on('data', (d: Buffer) => pair.client.write(d));
    pair.client.on('data', (d: Buffer) => upstream.write(d));
    upstream.once('connect', () => {
      if (!silent) pair.client.resume();
    });
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client };
    pairs.add(pair);
    whenClosed(pair, client);
    if (!silent) connectOnward(pair);
  });
  const port = await listenLocally(server);

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    blackhole: () => {
      silent = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream?.pause();
      }
    },
    resume: () => {
      silent = false;
      for (const pair of [...pairs]) {
        if (pair.client.destroyed || pair.upstream?.destroyed) forget(pair); // closed while silent
        else if (!pair.upstream) connectOnward(pair);
        else {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    drop: () => {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        for (const s of [pair.client, pair.upstream]) if (s && !s.destroyed) s.resetAndDestroy();
      }
    },
    connections: () => pairs.size,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of [...pairs]) forget(pair);
      await closed;
    },
  };
}
