// Builds an MQTT.js client on MQTT.js's own transports, with a GatedStream between the client and its socket.
import { MqttClient, type IClientOptions, type StreamBuilder } from 'mqtt';
import tcp from 'mqtt/lib/connect/tcp';
import tls from 'mqtt/lib/connect/tls';
import { streamBuilder as ws } from 'mqtt/lib/connect/ws';
import { GatedStream } from './gated-stream';
import { proxyAgent, wsProxyFor } from './proxy';

type Scheme = 'mqtt' | 'mqtts' | 'ws' | 'wss';

// Public entry points of the mqtt package (its exports map `./*` to `./build/*.js`).
const TRANSPORTS: Record<Scheme, StreamBuilder> = { mqtt: tcp, mqtts: tls, ws, wss: ws };

/**
 * `connect()` hides the stream builder, so this does its URL work with the public `MqttClient`
 * constructor instead. `onStream` sees each new connection's stream (one per CONNECT).
 * `httpProxy` is `SessionConfig.httpProxy`: ws:// and wss:// go through it, or the environment's.
 */
export function gatedClient(brokerUrl: string, options: IClientOptions, onStream: (stream: GatedStream) => void, httpProxy?: string | null): MqttClient {
  const url = new URL(brokerUrl);
  const protocol = url.protocol.slice(0, -1) as Scheme;
  const build = TRANSPORTS[protocol];
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const proxy = wsProxyFor(brokerUrl, httpProxy);
  const opts: IClientOptions = {
    ...options,
    protocol,
    hostname,
    host: hostname,
    port: url.port ? Number(url.port) : undefined,
    path: protocol === 'ws' || protocol === 'wss' ? `${url.pathname}${url.search}` : undefined,
    username: options.username ?? (url.username ? decodeURIComponent(url.username) : undefined),
    password: options.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
    // One agent for the client's life: every reconnect opens a fresh tunnel through it.
    ...(proxy ? { wsOptions: { ...options.wsOptions, agent: proxyAgent(proxy) } } : {}),
  };
  return new MqttClient((client) => {
    // Transports edit the options they are given (default port, servername), so each gets a copy.
    const stream = new GatedStream(build(client, { ...opts }), client);
    onStream(stream);
    return stream;
  }, opts);
}
