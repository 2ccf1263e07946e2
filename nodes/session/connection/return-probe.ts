// While connected to a later server of the list, asks now and then whether the first answers again (returnToFirst).
import { connect, type Socket } from 'node:net';

/** ms between two probes of the first server, and the longest one probe may take. */
export const RETURN_PROBE_INTERVAL = 15_000;

// MQTT.js's default ports, for a URL that names none.
const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

/**
 * A TCP connect to the first server's host and port, directly (not through a proxy): a broker
 * accepts connections once its listener is up, and a cluster node opens its MQTT listener only
 * after it has joined. The session then recycles its connection onto the first server; if that
 * CONNECT fails after all, the usual failover takes it on down the list.
 */
export class ReturnProbe {
  private timer?: NodeJS.Timeout;
  private socket?: Socket;

  constructor(private readonly interval = RETURN_PROBE_INTERVAL) {}

  /** Probes `url` every interval until it answers, then calls `answered` once. */
  start(url: string, answered: () => void): void {
    this.stop();
    const target = new URL(url);
    const port = target.port ? Number(target.port) : (DEFAULT_PORTS[target.protocol] ?? 1883);
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const probe = (): void => {
      const socket = connect({ host, port, timeout: this.interval });
      this.socket = socket;
      // One outcome per probe, whichever event comes first; none after stop().
      const settle = (up: boolean): void => {
        socket.destroy();
        if (this.socket !== socket) return;
        this.socket = undefined;
        if (up) answered();
        else this.timer = setTimeout(probe, this.interval);
      };
      socket.once('connect', () => settle(true));
      socket.once('timeout', () => settle(false));
      // A refused or unreachable first server is the expected answer while it is down: probe again later.
      socket.once('error', () => settle(false));
    };
    this.timer = setTimeout(probe, this.interval);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
  }
}
