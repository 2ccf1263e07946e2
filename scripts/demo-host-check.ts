// The demo editor's guard against DNS rebinding: a request whose Host header is not this machine's own name for the editor gets 403.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * A web page on another site can make its own name resolve to 127.0.0.1 (DNS rebinding) and then
 * talk to the editor as same-origin; the demo has no adminAuth, so that page could deploy a
 * function node. The browser still sends the page's name as the Host header, so only the names
 * of this machine, with the editor's port, are let through.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const name = host.toLowerCase();
  return name === `localhost:${port}` || name === `127.0.0.1:${port}` || name === `[::1]:${port}`;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** For Node-RED's `httpAdminMiddleware` and `httpNodeMiddleware`: the editor, the admin API and the routes of HTTP-in nodes. */
export function hostCheck(port: number): Middleware {
  return (req, res, next) => {
    if (hostAllowed(req.headers.host, port)) return next();
    res.statusCode = 403;
    res.setHeader('Content-Type', 'text/plain');
    res.end(`Forbidden: the demo editor answers only to localhost:${port}, 127.0.0.1:${port} and [::1]:${port}\n`);
  };
}

/**
 * WebSocket handshakes (the editor's /comms, websocket-in nodes) never reach the middleware: the
 * server hands them to every `upgrade` listener, which Node-RED adds as it starts. So the check
 * sits in front of the event itself and answers a foreign Host before any listener sees it.
 */
export function guardUpgrades(server: HttpServer, port: number): void {
  const emit = server.emit.bind(server) as (event: string, ...args: unknown[]) => boolean;
  // EventEmitter's emit is overloaded per event in the typings; this one wrapper stands for all of them.
  server.emit = ((event: string, ...args: unknown[]): boolean => {
    if (event === 'upgrade') {
      const [req, socket] = args as [IncomingMessage, Duplex];
      if (!hostAllowed(req.headers.host, port)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
    }
    return emit(event, ...args);
  }) as HttpServer['emit'];
}
