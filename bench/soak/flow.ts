// The soak's flow: our consumer and the core `mqtt in` node side by side, each → delay (rate limit) → stamp → file sink.
import type { FlowNode } from '../../test/support/nodered-process';
import { appender } from '../../test/support/sink';

export const CONTESTANTS = ['ours', 'core'] as const;
export type ContestantId = (typeof CONTESTANTS)[number];

export interface SoakFlowOptions {
  brokerUrl: string;
  topic: string;
  /** Client ID per contestant; the core one gets a persistent session too, so a restart loses nothing at the broker. */
  clientIds: Record<ContestantId, string>;
  sinks: Record<ContestantId, string>;
  /** Messages per second each delay node lets through. */
  delayRate: number;
  /** Goes into the delay nodes' names: a "nodes" deploy with a new variant restarts them. */
  variant: number;
  /** Extra properties of our durable-mqtt-in node (ackMode, maxInFlight…). */
  consumer?: Record<string, unknown>;
}

const TAB = 'soak-tab';

// The time of writing goes into the line, so duplicates can be counted per fault window afterwards.
const STAMP = 'msg.payload = msg.payload + " " + Date.now();\nreturn msg;';

function path(id: ContestantId, o: SoakFlowOptions, y: number): FlowNode[] {
  return [
    {
      id: `${id}-delay`, type: 'delay', z: TAB, name: `${id} rate limit v${o.variant}`, pauseType: 'rate', timeout: '5', timeoutUnits: 'seconds',
      rate: String(o.delayRate), nbRateUnits: '1', rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds',
      drop: false, allowrate: false, outputs: 1, x: 350, y, wires: [[`${id}-stamp`]],
    },
    {
      id: `${id}-stamp`, type: 'function', z: TAB, name: `${id} stamp`, func: STAMP, outputs: 1, timeout: 0, noerr: 0,
      initialize: '', finalize: '', libs: [], x: 500, y, wires: [[`${id}-sink`]],
    },
    appender(`${id}-sink`, o.sinks[id], y, TAB),
  ];
}

export function soakFlow(o: SoakFlowOptions): FlowNode[] {
  const { hostname, port } = new URL(o.brokerUrl);
  return [
    { id: TAB, type: 'tab', label: 'soak' },
    {
      id: 'ours-conn', type: 'durable-mqtt-broker', name: 'ours', broker: o.brokerUrl, clientId: o.clientIds.ours,
      cleanSession: false, protocolVersion: 4, keepalive: 60,
    },
    {
      id: 'ours-in', type: 'durable-mqtt-in', z: TAB, name: 'ours', broker: 'ours-conn', topic: o.topic, qos: 1, datatype: 'utf8',
      statusOutput: false, ...o.consumer, x: 150, y: 100, wires: [['ours-delay']],
    },
    ...path('ours', o, 100),
    {
      id: 'core-conn', type: 'mqtt-broker', name: 'core', broker: hostname, port, clientid: o.clientIds.core, autoConnect: true,
      usetls: false, protocolVersion: '4', keepalive: '60', cleansession: false, autoUnsubscribe: false,
      birthTopic: '', closeTopic: '', willTopic: '',
    },
    {
      id: 'core-in', type: 'mqtt in', z: TAB, name: 'core', topic: o.topic, qos: '1', datatype: 'utf8', broker: 'core-conn',
      nl: false, rap: true, rh: 0, inputs: 0, x: 150, y: 200, wires: [['core-delay']],
    },
    ...path('core', o, 200),
  ];
}
