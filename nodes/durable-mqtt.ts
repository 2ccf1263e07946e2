// Node-RED entry point: registers the broker config node and the consumer node.
import type { NodeAPI } from 'node-red';
import { registerBroker } from './broker/broker-node';
import { registerConsumer } from './consumer/consumer-node';

export = function durableMqtt(RED: NodeAPI): void {
  registerBroker(RED);
  registerConsumer(RED);
};
