// Test helper: a TCP proxy in front of a broker that takes what the client sends one MQTT packet at a time, as Mosquitto with a database save per loop does.
import { connect, createServer, type Socket } from 'node:net';
import { listenLocally } from './ports.js';
import { PacketBoundaries } from '../../nodes/session/stream/packet-boundaries.js';

export interface SlowReader {
  readonly port: number;
  readonly url: string;
  /** Packets from clients not yet passed on to the broker. */
  queued(): number;
  /** Packets a client sent that never reached the broker, because the connection ended first. */
  dropped(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Whole packets waiting for their turn, and the start of one still arriving. */
  queue: Buffer[];
  partial: Buffer[];
}

/**
 * Bytes from the broker go to the client at once; the client's packets reach the broker at most
 * `packetsPerSecond`, in order. Mosquitto 2.0.11 with `autosave_on_changes` reads one packet per
 * client per loop and saves its database after each loop, so acks sent faster than that wait unread
 * in its socket, and a connection that ends takes them away: here they wait in the queue, and a
 * client that closes takes its queue away.
 */
export async function startSlowReader(targetPort: number, packetsPerSecond: number): Promise<SlowReader> {
  const pairs = new Set<Pair>();
  let dropped = 0;
  const forget = (pair: Pair): void => {
    if (pairs.delete(pair)) dropped += pair.queue.length;
    pair.queue.length = 0;
    pair.client.destroy();
    pair.upstream.destroy();
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream, queue: [], partial: [] };
    pairs.add(pair);
    const boundaries = new PacketBoundaries();
    client.on('data', (chunk: Buffer) => {
      for (let rest = chunk; rest.length > 0; ) {
        const end = boundaries.cut(rest, 1);
        pair.partial.push(rest.subarray(0, end));
        if (boundaries.ended === 1) pair.queue.push(Buffer.concat(pair.partial.splice(0)));
        rest = rest.subarray(end);
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const side of [client, upstream]) {
      side.on('error', () => undefined); // a reset is how these connections end; 'close' follows
      side.once('close', () => forget(pair));
    }
  });
  const timer = setInterval(() => {
    for (const pair of pairs) {
      const packet = pair.queue.shift();
      if (packet) pair.upstream.write(packet);
    }
  }, 1000 / packetsPerSecond);
  const port = await listenLocally(server);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    queued: () => [...pairs].reduce((n, p) => n + p.queue.length, 0),
    dropped: () => dropped,
    close: async () => {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of [...pairs]) forget(pair);
      await closed;
    },
  };
}
