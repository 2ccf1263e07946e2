// Reads a process's CPU time (user + system) and the host's TCP segments sent from /proc (Linux): costs per message that a busy machine distorts less than a rate.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat: 100 on every Linux Node runs on (sysconf(_SC_CLK_TCK)). */
const TICKS_PER_S = 100;

/** CPU milliseconds the process has used so far, NaN once it has exited or without /proc. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces: utime and stime are the 14th and 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) / TICKS_PER_S) * 1000;
  } catch {
    return NaN;
  }
}

/** TCP segments this host has sent so far (every socket: /proc/net/snmp `Tcp: OutSegs`), NaN without /proc. */
export function tcpSegmentsOut(): number {
  try {
    const [names, values] = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Tcp:'))
      .map((l) => l.split(' '));
    return Number(values[names.indexOf('OutSegs')]);
  } catch {
    return NaN;
  }
}
