// Bench-only node `bench-noop-hooks`: adds the five runtime messaging hooks complete mode uses, each doing nothing, to measure what Node-RED's hook dispatch alone costs a flow.
import type { Node, NodeAPI, NodeDef } from 'node-red';

/** The hooks nodes/acks/flow-hooks.ts registers. */
const HOOKS = ['onSend', 'preDeliver', 'onReceive', 'postReceive', 'onComplete'] as const;
const LABEL = 'bench-noop';

export default function noopHooks(RED: NodeAPI): void {
  RED.nodes.registerType('bench-noop-hooks', function BenchNoopHooks(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // One argument: the runtime calls the handler synchronously, as it calls ours.
    for (const hook of HOOKS) RED.hooks.add(`${hook}.${LABEL}`, (_event: unknown) => undefined);
    this.on('close', () => RED.hooks.remove(`*.${LABEL}`));
  });
}
