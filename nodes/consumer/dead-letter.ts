// The dead letter of durable-mqtt-in: the msg its `failed` output sends for a message that reached the delivery limit.
import type { NodeMessage } from 'node-red';
import { textOf } from '../session/config/values';

/** The node a failure came from, as core's Catch node names it in msg.error.source (Flow.js handleError). */
export interface ErrorSource {
  readonly id: string;
  readonly type: string;
  readonly name?: string;
}

/** msg.error as a Catch node would see it: the error's text, the node that reported it, and its stack. */
export interface CaughtError {
  readonly message: string;
  readonly source: ErrorSource;
  readonly stack?: string;
}

/** Core builds `message` from `logMessage.toString()`: "Error: …" for an Error, the string itself for done("text"). */
export function caughtError(error: unknown, source: ErrorSource): CaughtError {
  const stack = error instanceof Error ? error.stack : undefined;
  return stack === undefined ? { message: textOf(error), source } : { message: textOf(error), source, stack };
}

/**
 * The original message again (topic, payload as first converted, qos, retain, MQTT 5 properties:
 * `fresh` is built from the received bytes, not the msg the flow may have changed), with the last
 * failure and the number of deliveries it had.
 */
export function deadLetterMessage(fresh: NodeMessage, error: CaughtError, deliveries: number): NodeMessage {
  return Object.assign(fresh, { error, deliveries });
}
