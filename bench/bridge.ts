// The bridge scenario: a backlog through mqtt in → mqtt out, core against ours in both ack modes, on one broker config and on two, counted at a subscriber on the far side.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startNodeRed, type FlowNode } from '../test/support/nodered-process';
import { clearSession, primeSession, publishSequence } from './broker';
import { cpuMs, tcpSegmentsOut } from './cpu';
import { parsePayload } from './payload';
import { sampleRss } from './rss';
import { spread, type Spread } from './stats';

export interface BridgeContestant {
  readonly id: string;
  readonly label: string;
  readonly kind: 'core' | 'ours';
  readonly ackMode?: 'complete' | 'receive';
  /** One broker config for in and out, or one each. */
  readonly configs: 1 | 2;
  /** Ours only: the broker configs' MQTT version (3.1.1 unless set, as core's). */
  readonly protocolVersion?: 4 | 5;
}

export const BRIDGE_CONTESTANTS: BridgeContestant[] = [
  { id: 'core-1', label: 'core in → out, one config', kind: 'core', configs: 1 },
  { id: 'core-2', label: 'core in → out, two configs', kind: 'core', configs: 2 },
  { id: 'ours-complete-1', label: 'ours complete, one config', kind: 'ours', ackMode: 'complete', configs: 1 },
  { id: 'ours-complete-2', label: 'ours complete, two configs', kind: 'ours', ackMode: 'complete', configs: 2 },
  { id: 'ours-receive-1', label: 'ours receive, one config', kind: 'ours', ackMode: 'receive', configs: 1 },
  { id: 'ours-receive-2', label: 'ours receive, two configs', kind: 'ours', ackMode: 'receive', configs: 2 },
];

/**
 * Run only when `--contestants` names them. MQTT 5, to see whether the Receive Maximum we send keeps
 * the broker from sending a reconnecting consumer its whole queue: Mosquitto 2.0.11 sends it all the
 * same (docs/performance.md, "What one config costs the broker").
 */
export const BRIDGE_OPTIONAL: BridgeContestant[] = [
  { id: 'ours-complete-1-mqtt5', label: 'ours complete, one config, MQTT 5', kind: 'ours', ackMode: 'complete', configs: 1, protocolVersion: 5 },
];

export interface BridgeRound {
  contestant: string;
  n: number;
  round: number;
  /** Distinct messages at the far side per second, first → last. */
  rate: number;
  distinct: number;
  duplicates: number;
  complete: boolean;
  peakRssMiB: number;
  /** Node-RED's CPU time per message bridged, from the first arrival at the far side to the last (µs). */
  cpuUsPerMsg: number;
  /** The broker's CPU time per message over the same span (µs): what the flow costs Mosquitto, on the same two cores. */
  brokerUsPerMsg: number;
  /** TCP segments the host sent per message over the same span, every socket (Node-RED, broker, far side). */
  segmentsPerMsg: number;
  /** Node-RED's warnings and errors once its flows had started: a reconnect or a shed (docs/acks.md) shows here. */
  warnings: string[];
}

export interface BridgeResult {
  sizes: number[];
  rounds: BridgeRound[];
  /** Per backlog size, per contestant. */
  bySize: Record<string, Record<string, { label: string; rate?: Spread; peakRssMiB?: Spread; cpuUsPerMsg?: Spread; brokerUsPerMsg?: Spread; segmentsPerMsg?: Spread; complete: number; rounds: number }>>;
}

// Give up on a drain when nothing new arrived for this long.
const STALL_MS = 20_000;
const POLL_MS = 100;

