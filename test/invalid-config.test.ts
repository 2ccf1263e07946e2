// Specs for nodes/broker/invalid-config.ts: a broker config node whose configuration does not parse tells every node that uses it, and connects nothing.
import assert from 'node:assert/strict';
import { attachInvalidConfig } from '../nodes/broker/invalid-config';
import type { BrokerNode, Consumer } from '../nodes/broker/types';
import type { SessionState } from '../nodes/session/session';

/** The stand-in on a plain object: only `error` of a Node is used before the methods are set. */
function standIn(): { node: BrokerNode; errors: string[] } {
  const errors: string[] = [];
  const node = { error: (text: string) => errors.push(text) } as unknown as BrokerNode;
  attachInvalidConfig(node, 'broker URL: bad scheme');
  return { node, errors };
}

function consumer(onState: Consumer['onState']): Consumer {
  return { filters: ['a'], qos: 1, stopping: () => undefined, deliver: () => undefined, onState, onSubscribeFailed: () => undefined };
}

const INVALID: SessionState = { state: 'error', reason: 'invalidConfig', detail: 'broker URL: bad scheme' };

describe('invalid broker configuration', () => {
  it('logs the error once, and gives each in and out node that uses it the error state with the reason', () => {
    const { node, errors } = standIn();
    assert.deepEqual(errors, ['invalid broker configuration: broker URL: bad scheme']);
    const seen: SessionState[] = [];
    node.register(consumer((s) => seen.push(s)));
    node.addPublisher({ onState: (s) => seen.push(s) });
    assert.deepEqual(seen, [INVALID, INVALID]);
  });

  it('connects nothing: connect and publish fail with the reason, the rest do nothing', async () => {
    const { node } = standIn();
    await assert.rejects(node.connect({ force: false }), /invalid broker configuration: broker URL: bad scheme/);
    const published = await new Promise<Error | null | undefined>((resolve) => node.publish('t', Buffer.from('x'), { qos: 1 }, (err) => resolve(err)));
    assert.match(String(published), /invalid broker configuration/);
    assert.deepEqual(await node.resubscribe(consumer(() => undefined)), []);
    await node.disconnect();
  });
});
