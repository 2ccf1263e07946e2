// Bench-only node `bench-thin-in`: the thinnest possible MQTT-in node, the ceiling for any of them.
// MQTT.js with clean session off, one node.send per PUBLISH, acked on arrival by MQTT.js itself.
import mqtt from 'mqtt';
import type { Node, NodeAPI, NodeDef } from 'node-red';

interface ThinProps extends NodeDef {
  url: string;
  clientId: string;
}

export default function thinIn(RED: NodeAPI): void {
  RED.nodes.registerType('bench-thin-in', function BenchThinIn(this: Node, def: ThinProps) {
    RED.nodes.createNode(this, def);
    // The bench primed this client ID's session with its subscriptions: nothing to subscribe.
    const client = mqtt.connect(def.url, { clientId: def.clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    client.on('message', (topic, payload, packet) => {
      this.send({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain });
    });
    client.on('error', (err) => this.error(err.message));
    this.on('close', (done: () => void) => {
      client.end(false, {}, () => done());
    });
  });
}