/** The flow of one contestant: in on `src` (QoS 1, a persistent session) → out to `dst` (QoS 1). */
function bridgeFlow(c: BridgeContestant, url: string, clientId: string, src: string, dst: string): FlowNode[] {
  const tab: FlowNode = { id: 'bridge-tab', type: 'tab', label: 'bridge' };
  const outBroker = c.configs === 2 ? 'conn-out' : 'conn';
  if (c.kind === 'core') {
    const { hostname, port } = new URL(url);
    const broker = (id: string, clientid: string): FlowNode => ({
      id, type: 'mqtt-broker', broker: hostname, port, clientid, autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60',
      cleansession: id === 'conn' ? false : true, autoUnsubscribe: false, birthTopic: '', closeTopic: '', willTopic: '',
    });
    return [
      tab, broker('conn', clientId), ...(c.configs === 2 ? [broker('conn-out', `${clientId}-out`)] : []),
      { id: 'in', type: 'mqtt in', z: tab.id, topic: src, qos: '1', datatype: 'utf8', broker: 'conn', nl: false, rap: true, rh: 0, inputs: 0, wires: [['out']] },
      { id: 'out', type: 'mqtt out', z: tab.id, topic: dst, qos: '1', retain: 'false', broker: outBroker, wires: [] },
    ];
  }
  const broker = (id: string, cid: string): FlowNode => ({ id, type: 'durable-mqtt-broker', broker: url, clientId: cid, cleanSession: false, protocolVersion: c.protocolVersion ?? 4, version: 1 });
  return [
    tab, broker('conn', clientId), ...(c.configs === 2 ? [broker('conn-out', `${clientId}-out`)] : []),
    { id: 'in', type: 'durable-mqtt-in', z: tab.id, broker: 'conn', topic: src, qos: 1, datatype: 'utf8', ackMode: c.ackMode, version: 1, wires: [['out']] },
    { id: 'out', type: 'durable-mqtt-out', z: tab.id, broker: outBroker, topic: dst, qos: '1', wires: [] },
  ];
}

