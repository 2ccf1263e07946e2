// Routes each received message to the in nodes that want it, and parks it while a deploy may still be bringing them: the broker node's routing without Node-RED.
import type { IPublishPacket } from 'mqtt';
import { guarded } from '../common/boundary';
import { IdRouter, TopicRouter } from '../session/subscriptions/router';
import type { Settle } from '../session/session';
import { carries, inboundTopicError } from '../session/subscriptions/topic';
import type { Consumer } from './types';

/** One received message, as the session's `message` event carries it. */
export type Route = (topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle) => void;

type Parked = Parameters<Route>;

export interface DispatchContext {
  /** MQTT 5: the Subscription Identifier of each held filter (MqttSession.subscriptionIds), a new map after each change. */
  subscriptionIds(): ReadonlyMap<string, number>;
  /** Routing the message threw before it was settled; the dispatcher acknowledges it after this. */
  routeFailed(err: Error, topic: string, payload: Buffer): void;
  debug(text: string): void;
}

/**
 * The consumers of one config node and where each message goes among them. Flows run from `start`
 * (flows:started) to `stop` (flows:stopping). While they do not, a message that finds no consumer is
 * parked, as its consumer may be on its way, and `replay` routes it once they run; a QoS 1/2 message
 * that finds consumers is withheld, as they may be stopped.
 */
export class Dispatcher {
  /**
   * The route's boundary: our consumers' deliver has its own, so a throw here comes before the message
   * was settled. Acknowledged rather than withheld: a message that breaks routing would break it again at
   * every redelivery.
   */
  readonly route: Route = guarded(
    (topic, payload, packet, settle) => this.dispatch(topic, payload, packet, settle),
    (err, topic, payload, _packet, settle) => {
      this.ctx.routeFailed(err, topic, payload);
      settle('ack');
    },
  );

  private readonly registered = new Set<Consumer>();
  private readonly byTopic = new TopicRouter<Consumer>();
  /** MQTT 5 routing by subscription identifier; built again when the consumers or the held identifiers change. */
  private byId?: IdRouter<Consumer>;
  private idsSeen?: ReadonlyMap<string, number>;
  private flowsRunning = false;
  private parked: Parked[] = [];

  constructor(private readonly ctx: DispatchContext) {}

  get consumers(): ReadonlySet<Consumer> {
    return this.registered;
  }

  /** Between flows:started and flows:stopping: the one answer to whether messages may go into the flows. */
  get running(): boolean {
    return this.flowsRunning;
  }

  add(c: Consumer): void {
    this.registered.add(c);
    this.byTopic.set(c, c.filters);
    this.byId = undefined;
  }

  delete(c: Consumer): void {
    this.registered.delete(c);
    this.byTopic.delete(c);
    this.byId = undefined;
  }

  /** A consumer's filters changed: routed from now on. False for a consumer not registered (closed since), which is not routed. */
  reroute(c: Consumer): boolean {
    if (!this.registered.has(c)) return false;
    this.byTopic.set(c, c.filters);
    this.byId = undefined;
    return true;
  }

  /** flows:started: every node is in place. Parked messages wait for `replay`. */
  start(): void {
    this.flowsRunning = true;
  }

  /** Routes the messages parked while flows were not running, in arrival order; those nobody wants now are acknowledged. */
  replay(): void {
    const held = this.parked;
    this.parked = [];
    for (const [topic, payload, packet, settle] of held) {
      if (this.byTopic.match(topic).size === 0) this.ctx.debug(`no consumer wants ${topic} any more; acknowledged`);
      this.route(topic, payload, packet, settle);
    }
  }

  /** flows:stopping: fires before any node closes, whatever the deploy type and the node order in flows.json. */
  stop(): void {
    this.flowsRunning = false;
    for (const c of this.registered) c.stopping();
  }

  /** The broker refused broker filter `filter`: the consumers whose filters it carries are told. */
  refused(filter: string, code: number): void {
    for (const c of this.registered) if (c.filters.some((f) => carries(filter, f))) c.onSubscribeFailed(filter, code);
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket, settle: Settle): void {
    const bad = inboundTopicError(topic);
    if (bad) throw new Error(bad);
    const viaId = this.matchId(topic, packet);
    const targets = viaId ?? this.byTopic.match(topic);
    if (targets.size === 0) {
      // Mid-deploy the consumer may be on its way; otherwise nobody wants it (a filter covering theirs matched wider),
      // or it is an MQTT 5 copy of a message another copy brings to every node that wants it.
      if (!this.flowsRunning && (viaId === undefined || this.byTopic.match(topic).size === 0)) this.parked.push([topic, payload, packet, settle]);
      else settle('ack');
      return;
    }
    // While nodes stop and start, a message may reach a stopped node and vanish: the broker sends it again.
    if (!this.flowsRunning && packet.qos > 0) return settle('withhold');
    const each = targets.size === 1 ? settle : joinSettles(targets.size, settle);
    for (const c of targets) c.deliver(topic, payload, packet, each);
  }

  private matchId(topic: string, packet: IPublishPacket): ReadonlySet<Consumer> | undefined {
    const id = packet.properties?.subscriptionIdentifier;
    if (id === undefined) return undefined;
    const ids = this.ctx.subscriptionIds();
    if (!this.byId || ids !== this.idsSeen) {
      this.byId = new IdRouter(ids, new Map([...this.registered].map((c) => [c, c.filters])));
      this.idsSeen = ids;
    }
    return this.byId.match(topic, id);
  }
}

/** Settles a message delivered to `n` consumers once all have; any withhold withholds it. */
export function joinSettles(n: number, settle: Settle): Settle {
  let left = n;
  let verdict: Parameters<Settle>[0] = 'ack';
  return (v) => {
    if (v === 'withhold') verdict = v;
    if (--left === 0) settle(verdict);
  };
}
