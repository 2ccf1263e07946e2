// Test helper: MQTT packets built byte by byte, for specs that need bytes no encoder would write.

/** A packet: its first byte (type and flags), the remaining length (1 to 4 bytes), then `body`. */
export function rawPacket(first: number, body: Buffer): Buffer {
  const length: number[] = [];
  let left = body.length;
  do {
    const byte = left % 128;
    left = Math.floor(left / 128);
    length.push(left > 0 ? byte | 0x80 : byte);
  } while (left > 0);
  return Buffer.concat([Buffer.from([first, ...length]), body]);
}
