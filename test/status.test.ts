// Specs for the badge mapping: every session state to one Node-RED status, and the status output's payload without internal detail.
import assert from 'node:assert/strict';
import { configErrorStatus, inFlightStatus, statusFor, statusPayload, type Translate } from '../nodes/common/status';

/** Shows which key and substitutions a badge asked for. */
const t: Translate = (key, subs) => (subs ? `${key} ${JSON.stringify(subs)}` : key);

describe('status', () => {
  it('gives each session state its badge: colour, shape and catalog key', () => {
    assert.deepEqual(statusFor({ state: 'idle' }, t), {});
    assert.deepEqual(statusFor({ state: 'connecting' }, t), { fill: 'yellow', shape: 'ring', text: 'durable-mqtt.status.connecting' });
    assert.deepEqual(statusFor({ state: 'connected', sessionPresent: true }, t), { fill: 'green', shape: 'dot', text: 'durable-mqtt.status.connected' });
    assert.deepEqual(statusFor({ state: 'reconnecting', attempt: 3 }, t), { fill: 'yellow', shape: 'ring', text: 'durable-mqtt.status.reconnecting {"attempt":3}' });
    assert.deepEqual(statusFor({ state: 'disconnected' }, t), { fill: 'red', shape: 'ring', text: 'durable-mqtt.status.disconnected' });
    assert.deepEqual(statusFor({ state: 'error', reason: 'notAuthorized', detail: 'user x' }, t), { fill: 'red', shape: 'dot', text: 'durable-mqtt.reason.notAuthorized' });
  });

  it('names the server on the connected badges when the config lists several, the in-flight one too', () => {
    const at = { state: 'connected', sessionPresent: true, server: 'mqtt://b:1884' } as const;
    assert.deepEqual(statusFor(at, t), { fill: 'green', shape: 'dot', text: 'durable-mqtt.status.connectedTo {"server":"mqtt://b:1884"}' });
    assert.deepEqual(inFlightStatus(at, 7, t), { fill: 'green', shape: 'dot', text: 'durable-mqtt.status.inflightAt {"n":7,"server":"mqtt://b:1884"}' });
    assert.deepEqual(inFlightStatus({ state: 'connected', sessionPresent: true }, 7, t), { fill: 'green', shape: 'dot', text: 'durable-mqtt.status.inflight {"n":7}' });
  });

  it('shows a configuration problem as a red dot with its key under errors', () => {
    assert.deepEqual(configErrorStatus(t, 'noBroker'), { fill: 'red', shape: 'dot', text: 'durable-mqtt.errors.noBroker' });
    assert.deepEqual(configErrorStatus(t, 'outboxWriteFailed', { reason: 'disk full' }), { fill: 'red', shape: 'dot', text: 'durable-mqtt.errors.outboxWriteFailed {"reason":"disk full"}' });
  });

  it('puts the state on the status output without the internal detail of an error', () => {
    assert.deepEqual(statusPayload({ state: 'connected', sessionPresent: false }), { state: 'connected', sessionPresent: false });
    assert.deepEqual(statusPayload({ state: 'reconnecting', attempt: 2 }), { state: 'reconnecting', attempt: 2 });
    assert.deepEqual(statusPayload({ state: 'disconnected' }), { state: 'disconnected' });
    assert.deepEqual(statusPayload({ state: 'error', reason: 'notAuthorized', detail: 'secret detail' }), { state: 'error', reason: 'notAuthorized' });
    assert.deepEqual(statusPayload({ state: 'idle' }), { state: 'idle' });
  });
});
