// Chooses the HTTP proxy a WebSocket connection tunnels through, and builds the agent that does it.
import type { Agent, ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';

/**
 * The proxy URL for a ws:// or wss:// broker, or undefined to connect directly. A configured
 * proxy node wins (null: its no-proxy list names the broker); without one the environment
 * decides exactly as core's mqtt-broker reads it (strict mode): `ws_proxy` / `wss_proxy`, then
 * `all_proxy` (lower case first, npm_config_ variants too), unless `no_proxy` names the host.
 */
export function wsProxyFor(brokerUrl: string, configured: string | null | undefined): string | undefined {
  if (!/^wss?:/.test(brokerUrl)) return undefined;
  if (configured !== undefined) return configured ?? undefined;
  return getProxyForUrl(brokerUrl) || undefined;
}

/** What agent-base passes a connect(); its own package is only a dependency of https-proxy-agent. */
type AgentConnectOpts = Parameters<HttpsProxyAgent<string>['connect']>[1];

interface ConnectResponse {
  statusCode: number;
  statusText: string;
}

/**
 * https-proxy-agent answers a refused CONNECT by replaying the proxy's response to `ws`, which
 * then reports only "Unexpected server response: 403" as if the broker had said it. This fails
 * the request instead, naming the proxy and its status line.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  override async connect(req: ClientRequest, opts: AgentConnectOpts): Promise<Socket> {
    let refusal: ConnectResponse | undefined;
    const onReply = (reply: ConnectResponse): void => {
      if (reply.statusCode !== 200) refusal = reply;
    };
    this.on('proxyConnect', onReply);
    try {
      const socket = await super.connect(req, opts);
      if (!refusal) return socket;
      socket.destroy();
      throw Object.assign(new Error(`the HTTP proxy refused the tunnel: ${refusal.statusCode} ${refusal.statusText}`), { code: 'EPROXYREFUSED' });
    } finally {
      this.off('proxyConnect', onReply);
    }
  }
}

/**
 * An agent for the `ws` package that opens each connection with HTTP CONNECT through the proxy
 * (TLS to the proxy for https://), then runs the WebSocket, and TLS for wss://, inside the tunnel.
 */
export function proxyAgent(proxyUrl: string): Agent {
  return new TunnelAgent(proxyUrl);
}
