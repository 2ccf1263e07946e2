// The MQTT 5 properties of a PUBLISH or a will that a broker takes: strings it can read, a response topic without wildcards.
import type { IClientPublishOptions } from 'mqtt';
import { topicError } from '../subscriptions/topic';
import { MAX_STRING_BYTES, mqttStringError } from './utf8';

type Properties = NonNullable<IClientPublishOptions['properties']>;

/**
 * Why a broker would not take these properties, starting with the property's MQTT name, or
 * undefined. Mosquitto reads every string property as UTF-8 (lib/property_mosq.c) and closes the
 * connection on one it refuses; binary data goes behind a 2-byte length like a string.
 */
export function propertiesError(p: Properties | undefined): string | undefined {
  if (!p) return undefined;
  if (p.contentType !== undefined) {
    const why = mqttStringError(p.contentType);
    if (why) return `contentType: ${why}`;
  }
  if (p.responseTopic !== undefined) {
    const why = topicError(p.responseTopic);
    if (why) return `responseTopic ${JSON.stringify(p.responseTopic)}: ${why}`;
  }
  if (p.correlationData && p.correlationData.length > MAX_STRING_BYTES) return `correlationData: it is ${p.correlationData.length} bytes, more than the ${MAX_STRING_BYTES} MQTT can frame`;
  for (const [name, value] of Object.entries(p.userProperties ?? {})) {
    const why = mqttStringError(name);
    if (why) return `userProperties name ${JSON.stringify(name)}: ${why}`;
    for (const v of [value].flat()) {
      const bad = mqttStringError(String(v));
      if (bad) return `userProperties.${name}: ${bad}`;
    }
  }
  return undefined;
}
