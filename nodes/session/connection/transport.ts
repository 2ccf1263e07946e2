// Builds an MQTT.js client on MQTT.js's own transports, with a GatedStream between the client and its socket.
import type { Agent } from 'node:http';
import { MqttClient, type IClientOptions, type StreamBuilder } from 'mqtt';
import tcp from 'mqtt/lib/connect/tcp';
import tls from 'mqtt/lib/connect/tls';
import { streamBuilder as ws } from 'mqtt/lib/connect/ws';
import { GatedStream } from '../stream/gated-stream';
import { proxyAgent, wsProxyFor } from './proxy';

type Scheme = 'mqtt' | 'mqtts' | 'ws' | 'wss';

// Public entry points of the mqtt package (its exports map `./*` to `./build/*.js`).
const TRANSPORTS: Record<Scheme, StreamBuilder> = { mqtt: tcp, mqtts: tls, ws, wss: ws };

/**
 * `connect()` hides the stream builder, so this does its URL work with the public `MqttClient`
 * constructor instead. `server` names the URL of each new connection (the builder runs once per
 * CONNECT, before MQTT.js builds the packet: client.ts `connect`), so one client, with its stores
 * of publishes in flight, moves between the servers of a list. `onStream` sees each new
 * connection's stream. `httpProxy` is `SessionConfig.httpProxy`: ws:// and wss:// go through it,
 * or the environment's.
 */
export function gatedClient(server: () => string, options: IClientOptions, onStream: (stream: GatedStream) => void, httpProxy?: string | null): MqttClient {
  // One agent per proxy for the client's life: every reconnect opens a fresh tunnel through it.
  const agents = new Map<string, Agent>();
  const agentFor = (proxy: string): Agent => {
    let agent = agents.get(proxy);
    if (!agent) agents.set(proxy, (agent = proxyAgent(proxy)));
    return agent;
  };
  const client = new MqttClient((built) => {
    const opts = optionsFor(server(), options, httpProxy, agentFor);
    // Credentials in a server's URL are that server's; the CONNECT packet reads them from the client's options.
    built.options.username = opts.username;
    built.options.password = opts.password;
    // Transports edit the options they are given (default port, servername), so each gets a copy.
    const stream = new GatedStream(TRANSPORTS[opts.protocol as Scheme](built, { ...opts }), built);
    onStream(stream);
    return stream;
  }, optionsFor(server(), options, httpProxy, agentFor));
  return client;
}

/** The client options for one server's URL. */
function optionsFor(brokerUrl: string, options: IClientOptions, httpProxy: string | null | undefined, agentFor: (proxy: string) => Agent): IClientOptions {
  const url = new URL(brokerUrl);
  const protocol = url.protocol.slice(0, -1) as Scheme;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const proxy = wsProxyFor(brokerUrl, httpProxy);
  return {
    ...options,
    protocol,
    hostname,
    host: hostname,
    port: url.port ? Number(url.port) : undefined,
    path: protocol === 'ws' || protocol === 'wss' ? `${url.pathname}${url.search}` : undefined,
    username: options.username ?? (url.username ? decodeURIComponent(url.username) : undefined),
    password: options.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
    ...(proxy ? { wsOptions: { ...options.wsOptions, agent: agentFor(proxy) } } : {}),
  };
}
