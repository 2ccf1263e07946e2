// Specs for nodes/consumer/outputs.ts: the output ports of a durable-mqtt-in, and which index a msg goes out on.
import { strict as assert } from 'node:assert';
import { onPort, outputPorts } from '../nodes/consumer/outputs';

describe('outputs', () => {
  it('puts messages first, then failed while a delivery limit applies, then status when asked for', () => {
    assert.deepEqual(outputPorts({ failed: false, status: false }), ['messages']);
    assert.deepEqual(outputPorts({ failed: true, status: false }), ['messages', 'failed']);
    assert.deepEqual(outputPorts({ failed: false, status: true }), ['messages', 'status']);
    assert.deepEqual(outputPorts({ failed: true, status: true }), ['messages', 'failed', 'status']);
  });

  it('sends a bare msg on a node with one output, an array with the msg at its port otherwise, nothing on a port it lacks', () => {
    const msg = { payload: 1 };
    assert.equal(onPort(['messages'], 'messages', msg), msg);
    assert.deepEqual(onPort(['messages', 'failed', 'status'], 'failed', msg), [null, msg, null]);
    assert.deepEqual(onPort(['messages', 'status'], 'status', msg), [null, msg]);
    assert.equal(onPort(['messages'], 'status', msg), undefined);
  });
});
