// When to reconnect (exponential backoff) and when the closes mean another client takes our client ID over.
import { backoffDelay } from './backoff';
import type { SessionConfig } from '../config/config';

/** MQTT 5 DISCONNECT reason "Session taken over" (0x8E): the broker's own word for a takeover. */
export const SESSION_TAKEN_OVER = 0x8e;

/** What was outstanding when a connection ended; it tells a kick from a refusal or a slow change. */
export interface CloseFacts {
  /** The broker closed on our SUBSCRIBE (counted by Subscriptions, not as a kick). */
  readonly refusal: boolean;
  /** An UNSUBSCRIBE awaited its UNSUBACK. */
  readonly unsubscribing: boolean;
  /** The DISCONNECT reason code the broker sent, if any. */
  readonly code?: number;
}

export interface CloseVerdict {
  /** The connection had been up (CONNACK received) before it closed. */
  readonly wasConnected: boolean;
  /** ms from its CONNACK to the close; undefined without a CONNACK. */
  readonly lasted?: number;
  /** The closes in a row now mean a takeover. */
  readonly takeover: boolean;
  /** …and this is the first close of the episode that says so (announce it once). */
  readonly firstTakeover: boolean;
}

/**
 * Paho's reconnect policy with a takeover heuristic: Mosquitto 2.0 closes the old client's socket
 * without a word when a new one connects with the same ID, so `takeoverCount` closes within
 * `takeoverWindow` of their CONNACK in a row are read as another client using our ID.
 *
 * A broker that was down in between (a connect attempt refused) took no ID over. Without that rule a
 * Mosquitto restarted four times in a row looked like a takeover at the third restart, and the
 * backoff, which only a connection lasting `takeoverWindow` resets, was at its 5th step (8–16 s)
 * then and its 7th (30–60 s) at the fourth, while the broker queued messages for us.
 */
export class ReconnectPolicy {
  private attempt = 0;
  private shortCloses = 0;
  private takeoverRaised = false;
  /** A connect attempt did not reach the broker since the last CONNACK. */
  private outage = false;
  private connectedAt?: number;
  private timer?: NodeJS.Timeout;

  constructor(private readonly config: Pick<SessionConfig, 'backoff' | 'takeoverWindow' | 'takeoverCount'>) {}

  /** CONNACK received. After an outage the backoff starts over: the broker is back, not fighting us. */
  connected(): void {
    this.connectedAt = Date.now();
    if (this.outage) {
      this.outage = false;
      this.attempt = 0;
    }
  }

  /**
   * A connect attempt did not reach the broker (refused, no route): it was down or restarting, so
   * the closes before this were no kicks by another client.
   */
  unreachable(): void {
    this.outage = true;
    this.shortCloses = 0;
    this.takeoverRaised = false;
  }

  /** The broker said so itself (DISCONNECT 0x8E): the next close counts as a takeover at once. */
  takenOver(): void {
    this.shortCloses = this.config.takeoverCount;
  }

  /** The session closed or recycled the connection itself: that close counts for nothing. */
  closedOnPurpose(): void {
    this.connectedAt = undefined;
  }

  closed(facts: CloseFacts): CloseVerdict {
    const since = this.connectedAt;
    this.connectedAt = undefined;
    if (since !== undefined && !facts.refusal) {
      if (Date.now() - since >= this.config.takeoverWindow) {
        // A connection that lasted starts every count again.
        this.attempt = 0;
        this.shortCloses = 0;
        this.takeoverRaised = false;
      } else if (!facts.unsubscribing && (facts.code === undefined || facts.code === SESSION_TAKEN_OVER)) {
        // A kick: Mosquitto 2.0 closes the old client's socket while nothing of ours is outstanding.
        this.shortCloses++;
      }
    }
    const takeover = this.shortCloses >= this.config.takeoverCount;
    const firstTakeover = takeover && !this.takeoverRaised;
    if (takeover) this.takeoverRaised = true;
    return { wasConnected: since !== undefined, lasted: since === undefined ? undefined : Date.now() - since, takeover, firstTakeover };
  }

  /** Calls `reconnect` after the backoff of the next attempt. */
  schedule(reconnect: (attempt: number) => void): void {
    const attempt = ++this.attempt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      reconnect(attempt);
    }, backoffDelay(attempt, this.config.backoff));
  }

  /** Calls `reconnect` at once (on the next turn), counting no attempt: failover to the next server of a list. */
  scheduleNow(reconnect: (attempt: number) => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      reconnect(1);
    }, 0);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
