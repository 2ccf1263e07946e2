// The command line the demo prints for publishing to its broker: mosquitto_pub where it is installed, else MQTT.js's own CLI from this project's dependencies.
import { spawnSync } from 'node:child_process';

export interface PublishTarget {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user?: string;
}

/** Whether a command is on the PATH (Debian's `mosquitto` package has no clients; `mosquitto-clients` does). */
export const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/**
 * One QoS 1 message to the broker. `npx mqtt pub` takes the same -h -p -q -t -m -u -P flags as
 * mosquitto_pub and runs from the project folder with nothing more installed.
 */
export function publishCommand(broker: PublishTarget, topic: string, message: string, mosquittoPub = onPath('mosquitto_pub')): string {
  const auth = broker.user !== undefined ? ` -u ${broker.user} -P '<password>'` : '';
  const tls = broker.url.startsWith('mqtt://') ? '' : ' (plus TLS/websocket options for your broker)';
  const program = mosquittoPub ? 'mosquitto_pub' : 'npx mqtt pub';
  return `${program} -h ${broker.host} -p ${broker.port}${auth} -q 1 -t ${topic} -m '${message}'${tls}`;
}
