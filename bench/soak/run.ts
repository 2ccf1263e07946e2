// The soak: Mosquitto with persistence, a paced publisher, Node-RED with our consumer and core's side by side, and faults from a seed until time is up.
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto, type MosquittoHandle } from '../../test/support/mosquitto';
import { startNodeRed, type NodeRedProcess } from '../../test/support/nodered-process';
import { publishMany } from '../../test/support/publisher';
import { soakFlow, type ContestantId } from './flow';
import { brokerConnections, inFlightAtFaults } from './broker-log';
import { inject, type FaultRecord, type Rig } from './inject';
import { peakMiB, sampleRss } from './rss';
import { faults, type FaultKind } from './schedule';
import { duplicatesBy, readStamped, tallyStamped, type SoakTally } from './tally';

export interface SoakOptions {
  seed: number;
  /** How long the publisher publishes; faults come only within it. */
  seconds: number;
  /** QoS 1 messages per second. */
  rate: number;
  /** What each delay node lets through per second. */
  delayRate: number;
  kinds?: readonly FaultKind[];
  /** Gap between faults and broker downtime, ms (defaults: schedule.ts). */
  gapMs?: readonly [number, number];
  downMs?: readonly [number, number];
  /** Extra properties of our durable-mqtt-in node. */
  consumer?: Record<string, unknown>;
  /** `all`: every packet in Mosquitto's log (mosquitto.log in `dir`), to see what the broker holds and sends. */
  brokerLog: 'all' | 'info';
  /** Where the broker's data and log, Node-RED's user dir and log, and the sinks go. */
  dir: string;
  /** The end counts as settled once nothing new reached a sink for this long. */
  settleIdleMs: number;
  /** Progress lines. */
  log: (line: string) => void;
}

export interface TimelinePoint {
  /** s since the start. */
  readonly t: number;
  readonly rssMiB: number | null;
  readonly duplicates: Record<ContestantId, number>;
}

export interface SoakResult {
  seed: number;
  seconds: number;
  rate: number;
  sent: number;
  /** s the publisher took: much more than `seconds` means the broker could not keep up with the rate. */
  publisherSeconds: number;
  mosquitto: string;
  faults: FaultRecord[];
  contestants: Record<ContestantId, SoakTally>;
  /** Per fault, what the broker had in flight to each contestant (see broker-log.ts); null without `brokerLog: 'all'`. */
  brokerInFlight: Record<ContestantId, (number | null)[]>;
  peakRssMiB: number | null;
  timeline: TimelinePoint[];
  dir: string;
  /** Set when the publisher failed: what it did publish may be fewer than `sent`. */
  publisherError?: string;
}

export const TOPIC = 'soak/seq';
const SETTLE_MAX_MS = 300_000;
const SETTLE_POLL_MS = 500;
// Mosquitto saves its in-memory state only every 30 minutes by default; the reported runs saved after every change.
const AUTOSAVE = ['autosave_on_changes true', 'autosave_interval 1'];
const INFO_LOG = ['log_type none', 'log_type information', 'log_type notice', 'log_type warning', 'log_type error', 'log_type subscribe', 'log_type unsubscribe'];

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function brokerConfig(o: SoakOptions): string {
  const lines = [...AUTOSAVE, ...(o.brokerLog === 'info' ? INFO_LOG : []), `log_dest file ${join(o.dir, 'mosquitto.log')}`];
  return lines.join('\n');
}

/** The version from the broker log's first lines: the helper keeps only the tail of a long log. */
function mosquittoVersion(logFile: string): string {
  const fd = openSync(logFile, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return /mosquitto version (\S+) running/.exec(head.subarray(0, n).toString('utf8'))?.[1] ?? 'unknown';
  } finally {
    closeSync(fd);
  }
}

/**
 * Polls the sinks until nothing new came for `idleMs`: what is missing then is lost, and duplicates
 * that come late still count. Once every message is there, a quarter of that is enough.
 */
