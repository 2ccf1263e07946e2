// The `durable-mqtt-out` node: msg -> outbox on disk -> broker; done() once the broker has acknowledged, so upstream acks only a safe publish.
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import type { BrokerNode, Publisher } from '../broker/types';
import { guarded } from '../common/boundary';
import { migrate } from '../common/migrations';
import { configErrorStatus, STATUS_INTERVAL_MS, statusFor, translator } from '../common/status';
import { userDirOf } from '../session/lib/durable-file';
import type { SessionState } from '../session/session';
import { closingWith, openNodeOutbox } from './node-outbox';
import { OutboxFullError, type Done, type Outbox, type OutboxWriteError, type Publication, type Queued } from './outbox';
import { publicationOf } from './publication';
import { pressureOf } from '../common/pressure';
import { coreOnlySet, publisherMigrations } from './migrations';
import { Pump } from './pump';
import { writeByOf } from './write-behind';
import { activeTracker } from '../acks/flow-hooks';
import { parsePublisher, type PublisherProps } from './settings';

/** done(err) of a QoS 0 message while the connection is not up. */
export const QOS0_NOT_CONNECTED = 'not connected: QoS 0 messages are not queued (QoS 1 or 2 ones wait in the outbox until the broker is back)';

export function registerPublisher(RED: NodeAPI): void {
  const t = translator(RED);

  function DurableMqttOut(this: Node, saved: PublisherProps): void {
    RED.nodes.createNode(this, saved);
    // Older saves, and core mqtt out nodes with their type switched, are read in today's terms first.
    const props = migrate(saved, publisherMigrations);
    const unused = coreOnlySet(props);
    if (unused.length > 0) this.warn(`${unused.join(', ')} (from the core mqtt out) are not used: durable mqtt out takes MQTT 5 properties from the msg (msg.responseTopic, msg.contentType, msg.userProperties, msg.correlationData, msg.messageExpiryInterval)`);
    const broker = props.broker ? (RED.nodes.getNode(props.broker) as BrokerNode | null) : null;
    const parsed = parsePublisher(props);
    /** The one error path for input: a red badge while it lasts, and done(err) so a Catch node sees it. */
    const refuseAll = (badge: NodeStatus, error: string): void => {
      this.status(badge);
      this.error(error);
      this.on('input', (_msg: NodeMessage, _send: unknown, done: Done) => done(new Error(error)));
    };
    if (!broker) return refuseAll(configErrorStatus(t, 'noBroker'), 'no broker configuration selected, or it was not found');
    if (!parsed.ok) return refuseAll(configErrorStatus(t, parsed.key), parsed.error);
    const userDir = userDirOf(RED.settings);
    // Messages in a temp dir would be lost on the reboot that clears it, while done() had promised them.
    if (userDir === undefined) return refuseAll(configErrorStatus(t, 'noUserDir'), 'no user directory (settings.userDir): the outbox has nowhere to be kept, so nothing is published');
    // The broker node has said why (node.error); its consumers show the same badge.
    const session = broker.identity;
    if (!session) return refuseAll(statusFor({ state: 'error', reason: 'invalidConfig' }, t), 'the broker configuration is invalid, so nothing is published');
    const settings = parsed.settings;

    let state: SessionState = { state: 'idle' };
    let outbox: Outbox | undefined;
    let pump: Pump | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    let fullWarned = false;

    const showStatus = (): void => {
      clearTimeout(statusTimer);
      statusTimer = undefined;
      const failure = outbox?.writeFailure;
      if (failure) return this.status(configErrorStatus(t, 'outboxWriteFailed', { reason: reasonOf(failure) }));
      const base: NodeStatus = statusFor(state, t);
      const depth = outbox?.depth ?? 0;
      this.status(depth > 0 && base.text ? { ...base, text: t('durable-mqtt.status.queued', { state: String(base.text), count: depth }) } : base);
    };
    const pressure = pressureOf(RED);
    const changed = (): void => {
      if (outbox) pressure.report(this.id, outbox.fill, up(state));
      statusTimer ??= setTimeout(showStatus, STATUS_INTERVAL_MS);
    };

    // The entry carries its msg's done(); entries an earlier run left have none.
    const settle = (entry: Queued, err?: Error): void => {
      // Quoted: a topic an earlier version let into the outbox may hold control characters.
      if (err) this.warn(`the broker refused the message for ${JSON.stringify(entry.publication.topic)}: ${err.message}`);
      entry.done?.(err);
      changed();
    };
    /** One function for every append rather than a promise each: on disk, the pump may send it (if `readable` had not let it already) and the depth counts it; a failed write fails its msg. */
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
        changed();
        pump?.setConnected(s.state === 'connected');
        showStatus();
      },
    };

    /** Once per episode (the outbox reports its start and its end): the log, and the badge while it lasts. */
    const writeFailure = (err: OutboxWriteError | undefined): void => {
      if (err) this.error(`${err.message}: new messages are refused until a write works again, tried by itself with growing delays`);
      else this.log('outbox writes work again: accepting messages');
      showStatus();
    };
    const ready = openNodeOutbox(userDir, this.id, session, settings.outbox, { writeFailure, readable: () => pump?.run() }).then(
      (opened) => {
        outbox = opened.outbox;
        pump = new Pump(outbox, (p, published) => broker.publish(p.topic, p.payload, optionsOf(p), published), { settled: settle, failed: (err) => this.error(err) });
        for (const note of opened.notes) this[note.level](note.text);
        pump.setConnected(state.state === 'connected');
        showStatus();
      },
      (err: Error) => {
        this.status(configErrorStatus(t, 'outboxUnavailable'));
        this.error(`cannot open the outbox: ${err.message}`);
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
      // QoS 0 is fire and forget, as the broker treats it: not persisted, done once written; and not
      // queued while not connected, where nothing would bound it (docs/outbox.md, "QoS 0").
      if (p.qos === 0) {
        if (state.state !== 'connected') return done(new Error(QOS0_NOT_CONNECTED));
        return broker.publish(p.topic, p.payload, optionsOf(p), (err) => done(err ?? undefined));
      }
      let evicted: readonly Queued[];
      try {
        // A message a durable mqtt in holds until done() need not be on disk at once (write-behind.ts).
        evicted = (outbox as Outbox).add(p, written, done, writeByOf(activeTracker(RED)?.deadlineOf(msg), Date.now()));
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
      // At once, not after the write: a group commit may take long enough for thousands more to come.
      pressure.report(this.id, (outbox as Outbox).fill, up(state));
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
      pressure.forget(this.id);
      pump?.stop();
      const note = closingWith(this.id, session, userDir, outbox?.depth ?? 0, removed);
      if (note) this[note.level](note.text);
      const closing = outbox ? outbox.close() : ready.then(() => outbox?.close());
      closing.then(() => done(), () => done());
    });
  }
  RED.nodes.registerType('durable-mqtt-out', DurableMqttOut);
}

/** Connected, or on its way back: a reconnect is no reason to let the consumers outrun the outbox. */
function up(state: SessionState): boolean {
  return state.state === 'connected' || state.state === 'connecting' || state.state === 'reconnecting';
}

/** The last part of a LevelDB error ("IO error: <file>: No space left on device"), short enough for a badge. */
function reasonOf(err: OutboxWriteError): string {
  const cause = err.cause instanceof Error ? err.cause.message : err.message;
  return cause.slice(cause.lastIndexOf(': ') + 1).trim();
}

function optionsOf(p: Publication): { qos: Publication['qos']; retain: boolean; properties?: Publication['properties'] } {
  return p.properties ? { qos: p.qos, retain: p.retain, properties: p.properties } : { qos: p.qos, retain: p.retain };
}
