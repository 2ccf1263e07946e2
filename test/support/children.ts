// Test helper: child processes (brokers, Node-RED) that must not outlive the test process.
import type { ChildProcess } from 'node:child_process';

// Every live child, so none outlives the test process (mocha --exit skips our cleanup).
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs `child` when the test process exits, unless it has exited by then. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

/** Resolves with the exit code (null if killed by a signal) once `child` exits, or rejects after `ms`. */
export function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
  });
}
