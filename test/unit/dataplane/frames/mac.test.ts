import { EncodeError } from '../../../../src/netlink/codec/errors';
import {
  BROADCAST_KEY, isGroupKey, isMacKey, macKey, macKeyOf, macText, writeMacKey, ZERO_MAC_KEY,
} from '../../../../src/dataplane/frames/mac';
import { expectRangeError, hex, rng } from './helpers';

/** big-endian value of 6 bytes, by BigInt: independent of the double arithmetic under test */
const ref = (b: Buffer) => Number(BigInt(`0x${b.toString('hex')}`));

describe('macKey', () => {
  test('reads 6 bytes big-endian at the offset', () => {
    expect(macKey(hex('02 42 0a 20 00 01'), 0)).toBe(0x02420a200001);
    expect(macKey(hex('ff | 02 42 0a 20 00 01 | ff'), 1)).toBe(0x02420a200001);
    expect(macKey(hex('00 00 00 00 00 00'), 0)).toBe(0);
    expect(macKey(hex('ff ff ff ff ff ff'), 0)).toBe(2 ** 48 - 1);
    expect(macKey(hex('80 00 00 00 00 00'), 0)).toBe(2 ** 47);
    expect(macKey(hex('00 00 80 00 00 00'), 0)).toBe(2 ** 31); // the low word is read unsigned
  });

  test('agrees with an independent reading on random addresses', () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const b = r(6);
      expect(macKey(b, 0)).toBe(ref(b));
    }
  });

  test.each([0, 1, 2, 3, 4, 5])('throws RangeError with only %i bytes left', (n) => {
    expectRangeError(() => macKey(Buffer.alloc(n), 0));
    expectRangeError(() => macKey(Buffer.alloc(10), 10 - n));
  });

  test('throws RangeError for a negative or fractional offset', () => {
    expectRangeError(() => macKey(Buffer.alloc(8), -1));
    expectRangeError(() => macKey(Buffer.alloc(8), 0.5));
  });
});

describe('writeMacKey', () => {
  test('writes 6 bytes big-endian at the offset, nothing else', () => {
    const b = Buffer.alloc(8, 0xee);
    writeMacKey(b, 1, 0x02420a200001);
    expect(b).toEqual(hex('ee 02 42 0a 20 00 01 ee'));
    writeMacKey(b, 0, BROADCAST_KEY);
    expect(b).toEqual(hex('ff ff ff ff ff ff 01 ee'));
  });

  test('round-trips random keys', () => {
    const r = rng(8);
    for (let i = 0; i < 500; i++) {
      const b = r(6);
      const out = Buffer.alloc(6);
      writeMacKey(out, 0, macKey(b, 0));
      expect(out).toEqual(b);
    }
  });

  test.each([-1, 2 ** 48, 2 ** 53, 1.5, Number.NaN, Infinity, -0.5])('rejects %p and writes nothing', (k) => {
    const b = Buffer.alloc(6, 0xee);
    expectRangeError(() => writeMacKey(b, 0, k));
    expect(b).toEqual(Buffer.alloc(6, 0xee));
  });

  test('throws RangeError when the buffer is too short', () => {
    expectRangeError(() => writeMacKey(Buffer.alloc(5), 0, 1));
    expectRangeError(() => writeMacKey(Buffer.alloc(6), 1, 1));
  });
});

describe('text', () => {
  test('macKeyOf parses either case; macText prints lower case with leading zeroes', () => {
    expect(macKeyOf('02:42:0A:20:00:01')).toBe(0x02420a200001);
    expect(macKeyOf('ff:ff:ff:ff:ff:ff')).toBe(BROADCAST_KEY);
    expect(macText(0x02420a200001)).toBe('02:42:0a:20:00:01');
    expect(macText(0)).toBe('00:00:00:00:00:00');
    expect(macText(1)).toBe('00:00:00:00:00:01');
    expect(macText(BROADCAST_KEY)).toBe('ff:ff:ff:ff:ff:ff');
  });

  test('round-trips random addresses', () => {
    const r = rng(9);
    for (let i = 0; i < 200; i++) {
      const text = Array.from(r(6), (x) => x.toString(16).padStart(2, '0')).join(':');
      expect(macText(macKeyOf(text))).toBe(text);
    }
  });

  test.each(['', '02:42:0a:20:00', '02:42:0a:20:00:01:02', '02-42-0a-20-00-01', '2:42:a:20:0:1', '02:42:0a:20:00:0g'])(
    'macKeyOf rejects %j with the codec error', (t) => {
      expect(() => macKeyOf(t)).toThrow(EncodeError);
    });

  test.each([-1, 2 ** 48, 0.5, Number.NaN])('macText rejects %p', (k) => {
    expectRangeError(() => macText(k));
  });
});

describe('keys', () => {
  test('constants', () => {
    expect(BROADCAST_KEY).toBe(0xffffffffffff);
    expect(ZERO_MAC_KEY).toBe(0);
  });

  test('isMacKey', () => {
    for (const k of [0, 1, 2 ** 48 - 1, 0x02420a200001]) expect(isMacKey(k)).toBe(true);
    for (const k of [-1, 2 ** 48, 0.5, Number.NaN, Infinity, '1', null, undefined, 1n]) expect(isMacKey(k)).toBe(false);
  });

  test('isGroupKey is the low bit of the first octet, for every first octet', () => {
    const r = rng(10);
    for (let first = 0; first < 256; first++) {
      for (const rest of [hex('00 00 00 00 00'), hex('ff ff ff ff ff'), r(5)]) {
        const key = macKey(Buffer.concat([Buffer.from([first]), rest]), 0);
        expect(isGroupKey(key)).toBe((first & 1) === 1);
      }
    }
  });

  test('isGroupKey on the well-known addresses', () => {
    expect(isGroupKey(BROADCAST_KEY)).toBe(true);
    expect(isGroupKey(macKeyOf('01:00:5e:00:00:fb'))).toBe(true); // IPv4 multicast
    expect(isGroupKey(macKeyOf('33:33:00:00:00:01'))).toBe(true); // IPv6 multicast
    expect(isGroupKey(macKeyOf('02:42:0a:20:00:01'))).toBe(false);
    expect(isGroupKey(macKeyOf('00:ff:ff:ff:ff:ff'))).toBe(false); // lower octets never carry into the bit
    expect(isGroupKey(macKeyOf('fe:ff:ff:ff:ff:ff'))).toBe(false);
    expect(isGroupKey(ZERO_MAC_KEY)).toBe(false);
  });
});