async function untilSettled(files: string[], sent: number, idleMs: number): Promise<void> {
  const end = Date.now() + SETTLE_MAX_MS;
  let lines = -1;
  let changed = Date.now();
  for (;;) {
    const sinks = files.map(readStamped);
    const now = sinks.reduce((n, s) => n + s.length, 0);
    if (now !== lines) {
      lines = now;
      changed = Date.now();
    }
    const complete = sinks.every((s) => tallyStamped(sent, s, []).lost === 0);
    if (Date.now() - changed > (complete ? idleMs / 4 : idleMs) || Date.now() > end) return;
    await pause(SETTLE_POLL_MS);
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const sent = Math.round(o.rate * o.seconds);
  const sinks = { ours: join(o.dir, 'ours.sink'), core: join(o.dir, 'core.sink') };
  const clientIds = { ours: `soak-ours-${o.seed}`, core: `soak-core-${o.seed}` };
  let broker: MosquittoHandle | undefined;
  let red: NodeRedProcess | undefined;
  try {
    broker = await startMosquitto({ persistence: true, dataDir: join(o.dir, 'broker'), extraConfig: brokerConfig(o) });
    const url = broker.url;
    const flow = (variant: number): ReturnType<typeof soakFlow> => soakFlow({ brokerUrl: url, topic: TOPIC, clientIds, sinks, delayRate: o.delayRate, variant, consumer: o.consumer });
    red = await startNodeRed({ flow: flow(0), userDir: join(o.dir, 'userdir') });
    await red.untilLogged(/\] subscribed soak\//);
    await red.untilLogged(/Connected to broker: /);
    const rig: Rig = { red, broker, flow, variant: 0 };

    const startedAt = Date.now();
    const since = (): number => Date.now() - startedAt;
    const rss = sampleRss(() => rig.red.pid, startedAt);
    o.log(`seed ${o.seed}: publishing ${sent} QoS 1 messages at ${o.rate}/s for ${o.seconds} s to ${url}; files in ${o.dir}`);
    let publisherError: string | undefined;
    const publishing = publishMany(url, TOPIC, sent, {
      qos: 1,
      rate: o.rate,
      connectOptions: { clientId: `soak-pub-${o.seed}`, reconnectPeriod: 250 },
    }).catch((err: unknown) => {
      publisherError = (err as Error).message;
    });

    const done: FaultRecord[] = [];
    for (const fault of faults({ seed: o.seed, kinds: o.kinds, gapMs: o.gapMs, downMs: o.downMs })) {
      // Every fault begins while the publisher still publishes.
      if (since() + fault.gapMs >= o.seconds * 1000) break;
      await pause(fault.gapMs);
      const began = since();
      o.log(`${(began / 1000).toFixed(1)} s: fault ${fault.index} ${fault.kind}${fault.downMs ? ` (broker down ${fault.downMs} ms)` : ''}`);
      await inject(fault, rig);
      done.push({ index: fault.index, kind: fault.kind, startedAt: began, endedAt: since(), ...(fault.downMs ? { downMs: fault.downMs } : {}) });
    }
    await publishing;
    const publisherSeconds = since() / 1000;
    o.log(`${(since() / 1000).toFixed(1)} s: publisher done${publisherError ? ` (failed: ${publisherError})` : ''}; settling`);
    await untilSettled(Object.values(sinks), sent, o.settleIdleMs);
    rss.stop();

    const faultStarts = done.map((f) => startedAt + f.startedAt);
    const lines = { ours: readStamped(sinks.ours), core: readStamped(sinks.core) };
    const contestants = { ours: tallyStamped(sent, lines.ours, faultStarts), core: tallyStamped(sent, lines.core, faultStarts) };
    const times = rss.samples.map((s) => startedAt + s.t);
    const dupsAt = { ours: duplicatesBy(lines.ours, times), core: duplicatesBy(lines.core, times) };
    const timeline = rss.samples.map((s, i) => ({ t: s.t / 1000, rssMiB: s.miB, duplicates: { ours: dupsAt.ours[i], core: dupsAt.core[i] } }));
    const logFile = join(o.dir, 'mosquitto.log');
    const version = mosquittoVersion(logFile);
    const conns = await brokerConnections(logFile, Object.values(clientIds));
    const perPacket = o.brokerLog === 'all';
    const brokerInFlight = {
      ours: inFlightAtFaults(conns.get(clientIds.ours) ?? [], faultStarts, perPacket),
      core: inFlightAtFaults(conns.get(clientIds.core) ?? [], faultStarts, perPacket),
    };
    return { seed: o.seed, seconds: o.seconds, rate: o.rate, sent, publisherSeconds, mosquitto: version, faults: done, contestants, brokerInFlight, peakRssMiB: peakMiB(rss.samples), timeline, dir: o.dir, publisherError };
  } finally {
    if (red) writeFileSync(join(o.dir, 'nodered.log'), red.output());
    await red?.kill('SIGKILL');
    await broker?.stop('SIGKILL');
  }
}


