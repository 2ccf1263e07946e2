// The messages between the bench (parent) and a consumer process (child), and the child's side of the link.
import { Sink, type Arm, type SinkEvent, type Summary } from './sink';

export type ToChild = { type: 'arm'; arm: Arm } | { type: 'summary' } | { type: 'stop' };
export type FromChild = SinkEvent | { type: 'started' } | { type: 'armed' } | { type: 'summary'; summary: Summary };

/** What the parent passes a child as its one argument (JSON). */
export interface ChildArgs {
  arm: Arm;
  /** Bare client: broker URL, client ID and filters. */
  url?: string;
  clientId?: string;
  /** Node-RED: the prepared user directory holding flows.json. */
  userDir?: string;
}

export function childArgs(): ChildArgs {
  return JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
}

function send(message: FromChild): void {
  process.send?.(message);
}

/** A sink wired to the parent: its events go up, and arm/summary/stop requests come down. */
export function linkSink(args: ChildArgs, stop: () => Promise<void>): Sink {
  const sink = new Sink(send);
  sink.reset(args.arm);
  process.on('message', (message: ToChild) => {
    if (message.type === 'arm') {
      sink.reset(message.arm);
      send({ type: 'armed' });
    } else if (message.type === 'summary') {
      send({ type: 'summary', summary: sink.summary() });
    } else {
      // exit() rather than waiting for handles to close: --cpu-prof writes its profile on exit.
      void stop().finally(() => process.exit(0));
    }
  });
  // The parent going away must not leave a consumer running.
  process.on('disconnect', () => process.exit(0));
  return sink;
}

export function reportStarted(): void {
  send({ type: 'started' });
}
