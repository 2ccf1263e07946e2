// Specs for nodes/session/stream/awaited.ts: what we sent that still waits for the broker's answer, followed from the packets alone.
import { strict as assert } from 'node:assert';
import type { Packet } from 'mqtt';
import { AwaitedAnswers } from '../nodes/session/stream/awaited';

const p = (packet: Record<string, unknown>): Packet => packet as unknown as Packet;

describe('awaited answers', () => {
  it('waits for the answer to a QoS 1/2 PUBLISH, a PUBREL, a SUBSCRIBE, an UNSUBSCRIBE and a PINGREQ, until it comes', () => {
    const awaited = new AwaitedAnswers();
    const pairs: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ cmd: 'publish', qos: 1, messageId: 1 }, { cmd: 'puback', messageId: 1 }],
      [{ cmd: 'publish', qos: 2, messageId: 2 }, { cmd: 'pubrec', messageId: 2 }],
      [{ cmd: 'pubrel', messageId: 2 }, { cmd: 'pubcomp', messageId: 2 }],
      [{ cmd: 'subscribe', messageId: 3 }, { cmd: 'suback', messageId: 3 }],
      [{ cmd: 'unsubscribe', messageId: 4 }, { cmd: 'unsuback', messageId: 4 }],
      [{ cmd: 'pingreq' }, { cmd: 'pingresp' }],
    ];
    for (const [sent, answer] of pairs) {
      awaited.sent(p(sent));
      assert.equal(awaited.any, true, `after ${String(sent.cmd)}`);
      awaited.received(p(answer));
      assert.equal(awaited.any, false, `after ${String(answer.cmd)}`);
    }
  });

  it('waits for nothing after a QoS 0 PUBLISH, our own PUBACK, or an answer to something never sent', () => {
    const awaited = new AwaitedAnswers();
    awaited.sent(p({ cmd: 'publish', qos: 0 }));
    awaited.sent(p({ cmd: 'puback', messageId: 9 }));
    assert.equal(awaited.any, false);
    awaited.sent(p({ cmd: 'publish', qos: 1, messageId: 5 }));
    awaited.received(p({ cmd: 'puback', messageId: 6 }));
    assert.equal(awaited.any, true, 'the PUBACK of another id answered nothing of ours');
  });

  it('counts a PUBLISH sent again (DUP, after a reconnect) once, and keeps identifiers 32 and 65,535 apart from their neighbours', () => {
    const awaited = new AwaitedAnswers();
    awaited.sent(p({ cmd: 'publish', qos: 1, messageId: 7 }));
    awaited.sent(p({ cmd: 'publish', qos: 1, messageId: 7, dup: true }));
    awaited.received(p({ cmd: 'puback', messageId: 7 }));
    assert.equal(awaited.any, false, 'one PUBACK answers both sends of id 7');
    for (const id of [31, 32, 33, 65534, 65535]) awaited.sent(p({ cmd: 'publish', qos: 1, messageId: id }));
    for (const id of [31, 33, 65534]) awaited.received(p({ cmd: 'puback', messageId: id }));
    assert.equal(awaited.any, true, '32 and 65,535 still wait');
    awaited.received(p({ cmd: 'puback', messageId: 32 }));
    assert.equal(awaited.any, true, '65,535 still waits');
    awaited.received(p({ cmd: 'puback', messageId: 65535 }));
    assert.equal(awaited.any, false);
  });
});
