// Port choice shared by the demo (editor) and its broker process: an explicit port from the environment, else the first free one of a range.
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';

export const HOST = '127.0.0.1';
/** The last port tried before asking the OS for any free one. */
const LAST_PREFERRED_PORT = 1899;

/** An explicit port from the environment, or undefined; exits on garbage. */
export function envPort(name: string, log: (text: string) => void): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    log(`${name}="${raw}" is not a TCP port`);
    process.exit(1);
  }
  return port;
}

/** Listens on `port`, resolving false if it is in use and rejecting on any other error. */
function tryListen(server: NetServer | HttpServer, port: number): Promise<boolean> {
  return new Promise((resolvePromise, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') resolvePromise(false);
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolvePromise(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, HOST);
  });
}

/**
 * Binds the server itself (so no other process can take the port between a check and the bind):
 * the explicit port if given, else the first free one of `from`..1899, else whatever the OS picks.
 */
export async function listenOnPort(server: NetServer | HttpServer, what: string, explicit: number | undefined, from: number, log: (text: string) => void): Promise<number> {
  if (explicit !== undefined) {
    if (!(await tryListen(server, explicit))) throw new Error(`${what} port ${explicit} is already in use`);
    return explicit;
  }
  for (let port = from; port <= LAST_PREFERRED_PORT; port++) {
    if (await tryListen(server, port)) {
      if (port !== from) log(`${what} port ${from} is in use; using ${port}`);
      return port;
    }
  }
  if (!(await tryListen(server, 0))) throw new Error(`no free port for the ${what}`);
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error(`cannot read the ${what} port`);
  log(`${what} ports ${from}..${LAST_PREFERRED_PORT} are in use; using ${addr.port}`);
  return addr.port;
}
