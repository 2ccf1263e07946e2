// Which server of the broker list the next connection goes to, and where the persistent session was last seen.
import { displayUrl } from '../config/config';

/** The session was last held by another server than the one that just accepted us. */
export interface Move {
  /** Display URLs (no credentials). */
  readonly from: string;
  readonly to: string;
}

/**
 * The order is the preference: the first server that answers is used and kept. A connection or an
 * attempt that fails moves on to the next, round the list; `first` goes back to the top (the
 * return-to-first probe found it answering). MQTT.js's own `servers` option is round robin over
 * hosts only and never returns to the first (mqttjs/MQTT.js #1004), so the list is kept here and
 * transport.ts builds each connection's stream for `current`.
 */
export class ServerList {
  private index = 0;
  /** The server of the last accepted connection. */
  private last?: string;

  constructor(readonly urls: readonly string[]) {
    if (urls.length === 0) throw new Error('a server list needs at least one URL');
  }

  /** The URL (with credentials) the next or current connection uses. */
  get current(): string {
    return this.urls[this.index];
  }

  /** More than one server: failover applies, and the badge names the server. */
  get several(): boolean {
    return this.urls.length > 1;
  }

  /** Connected to a later server than the first. */
  get away(): boolean {
    return this.index > 0;
  }

  next(): void {
    this.index = (this.index + 1) % this.urls.length;
  }

  first(): void {
    this.index = 0;
  }

  /** A CONNACK came from `current`: the move from the previous server, if it changed. */
  accepted(): Move | undefined {
    const to = displayUrl(this.current);
    const from = this.last;
    this.last = to;
    return from !== undefined && from !== to ? { from, to } : undefined;
  }
}
