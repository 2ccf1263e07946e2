// Specs for nodes/consumer/actions.ts: every msg.action ends in done() or done(err), the ending itself behind the error boundary.
import { strict as assert } from 'node:assert';
import { ActionHandler, type ActionContext } from '../nodes/consumer/actions';

/** What one handle() call ended with: done's argument, once it was called. */
interface Ending {
  calls: (Error | undefined)[];
}

/** A context whose getSubscriptions path is real and whose badge calls can be made to throw; the broker is never reached. */
function context(overrides: Partial<ActionContext>): ActionContext {
  const base = {
    broker: {} as ActionContext['broker'],
    consumer: {} as ActionContext['consumer'],
    subscriptions: { list: () => [] } as unknown as ActionContext['subscriptions'],
    send: () => undefined,
    fail: (_key: string, error: Error, done: (err?: Error) => void) => done(error),
    succeeded: () => undefined,
  };
  return { ...base, ...overrides };
}

/** Runs one msg through a handler and resolves once done was called, or after the microtasks and a turn if it never is. */
async function handle(ctx: ActionContext, msg: Record<string, unknown>): Promise<Ending> {
  const ending: Ending = { calls: [] };
  new ActionHandler(ctx).handle(msg, (err) => ending.calls.push(err));
  await new Promise((resolve) => setImmediate(resolve));
  return ending;
}

describe('ActionHandler', () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  beforeEach(() => {
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
  });
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
  });

  it('calls done(err) when showing success throws, instead of leaving an unhandled rejection and a msg never done', async () => {
    const ending = await handle(context({ succeeded: () => { throw new Error('badge gone'); } }), { action: 'getSubscriptions' });
    assert.equal(ending.calls.length, 1);
    assert.match(String(ending.calls[0]?.message), /badge gone/);
    assert.deepEqual(rejections, []);
  });

  it('calls done(err) when reporting a failure throws before it reached done', async () => {
    const ending = await handle(context({ fail: () => { throw new Error('status threw'); } }), { action: 'nope' });
    assert.equal(ending.calls.length, 1);
    assert.match(String(ending.calls[0]?.message), /status threw/);
    assert.deepEqual(rejections, []);
  });

  for (const [what, action] of [['a BigInt', 10n], ['a cyclic object', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()], ['a symbol', Symbol('s')]] as const) {
    it(`refuses ${what} as msg.action with done(err) naming the actions, never a throw`, async () => {
      const ending = await handle(context({}), { action });
      assert.equal(ending.calls.length, 1);
      assert.match(String(ending.calls[0]?.message), /msg\.action must be one of subscribe/);
    });
  }
});
