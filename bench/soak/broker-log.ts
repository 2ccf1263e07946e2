// Reads Mosquitto's `log_type all` file after a soak: when each client connected, and how many messages the broker sent it again (DUP) then, which is what it had in flight.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One connection of a client as the broker logged it. */
export interface BrokerConnection {
  /** ms since the epoch (the log has whole seconds). */
  readonly at: number;
  /** PUBLISHes sent with DUP set on this connection: messages in flight when the last one ended. */
  resent: number;
}

const CONNECTED = /^(\d+): New client connected from \S+ as (\S+) /;
const SENT_AGAIN = /^\d+: Sending PUBLISH to (\S+) \(d1,/;

/** Connections per client ID, in order; empty when the log has no per-packet lines (`--broker-log info`). */
export async function brokerConnections(logFile: string, clientIds: readonly string[]): Promise<Map<string, BrokerConnection[]>> {
  const out = new Map<string, BrokerConnection[]>(clientIds.map((id) => [id, []]));
  const lines = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    const resent = SENT_AGAIN.exec(line);
    if (resent) {
      const conns = out.get(resent[1]);
      if (conns && conns.length > 0) conns[conns.length - 1].resent++;
      continue;
    }
    const connected = CONNECTED.exec(line);
    if (connected) out.get(connected[2])?.push({ at: Number(connected[1]) * 1000, resent: 0 });
  }
  return out;
}

/**
 * For each fault (start times in ms, ascending), the messages the broker sent again on the client's
 * first connection before the next fault: what it had in flight to that client when the fault
 * struck. 0 where the client did not reconnect; null where the log has no per-packet lines.
 */
export function inFlightAtFaults(conns: readonly BrokerConnection[], faultStarts: readonly number[], perPacket: boolean): (number | null)[] {
  // The log has whole seconds, so a connection logged in the fault's own second may follow it.
  const second = (ms: number): number => Math.floor(ms / 1000) * 1000;
  return faultStarts.map((start, i) => {
    if (!perPacket) return null;
    const end = i + 1 < faultStarts.length ? second(faultStarts[i + 1]) : Infinity;
    return conns.find((c) => c.at >= second(start) && c.at < end)?.resent ?? 0;
  });
}
