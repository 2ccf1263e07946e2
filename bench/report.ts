// Turns results into the tables printed on stdout.
import type { DrainResult } from './drain';
import type { LiveResult } from './live';
import type { ProfileSummary } from './profile';
import type { Spread } from './stats';

const SINK_NAMES: Record<DrainResult['sink'], string> = { sync: 'function-node', async5ms: 'async function-node (5 ms)', light: 'light counting' };

const fmt = (v: number, digits = 0): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function cell(s: Spread | undefined, digits = 0): string {
  if (!s) return '–';
  return s.min === s.max ? fmt(s.median, digits) : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Median of `a` over median of `b`, as "1.23×". */
export function ratio(a: Spread | undefined, b: Spread | undefined): number {
  return a && b ? a.median / b.median : NaN;
}

export function drainTable(r: DrainResult): string {
  const bare = r.byContestant.bare?.rate;
  const thin = r.byContestant.thin?.rate;
  const core = r.byContestant.core?.rate;
  const coreCpu = r.byContestant.core?.cpuUsPerMsg;
  const rows = Object.entries(r.byContestant).map(([, c]) => [
    c.label,
    cell(c.rate),
    fmt(ratio(c.rate, core), 2),
    fmt(ratio(c.rate, bare), 2),
    fmt(ratio(c.rate, thin), 2),
    cell(c.cpuUsPerMsg, 1),
    // Inverted, so that like the rate ratios, above 1 means better than core.
    fmt(ratio(coreCpu, c.cpuUsPerMsg), 2),
    cell(c.peakRssMiB),
    `${c.complete}/${c.rounds}`,
  ]);
  const title = `${r.title}: ${r.n.toLocaleString('en')} × ${r.size} B, ${r.filters} filter${r.filters > 1 ? 's' : ''}, ${SINK_NAMES[r.sink]} sink`;
  return `${title}\n${table(['contestant', 'msg/s median (min–max)', '×core', '×bare', '×ideal', 'CPU µs/msg', 'CPU ×core', 'peak RSS MiB', 'complete'], rows)}`;
}

/** A rate ratio the issue set a floor for: contestant `a` over contestant `b`, at least `min`. */
export interface Target {
  a: string;
  b: string;
  min: number;
}

/** One line per target, "a / b: 0.97× (target ≥ 0.95×, met)"; targets whose contestants did not run are left out. */
export function targetLines(r: DrainResult, targets: readonly Target[]): string[] {
  return targets
    .filter((t) => r.byContestant[t.a] && r.byContestant[t.b])
    .map((t) => {
      const x = ratio(r.byContestant[t.a].rate, r.byContestant[t.b].rate);
      const verdict = Number.isFinite(x) ? (x >= t.min ? 'met' : 'not met') : 'no rate';
      return `${r.byContestant[t.a].label} / ${r.byContestant[t.b].label}: ${fmt(x, 2)}× (target ≥ ${t.min}×, ${verdict})`;
    });
}

export function liveTable(r: LiveResult): string {
  return Object.entries(r.byRate)
    .map(([rate, cells]) => {
      const rows = Object.values(cells).map((c) => [
        c.label,
        cell(c.receivedRatio && { ...c.receivedRatio, median: c.receivedRatio.median * 100, min: c.receivedRatio.min * 100, max: c.receivedRatio.max * 100 }, 1),
        cell(c.receivedRate),
        cell(c.publishedRate),
        cell(c.p50Ms, 1),
        cell(c.p99Ms, 1),
        `${c.keptUp}/${c.receivedRatio?.values.length ?? 0}`,
      ]);
      const title = `live: ${Number(rate).toLocaleString('en')} msg/s for ${r.seconds} s, ${r.size} B`;
      return `${title}\n${table(['contestant', 'received %', 'received msg/s', 'published msg/s', 'p50 ms', 'p99 ms', 'all received'], rows)}`;
    })
    .join('\n\n');
}

export function profileTable(label: string, p: ProfileSummary): string {
  const areas = Object.entries(p.areas)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
    .join(', ');
  const rows = (list: ProfileSummary['top']): string[][] => list.map((h) => [h.name, h.where, fmt(h.selfMs, 1), fmt(h.percent, 1), fmt(h.usPerMsg, 2)]);
  const header = (first: string): string[] => [first, 'where', 'ms', '% of busy', 'µs/msg'];
  return [
    `profile (${label}): ${p.totalMs} ms sampled ${p.windowed ? `while draining ${p.messages} messages` : '(whole process: the drain window matched no samples)'}`,
    `by area: ${areas}`,
    table(header('function (self time)'), rows(p.top)),
    '',
    'hottest in dist/ (ours):',
    p.ours.length > 0 ? table(header('function'), rows(p.ours)) : '(none sampled)',
  ].join('\n');
}
