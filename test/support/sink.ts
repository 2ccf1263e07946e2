// Test helper: a flow whose last node appends each message's sequence number to a file, and the arithmetic on that file.
import { existsSync, readFileSync } from 'node:fs';
import type { FlowNode } from './nodered-process.js';

export interface SinkFlowOptions {
  brokerUrl: string;
  /** May be `${VAR}`: Node-RED substitutes a property that is exactly one env var reference. */
  clientId: string;
  topic: string;
  /** Where processed sequence numbers go, one per line; may be `${VAR}` too. */
  sinkFile: string;
  /** Extra properties of the `durable-mqtt-broker` node (protocolVersion, keepalive, backoff…). */
  broker?: Record<string, unknown>;
  /** Extra properties of the `durable-mqtt-in` node (ackMode, maxInFlight…). */
  consumer?: Record<string, unknown>;
  /** Holds messages in a core delay node releasing this many per second before the sink. */
  delayRate?: number;
  /** Turns the consumer's status output on and appends each status payload (JSON) here. */
  statusFile?: string;
}

const TAB = 'sink-tab';

/** A core `file` node appending msg.payload and a newline: done() follows the write(2), so a line survives kill -9 of Node-RED. */
export function appender(id: string, filename: string, y: number, z = TAB): FlowNode {
  return {
    id, type: 'file', z, name: `${id} file`, filename, filenameType: 'str', appendNewline: true, createDir: true,
    overwriteFile: 'false', encoding: 'none', x: 600, y, wires: [[]],
  };
}

/** durable-mqtt-in (QoS 1, payload as UTF-8 text) → [delay] → file sink; the payload is the sequence number. */
export function sinkFlow(o: SinkFlowOptions): FlowNode[] {
  const sinkInput = o.delayRate ? 'delay' : 'sink';
  const flow: FlowNode[] = [
    { id: TAB, type: 'tab', label: 'durable sink' },
    {
      id: 'conn', type: 'durable-mqtt-broker', name: 'durable broker', broker: o.brokerUrl, clientId: o.clientId,
      cleanSession: false, protocolVersion: 4, ...o.broker,
    },
    {
      id: 'consumer', type: 'durable-mqtt-in', z: TAB, name: 'consumer', broker: 'conn', topic: o.topic, qos: 1,
      datatype: 'utf8', statusOutput: o.statusFile !== undefined, outputs: o.statusFile ? 2 : 1, ...o.consumer,
      x: 150, y: 100, wires: o.statusFile ? [[sinkInput], ['status']] : [[sinkInput]],
    },
    appender('sink', o.sinkFile, 100),
  ];
  if (o.delayRate) {
    flow.push({
      id: 'delay', type: 'delay', z: TAB, name: 'rate limit', pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds',
      rate: String(o.delayRate), nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5',
      randomUnits: 'seconds', drop: false, allowrate: false, outputs: 1, x: 380, y: 100, wires: [['sink']],
    });
  }
  if (o.statusFile) flow.push(appender('status', o.statusFile, 160));
  return flow;
}

/** The sequence numbers in a sink file, in the order written (an unfinished last line is skipped). */
export function readSink(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

/** The status payloads a status file holds, in order. */
export function readStatuses(file: string): { state: string; reason?: string; sessionPresent?: boolean; attempt?: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { state: string });
}

export interface Tally {
  sent: number;
  /** Distinct sequence numbers 0..sent-1 seen. */
  processed: number;
  lost: number;
  /** Lines beyond the first for a sequence number. */
  duplicates: number;
}

/** The figures every fault spec prints. */
export function figures(t: Tally): string {
  return `sent ${t.sent}, processed ${t.processed}, lost ${t.lost}, duplicates ${t.duplicates}`;
}

/** Counts what `sent` messages numbered 0..sent-1 became across the given sinks. */
export function tally(sent: number, ...sinks: number[][]): Tally {
  const all = sinks.flat();
  const distinct = new Set(all.filter((n) => n < sent));
  return { sent, processed: distinct.size, lost: sent - distinct.size, duplicates: all.length - new Set(all).size };
}

/** The first `limit` sequence numbers below `sent` that no sink holds, for diagnosis. */
export function missing(sent: number, sinks: number[][], limit = 10): number[] {
  const seen = new Set(sinks.flat());
  const out: number[] = [];
  for (let i = 0; i < sent && out.length < limit; i++) if (!seen.has(i)) out.push(i);
  return out;
}

/**
 * Polls the sinks until every message was processed, or nothing new arrived for `idleMs`
 * (then what is missing is lost, not late), or `maxMs` passed.
 */
export async function settle(files: string[], sent: number, { idleMs = 5000, maxMs = 120_000 } = {}): Promise<Tally> {
  const end = Date.now() + maxMs;
  let lines = -1;
  let changed = Date.now();
  for (;;) {
    const sinks = files.map(readSink);
    const t = tally(sent, ...sinks);
    const now = sinks.reduce((n, s) => n + s.length, 0);
    if (now !== lines) {
      lines = now;
      changed = Date.now();
    }
    if (t.lost === 0 || Date.now() - changed > idleMs || Date.now() > end) return t;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves once the sinks hold at least `count` lines together. */
export async function untilProcessed(files: string[], count: number, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (files.reduce((n, f) => n + readSink(f).length, 0) < count) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${count} processed messages`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