/** Counts distinct sequence numbers arriving on `topic`. */
async function farSide(url: string, topic: string): Promise<{ distinct: () => number; total: () => number; first: () => number; last: () => number; end: () => Promise<void> }> {
  const client = await mqtt.connectAsync(url, { clean: true, protocolVersion: 4, reconnectPeriod: 0 });
  const seen = new Set<number>();
  let total = 0;
  let first = 0;
  let last = 0;
  client.on('message', (_t, payload) => {
    const { seq } = parsePayload(payload);
    total++;
    if (seen.size === 0) first = performance.now();
    seen.add(seq);
    last = performance.now();
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { distinct: () => seen.size, total: () => total, first: () => first, last: () => last, end: () => client.endAsync() };
}

async function bridgeOne(c: BridgeContestant, broker: BenchBroker, n: number, round: number): Promise<BridgeRound> {
  const { url } = broker;
  const clientId = `bench-bridge-${c.id}-n${n}-r${round}`;
  const src = `bench/bridge/${c.id}/n${n}/r${round}/src`;
  const dst = `bench/bridge/${c.id}/n${n}/r${round}/dst`;
  await primeSession(url, clientId, [src]);
  await publishSequence(url, [src], n, 64);
  const far = await farSide(url, dst);
  const dir = mkdtempSync(join(tmpdir(), 'durable-bench-bridge-'));
  const red = await startNodeRed({ flow: bridgeFlow(c, url, clientId, src, dst), userDir: join(dir, 'userdir') });
  const rss = sampleRss(red.pid ?? 0);
  const started = red.output().length;
  try {
    let seen = -1;
    let progressAt = Date.now();
    // Costs from the first poll that saw arrivals: Node-RED's start-up (module loading) is not the bridge's cost.
    let from: { cpu: number; broker: number; segments: number; distinct: number } | undefined;
    while (far.distinct() < n) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      from ??= far.distinct() > 0 ? { cpu: cpuMs(red.pid ?? 0), broker: cpuMs(broker.pid ?? 0), segments: tcpSegmentsOut(), distinct: far.distinct() } : undefined;
      if (far.distinct() > seen) [seen, progressAt] = [far.distinct(), Date.now()];
      else if (Date.now() - progressAt > STALL_MS) break;
    }
    const distinct = far.distinct();
    const perMsg = (now: number, then: number | undefined): number => (from && then !== undefined && distinct > from.distinct ? (now - then) / (distinct - from.distinct) : NaN);
    const cpuUsPerMsg = perMsg(cpuMs(red.pid ?? 0), from?.cpu) * 1000;
    const brokerUsPerMsg = perMsg(cpuMs(broker.pid ?? 0), from?.broker) * 1000;
    const segmentsPerMsg = perMsg(tcpSegmentsOut(), from?.segments);
    return { contestant: c.id, n, round, rate: (distinct / (far.last() - far.first())) * 1000, distinct, duplicates: far.total() - distinct, complete: distinct === n, peakRssMiB: rss.peakMiB(), cpuUsPerMsg, brokerUsPerMsg, segmentsPerMsg, warnings: warningsIn(red.output().slice(started)) };
  } finally {
    rss.stop();
    await red.kill('SIGTERM');
    await far.end();
    await clearSession(url, clientId);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Node-RED's `[warn]` and `[error]` lines in `output`. */
function warningsIn(output: string): string[] {
  return output.split('\n').filter((line) => / - \[(warn|error)\] /.test(line));
}

/** The bench's broker: its URL, and its pid for the CPU it spends. */
export interface BenchBroker {
  readonly url: string;
  readonly pid: number | undefined;
}

/** Every contestant at every size, `rounds` times, the order rotated each round. */
export async function runBridge(broker: BenchBroker, sizes: number[], rounds: number, contestants: BridgeContestant[] = BRIDGE_CONTESTANTS): Promise<BridgeResult> {
  const result: BridgeResult = { sizes, rounds: [], bySize: {} };
  for (const n of sizes) {
    for (let round = 0; round < rounds; round++) {
      const k = round % contestants.length;
      for (const c of [...contestants.slice(k), ...contestants.slice(0, k)]) {
        const r = await bridgeOne(c, broker, n, round);
        console.log(`    ${String(n).padStart(7)} ${c.id.padEnd(16)} ${Math.round(r.rate).toString().padStart(7)} msg/s  ${r.distinct}/${n}${r.duplicates ? ` (+${r.duplicates} dup)` : ''}  peak RSS ${r.peakRssMiB.toFixed(0)} MiB  CPU ${r.cpuUsPerMsg.toFixed(1)} µs/msg, broker ${r.brokerUsPerMsg.toFixed(1)}, ${r.segmentsPerMsg.toFixed(2)} segments`);
        for (const w of r.warnings) console.log(`            ${w.slice(0, 200)}`);
        result.rounds.push(r);
      }
    }
    result.bySize[n] = {};
    for (const c of contestants) {
      const mine = result.rounds.filter((r) => r.n === n && r.contestant === c.id);
      result.bySize[n][c.id] = {
        label: c.label,
        // Core two-config loses a few messages each round (its out node is not connected yet when the first ones come), so incomplete rounds count too; the table says how many were complete.
        rate: spread(mine.map((r) => r.rate)),
        peakRssMiB: spread(mine.map((r) => r.peakRssMiB)),
        cpuUsPerMsg: spread(mine.map((r) => r.cpuUsPerMsg)),
        brokerUsPerMsg: spread(mine.map((r) => r.brokerUsPerMsg)),
        segmentsPerMsg: spread(mine.map((r) => r.segmentsPerMsg)),
        complete: mine.filter((r) => r.complete).length,
        rounds: mine.length,
      };
    }
  }
  return result;
}

/** One table per size: rate, ratio to core on the same number of configs, peak RSS. */
export function bridgeTable(r: BridgeResult): string {
  const lines: string[] = [];
  for (const n of r.sizes) {
    const by = r.bySize[n];
    lines.push(`bridge, ${n} backlog (msg/s at the far side, median of rounds; × core with as many configs; CPU per message of Node-RED and of the broker)`);
    for (const [id, c] of Object.entries(by)) {
      const core = by[id.endsWith('-2') ? 'core-2' : 'core-1']?.rate?.median;
      const rate = c.rate?.median;
      const ratio = rate !== undefined && core ? `${(rate / core).toFixed(2)}×` : '–';
      lines.push(`  ${c.label.padEnd(28)} ${rate === undefined ? '–'.padStart(7) : Math.round(rate).toString().padStart(7)}  ${ratio.padStart(6)}  peak RSS ${c.peakRssMiB ? c.peakRssMiB.median.toFixed(0) : '–'} MiB  CPU ${c.cpuUsPerMsg ? c.cpuUsPerMsg.median.toFixed(1) : '–'} + broker ${c.brokerUsPerMsg ? c.brokerUsPerMsg.median.toFixed(1) : '–'} µs/msg  ${c.complete}/${c.rounds} complete`);
    }
  }
  return lines.join('\n');
}
