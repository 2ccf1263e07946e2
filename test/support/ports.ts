// Test helper: find a free TCP port on 127.0.0.1 for brokers started by tests.
import { createServer, type Server } from 'node:net';

/** Returns a port the OS reports free on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      const { port } = addr;
      // Resolve only once closed, so the caller can bind the port immediately.
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Listens on a free 127.0.0.1 port and resolves with it. */
export async function listenLocally(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
  return address.port;
}
