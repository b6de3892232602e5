/** The binary ring format: round trips, canonical form, and garbage that must never throw. */
import {
  decodeRing, encodeRing, isDecodeFailure, MAX_ENCODED_BYTES, MAX_VERSION, Ring, RingError, validateEntries, type RingEntry,
} from '../../../../src/ipam/ring';
import { generateHistory } from './helpers/history';
import { peer, rng } from './helpers/random';

const [A, B] = [peer(0), peer(1)];
const e = (token: number, owner: string, version = 1): RingEntry => ({ token, owner, version });

function roundTrip(entries: readonly RingEntry[]): RingEntry[] {
  const out = decodeRing(encodeRing(entries));
  if (isDecodeFailure(out)) throw new Error(out.detail);
  return out;
}

describe('round trip', () => {
  test('empty ring, one claim, extremes', () => {
    expect(roundTrip([])).toEqual([]);
    expect(encodeRing([])).toEqual(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(roundTrip([e(0, A)])).toEqual([e(0, A)]);
    const edge = [e(0, 'ffffffffffffffff', MAX_VERSION), e(2 ** 32 - 1, '0000000000000000', 1)];
    expect(roundTrip(edge)).toEqual(edge);
  });
  test('layout: owner table in order of first use, then 9-byte entries', () => {
    const buf = encodeRing([e(0, B, 2), e(5, A, 1), e(9, B, 7)]);
    expect(buf.length).toBe(1 + 4 + 2 * 8 + 4 + 3 * 9);
    expect(buf.subarray(5, 13).toString('hex')).toBe(B);
    expect(buf.readUInt8(buf.length - 1)).toBe(0); // third entry: B, index 0
  });
  test.each([
    [256, 1],
    [257, 2],
    [65536, 2],
    [65537, 4],
  ])('%i owners use %i-byte owner indexes', (owners, width) => {
    const entries = Array.from({ length: owners }, (_, i) => e(i * 3, peer(i), 1 + (i % 5)));
    const buf = encodeRing(entries);
    expect(buf.length).toBe(1 + 4 + owners * 8 + 4 + owners * (8 + width));
    expect(roundTrip(entries)).toEqual(entries);
  });
  test('rings from random histories', () => {
    for (let s = 0; s < 30; s++) {
      for (const ring of generateHistory(77 + s, 5, 60).snapshots) {
        const back = new Ring(roundTrip(ring.entries()));
        expect(back.equals(ring)).toBe(true);
        expect(encodeRing(back.entries())).toEqual(encodeRing(ring.entries())); // one ring, one encoding
      }
    }
  });
  test('encoding an invalid ring is a bug in the caller', () => {
    expect(() => encodeRing([e(3, A)])).toThrow(RingError);
  });
});

describe('refused', () => {
  const good = encodeRing([e(0, A), e(10, B, 2), e(20, A, 3)]);
  const ENTRIES = 1 + 4 + 2 * 8 + 4; // where the 9-byte entries start
  const fails = (buf: Buffer): boolean => isDecodeFailure(decodeRing(buf));
  const patched = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  test('the good one is fine', () => expect(fails(good)).toBe(false));
  test('unknown format version', () => expect(fails(patched((b) => b.writeUInt8(2, 0)))).toBe(true));
  test('truncated or extended', () => {
    for (let n = 0; n < good.length; n++) expect(fails(good.subarray(0, n))).toBe(true);
    expect(fails(Buffer.concat([good, Buffer.from([0])]))).toBe(true);
  });
  test('owner index out of range or out of first-use order', () => {
    expect(fails(patched((b) => b.writeUInt8(2, b.length - 1)))).toBe(true); // no third owner
    expect(fails(patched((b) => b.writeUInt8(1, ENTRIES + 8)))).toBe(true); // first entry uses B first
  });
  test('repeated owner, unused owner', () => {
    expect(fails(patched((b) => b.write(A, 13, 8, 'hex')))).toBe(true);
    const unused = encodeRing([e(0, A)]);
    const withExtra = Buffer.concat([unused.subarray(0, 1), Buffer.from([0, 0, 0, 2]), unused.subarray(5, 13), Buffer.from(B, 'hex'), unused.subarray(13)]);
    expect(fails(withExtra)).toBe(true);
  });
  test('entries that decode but are no ring (unsorted, no token 0, version 0)', () => {
    expect(fails(patched((b) => b.writeUInt32BE(30, ENTRIES + 9)))).toBe(true); // second token 30 > third's 20
    expect(fails(patched((b) => b.writeUInt32BE(1, ENTRIES)))).toBe(true); // first token 1
    expect(fails(patched((b) => b.writeUInt32BE(0, ENTRIES + 4)))).toBe(true);
  });
  test('huge counts and oversize buffers are refused without reading on', () => {
    const header = Buffer.from([1, 0xff, 0xff, 0xff, 0xff]);
    expect(fails(Buffer.concat([header, Buffer.alloc(4)]))).toBe(true);
    expect(fails(Buffer.alloc(MAX_ENCODED_BYTES + 1, 1))).toBe(true);
    expect(fails('nope' as unknown as Buffer)).toBe(true);
  });
});

describe('garbage never throws', () => {
  test('5,000 random buffers and 5,000 mutations of real rings', () => {
    const r = rng(4242);
    const real = generateHistory(9, 6, 80).snapshots.map((s) => encodeRing(s.entries()));
    const check = (buf: Buffer): void => {
      let out: RingEntry[] | ReturnType<typeof decodeRing> = [];
      expect(() => (out = decodeRing(buf))).not.toThrow();
      if (!isDecodeFailure(out)) expect(validateEntries(out)).toBeUndefined();
    };
    for (let i = 0; i < 5000; i++) {
      const buf = Buffer.alloc(r.int(200));
      for (let k = 0; k < buf.length; k++) buf[k] = r.int(256);
      if (buf.length > 0 && r() < 0.5) buf[0] = 1; // get past the version byte more often
      check(buf);
    }
    let decodedOk = 0;
    for (let i = 0; i < 5000; i++) {
      const buf = Buffer.from(r.pick(real));
      const flips = 1 + r.int(3);
      for (let k = 0; k < flips; k++) buf[r.int(buf.length)] ^= 1 << r.int(8);
      const cut = r() < 0.2 ? buf.subarray(0, r.int(buf.length + 1)) : buf;
      check(cut);
      if (!isDecodeFailure(decodeRing(cut))) decodedOk++;
    }
    expect(decodedOk).toBeGreaterThan(0); // some flips (a version bit, an owner byte) still make a valid ring
  });
});
