// Wall-clock milliseconds with sub-millisecond precision, comparable between processes on one machine.
import { performance } from 'node:perf_hooks';

/** performance.timeOrigin is the process start on the system clock, so parent and children agree. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
