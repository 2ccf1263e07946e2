// The one error boundary of every per-message and per-timer path: a throw goes to the path's handler, never up into MQTT.js, a timer or a microtask.
import { asError } from '../session/events';

/** What a path does with a throw: report it (node.error(err, msg), which a Catch node sees) and settle or fail that one message. */
export type Failed<A extends unknown[]> = (err: Error, ...args: A) => void;

/**
 * `run` behind the boundary: a throw in it goes to `failed` with the same arguments, and the caller
 * goes on with the next message. Below MQTT.js's packet handler, a timer or a microtask, a throw
 * would otherwise end Node-RED (an uncaught exception) or cut the connection. Made once per path,
 * not per message.
 */
export function guarded<A extends unknown[]>(run: (...args: A) => void, failed: Failed<A>): (...args: A) => void {
  return (...args) => {
    try {
      run(...args);
    } catch (err) {
      fail(failed, asError(err), args);
    }
  };
}

function fail<A extends unknown[]>(failed: Failed<A>, err: Error, args: A): void {
  try {
    failed(err, ...args);
  } catch (again) {
    // The handler itself threw (its node is gone, say): a process warning, which neither stops Node-RED nor vanishes.
    process.emitWarning(`durable-mqtt: ${err.message}; reporting it failed too: ${asError(again).message}`);
  }
}
