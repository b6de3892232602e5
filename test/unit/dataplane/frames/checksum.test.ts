import { fold, internetChecksum, pseudoHeaderSum, sum16 } from '../../../../src/dataplane/frames/checksum';
import { hex, ipBytes, pseudoHeader, refChecksum, rng } from './helpers';

describe('internet checksum', () => {
  test('the RFC 1071 worked example', () => {
    const b = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(fold(sum16(b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  test('a captured IPv4 header: its own checksum, and 0 when verifying it', () => {
    const h = hex('45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7');
    expect(internetChecksum(h)).toBe(0);
    const zeroed = Buffer.from(h);
    zeroed.writeUInt16BE(0, 10);
    expect(internetChecksum(zeroed)).toBe(0xb861);
  });

  test('an odd last byte is padded with zero', () => {
    expect(internetChecksum(hex('ab'))).toBe(0xffff - 0xab00);
    expect(internetChecksum(hex('00 01 ab'))).toBe(0xffff - 0xab01);
  });

  test('empty and all-zero data sum to zero, so the checksum is 0xffff', () => {
    expect(internetChecksum(Buffer.alloc(0))).toBe(0xffff);
    expect(internetChecksum(Buffer.alloc(7))).toBe(0xffff);
  });

  test('carries fold back: all-ones data', () => {
    expect(fold(sum16(Buffer.alloc(65534, 0xff), 0, 65534))).toBe(0xffff);
    expect(fold(sum16(Buffer.alloc(65535, 0xff), 0, 65535))).toBe(0xff00); // the odd byte pads to ff00
    expect(internetChecksum(Buffer.alloc(65536, 0xff))).toBe(0);
  });

  test('fold', () => {
    expect(fold(0)).toBe(0);
    expect(fold(0xffff)).toBe(0xffff);
    expect(fold(0x10000)).toBe(1);
    expect(fold(0x1fffe)).toBe(0xffff);
    expect(fold(0xffffffff)).toBe(0xffff);
    expect(fold(2 ** 40 + 5)).toBe(256 + 5); // 2^16 ≡ 1 (mod 0xffff)
  });

  test('a range inside a buffer, at odd and even starts, and an initial sum, against the reference', () => {
    const r = rng(1071);
    for (let i = 0; i < 300; i++) {
      const b = r(1 + (i % 97));
      const start = i % Math.min(5, b.length);
      const end = start + ((i * 7) % (b.length - start + 1));
      const initialBytes = r(4);
      const initial = initialBytes.readUInt16BE(0) + initialBytes.readUInt16BE(2);
      expect(internetChecksum(b, start, end)).toBe(refChecksum(b.subarray(start, end)));
      expect(internetChecksum(b, start, end, initial)).toBe(refChecksum(initialBytes, b.subarray(start, end)));
    }
  });

  test('pseudoHeaderSum equals summing the 12 pseudo-header bytes', () => {
    const r = rng(768);
    const cases: Array<[string, string, number, number]> = [
      ['169.254.255.253', '169.254.255.254', 17, 29],
      ['0.0.0.0', '0.0.0.0', 0, 0],
      ['255.255.255.255', '255.255.255.255', 255, 65535],
    ];
    for (let i = 0; i < 100; i++) {
      const b = r(9);
      cases.push([Array.from(b.subarray(0, 4)).join('.'), Array.from(b.subarray(4, 8)).join('.'), b[8]!, b.readUInt16BE(0)]);
    }
    for (const [s, d, proto, len] of cases) {
      const src = ipBytes(s);
      const dst = ipBytes(d);
      const sum = pseudoHeaderSum(src.readUInt32BE(0), dst.readUInt32BE(0), proto, len);
      expect(~fold(sum) & 0xffff).toBe(refChecksum(pseudoHeader(src, dst, proto, len)));
    }
  });
});
