import {
  decodeProbe, encodeProbe, PROBE_BYTES, PROBE_MAGIC, PROBE_NONCE_BYTES, PROBE_VERSION,
} from '../../../../src/dataplane/frames/probe';
import { expectRangeError, hex, rng } from './helpers';

const SENDER = '0123456789abcdef';
const NONCE = hex('11 22 33 44 55 66 77 88');
const WIRE = hex('57 46 50 52 | 01 | 01 23 45 67 89 ab cd ef | 11 22 33 44 55 66 77 88');

test('constants', () => {
  expect([PROBE_MAGIC, PROBE_VERSION, PROBE_NONCE_BYTES, PROBE_BYTES]).toEqual(['WFPR', 1, 8, 21]);
  expect(WIRE.subarray(0, 4).toString('latin1')).toBe(PROBE_MAGIC);
});

test('encode is byte-exact', () => {
  expect(encodeProbe({ sender: SENDER, nonce: NONCE })).toEqual(WIRE);
  expect(encodeProbe({ sender: '0000000000000000', nonce: Buffer.alloc(8) })).toEqual(hex(`57 46 50 52 01 ${'00 '.repeat(16)}`));
  expect(encodeProbe({ sender: 'ffffffffffffffff', nonce: Buffer.alloc(8, 0xff) })).toEqual(hex(`57 46 50 52 01 ${'ff '.repeat(16)}`));
});

test('decode round-trips random probes', () => {
  const r = rng(6785);
  for (let i = 0; i < 200; i++) {
    const p = { sender: r(8).toString('hex'), nonce: r(8) };
    expect(decodeProbe(encodeProbe(p))).toEqual(p);
  }
});

test('decode: the nonce is a copy, not a view on the receive buffer', () => {
  const wire = Buffer.from(WIRE);
  const p = decodeProbe(wire)!;
  wire.fill(0);
  expect(p).toEqual({ sender: SENDER, nonce: NONCE });
});

test('decode: undefined when truncated at any byte, or with a byte too many', () => {
  for (let n = 0; n < PROBE_BYTES; n++) expect(decodeProbe(WIRE.subarray(0, n))).toBeUndefined();
  expect(decodeProbe(Buffer.concat([WIRE, hex('00')]))).toBeUndefined();
});

test('decode: undefined for any change to the magic', () => {
  for (let o = 0; o < 4; o++) {
    for (let bit = 0; bit < 8; bit++) {
      const w = Buffer.from(WIRE);
      w[o]! ^= 1 << bit;
      expect(decodeProbe(w)).toBeUndefined();
    }
  }
  expect(decodeProbe(Buffer.concat([Buffer.from('wfpr'), WIRE.subarray(4)]))).toBeUndefined();
});

test.each([0, 2, 0x81, 255])('decode: undefined for version %i', (v) => {
  const w = Buffer.from(WIRE);
  w[4] = v;
  expect(decodeProbe(w)).toBeUndefined();
});

test.each(['', '0123456789ABCDEF', '0123456789abcde', '0123456789abcdef0', '0123456789abcdeg', ' 123456789abcdef'])(
  'encode rejects sender %j', (sender) => {
    expectRangeError(() => encodeProbe({ sender, nonce: NONCE }));
  });

test.each([0, 7, 9, 16])('encode rejects a %i-byte nonce', (n) => {
  expectRangeError(() => encodeProbe({ sender: SENDER, nonce: Buffer.alloc(n) }));
});
