// The `durable-mqtt-out` node: msg -> outbox on disk -> broker; done() once the broker has acknowledged, so upstream acks only a safe publish.
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerNode, Publisher } from '../broker/broker-node';
import { guarded } from '../common/boundary';
import { configErrorStatus, statusFor, type Translate } from '../common/status';
import type { SessionState } from '../session/session';
import { Outbox, OutboxFullError, type Done, type Publication, type Queued } from './outbox';
import { publicationOf } from './publication';
import { Pump } from './pump';
import { parsePublisher, type PublisherProps } from './settings';

// Badge refreshes for the outbox depth, at most this often: a status goes to every open editor.
const STATUS_INTERVAL_MS = 250;

export function registerPublisher(RED: NodeAPI): void {
  const t: Translate = (key, subs) => (subs ? RED._(key, subs) : key);

  function DurableMqttOut(this: Node, props: PublisherProps): void {
    RED.nodes.createNode(this, props);
    const broker = props.broker ? (RED.nodes.getNode(props.broker) as BrokerNode | null) : null;
    const parsed = parsePublisher(props);
    /** The one error path for input: a red badge while it lasts, and done(err) so a Catch node sees it. */
    const refuseAll = (key: string, error: string): void => {
      this.status(configErrorStatus(t, key));
      this.error(error);
      this.on('input', (_msg: NodeMessage, _send: unknown, done: Done) => done(new Error(error)));
    };
    if (!broker) return refuseAll('noBroker', 'no broker configuration selected, or it was not found');
    if (!parsed.ok) return refuseAll(parsed.key, parsed.error);
    const settings = parsed.settings;
    const dir = join(outboxRoot(RED), this.id);

    let state: SessionState = { state: 'idle' };
    let outbox: Outbox | undefined;
    let pump: Pump | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    let fullWarned = false;

    const showStatus = (): void => {
      clearTimeout(statusTimer);
      statusTimer = undefined;
      const base: NodeStatus = statusFor(state, t);
      const depth = outbox?.depth ?? 0;
      // The inner text is a bare key the runtime translates here, since it goes inside another message.
      this.status(depth > 0 && base.text ? { ...base, text: RED._('durable-mqtt.status.queued', { state: RED._(base.text), count: depth }) } : base);
    };
    const changed = (): void => {
      statusTimer ??= setTimeout(showStatus, STATUS_INTERVAL_MS);
    };

    // The entry carries its msg's done(); entries an earlier run left have none.
    const settle = (entry: Queued, err?: Error): void => {
      // Quoted: a topic an earlier version let into the outbox may hold control characters.
      if (err) this.warn(`the broker refused the message for ${JSON.stringify(entry.publication.topic)}: ${err.message}`);
      entry.done?.(err);
      changed();
    };
    /** One function for every append rather than a promise each: on disk, the pump may send it and the depth counts it; a failed write fails its msg. */
    const written = guarded(
      (entry: Queued, err?: Error) => {
        if (err) return entry.done?.(err);
        pump?.run();
        changed();
      },
      // Called from the outbox's write, whose own catch would fail the whole batch.
      (err) => this.error(err),
    );

    const publisher: Publisher = {
      onState: (s) => {
        state = s;
        pump?.setConnected(s.state === 'connected');
        showStatus();
      },
    };

    const ready = Outbox.open(dir, settings.outbox).then(
      (opened) => {
        outbox = opened;
        pump = new Pump(opened, (p, published) => broker.publish(p.topic, p.payload, optionsOf(p), published), { settled: settle, failed: (err) => this.error(err) });
        if (opened.depth > 0) this.log(`${opened.depth} messages left in the outbox by an earlier run; sending them first`);
        pump.setConnected(state.state === 'connected');
        showStatus();
      },
      (err: Error) => {
        this.status(configErrorStatus(t, 'outboxUnavailable'));
        this.error(`cannot open the outbox in ${dir}: ${err.message}`);
        throw err;
      },
    );
    // Inputs before the outbox is open wait for it; the error has been reported once above.
    ready.catch(() => undefined);

    // Behind the boundary: an input that waited for the outbox runs in a promise callback, where a throw would end Node-RED.
    const accept = guarded((msg: NodeMessage, done: Done): void => {
      const result = publicationOf(msg, settings);
      if (!result.ok) return done(new Error(result.error));
      const p = result.publication;
      // QoS 0 is fire and forget, as the broker treats it: not persisted, done once written.
      if (p.qos === 0) return broker.publish(p.topic, p.payload, optionsOf(p), (err) => done(err ?? undefined));
      let evicted: readonly Queued[];
      try {
        evicted = (outbox as Outbox).add(p, written, done);
      } catch (err) {
        if (err instanceof OutboxFullError && !fullWarned) {
          fullWarned = true;
          this.warn(`${err.message} (outboxWhenFull: ${settings.outbox.whenFull})`);
        }
        return done(err as Error);
      }
      for (const old of evicted) {
        const why = new Error(`dropped from the full outbox to make room for a newer message (outboxWhenFull: dropOldest), topic ${old.publication.topic}`);
        if (old.done) old.done(why);
        else this.warn(why.message);
      }
      fullWarned = false;
    }, (err, _msg, done) => done(err));

    this.on('input', (msg: NodeMessage, _send: unknown, done: Done) => {
      if (outbox) return accept(msg, done);
      ready.then(
        () => accept(msg, done),
        (err: Error) => done(new Error(`the outbox is not available: ${err.message}`)),
      );
    });

    broker.addPublisher(publisher);
    this.on('close', (removed: boolean, done: () => void) => {
      clearTimeout(statusTimer);
      broker.removePublisher(publisher);
      pump?.stop();
      const left = outbox?.depth ?? 0;
      if (removed && left > 0) this.warn(`${left} messages are still in the outbox ${dir}; a node with id ${this.id} sends them when it is deployed again`);
      const closing = outbox ? outbox.close() : ready.then(() => outbox?.close());
      closing.then(() => done(), () => done());
    });
  }
  RED.nodes.registerType('durable-mqtt-out', DurableMqttOut);
}

function optionsOf(p: Publication): { qos: Publication['qos']; retain: boolean; properties?: Publication['properties'] } {
  return p.properties ? { qos: p.qos, retain: p.retain, properties: p.properties } : { qos: p.qos, retain: p.retain };
}

/** `<userDir>/durable-mqtt/outbox`, next to the subscription ledger; a temp dir when the runtime has no user directory. */
function outboxRoot(RED: NodeAPI): string {
  let userDir: unknown;
  try {
    userDir = (RED.settings as { userDir?: unknown }).userDir;
  } catch {
    // Runtime settings not loaded (as under the test helper).
  }
  return join(typeof userDir === 'string' ? userDir : tmpdir(), 'durable-mqtt', 'outbox');
}
