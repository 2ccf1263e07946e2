// Node-RED flows for the thin, core and our contestants: N consumer nodes on one connection, one sink node.
import type { Contestant } from './contestants';

/**
 * `sync` and `async5ms`: a function node, the realistic flow. `light`: the bench-only `bench-count`
 * node (bench/nodes/light-sink.ts), which only counts, so the consumer's own cost shows.
 */
export type SinkKind = 'sync' | 'async5ms' | 'light';

type FlowNode = Record<string, unknown> & { id: string; type: string };

const TAB = 'bench-tab';
const BROKER = 'bench-broker';
const SINK = 'bench-sink';

// The Sink lives outside the function node's sandbox; fetching it once keeps global.get off the per-message path.
const GET_SINK = "const record = (globalThis.benchRecord ??= global.get('bench'));";
const SINK_CODE: Record<Exclude<SinkKind, 'light'>, string> = {
  sync: `${GET_SINK}\nrecord(msg.payload);\nreturn null;`,
  // Completes 5 ms later, so an ack-on-complete consumer has messages in flight.
  async5ms: `${GET_SINK}\nsetTimeout(() => {\n  record(msg.payload);\n  node.send(msg);\n  node.done();\n}, 5);\nreturn;`,
};

export interface FlowSpec {
  url: string;
  clientId: string;
  filters: string[];
  sink: SinkKind;
}

function sinkNode(kind: SinkKind): FlowNode {
  if (kind === 'light') return { id: SINK, type: 'bench-count', z: TAB, wires: [] };
  return {
    id: SINK, type: 'function', z: TAB, name: 'count', func: SINK_CODE[kind], outputs: 1, timeout: 0,
    noerr: 0, initialize: '', finalize: '', libs: [], wires: [],
  };
}

function coreNodes(spec: FlowSpec): FlowNode[] {
  const { hostname, port } = new URL(spec.url);
  const broker: FlowNode = {
    id: BROKER, type: 'mqtt-broker', name: 'bench', broker: hostname, port, clientid: spec.clientId,
    autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: false, autoUnsubscribe: false,
    birthTopic: '', closeTopic: '', willTopic: '',
  };
  const consumers = spec.filters.map((topic, i): FlowNode => ({
    id: `bench-in-${i}`, type: 'mqtt in', z: TAB, name: '', topic, qos: '1', datatype: 'utf8', broker: BROKER,
    nl: false, rap: true, rh: 0, inputs: 0, wires: [[SINK]],
  }));
  return [broker, ...consumers];
}

function ourNodes(spec: FlowSpec, c: Extract<Contestant, { kind: 'ours' }>): FlowNode[] {
  const broker: FlowNode = {
    id: BROKER, type: 'durable-mqtt-broker', name: 'bench', broker: spec.url, clientId: spec.clientId,
    cleanSession: false, protocolVersion: 4, keepalive: 60,
  };
  const consumers = spec.filters.map((topic, i): FlowNode => ({
    id: `bench-in-${i}`, type: 'durable-mqtt-in', z: TAB, name: '', broker: BROKER, topic, qos: 1, datatype: 'utf8',
    statusOutput: false, ackMode: c.ackMode, ...(c.maxInFlight === undefined ? {} : { maxInFlight: c.maxInFlight }),
    wires: [[SINK]],
  }));
  const hooks: FlowNode[] = c.noopHooks ? [{ id: 'bench-hooks', type: 'bench-noop-hooks', z: TAB, wires: [] }] : [];
  return [broker, ...consumers, ...hooks];
}

/** One thin node for every filter: its session was primed with them, as the bare client's is. */
function thinNodes(spec: FlowSpec): FlowNode[] {
  return [{ id: 'bench-thin', type: 'bench-thin-in', z: TAB, url: spec.url, clientId: spec.clientId, wires: [[SINK]] }];
}

/** The flow file for a Node-RED contestant; one consumer node per filter, as a user would wire it. */
export function flowFor(c: Contestant, spec: FlowSpec): FlowNode[] {
  if (c.kind === 'bare') throw new Error('the bare contestant has no flow');
  const consumers = c.kind === 'core' ? coreNodes(spec) : c.kind === 'thin' ? thinNodes(spec) : ourNodes(spec, c);
  return [{ id: TAB, type: 'tab', label: 'bench' }, ...consumers, sinkNode(spec.sink)];
}
