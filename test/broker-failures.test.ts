// Specs for the config node's one error path (broker-node.ts): a failure of the session's own work is logged once per episode, with its cause.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForSuite } from './support/mosquitto';
import { callsOf, consumerFlow, helper, lastStatus, load } from './support/nodered';
import { until } from './support/until';

let seq = 0;
const freshId = (): string => `nr-failures-${process.pid}-${++seq}`;
const acl = join(mkdtempSync(join(tmpdir(), 'acl-')), 'acl');
// Anonymous clients may read everything and write everywhere but under denied/.
writeFileSync(acl, 'topic read #\ntopic write allowed/#\n');

describe('broker config node: failures of the session', function () {
  const mosq = mosquittoForSuite({ extraConfig: `acl_file ${acl}\n` });
  afterEach(async () => {
    await helper.unload();
  });

  it('warns once, with the broker\'s reason, when the broker refuses the birth message (MQTT 5 PUBACK 0x87)', async () => {
    await load(consumerFlow(mosq().url, [{ topic: 'allowed/in' }], { clientId: freshId(), protocolVersion: 5, birthTopic: 'denied/state', birthPayload: 'online', birthQos: '1' }));
    await until(() => String(lastStatus('in1')?.text).includes('status.connected'), 'connected');
    await until(() => callsOf('b1', 'warn').some(([m]) => /^birth failed at /.test(String(m))), 'the birth failure logged');
    const warns = callsOf('b1', 'warn').map(([m]) => String(m)).filter((m) => m.startsWith('birth failed'));
    assert.equal(warns.length, 1, warns.join('\n'));
    assert.match(warns[0], /as "nr-failures-.*": .*(135|Not authorized)/i);
  });
});
