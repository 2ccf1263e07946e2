// Versions of the durable-mqtt-out's saved properties; version 1 also reads the core mqtt out's.
import { type Migration, type Props } from '../common/migrations';
import { blank } from '../session/config/values';

/**
 * The core mqtt out's node-level MQTT 5 properties (10-mqtt.js, MQTTOutNode), which this node does
 * not have: it takes them from the msg (msg.responseTopic, msg.contentType, msg.userProperties,
 * msg.correlationData, msg.messageExpiryInterval), as core does when the node leaves them empty.
 */
export const CORE_ONLY_PROPERTIES = ['respTopic', 'contentType', 'userProps', 'correl', 'expiry'] as const;

/** The core-only properties a converted node still sets, so the node can say they are not used rather than drop them silently. */
export function coreOnlySet(saved: object): string[] {
  return CORE_ONLY_PROPERTIES.filter((k) => !blank((saved as Props)[k]));
}

/**
 * Version 1: unversioned properties are ours from 0.1 or a core mqtt out's with its type switched.
 * Both save `topic`, `qos` and `retain` under the same names with the same meaning (empty: the msg
 * decides), so nothing is renamed; core's properties above stay, for the node to name them.
 */
const fromCore = (p: Props): Props => ({ ...p });

export const publisherMigrations: readonly Migration[] = [{ version: 1, up: fromCore }];
