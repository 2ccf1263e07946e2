// Test helper: a scripted MQTT peer on a real socket that answers CONNECT and ends the connection on SUBSCRIBE, as ejabberd does for `$share/…`.
import { startScriptedBroker } from './scripted-broker.js';

export interface RefusingPeer {
  url: string;
  /** SUBSCRIBE packets received, with their filters, in arrival order. */
  readonly subscribes: string[][];
  /** CONNECT packets received. */
  connects(): number;
  close(): Promise<void>;
}

/**
 * Grants every SUBSCRIBE except those carrying a filter `refuse` matches: on such a SUBSCRIBE it
 * sends MQTT 5 DISCONNECT `disconnectCode` (when given and the client speaks MQTT 5) and closes
 * the socket, without a SUBACK. Sessions are never present. Only for this protocol corner; every
 * other test runs against a real broker.
 */
export async function startRefusingPeer(refuse: (filter: string) => boolean, disconnectCode?: number): Promise<RefusingPeer> {
  const broker = await startScriptedBroker(() => ({
    suback: (c, packet) => {
      if (packet.subscriptions.some((s) => refuse(s.topic))) {
        if (c.protocolVersion === 5 && disconnectCode !== undefined) c.send({ cmd: 'disconnect', reasonCode: disconnectCode });
        c.end();
      } else {
        c.send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
      }
    },
  }));
  return {
    url: broker.url,
    get subscribes() {
      return broker.received.flatMap(({ packet }) => (packet.cmd === 'subscribe' ? [packet.subscriptions.map((s) => s.topic)] : []));
    },
    connects: () => broker.received.filter(({ packet }) => packet.cmd === 'connect').length,
    close: () => broker.close(),
  };
}
