// Message ids for msg._msgid: Node-RED's shape (16 hex digits), without a random draw per message.
import { randomBytes } from 'node:crypto';

/**
 * A random prefix per process and a counter: unique within the runtime, distinct across restarts.
 * The runtime's own generateId costs a crypto call for every message.
 */
export function messageIds(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let counter = 0;
  return () => {
    counter = (counter + 1) >>> 0;
    return prefix + counter.toString(16).padStart(8, '0');
  };
}
