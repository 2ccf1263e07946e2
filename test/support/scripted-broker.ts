// Test helper: a scripted MQTT peer on a real socket, answering CONNECT, SUBSCRIBE, PUBLISH and PINGREQ well-formed while a spec scripts what else it sends and reads every packet in the order it came (hostile-peer specs, and the gated stream's order).
import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { freePort } from './ports.js';

/** One client connection as a script sees it. */
export interface ScriptedConnection {
  /** 0 for the first connection the broker accepted, 1 for the next… */
  readonly index: number;
  readonly protocolVersion: 4 | 5;
  /** The client's CONNECT. */
  readonly connect: mqttPacket.IConnectPacket;
  /** A well-formed packet, in the connection's protocol version. */
  send(packet: mqttPacket.Packet): void;
  /** Bytes as they are, malformed or not. */
  raw(bytes: Buffer): void;
  /** A well-formed PUBLISH (QoS 1 by default, a fresh packet id). */
  publish(topic: string, payload: string, qos?: 0 | 1 | 2): void;
  /** Ends the connection (FIN). */
  end(): void;
  /** True once the client closed or the socket failed. */
  readonly closed: boolean;
}

/** What the broker does on a connection. Every hook is optional: unscripted, it is a plain well-behaved broker. */
export interface ConnectionScript {
  /** Instead of the CONNACK (sessionPresent false, success): send these, or nothing. */
  connack?: (c: ScriptedConnection) => void;
  /** After the SUBACK of the connection's first SUBSCRIBE: the bad traffic and the good around it. */
  subscribed?: (c: ScriptedConnection) => void;
  /** Instead of the SUBACK of each SUBSCRIBE. */
  suback?: (c: ScriptedConnection, packet: mqttPacket.ISubscribePacket) => void;
  /** Instead of the answer to each PUBLISH from the client (PUBACK for QoS 1, PUBREC for QoS 2). */
  published?: (c: ScriptedConnection, packet: mqttPacket.IPublishPacket) => void;
}

export interface ScriptedBroker {
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Every packet the clients sent, with the index of its connection. */
  readonly received: { connection: number; packet: mqttPacket.Packet }[];
  close(): Promise<void>;
}

/**
 * `scripts[i]` drives the i-th connection; connections past the list get a plain broker, so "the
 * next connection" after a bad packet is well-behaved unless scripted. A function scripts every
 * connection. Only for hostile-peer specs; every other test runs against Aedes or Mosquitto.
 */
export async function startScriptedBroker(scripts: ConnectionScript[] | ((index: number) => ConnectionScript)): Promise<ScriptedBroker> {
  const port = await freePort();
  const received: ScriptedBroker['received'] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const index = connections++;
    const script = (typeof scripts === 'function' ? scripts(index) : scripts[index]) ?? {};
    sockets.add(socket);
    let closed = false;
    socket.once('close', () => {
      closed = true;
      sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    let protocolVersion: 4 | 5 = 4;
    let nextId = 1;
    let subscribed = false;
    let connection: ScriptedConnection | undefined;
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const raw = (bytes: Buffer): void => {
      if (!socket.destroyed) socket.write(bytes);
    };
    const send = (packet: mqttPacket.Packet): void => raw(mqttPacket.generate(packet, { protocolVersion }));
    parser.on('packet', (packet) => {
      received.push({ connection: index, packet });
      switch (packet.cmd) {
        case 'connect': {
          protocolVersion = packet.protocolVersion === 5 ? 5 : 4;
          const connect = packet;
          connection = {
            index,
            protocolVersion,
            connect,
            send,
            raw,
            publish: (topic, payload, qos = 1) => send({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 ? { messageId: nextId++ } : {}) }),
            end: () => socket.end(),
            get closed() {
              return closed || socket.destroyed;
            },
          };
          if (script.connack) script.connack(connection);
          else send({ cmd: 'connack', sessionPresent: false, ...(protocolVersion === 5 ? { reasonCode: 0 } : { returnCode: 0 }) });
          break;
        }
        case 'subscribe':
          if (!connection) break;
          if (script.suback) script.suback(connection, packet);
          else send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) });
          if (!subscribed) {
            subscribed = true;
            script.subscribed?.(connection);
          }
          break;
        case 'publish':
          if (!connection) break;
          if (script.published) script.published(connection, packet);
          else if (packet.qos === 1) send({ cmd: 'puback', messageId: packet.messageId });
          else if (packet.qos === 2) send({ cmd: 'pubrec', messageId: packet.messageId });
          break;
        case 'pubrel':
          send({ cmd: 'pubcomp', messageId: packet.messageId });
          break;
        case 'unsubscribe':
          send({ cmd: 'unsuback', messageId: packet.messageId, ...(protocolVersion === 5 ? { granted: packet.unsubscriptions.map(() => 0) } : {}) } as mqttPacket.Packet);
          break;
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
    connections: () => connections,
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
