// The broker node's session across the `disconnect` and `connect` actions: listeners attach to the handle once, and it forwards the current session's events.
import { EventEmitter } from 'node:events';
import type { SessionEvents, SessionState } from '../session/events';
import type { MqttSession } from '../session/session';

/** Every event a session emits; as a Record, the compiler names an event added to SessionEvents and missing here. */
const FORWARDED: Record<keyof SessionEvents, true> = {
  state: true,
  message: true,
  subscribed: true,
  unsubscribed: true,
  subscribeFailed: true,
  moved: true,
  takeover: true,
  redelivery: true,
  shed: true,
  failure: true,
};
const EVENTS = Object.keys(FORWARDED) as (keyof SessionEvents)[];

/**
 * A closed MqttSession cannot start again, so `connect` after `disconnect` opens a new one on the
 * same configuration and ledger (`open`). The handle forwards, synchronously, every event of the
 * session it holds now and none of one it has left: a closed session's late events are not news.
 */
export class SessionHandle extends EventEmitter<SessionEvents> {
  private session: MqttSession;
  /** The `disconnect` action closed `session`; only `reopen` opens a new one. */
  private stopped = false;
  private detach: () => void;

  constructor(private readonly open: () => MqttSession) {
    super();
    this.session = open();
    this.detach = this.forwardFrom(this.session);
  }

  get current(): MqttSession {
    return this.session;
  }

  /** The `disconnect` action: ends the connection without unsubscribing, until `reopen`. */
  async disconnect(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.session.close();
  }

  /** After `disconnect`, a new session in place of the closed one; true when it opened one. */
  reopen(): boolean {
    if (!this.stopped) return false;
    this.stopped = false;
    this.detach();
    this.session = this.open();
    this.detach = this.forwardFrom(this.session);
    return true;
  }

  /** The config node closes: see MqttSession.close. */
  close(options?: { forget?: boolean }): Promise<void> {
    return this.session.close(options);
  }

  /** Resolves at the next "connected"; rejects at an error or a disconnect, while the session goes on retrying (or stays closed). */
  untilConnected(): Promise<void> {
    if (this.session.state.state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onState = (s: SessionState): void => {
        if (s.state === 'connecting' || s.state === 'reconnecting' || s.state === 'idle') return;
        this.off('state', onState);
        if (s.state === 'connected') resolve();
        else reject(new Error(`could not connect: ${s.reason ?? s.state}${s.state === 'error' && s.detail ? ` (${s.detail})` : ''}`));
      };
      this.on('state', onState);
    });
  }

  private forwardFrom(session: MqttSession): () => void {
    // EventEmitter<SessionEvents> types each listener by its event; one forwarder for every event needs the untyped view.
    const from = session as unknown as EventEmitter;
    const to = this as unknown as EventEmitter;
    // `message` comes once per message: its four arguments are passed as they are, with no array made for each.
    const forwarders = EVENTS.map((name) =>
      name === 'message'
        ? ([name, (topic: unknown, payload: unknown, packet: unknown, settle: unknown) => to.emit(name, topic, payload, packet, settle)] as const)
        : ([name, (...args: unknown[]) => to.emit(name, ...args)] as const),
    );
    for (const [name, forward] of forwarders) from.on(name, forward);
    return () => {
      for (const [name, forward] of forwarders) from.off(name, forward);
    };
  }
}
