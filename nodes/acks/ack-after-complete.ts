// Acknowledges each message only after the flow has finished with it, with an adaptive number of messages (at most `maxInFlight`) inside the flow.
import { performance } from 'node:perf_hooks';
import type { Settle } from '../session/session';
import { AdaptiveWindow } from './adaptive-window';
import type { CompletionTracker } from './completion';
import { InflightWindow } from './window';

export interface AckOptions {
  /** The most messages inside the flow at once; the adaptive window moves below it. */
  readonly maxInFlight: number;
  /** 0: wait for ever. */
  readonly timeoutMs: number;
  /** false: a message whose processing failed is not acknowledged, so the broker redelivers it on the next connection. */
  readonly ackOnError: boolean;
}

export interface AckJob {
  readonly msg: { _msgid?: string };
  readonly settle: Settle;
  /** performance.now() when it entered the flow. */
  enteredAt?: number;
  /** The output its msg goes to; the messages output when absent. */
  readonly output?: 'failed';
  /**
   * The flow failed it (`failedBy`: the node whose done(err) said so) and ackOnError is false: the
   * job to run in its place, keeping its place in the window (its dead letter), or undefined to
   * withhold it.
   */
  failed?(error: unknown, failedBy?: string): AckJob | undefined;
}

export interface AckEvents {
  /** Sends the job's msg into the flow, on its output. */
  send(job: AckJob): void;
  newId(): string;
  /** The number of messages inside the flow changed. */
  changed(inFlight: number): void;
  /** A message timed out; these nodes never called done() for it. */
  stalled(nodeIds: readonly string[]): void;
}

export class AckAfterComplete {
  private readonly window: InflightWindow<AckJob>;
  private readonly adaptive: AdaptiveWindow;

  constructor(
    private readonly tracker: CompletionTracker,
    private readonly options: AckOptions,
    private readonly events: AckEvents,
  ) {
    this.adaptive = new AdaptiveWindow(options.maxInFlight);
    this.window = new InflightWindow(this.adaptive.size, (job) => this.start(job));
  }

  /** Sends the message now if the window has room, else when an earlier one finishes. */
  offer(job: AckJob): void {
    this.window.offer(job);
  }

  get inFlight(): number {
    return this.window.inFlight;
  }

  /**
   * Withholds every message still inside the flow or waiting for it, and forgets them. Called when
   * flows start stopping (any deploy type, or shutdown): nodes being stopped may drop a message
   * silently or call done() for it from their close handler, and neither means it was processed.
   * The broker sends them again on the next connection, to the nodes that run by then.
   */
  withholdAll(): void {
    for (const job of this.window.clear()) job.settle('withhold');
    for (const job of this.tracker.forgetAll(this.finished)) {
      job.settle('withhold');
      this.window.finish();
    }
    this.events.changed(this.window.inFlight);
  }

  private start(job: AckJob): void {
    job.enteredAt = performance.now();
    this.adaptive.entered(this.window.inFlight);
    this.enter(job);
  }

  /** Tracks and sends a job that holds a place in the window. */
  private enter(job: AckJob): void {
    const id = this.events.newId();
    job.msg._msgid = id;
    this.tracker.track(id, this.options.timeoutMs, this.finished, job);
    this.events.changed(this.window.inFlight);
    this.events.send(job);
    this.tracker.sent(id);
  }

  /** One callback for all of this node's messages: the tracker hands back the job. */
  private readonly finished = (job: AckJob, error: unknown, stalled?: readonly string[], failedBy?: string): void => {
    const failed = error !== undefined && !this.options.ackOnError;
    const next = failed ? job.failed?.(error, failedBy) : undefined;
    if (stalled) this.events.stalled(stalled);
    if (next) {
      // Its dead letter takes its place: the message is acked once the dead letter's path is done with it.
      next.enteredAt = job.enteredAt;
      return this.enter(next);
    }
    job.settle(failed ? 'withhold' : 'ack');
    const size = this.adaptive.finished(performance.now() - (job.enteredAt ?? 0));
    if (size !== this.window.size) this.window.resize(size);
    this.window.finish();
    this.events.changed(this.window.inFlight);
  };
}
