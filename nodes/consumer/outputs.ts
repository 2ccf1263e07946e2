// The output ports of a durable-mqtt-in, in order; shared by the runtime (where a msg goes) and the editor (labels, moving wires).

export type Port = 'messages' | 'failed' | 'status';

/**
 * Messages first, then `failed` while a delivery limit applies, then `status` when asked for: the
 * data outputs together, the status side channel last. Node-RED reads no port names at run time,
 * only the index in send([…]) against the node's `wires`; the editor moves wires when a port
 * comes or goes (editor/consumer.ts).
 */
export function outputPorts(has: { failed: boolean; status: boolean }): Port[] {
  const ports: Port[] = ['messages'];
  if (has.failed) ports.push('failed');
  if (has.status) ports.push('status');
  return ports;
}

/** Sends `msg` on `port` alone: a bare msg when the node has one output, as send() is cheapest then. */
export function onPort<M>(ports: readonly Port[], port: Port, msg: M): M | (M | null)[] | undefined {
  const i = ports.indexOf(port);
  if (i < 0) return undefined;
  if (ports.length === 1) return msg;
  const out: (M | null)[] = ports.map(() => null);
  out[i] = msg;
  return out;
}
