// Test helper: an HTTP proxy on 127.0.0.1 that serves CONNECT only and records each tunnel's target.
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { freePort } from './ports.js';

export interface HttpProxyOptions {
  /** Answer every CONNECT with 403 instead of tunnelling. */
  refuse?: boolean;
  /** `user:password` the client must send as Proxy-Authorization (Basic); 407 otherwise. */
  credentials?: string;
}

export interface HttpProxy {
  readonly url: string;
  readonly port: number;
  /** `host:port` of every tunnel opened so far, in order. */
  tunnels(): string[];
  /** CONNECT requests answered with an error status. */
  refusals(): number;
  close(): Promise<void>;
}

export async function startHttpProxy(opts: HttpProxyOptions = {}): Promise<HttpProxy> {
  const port = await freePort();
  const opened: string[] = [];
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on('error', () => undefined);
    const expected = opts.credentials ? `Basic ${Buffer.from(opts.credentials).toString('base64')}` : undefined;
    const status = opts.refuse ? '403 Forbidden' : expected && req.headers['proxy-authorization'] !== expected ? '407 Proxy Authentication Required' : undefined;
    if (status) {
      refused++;
      client.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const target = req.url ?? '';
    const at = target.lastIndexOf(':');
    const upstream = connect(Number(target.slice(at + 1)), target.slice(0, at).replace(/^\[(.*)\]$/, '$1'), () => {
      opened.push(target);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => client.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels: () => [...opened],
    refusals: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
