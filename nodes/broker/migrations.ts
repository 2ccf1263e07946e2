// Versions of the durable-mqtt-broker's saved properties; version 1 also reads the core mqtt-broker's names.
import { holds, isEnvReference, type Migration, type Props } from '../common/migrations';
import { withPort } from '../session/config/config';
import { numberOf, unset } from '../session/config/values';

/** The core node's names for what we call clientId and cleanSession (core 10-mqtt.js, MQTTBrokerNode.setOptions). */
const CORE_RENAMES: readonly [core: string, ours: string][] = [
  ['clientid', 'clientId'],
  ['cleansession', 'cleanSession'],
];

/** A core mqtt-broker always saves `cleansession` and `clientid`; we never wrote either. */
export const isCoreBroker = (p: Props): boolean => holds(p, 'cleansession') || holds(p, 'clientid');

/**
 * Core keeps host and port apart (`broker: "127.0.0.1"`, `port: "1883"`); we keep one URL. They are
 * joined only when neither is an environment variable reference: Node-RED substitutes a property
 * only when it is exactly `${NAME}`, so `${HOST}:${PORT}` would never be replaced. The runtime
 * reads a `port` left in place the same way (session/config/config.ts withPort).
 */
function joinPort(p: Props): void {
  const broker = typeof p.broker === 'string' ? p.broker : '';
  if (unset(p.port) || isEnvReference(broker) || isEnvReference(p.port)) return;
  p.broker = withPort(broker, p.port);
  delete p.port;
}

/**
 * Version 1: unversioned properties are ours from 0.1 or a core mqtt-broker's with its type
 * switched. Our own names win where both are set.
 */
function fromCore(input: Props): Props {
  const p = { ...input };
  const core = isCoreBroker(p);
  for (const [from, to] of CORE_RENAMES) {
    if (!Object.hasOwn(p, from)) continue;
    if (unset(p[to])) p[to] = p[from];
    delete p[from];
  }
  joinPort(p);
  // Core uses the TLS config only while "Use TLS" is ticked (`usetls`); we use it whenever one is chosen.
  if (p.usetls === false || p.usetls === 'false') {
    delete p.tls;
    delete p.usetls;
  } else if (!unset(p.tls)) {
    delete p.usetls;
  }
  // Core's dialog writes 0 (or nothing) by default, and core then sends no Session Expiry Interval, which
  // ends the session at every disconnect: not what a persistent session asks for. We use our default.
  if (core && (unset(p.sessionExpiry) || numberOf(p.sessionExpiry) === 0)) delete p.sessionExpiry;
  return p;
}

export const brokerMigrations: readonly Migration[] = [{ version: 1, up: fromCore }];
