// Reads a V8 .cpuprofile and sums self time per function, within the drain's time window.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** Short location: package or repo-relative file, with line. */
  where: string;
  selfMs: number;
  percent: number;
  /** Self time per drained message, µs. */
  usPerMsg: number;
}

export interface ProfileSummary {
  file: string;
  /** True when the window matched samples; false means the whole profile was used. */
  windowed: boolean;
  /** Messages drained in the window. */
  messages: number;
  totalMs: number;
  top: HotFunction[];
  /** The hottest functions in our dist/, wherever they rank. */
  ours: HotFunction[];
  /** Self time by area: our dist/, mqtt, Node-RED, Node internals, GC, other. */
  areas: Record<string, number>;
}

function where(url: string, line: number, root: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  const short = nm >= 0 ? path.slice(nm + '/node_modules/'.length) : path.startsWith(root) ? path.slice(root.length + 1) : path;
  return `${short}:${line + 1}`;
}

function areaOf(name: string, url: string, root: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(idle)' || name === '(program)') return name.slice(1, -1);
  if (url.includes(`${root}/dist/`)) return 'ours (dist/)';
  if (url.startsWith('Function node:')) return 'sink function node';
  if (url.includes(`${root}/bench/`)) return 'bench sink';
  if (url.includes('/node_modules/mqtt')) return 'mqtt.js';
  if (url.includes('/node_modules/@node-red/') || url.includes('/node_modules/node-red/')) return 'node-red';
  if (url.startsWith('node:') || (!url.includes('/') && url !== '')) return 'node internals';
  return url === '' ? 'native (writev, vm, ...)' : 'other';
}

/** Self time per function over samples taken between `fromUs` and `toUs` (monotonic µs). */
export function summarizeProfile(file: string, root: string, messages: number, [fromUs, toUs]: [number, number], topN = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const tally = (windowOnly: boolean): Map<ProfileNode, number> => {
    const self = new Map<ProfileNode, number>();
    let t = profile.startTime;
    profile.samples.forEach((id, i) => {
      t += profile.timeDeltas[i];
      if (windowOnly && (t < fromUs || t > toUs)) return;
      const node = byId.get(id);
      // The delta before a sample is the time it stands for (V8's own convention in DevTools).
      if (node) self.set(node, (self.get(node) ?? 0) + profile.timeDeltas[i]);
    });
    return self;
  };
  let self = Number.isFinite(fromUs) && Number.isFinite(toUs) ? tally(true) : new Map<ProfileNode, number>();
  const windowed = self.size > 0;
  if (!windowed) self = tally(false);

  const byFunction = new Map<string, HotFunction>();
  const areas: Record<string, number> = {};
  let totalUs = 0;
  for (const [node, us] of self) {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const key = `${name}@${url}:${lineNumber}`;
    const hot = byFunction.get(key) ?? { name, where: where(url, lineNumber, root), selfMs: 0, percent: 0, usPerMsg: 0 };
    hot.selfMs += us / 1000;
    byFunction.set(key, hot);
    const area = areaOf(name, url, root);
    areas[area] = (areas[area] ?? 0) + us / 1000;
    totalUs += us;
  }
  const busyMs = (totalUs - (areas.idle ?? 0) * 1000) / 1000;
  const ranked = [...byFunction.values()]
    .filter((h) => h.name !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .map((h) => ({
      ...h,
      selfMs: Math.round(h.selfMs * 10) / 10,
      percent: Math.round((h.selfMs / busyMs) * 1000) / 10,
      usPerMsg: Math.round((h.selfMs / messages) * 1000 * 100) / 100,
    }));
  const ours = ranked.filter((h) => h.where.startsWith('dist/')).slice(0, topN);
  return { file, windowed, messages, totalMs: Math.round(totalUs / 1000), top: ranked.slice(0, topN), ours, areas };
}
