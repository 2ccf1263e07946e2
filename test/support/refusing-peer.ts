// Test helper: a scripted MQTT peer on a real socket that answers CONNECT and ends the connection on SUBSCRIBE, as ejabberd does for `$share/…`.
import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { freePort } from './ports.js';

export interface RefusingPeer {
  url: string;
  /** SUBSCRIBE packets received, with their filters, in arrival order. */
  subscribes: string[][];
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
  const port = await freePort();
  const subscribes: string[][] = [];
  let connects = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let protocolVersion: 4 | 5 = 4;
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const send = (packet: mqttPacket.Packet): void => {
      socket.write(mqttPacket.generate(packet, { protocolVersion }));
    };
    parser.on('packet', (packet) => {
      switch (packet.cmd) {
        case 'connect':
          connects++;
          protocolVersion = packet.protocolVersion === 5 ? 5 : 4;
          send({ cmd: 'connack', sessionPresent: false, ...(protocolVersion === 5 ? { reasonCode: 0 } : { returnCode: 0 }) });
          break;
        case 'subscribe': {
          const filters = packet.subscriptions.map((s) => s.topic);
          subscribes.push(filters);
          if (filters.some(refuse)) {
            if (protocolVersion === 5 && disconnectCode !== undefined) send({ cmd: 'disconnect', reasonCode: disconnectCode });
            socket.end();
          } else {
            send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
          }
          break;
        }
        case 'pingreq':
          send({ cmd: 'pingresp' });
          break;
        case 'disconnect':
          socket.end();
          break;
        default:
          break;
      }
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    subscribes,
    connects: () => connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
