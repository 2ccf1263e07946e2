// Moves outbox entries to the broker in order while connected, a window at a time, and removes each once the broker has acknowledged it.
import { guarded } from '../common/boundary';
import { FAILURE_CODE } from '../session/connection/reasons';
import type { Published } from '../session/session';
import type { Outbox, Publication, Queued } from './outbox';

/**
 * Publishes in flight at once, as many as a consumer's default maxInFlight: behind a durable mqtt in
 * on the same connection, PUBACKs come back 8 to 14 ms after their PUBLISH (they queue behind the
 * intake), and 100 in flight capped the bridge at 100 per round trip (docs/performance.md). A
 * reconnect resends what is in flight, so this is also the out node's share of the duplicates.
 */
export const PUBLISH_WINDOW = 1000;

export interface PumpHandlers {
  /** The entry left the outbox: acknowledged (`err` undefined), refused by the broker, or its publish threw. */
  settled(entry: Queued, err?: Error): void;
  /** A throw that belongs to no entry (taking from the outbox, a refill). */
  failed(err: Error): void;
}

/**
 * MQTT.js keeps a publish that is in flight when the connection drops and resends it on the next
 * connection of the same client, so an entry stays taken across reconnects; only a publish that ends
 * without the broker's word (the client was ended) goes back to its place in the outbox.
 */
export class Pump {
  private inFlight = 0;
  private connected = false;
  private stopped = false;
  private refill?: NodeJS.Immediate;

  constructor(
    private readonly outbox: Outbox,
    private readonly publish: (p: Publication, published: Published) => void,
    private readonly handlers: PumpHandlers,
    private readonly window = PUBLISH_WINDOW,
  ) {}

  /** Follows the session: sending starts on connect and pauses on any other state. */
  setConnected(connected: boolean): void {
    this.connected = connected;
    this.run();
  }

  /** Sends what the window allows. Call it after an append; it never throws (see `send`). */
  readonly run = guarded(
    () => {
      while (this.connected && !this.stopped && this.inFlight < this.window) {
        const entry = this.outbox.take();
        if (!entry) return;
        this.inFlight++;
        this.send(entry);
      }
    },
    (err) => this.handlers.failed(err),
  );

  /** The boundary of one entry: a publish that throws fails that message (done(err)) and the next ones still go. */
  private readonly send = guarded(
    (entry: Queued) => this.publish(entry.publication, (err) => this.published(entry, err)),
    (err, entry) => this.finish(entry, err),
  );

  /** Stops sending; entries in flight stay in the outbox for the next run. */
  stop(): void {
    this.stopped = true;
    clearImmediate(this.refill);
  }

  /** Called back by MQTT.js, behind the boundary too: a throw while settling an entry must not reach MQTT.js's packet handler. */
  private readonly published = guarded(
    (entry: Queued, err?: (Error & { code?: unknown }) | null) => {
      if (!err) return this.finish(entry);
      if (typeof err.code === 'number' && err.code >= FAILURE_CODE) return this.finish(entry, err);
      this.inFlight--;
      if (this.stopped) return;
      this.outbox.untake(entry);
      // Wait for the next connect rather than spin on a client that is going away.
      this.connected = false;
    },
    (err) => this.handlers.failed(err),
  );

  private finish(entry: Queued, err?: Error): void {
    if (this.stopped) return void this.inFlight--;
    // Once per entry: a publish that called back and then threw comes here twice.
    if (!this.outbox.remove(entry)) return;
    this.inFlight--;
    this.handlers.settled(entry, err);
    // MQTT.js handles one incoming packet per tick and flushes what it wrote on the next, so a
    // refill per PUBACK costs one socket write per PUBLISH (it led the profile). The acks of one
    // read refill the window together on the next turn, and their PUBLISHes share a write. Waiting
    // for more acks than one read brings stalls instead: a broker without TCP_NODELAY (Mosquitto's
    // default) holds its next PUBACKs until our TCP ack, which the kernel delays when we send nothing.
    this.refill ??= setImmediate(() => {
      this.refill = undefined;
      this.run();
    });
  }
}
