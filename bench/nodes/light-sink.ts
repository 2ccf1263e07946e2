// Bench-only node `bench-count`: the lightest sink a flow can end in; it hands msg.payload to the bench's counter and calls done().
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { Sink } from '../sink';

export default function lightSink(RED: NodeAPI): void {
  RED.nodes.registerType('bench-count', function BenchCount(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // nodered-child puts the counter in functionGlobalContext; fetched once, so the input handler does nothing else.
    const record = this.context().global.get('bench') as Sink['record'];
    // Three arguments, so the runtime hears done() and an ack-after-complete consumer can finish the message.
    this.on('input', (msg: NodeMessage, _send: unknown, done: () => void) => {
      record(msg.payload as string | Buffer);
      done();
    });
  });
}
