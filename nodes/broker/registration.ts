// Registers the `durable-mqtt-broker` config node: reads its saved properties, TLS and proxy nodes and credentials into one session config.
import type { Node, NodeAPI } from 'node-red';
import { migrate } from '../common/migrations';
import { displayUrl, parseConfig, type TlsOptions } from '../session/config/config';
import { textOf } from '../session/config/values';
import { attachSession } from './broker-node';
import { attachInvalidConfig } from './invalid-config';
import { brokerMigrations } from './migrations';
import type { BrokerCredentials, BrokerNode, BrokerProps } from './types';

/** The part of the core `tls-config` node we use. */
interface TlsConfigNode extends Node {
  addTLSOptions(options: TlsOptions): void;
}

/** Core's `http proxy` config node (06-httpproxy.js). */
interface HttpProxyNode extends Node<{ username?: string; password?: string }> {
  url?: string;
  noproxy?: string[];
}

export function registerBroker(RED: NodeAPI): void {
  function DurableMqttBroker(this: Node<BrokerCredentials>, saved: BrokerProps): void {
    RED.nodes.createNode(this, saved);
    const node = this as BrokerNode;
    // Older saves, and core mqtt-broker nodes with their type switched, are read in today's terms first.
    const props = migrate(saved, brokerMigrations);
    const tlsNode = props.tls ? (RED.nodes.getNode(props.tls) as TlsConfigNode | null) : null;
    let tls: TlsOptions | undefined;
    if (tlsNode) tlsNode.addTLSOptions((tls = {}));
    const proxyNode = props.proxy ? (RED.nodes.getNode(props.proxy) as HttpProxyNode | null) : null;
    const httpProxy = proxyNode ? { url: proxyNode.url, noproxy: proxyNode.noproxy, ...proxyNode.credentials } : undefined;
    // A chosen TLS or proxy node that is gone (deleted, disabled, left out of an import) fails closed:
    // without it the credentials would go in plain text, or around the proxy the network requires.
    const dangling = props.tls && !tlsNode ? `TLS configuration node ${textOf(props.tls)} not found` : props.proxy && !proxyNode ? `HTTP proxy configuration node ${textOf(props.proxy)} not found` : undefined;
    const parsed = dangling ? ({ ok: false, error: dangling } as const) : parseConfig({ ...props, username: this.credentials?.user, password: this.credentials?.password, tls, httpProxy });
    if (!parsed.ok) return attachInvalidConfig(node, parsed.error);
    node.identity = { url: displayUrl(parsed.config.url), clientId: parsed.config.clientId };
    attachSession(RED, node, parsed.config);
  }
  RED.nodes.registerType<Node<BrokerCredentials>, BrokerProps, unknown, BrokerCredentials>('durable-mqtt-broker', DurableMqttBroker, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}
