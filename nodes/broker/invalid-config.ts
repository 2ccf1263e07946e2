// A broker config node whose configuration does not parse: every in and out node that uses it shows why, and nothing connects.
import type { BrokerNode } from './types';

export function attachInvalidConfig(node: BrokerNode, error: string): void {
  const text = `invalid broker configuration: ${error}`;
  node.error(text);
  node.register = (c) => c.onState({ state: 'error', reason: 'invalidConfig', detail: error });
  node.unregister = () => undefined;
  node.resubscribe = () => Promise.resolve([]);
  node.connect = () => Promise.reject(new Error(text));
  node.disconnect = () => Promise.resolve();
  node.addPublisher = (p) => p.onState({ state: 'error', reason: 'invalidConfig', detail: error });
  node.removePublisher = () => undefined;
  node.publish = (_topic, _payload, _options, published) => published(new Error(text));
}
