// Test helper: a minimal SOCKS5 proxy on 127.0.0.1 (no auth, CONNECT only) that counts the connections it carried.
import { connect, createServer, type Socket } from 'node:net';
import { freePort } from './ports.js';

export interface SocksProxy {
  readonly url: string;
  /** CONNECT requests served so far. */
  connections(): number;
  close(): Promise<void>;
}

/** RFC 1928: greeting → method 0 (no auth); CONNECT to an IPv4 or a domain name; reply success; then bytes both ways. */
export async function startSocksProxy(): Promise<SocksProxy> {
  const port = await freePort();
  let served = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.once('data', (greeting) => {
      if (greeting[0] !== 5) return client.destroy();
      client.write(Buffer.from([5, 0]));
      client.once('data', (req) => {
        const type = req[3];
        const host = type === 1 ? [...req.subarray(4, 8)].join('.') : type === 3 ? req.subarray(5, 5 + req[4]).toString() : '';
        const at = type === 1 ? 8 : 5 + req[4];
        const target = req.readUInt16BE(at);
        if (req[1] !== 1 || !host) return client.destroy();
        const upstream = connect(target, host, () => {
          served++;
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          client.pipe(upstream).pipe(client);
        });
        sockets.add(upstream);
        upstream.on('close', () => client.destroy());
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `socks5://127.0.0.1:${port}`,
    connections: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
