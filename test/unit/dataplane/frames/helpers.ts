/**
 * Test helpers, written independently of the code under test: checksums are
 * summed word by word with the carry added back at every step (the textbook
 * RFC 1071 loop) rather than folded at the end as src/ does.
 */
export function hex(s: string): Buffer {
  const clean = s.replace(/[\s|:]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex fixture: ${s}`);
  return Buffer.from(clean, 'hex');
}

export function ipBytes(dotted: string): Buffer {
  return Buffer.from(dotted.split('.').map(Number));
}

/** RFC 1071 with an end-around carry on every addition */
export function refChecksum(...parts: Buffer[]): number {
  const data = Buffer.concat(parts);
  const even = data.length % 2 === 0 ? data : Buffer.concat([data, Buffer.alloc(1)]);
  let sum = 0;
  for (let i = 0; i < even.length; i += 2) {
    sum += even[i]! * 256 + even[i + 1]!;
    if (sum > 0xffff) sum -= 0xffff;
  }
  return 0xffff - sum;
}

/** the 12-byte IPv4 pseudo-header, spelled out */
export function pseudoHeader(src: Buffer, dst: Buffer, proto: number, length: number): Buffer {
  return Buffer.concat([src, dst, Buffer.from([0, proto, length >> 8, length & 0xff])]);
}

/** recompute the IPv4 header checksum of an Ethernet frame in place (after a test mutates a field) */
export function fixIpChecksum(frame: Buffer): void {
  const ihl = (frame[14]! & 0x0f) * 4;
  frame.writeUInt16BE(0, 24);
  frame.writeUInt16BE(refChecksum(frame.subarray(14, 14 + ihl)), 24);
}

/** recompute the UDP checksum in place, over the UDP length the frame states */
export function fixUdpChecksum(frame: Buffer): void {
  const ihl = (frame[14]! & 0x0f) * 4;
  const u = 14 + ihl;
  const len = frame.readUInt16BE(u + 4);
  frame.writeUInt16BE(0, u + 6);
  const c = refChecksum(pseudoHeader(frame.subarray(26, 30), frame.subarray(30, 34), 17, len), frame.subarray(u, u + len));
  frame.writeUInt16BE(c === 0 ? 0xffff : c, u + 6);
}

/** a deterministic byte source (xorshift32) so random cases are reproducible */
export function rng(seed: number): (n: number) => Buffer {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      b[i] = s & 0xff;
    }
    return b;
  };
}

/** packs frames as [u16 BE length][bytes], spelled out (the TAP reader's format) */
export function pack(frames: Buffer[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 0xff]), f]));
}

/**
 * Asserts fn throws a RangeError. By name, not instanceof: Buffer's own bounds
 * errors come from Node's realm, not the jest sandbox's RangeError.
 */
export function expectRangeError(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeDefined();
  expect((thrown as { name?: unknown }).name).toBe('RangeError');
}
