// Specs for PacketBoundaries: the read pacer's packet counting across reads, headers and bodies split anywhere.
import assert from 'node:assert/strict';
import { PacketBoundaries } from '../nodes/session/stream/packet-boundaries';
import { rawPacket } from './support/packets';

/** An MQTT packet: type byte, remaining length (1-4 bytes), body. */
function packet(type: number, bodyLength: number): Buffer {
  return rawPacket(type, Buffer.alloc(bodyLength, 0xaa));
}

describe('PacketBoundaries', () => {
  // Bodies of 0, 1, 127 and 128 bytes (1- and 2-byte lengths), 16,384 (3 bytes) and 2,097,152 (4 bytes).
  const packets = [0, 1, 127, 128, 60, 16384, 0, 2097152, 5, 200].map((len, i) => packet(i === 0 ? 0xd0 : 0x32, len));
  const stream = Buffer.concat(packets);
  const ends = packets.map((_, i) => packets.slice(0, i + 1).reduce((sum, p) => sum + p.length, 0));

  /** Feeds `stream` in reads of `readSize` bytes, cutting every `per` packets as the read pacer does; returns the cut offsets. */
  function cuts(readSize: number, per: number): number[] {
    const b = new PacketBoundaries();
    const found: number[] = [];
    let left = per;
    for (let at = 0; at < stream.length; at += readSize) {
      let read = stream.subarray(at, at + readSize);
      let offset = at;
      while (read.length > 0) {
        const end = b.cut(read, left);
        left -= b.ended;
        if (left === 0) {
          found.push(offset + end);
          left = per;
        }
        read = read.subarray(end);
        offset += end;
      }
    }
    return found;
  }

  for (const readSize of [1, 2, 3, 7, 1000, 65536, stream.length]) {
    it(`finds every packet end with reads of ${readSize} bytes, headers and bodies split across them`, () => {
      assert.deepEqual(cuts(readSize, 1), ends);
      assert.deepEqual(cuts(readSize, 3), ends.filter((_, i) => (i + 1) % 3 === 0));
    });
  }

  it('says how many packets ended in what it returned, a packet begun in an earlier read counting in the read it ends in', () => {
    const b = new PacketBoundaries();
    const two = Buffer.concat([packet(0x32, 10), packet(0x32, 10)]);
    assert.equal(b.cut(two.subarray(0, 15), 5), 15);
    assert.equal(b.ended, 1);
    assert.equal(b.cut(two.subarray(15), 5), two.length - 15);
    assert.equal(b.ended, 1);
  });

  it('stops at a header announcing more than its limit, at that packet\'s start, with the whole packets before it and reads no further', () => {
    const b = new PacketBoundaries();
    b.limit = 100;
    const small = packet(0x32, 10);
    const read = Buffer.concat([small, Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(10)]);
    assert.equal(b.cut(read, 5), small.length);
    assert.equal(b.ended, 1);
    assert.equal(b.tooLarge, 1 + 4 + 268435455);
    assert.equal(b.cut(Buffer.alloc(10), 5), 0);
  });

  it('takes a packet of exactly its limit', () => {
    const b = new PacketBoundaries();
    const p = packet(0x32, 200);
    b.limit = p.length;
    assert.equal(b.cut(p, 1), p.length);
    assert.equal(b.tooLarge, undefined);
  });
});

describe('PacketBoundaries as the gate reads an ack written in chunks', () => {
  /** Feeds `data` in the given pieces to a fresh reader; true once one packet has ended. */
  const holdsWholePacket = (...pieces: Buffer[]): boolean => {
    const b = new PacketBoundaries();
    let ended = 0;
    for (const piece of pieces) {
      b.cut(piece, 1);
      ended += b.ended;
    }
    return ended === 1;
  };

  it('holds once the bytes reach the end the header announces, for one-byte and multi-byte lengths', () => {
    const puback = Buffer.from([0x40, 0x02, 0x00, 0x07]);
    assert.ok(holdsWholePacket(puback));
    assert.ok(!holdsWholePacket(puback.subarray(0, 3)), 'its last byte missing');
    assert.ok(!holdsWholePacket(puback.subarray(0, 1)), 'the length not there yet');
    assert.ok(holdsWholePacket(Buffer.from([0xc0, 0x00])), 'PINGREQ: no body');
    const big = packet(0x32, 200);
    assert.ok(holdsWholePacket(big));
    assert.ok(!holdsWholePacket(big.subarray(0, big.length - 1)));
    assert.ok(!holdsWholePacket(big.subarray(0, 2)), 'half of a two-byte length');
    assert.ok(holdsWholePacket(puback.subarray(0, 1), puback.subarray(1, 3), puback.subarray(3)), 'in three chunks');
  });
});
