// Node-RED entry point: registers the broker config node, the consumer node and the publisher node.
import type { NodeAPI } from 'node-red';
import { registerBroker } from './broker/registration';
import { registerConsumer } from './consumer/consumer-node';
import { registerPublisher } from './publisher/publisher-node';

export = function durableMqtt(RED: NodeAPI): void {
  registerBroker(RED);
  registerConsumer(RED);
  registerPublisher(RED);
};
