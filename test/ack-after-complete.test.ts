// Specs for AckAfterComplete: a message is settled once the flow is done with it, at most a window of them inside the flow, a failure's dead letter in its place.
import assert from 'node:assert/strict';
import { AckAfterComplete, type AckJob } from '../nodes/acks/ack-after-complete';
import { ADAPTIVE } from '../nodes/acks/adaptive-window';
import { CompletionTracker } from '../nodes/acks/completion';
import type { Verdict } from '../nodes/session/inbound/ack-gate';
import { until } from './support/until';

/** Lets the tracker's microtask run: a message is declared finished after the completing code has returned. */
const settled = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Job extends AckJob {
  readonly name: string;
  verdict?: Verdict;
}

describe('AckAfterComplete', () => {
  let tracker: CompletionTracker;
  /** The msgs sent into the flow, in order, each delivered to the one node `sink`. */
  let sent: Job[];
  let stalled: (readonly string[])[];
  let inFlight: number[];

  const acker = (options: Partial<{ maxInFlight: number; timeoutMs: number; ackOnError: boolean }> = {}): AckAfterComplete => {
    let ids = 0;
    return new AckAfterComplete(tracker, { maxInFlight: 1000, timeoutMs: 0, ackOnError: true, ...options }, {
      send: (job) => {
        sent.push(job as Job);
        tracker.delivered(job.msg, 'sink');
        tracker.receiving(job.msg, 'sink');
        tracker.received('sink');
      },
      newId: () => `m${++ids}`,
      changed: (n) => inFlight.push(n),
      stalled: (nodes) => stalled.push(nodes),
    });
  };
  const job = (name: string, failed?: AckJob['failed']): Job => {
    const j: Job = { name, msg: {}, settle: (v) => void (j.verdict = v), failed };
    return j;
  };
  /** The sink calls done() for the msg of `j`, with an error or without. */
  const complete = async (j: Job, error?: Error): Promise<void> => {
    tracker.completed(j.msg, 'sink', error);
    await settled();
  };

  beforeEach(() => {
    tracker = new CompletionTracker();
    sent = [];
    stalled = [];
    inFlight = [];
  });

  it('acks a message only once the flow has completed it', async () => {
    const a = acker();
    const m = job('a');
    a.offer(m);
    await settled();
    assert.equal(m.verdict, undefined, 'not before done()');
    await complete(m);
    assert.equal(m.verdict, 'ack');
    assert.equal(a.inFlight, 0);
  });

  it('lets in at most the starting window, and the next waiting message each time one finishes', async () => {
    const a = acker();
    const jobs = Array.from({ length: ADAPTIVE.min + 3 }, (_, i) => job(`j${i}`));
    for (const j of jobs) a.offer(j);
    assert.equal(sent.length, ADAPTIVE.min);
    assert.equal(a.inFlight, ADAPTIVE.min);
    await complete(jobs[4]);
    assert.equal(sent.length, ADAPTIVE.min + 1, 'one finished, one more in');
    assert.equal(sent.at(-1)?.name, `j${ADAPTIVE.min}`, 'in the order offered');
  });

  it('never lets in more than maxInFlight, even below the starting window', () => {
    const a = acker({ maxInFlight: 2 });
    for (let i = 0; i < 5; i++) a.offer(job(`j${i}`));
    assert.equal(sent.length, 2);
  });

  it('acks a failed message by default (ackOnError), and withholds it with ackOnError false', async () => {
    const yes = acker();
    const m1 = job('a');
    yes.offer(m1);
    await complete(m1, new Error('boom'));
    assert.equal(m1.verdict, 'ack');

    const no = acker({ ackOnError: false });
    const m2 = job('b');
    no.offer(m2);
    await complete(m2, new Error('boom'));
    assert.equal(m2.verdict, 'withhold');
    assert.equal(no.inFlight, 0, 'a withheld message leaves the window');
  });

  it('sends a failed message\'s dead letter in its place and acks the original only when the dead letter is done', async () => {
    const a = acker({ ackOnError: false, maxInFlight: 1 });
    let failedBy: string | undefined;
    // The consumer builds the dead letter's job with the original's settle: acking the letter acks the original.
    const letter: Job = { name: 'letter', msg: {}, settle: (v) => m.settle(v) };
    const m = job('original', (_err, by) => {
      failedBy = by;
      return letter;
    });
    const next = job('next');
    a.offer(m);
    a.offer(next);
    await complete(m, new Error('boom'));
    assert.equal(failedBy, 'sink');
    assert.deepEqual(sent.map((j) => j.name), ['original', 'letter'], 'the dead letter keeps the place in the window');
    assert.equal(m.verdict, undefined, 'the original waits for its dead letter');
    await complete(letter);
    assert.equal(m.verdict, 'ack');
    assert.deepEqual(sent.map((j) => j.name), ['original', 'letter', 'next']);
  });

  it('withholds what is inside the flow and what waits for it when the flows stop, and forgets them', async () => {
    const a = acker({ maxInFlight: 1 });
    const inside = job('inside');
    const waiting = job('waiting');
    a.offer(inside);
    a.offer(waiting);
    a.withholdAll();
    assert.equal(inside.verdict, 'withhold');
    assert.equal(waiting.verdict, 'withhold');
    assert.equal(a.inFlight, 0);
    assert.equal(inFlight.at(-1), 0);
    await complete(inside);
    assert.equal(inside.verdict, 'withhold', 'a done() after the stop changes nothing');
    assert.deepEqual(tracker.size, { messages: 0, objects: 0 });
  });

  it('acks a message whose node never calls done() once ackTimeout has passed, naming that node', async () => {
    const a = acker({ timeoutMs: 100 });
    const m = job('stuck');
    a.offer(m);
    await until(() => m.verdict !== undefined, 'the timeout', 5000);
    assert.equal(m.verdict, 'ack');
    assert.deepEqual(stalled, [['sink']]);
  });
});
