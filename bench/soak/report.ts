// Prints a soak's result: the tally per contestant, the duplicates after each fault, and Node-RED's memory over time.
import { CONTESTANTS } from './flow';
import type { SoakResult } from './run';
import { duplicateBound } from './tally';

const mib = (v: number | null): string => (v === null ? '-' : `${v.toFixed(0)} MiB`);

export function report(r: SoakResult): string {
  const out: string[] = [];
  out.push(`soak: seed ${r.seed}, ${r.seconds} s at ${r.rate} msg/s, Mosquitto ${r.mosquitto}, ${r.faults.length} faults`);
  out.push(`the publisher took ${r.publisherSeconds.toFixed(0)} s${r.publisherSeconds > r.seconds * 1.1 ? ': the broker did not keep up with the rate' : ''}`);
  if (r.publisherError) out.push(`publisher failed: ${r.publisherError}`);
  for (const id of CONTESTANTS) {
    const t = r.contestants[id];
    out.push(`${id.padEnd(5)} sent ${t.sent}, lost ${t.lost}, duplicates ${t.duplicates}${t.lost > 0 ? ` (first missing: ${t.missing.join(', ')})` : ''}`);
  }
  out.push('', 'duplicates per fault window (from the fault to the next one), and what the broker had in flight then:');
  const cell = (dups: number, inFlight?: number | null): string => `${dups}${inFlight === undefined || inFlight === null ? '' : ` (${inFlight})`}`.padStart(14);
  out.push(`  ${'#'.padStart(3)}  ${'at s'.padStart(6)}  ${'kind'.padEnd(15)}  ${CONTESTANTS.map((id) => id.padStart(14)).join('  ')}`);
  out.push(`  ${'-'.padStart(3)}  ${'0.0'.padStart(6)}  ${'(start)'.padEnd(15)}  ${CONTESTANTS.map((id) => cell(r.contestants[id].perWindow[0])).join('  ')}`);
  for (const [i, f] of r.faults.entries()) {
    const kind = f.kind + (f.downMs ? ` ${(f.downMs / 1000).toFixed(1)}s` : '');
    out.push(`  ${String(f.index).padStart(3)}  ${(f.startedAt / 1000).toFixed(1).padStart(6)}  ${kind.padEnd(15)}  ${CONTESTANTS.map((id) => cell(r.contestants[id].perWindow[i + 1], r.brokerInFlight[id][i])).join('  ')}`);
  }
  const bound = duplicateBound();
  const over = r.contestants.ours.perWindow.filter((d) => d > bound).length;
  out.push(`ours: ${over} of ${r.faults.length + 1} windows over ${bound} duplicates (maxInFlight 10 + Mosquitto's max_inflight_messages 20)`);
  out.push('', `Node-RED RSS (peak ${mib(r.peakRssMiB)}), every 30 s:`);
  const every = r.timeline.filter((_, i) => i % 6 === 0);
  out.push(`  ${every.map((p) => `${p.t.toFixed(0)}s ${mib(p.rssMiB)}`).join(', ')}`);
  return out.join('\n');
}
