// Issue 10: overlapping filters of two nodes are subscribed as written, never widened; on MQTT 5 with subscription identifiers each node gets each message once (Mosquitto, Aedes).
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import { mosquittoForSuite, type MosquittoHandle } from './support/mosquitto';
import { collect, consumerFlow, helper, lastStatus, load } from './support/nodered';
import { until } from './support/until';
import { publishMany } from './support/publisher';
import { startAedes, type AedesHandle } from './support/aedes';

let seq = 0;
const freshId = (): string => `nr-subid-${process.pid}-${++seq}`;
const connected = (id: string): boolean => String(lastStatus(id)?.text).includes('status.connected');
/** The filters Mosquitto logged for SUBSCRIBEs of `clientId` ("<id> 1 a/+/c" lines, one per filter). */
const subscribedFilters = (broker: MosquittoHandle, clientId: string): string[] =>
  broker
    .log()
    .split('\n')
    .map((l) => new RegExp(`: ${clientId} \\d+ (\\S+)$`).exec(l)?.[1])
    .filter((f): f is string => f !== undefined);
const topics = (msgs: NodeMessage[]): string[] => msgs.map((m) => m.topic as string);
/** Node 1 (a/+/c) and node 2 (a/b/+) each got their messages once, in order. */
function assertEachOnce(got: { one: string[]; two: string[] }): void {
  assert.deepEqual(got.one, ['a/b/c', 'a/x/c', 'a/end/c']);
  assert.deepEqual(got.two, ['a/b/c', 'a/b/x', 'a/b/end']);
}

/** a/+/c on node 1, a/b/+ on node 2, one MQTT 5 persistent session; publishes and waits for both end markers. */
async function run(broker: MosquittoHandle, clientId: string): Promise<{ one: string[]; two: string[] }> {
  await load(consumerFlow(broker.url, [{ topic: 'a/+/c' }, { topic: 'a/b/+' }], { clientId, protocolVersion: 5, cleanSession: false }));
  const one = collect('in1-out');
  const two = collect('in2-out');
  await until(() => connected('in1') && connected('in2'), 'connected');
  for (const t of ['a/b/c', 'a/x/c', 'a/b/x', 'a/end/c', 'a/b/end']) await publishMany(broker.url, t, 1, { qos: 1, protocolVersion: 5 });
  await until(() => topics(one).includes('a/end/c') && topics(two).includes('a/b/end'), 'both end markers');
  const got = { one: topics(one), two: topics(two) };
  await helper.unload();
  return got;
}

describe('MQTT 5 subscription identifiers (Mosquitto)', function () {
  const mosq = mosquittoForSuite();
  const dir = mkdtempSync(join(tmpdir(), 'subid-acl-'));
  const acl = join(dir, 'acl');
  // Lines before any `user` apply to anonymous clients: the session and the publisher.
  writeFileSync(acl, 'topic readwrite a/+/c\ntopic readwrite a/b/+\n');
  const guarded = mosquittoForSuite({ extraConfig: `acl_file ${acl}\n` });
  afterEach(async () => {
    await helper.unload();
  });

  it('subscribes a/+/c and a/b/+ as written, never a/+/+, and each node gets each message once, also after a restart with the session present', async () => {
    const clientId = freshId();
    const first = await run(mosq(), clientId);
    assertEachOnce(first);
    assert.deepEqual(subscribedFilters(mosq(), clientId).sort(), ['a/+/c', 'a/b/+']);
    // An identifier is a property of a whole SUBSCRIBE: one SUBSCRIBE per filter.
    assert.equal(mosq().log().split('\n').filter((l) => l.includes(clientId) && /Received SUBSCRIBE/.test(l)).length, 2);

    // Restart: the session is present and the ledger maps identifiers to filters again, without a SUBSCRIBE.
    const again = await run(mosq(), clientId);
    assertEachOnce(again);
    assert.deepEqual(subscribedFilters(mosq(), clientId).sort(), ['a/+/c', 'a/b/+'], 'no SUBSCRIBE after the restart');
  });

  it('Mosquitto\'s acl_file grants a/+/+ and filters per message, so there an ACL allowing a/+/c and a/b/+ sees both filters as written', async () => {
    const clientId = freshId();
    const got = await run(guarded(), clientId);
    assertEachOnce(got);
    assert.deepEqual(subscribedFilters(guarded(), clientId).sort(), ['a/+/c', 'a/b/+']);
  });
});

describe('filters never widened, under an ACL that checks SUBSCRIBE (Aedes, MQTT 3.1.1)', function () {
  let aedes: AedesHandle | undefined;
  afterEach(async () => {
    await helper.unload();
    await aedes?.close();
  });

  it('both filters are granted and each node gets its messages once (a widened a/+/+ was refused)', async () => {
    const allowed = new Set(['a/+/c', 'a/b/+']);
    const asked: string[] = [];
    aedes = await startAedes({ authorizeSubscribe: (t) => (asked.push(t), allowed.has(t)), denySubscribeWith: 'suback' });
    await load(consumerFlow(aedes.url, [{ topic: 'a/+/c' }, { topic: 'a/b/+' }], { clientId: freshId(), cleanSession: false }));
    const one = collect('in1-out');
    const two = collect('in2-out');
    await until(() => connected('in1') && connected('in2'), 'connected');
    for (const t of ['a/b/c', 'a/x/c', 'a/b/x', 'a/end/c', 'a/b/end']) await publishMany(aedes.url, t, 1, { qos: 1 });
    await until(() => topics(one).includes('a/end/c') && topics(two).includes('a/b/end'), 'both end markers');
    assert.deepEqual(asked.sort(), ['a/+/c', 'a/b/+']);
    assertEachOnce({ one: topics(one), two: topics(two) });
  });
});
