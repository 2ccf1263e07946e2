// A session's settings where they meet the process and MQTT.js: the environment they read, and the client options they become. The checks are pure, in parse-config.ts and broker-url.ts.
import type { IClientOptions } from 'mqtt';
import { configOf, type ConfigResult, type RawConfig, type SessionConfig } from './parse-config';

// Where the rest of the package and the editor have always imported them from.
export { displayUrl, normaliseBrokerUrl, parseServers, withPort } from './broker-url';
export { asBool, DEFAULTS, numberIn, type RawConfig, type SessionConfig, type TlsOptions } from './parse-config';

/** ms MQTT.js waits for CONNACK before it gives a connection attempt up. */
export const CONNECT_TIMEOUT = 30_000;

/** configOf with this process's environment (the editor calls configOf itself, with none). */
export function parseConfig(raw: RawConfig): ConfigResult {
  return configOf(raw, process.env);
}

/** MQTT.js options: we reconnect and resubscribe ourselves, so both are off in the client. */
export function clientOptions(c: SessionConfig): IClientOptions {
  return {
    clientId: c.clientId || undefined,
    clean: c.cleanSession,
    protocolVersion: c.protocolVersion,
    keepalive: c.keepalive,
    username: c.username,
    password: c.password,
    reconnectPeriod: 0,
    manualConnect: true,
    resubscribe: false,
    connectTimeout: CONNECT_TIMEOUT,
    // MQTT.js would keep QoS 0 publishes made while it is not connected in memory, without bound; so it fails them ("No connection to broker").
    queueQoSZero: false,
    // MQTT.js logs every packet through `debug`; even switched off, that costs per message. Kept for DEBUG=mqttjs*.
    ...(/mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: () => undefined }),
    properties:
      c.protocolVersion === 5
        ? { sessionExpiryInterval: c.cleanSession ? 0 : c.sessionExpiry, maximumPacketSize: c.maximumPacketSize, ...(c.userProperties ? { userProperties: c.userProperties } : {}) }
        : undefined,
    ...(c.messages?.will ? { will: c.messages.will } : {}),
    ...(c.socksProxy ? { socksProxy: c.socksProxy } : {}),
    ...c.tls,
  };
}
