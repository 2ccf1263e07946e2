// Test helper: flows in which a message waits inside a rate-limiting delay node on its way from durable-mqtt-in to a file sink, through the wirings people build.
import type { FlowNode } from './nodered-process.js';
import { appender } from './sink.js';

/** How the message travels from the consumer to the sink; a delay node holds it on the way in each. */
export type PathKind = 'delay' | 'subflow' | 'nested-subflow' | 'split-join' | 'link-call';
export const PATH_KINDS: readonly PathKind[] = ['delay', 'subflow', 'nested-subflow', 'split-join', 'link-call'];

export interface PathFlowOptions {
  brokerUrl: string;
  clientId: string;
  topic: string;
  sinkFile: string;
  path: PathKind;
  /** Messages per second the delay node lets through. */
  rate: number;
  /** Goes into the delay node's name: a new variant makes a deploy see that node as changed. */
  variant?: number;
  /** Puts the nodes that hold messages before the consumer in flows.json (nodes close in that order). */
  holdersFirst?: boolean;
  /** Extra properties of the durable-mqtt-broker node. */
  broker?: Record<string, unknown>;
  /** Extra properties of the durable-mqtt-in node. */
  consumer?: Record<string, unknown>;
}

const TAB = 'paths-tab';
const SUBFLOW = 'paths-subflow';
const OUTER = 'paths-outer-subflow';

function rateLimit(id: string, z: string, o: PathFlowOptions, next: string[]): FlowNode {
  return {
    id, type: 'delay', z, name: `rate limit v${o.variant ?? 0}`, pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds',
    rate: String(o.rate), nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds',
    drop: false, allowrate: false, outputs: 1, wires: [next],
  };
}

/** The nodes between the consumer and the sink: the first one's id, and the nodes. */
function between(o: PathFlowOptions): { entry: string; nodes: FlowNode[] } {
  switch (o.path) {
    case 'delay':
      return { entry: 'hold', nodes: [rateLimit('hold', TAB, o, ['sink'])] };
    case 'subflow':
      return {
        entry: 'instance',
        nodes: [
          {
            id: SUBFLOW, type: 'subflow', name: 'slow step', info: '', category: '', env: [], color: '#DDAA99',
            in: [{ x: 50, y: 30, wires: [{ id: 'hold' }] }], out: [{ x: 300, y: 30, wires: [{ id: 'hold', port: 0 }] }],
          },
          rateLimit('hold', SUBFLOW, o, []),
          { id: 'instance', type: `subflow:${SUBFLOW}`, z: TAB, name: '', env: [], wires: [['sink']] },
        ],
      };
    case 'nested-subflow': {
      const inner = between({ ...o, path: 'subflow' }).nodes.filter((n) => n.id !== 'instance');
      return {
        entry: 'instance',
        nodes: [
          ...inner,
          {
            id: OUTER, type: 'subflow', name: 'outer step', info: '', category: '', env: [], color: '#DDAA99',
            in: [{ x: 50, y: 30, wires: [{ id: 'inner-instance' }] }], out: [{ x: 300, y: 30, wires: [{ id: 'inner-instance', port: 0 }] }],
          },
          { id: 'inner-instance', type: `subflow:${SUBFLOW}`, z: OUTER, name: '', env: [], wires: [[]] },
          { id: 'instance', type: `subflow:${OUTER}`, z: TAB, name: '', env: [], wires: [['sink']] },
        ],
      };
    }
    case 'split-join':
      return {
        entry: 'split',
        nodes: [
          { id: 'split', type: 'split', z: TAB, name: '', splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '', wires: [['hold']] },
          rateLimit('hold', TAB, o, ['join']),
          {
            id: 'join', type: 'join', z: TAB, name: '', mode: 'auto', build: 'string', property: 'payload', propertyType: 'msg', key: 'topic',
            joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '', count: '', reduceRight: false, wires: [['sink']],
          },
        ],
      };
    case 'link-call':
      return {
        entry: 'call',
        nodes: [
          { id: 'call', type: 'link call', z: TAB, name: '', links: ['link-in'], linkType: 'static', timeout: '60', wires: [['sink']] },
          { id: 'link-in', type: 'link in', z: TAB, name: 'slow step', links: [], wires: [['hold']] },
          rateLimit('hold', TAB, o, ['link-out']),
          { id: 'link-out', type: 'link out', z: TAB, name: '', mode: 'return', links: [], wires: [] },
        ],
      };
  }
}

/** durable-mqtt-in (QoS 1, UTF-8 payload = sequence number) → the path → file sink. */
export function pathFlow(o: PathFlowOptions): FlowNode[] {
  const { entry, nodes: inner } = between(o);
  // Node-RED takes a node without x and y for a config node.
  const nodes = inner.map((n, i) => (n.type === 'subflow' ? n : { x: 300 + 150 * i, y: 100, ...n }));
  const head: FlowNode[] = [
    { id: TAB, type: 'tab', label: 'paths' },
    { id: 'conn', type: 'durable-mqtt-broker', name: 'durable broker', broker: o.brokerUrl, clientId: o.clientId, cleanSession: false, protocolVersion: 4, ...o.broker },
  ];
  const consumer: FlowNode = {
    id: 'consumer', type: 'durable-mqtt-in', z: TAB, name: 'consumer', broker: 'conn', topic: o.topic, qos: 1, datatype: 'utf8', ...o.consumer, x: 150, y: 100, wires: [[entry]],
  };
  const sink = appender('sink', o.sinkFile, 100, TAB);
  return o.holdersFirst ? [...head, ...nodes, consumer, sink] : [...head, consumer, ...nodes, sink];
}
