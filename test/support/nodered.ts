// Test helper: loads our nodes into node-red-node-test-helper and waits on what they do.
import helper from 'node-red-node-test-helper';
import type { Node, NodeMessage, NodeStatus } from 'node-red';
import durableMqtt from '../../nodes/durable-mqtt';

helper.init(require.resolve('node-red'));

export { helper };

type FlowNode = Record<string, unknown> & { id: string; type: string };

/** Standard test flow: a broker config node, one consumer per topic spec, each wired to a helper node. */
export function consumerFlow(brokerUrl: string, consumers: { id?: string; topic: string; datatype?: string; qos?: number; statusOutput?: boolean }[], broker: Record<string, unknown> = {}): FlowNode[] {
  const flow: FlowNode[] = [{ id: 'b1', type: 'durable-mqtt-broker', broker: brokerUrl, clientId: 'test-client', ...broker }];
  consumers.forEach((c, i) => {
    const id = c.id ?? `in${i + 1}`;
    const wires = c.statusOutput ? [[`${id}-out`], [`${id}-status`]] : [[`${id}-out`]];
    flow.push({ id, type: 'durable-mqtt-in', broker: 'b1', ...c, wires });
    flow.push({ id: `${id}-out`, type: 'helper' });
    if (c.statusOutput) flow.push({ id: `${id}-status`, type: 'helper' });
  });
  return flow;
}

export async function load(flow: FlowNode[], credentials: Record<string, unknown> = {}, extra: unknown[] = []): Promise<void> {
  await helper.load([durableMqtt, ...extra] as Parameters<typeof helper.load>[0], flow, credentials);
}

export function getNode(id: string): Node {
  const n = helper.getNode(id);
  if (!n) throw new Error(`node ${id} not found`);
  return n;
}

/** Records every msg a helper node receives. */
export function collect(id: string): NodeMessage[] {
  const msgs: NodeMessage[] = [];
  getNode(id).on('input', (msg: NodeMessage) => msgs.push(msg));
  return msgs;
}

/** Records every status a node sets. */
export function statuses(id: string): NodeStatus[] {
  const seen: NodeStatus[] = [];
  // The helper re-emits every Node method call as `call:<method>`; Node's typings do not list those events.
  (getNode(id) as unknown as NodeJS.EventEmitter).on('call:status', (call: { args: [NodeStatus] }) => seen.push(call.args[0]));
  return seen;
}

/** Resolves once `check()` is true, polling; rejects with `what` after `ms`. */
export async function until(check: () => boolean, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
