import {
  countPacked, decodeSleeve, encodeSleeve, encodeSleeveHeader, forEachFrame, MAX_PACKED_FRAME, MIN_PACKED_FRAME,
  PACK_PREFIX_BYTES, PackBuilder, SLEEVE_HEADER_BYTES, SLEEVE_VERSION, withHops, type SleeveHeader,
} from '../../../../src/dataplane/frames/sleeve';
import { packFrames, unpackFrames } from '../../../../src/dataplane/tap/packed';
import { expectRangeError, hex, pack, rng } from './helpers';

const HEADER: SleeveHeader = { hops: 0, origin: '0123456789abcdef', dest: 'fedcba9876543210', vni: 0x00abcdef };
const HEADER_WIRE = hex('01 | 00 | 01 23 45 67 89 ab cd ef | fe dc ba 98 76 54 32 10 | 00 ab cd ef');

const f14 = Buffer.alloc(14, 0x14);
const f20 = Buffer.alloc(20, 0x20);
const f60 = Buffer.alloc(60, 0x60);

function frames(packed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  forEachFrame(packed, (f) => out.push(f));
  return out;
}

test('constants', () => {
  expect([SLEEVE_VERSION, SLEEVE_HEADER_BYTES, PACK_PREFIX_BYTES, MIN_PACKED_FRAME, MAX_PACKED_FRAME]).toEqual([1, 22, 2, 14, 65535]);
});

describe('encodeSleeveHeader', () => {
  test('byte-exact', () => {
    expect(encodeSleeveHeader(HEADER)).toEqual(HEADER_WIRE);
    expect(encodeSleeveHeader({ hops: 1, origin: 'ffffffffffffffff', dest: '0000000000000000', vni: 0xffffffff })).toEqual(
      hex(`01 01 ${'ff '.repeat(8)} ${'00 '.repeat(8)} ff ff ff ff`));
    expect(encodeSleeveHeader({ ...HEADER, hops: 255, vni: 0 }).subarray(0, 2)).toEqual(hex('01 ff'));
  });

  test.each<[string, Partial<SleeveHeader>]>([
    ['hops -1', { hops: -1 }],
    ['hops 256', { hops: 256 }],
    ['hops 0.5', { hops: 0.5 }],
    ['an upper-case origin', { origin: '0123456789ABCDEF' }],
    ['a short origin', { origin: '0123456789abcde' }],
    ['a long destination', { dest: 'fedcba98765432100' }],
    ['a non-hex destination', { dest: 'fedcba987654321x' }],
    ['vni -1', { vni: -1 }],
    ['vni 2^32', { vni: 2 ** 32 }],
    ['vni 1.5', { vni: 1.5 }],
  ])('rejects %s', (_what, over) => {
    expectRangeError(() => encodeSleeveHeader({ ...HEADER, ...over }));
    expectRangeError(() => encodeSleeve({ ...HEADER, ...over }, pack([f14])));
  });
});

describe('encodeSleeve / decodeSleeve', () => {
  test('header + packed frames, byte-exact, and back', () => {
    const packed = pack([f14, f20, f60]);
    const wire = encodeSleeve(HEADER, packed);
    expect(wire).toEqual(Buffer.concat([HEADER_WIRE, hex('00 0e'), f14, hex('00 14'), f20, hex('00 3c'), f60]));
    const d = decodeSleeve(wire);
    expect(d).toEqual({ ok: true, header: HEADER, packed, frames: 3 });
    if (!d.ok) throw new Error('unreachable');
    expect(d.packed.buffer).toBe(wire.buffer); // a view, not a copy
    expect(d.packed.byteOffset).toBe(wire.byteOffset + 22);
    expect(frames(d.packed)).toEqual([f14, f20, f60]);
  });

  test('no frames at all is a valid (empty) datagram', () => {
    expect(decodeSleeve(encodeSleeve(HEADER, Buffer.alloc(0)))).toEqual({ ok: true, header: HEADER, packed: Buffer.alloc(0), frames: 0 });
  });

  test('random headers and batches round-trip', () => {
    const r = rng(22);
    for (let i = 0; i < 100; i++) {
      const b = r(21);
      const h: SleeveHeader = { hops: b[0]!, origin: b.toString('hex', 1, 9), dest: b.toString('hex', 9, 17), vni: b.readUInt32BE(17) };
      const list = Array.from({ length: i % 7 }, (_, k) => r(14 + ((i * 31 + k * 17) % 1500)));
      const d = decodeSleeve(encodeSleeve(h, pack(list)));
      if (!d.ok) throw new Error(d.reason);
      expect(d.header).toEqual(h);
      expect(d.frames).toBe(list.length);
      expect(d.packed.equals(pack(list))).toBe(true); // Buffer.equals: jest's deep equality is slow on kilobytes
    }
  });

  test('a frame of 65535 bytes', () => {
    const big = Buffer.alloc(65535, 7);
    const d = decodeSleeve(encodeSleeve(HEADER, pack([big, f14])));
    expect(d.ok && d.frames).toBe(2);
  });

  test('empty: short', () => {
    expect(decodeSleeve(Buffer.alloc(0))).toEqual({ ok: false, reason: 'short' });
  });

  test('version checked first, at any length', () => {
    for (const v of [0, 2, 255]) {
      for (const n of [1, 5, 21, 22, 40]) {
        const b = Buffer.alloc(n);
        b[0] = v;
        expect(decodeSleeve(b)).toEqual({ ok: false, reason: 'version' });
      }
    }
  });

  test('short: a version-1 header cut at any byte', () => {
    for (let n = 1; n < 22; n++) expect(decodeSleeve(HEADER_WIRE.subarray(0, n))).toEqual({ ok: false, reason: 'short' });
    expect(decodeSleeve(HEADER_WIRE).ok).toBe(true);
  });

  test('every truncation of the packed region: ok exactly at frame boundaries, badFrames elsewhere', () => {
    const wire = encodeSleeve(HEADER, pack([f14, f20, f60]));
    const boundaries = new Map([[22, 0], [22 + 16, 1], [22 + 16 + 22, 2], [22 + 16 + 22 + 62, 3]]);
    for (let n = 22; n <= wire.length; n++) {
      const d = decodeSleeve(wire.subarray(0, n));
      const count = boundaries.get(n);
      if (count === undefined) expect(d).toEqual({ ok: false, reason: 'badFrames' });
      else expect(d.ok && d.frames).toBe(count);
    }
  });

  test.each<[string, Buffer]>([
    ['a zero-length frame', Buffer.concat([pack([f14]), hex('00 00')])],
    ['a zero-length frame first', Buffer.concat([hex('00 00'), pack([f14])])],
    ['a 13-byte frame', pack([Buffer.alloc(13)])],
    ['a 1-byte frame', pack([Buffer.alloc(1)])],
    ['a lone length byte', hex('00')],
    ['a length one past the end', Buffer.concat([hex('00 0f'), f14])],
    ['a length far past the end', Buffer.concat([hex('ff ff'), f14])],
    ['trailing garbage after good frames', Buffer.concat([pack([f14, f20]), hex('01')])],
  ])('badFrames for %s', (_what, packed) => {
    expect(decodeSleeve(encodeSleeve(HEADER, packed))).toEqual({ ok: false, reason: 'badFrames' });
    expect(countPacked(packed)).toBe(-1);
  });

  test('a 14-byte frame is the smallest accepted', () => {
    expect(countPacked(pack([f14]))).toBe(1);
  });

  test('hops are carried, not judged', () => {
    for (const hops of [0, 1, 2, 255]) {
      const d = decodeSleeve(encodeSleeve({ ...HEADER, hops }, Buffer.alloc(0)));
      expect(d.ok && d.header.hops).toBe(hops);
    }
  });
});

describe('countPacked', () => {
  test('counts valid regions', () => {
    expect(countPacked(Buffer.alloc(0))).toBe(0);
    expect(countPacked(pack([f14, f20, f60, f14]))).toBe(4);
  });
});

describe('withHops', () => {
  test('a re-stamped copy; the original is untouched', () => {
    const wire = encodeSleeve(HEADER, pack([f14, f20]));
    const before = Buffer.from(wire);
    const relayed = withHops(wire, 1);
    expect(wire).toEqual(before);
    expect(relayed[1]).toBe(1);
    expect(Buffer.concat([relayed.subarray(0, 1), relayed.subarray(2)])).toEqual(Buffer.concat([wire.subarray(0, 1), wire.subarray(2)]));
    expect(decodeSleeve(relayed)).toEqual({ ok: true, header: { ...HEADER, hops: 1 }, packed: pack([f14, f20]), frames: 2 });
    expect(withHops(relayed, 0)).toEqual(wire);
  });

  test('rejects hops beyond a byte and a buffer shorter than the header', () => {
    const wire = encodeSleeve(HEADER, Buffer.alloc(0));
    for (const h of [-1, 256, 0.5]) expectRangeError(() => withHops(wire, h));
    expectRangeError(() => withHops(wire.subarray(0, 21), 1));
    expect(withHops(wire, 255)[1]).toBe(255);
  });
});

describe('forEachFrame', () => {
  test('views in order, no copies; returns the count', () => {
    const packed = pack([f14, f20, f60]);
    const seen: Buffer[] = [];
    expect(forEachFrame(packed, (f) => seen.push(f))).toBe(3);
    expect(seen).toEqual([f14, f20, f60]);
    expect(seen.map((f) => f.byteOffset - packed.byteOffset)).toEqual([2, 18, 40]);
    seen[1]!.fill(0);
    expect(packed.subarray(18, 38)).toEqual(Buffer.alloc(20));
  });

  test('nothing for an empty region', () => {
    expect(forEachFrame(Buffer.alloc(0), () => { throw new Error('called'); })).toBe(0);
  });

  test('it is not a validator: stops at the first incomplete entry, never reads past the end', () => {
    const packed = pack([f14, f20]);
    for (let n = 0; n <= packed.length; n++) {
      const expected = n >= 38 ? 2 : n >= 16 ? 1 : 0;
      expect(frames(packed.subarray(0, n))).toEqual([f14, f20].slice(0, expected));
    }
    expect(frames(Buffer.concat([hex('00 00'), pack([f14])]))).toEqual([Buffer.alloc(0), f14]); // decodeSleeve rejects these
  });
});

describe('PackBuilder', () => {
  test('packs byte-exact, counts, and fills the budget exactly', () => {
    const b = new PackBuilder(16 + 22);
    expect([b.count, b.bytes, b.budget]).toEqual([0, 0, 38]);
    expect(b.add(f14)).toBe(true);
    expect([b.count, b.bytes]).toEqual([1, 16]);
    expect(b.add(f20)).toBe(true);
    expect([b.count, b.bytes]).toEqual([2, 38]);
    expect(b.add(f14)).toBe(false);
    expect([b.count, b.bytes]).toEqual([2, 38]);
    const out = b.take();
    expect(out).toEqual(Buffer.concat([hex('00 0e'), f14, hex('00 14'), f20]));
    expect(out).toEqual(pack([f14, f20]));
  });

  test('one byte short of the budget is refused; a later smaller frame may still fit', () => {
    const b = new PackBuilder(16 + 21);
    expect(b.add(f14)).toBe(true);
    expect(b.add(f20)).toBe(false);
    expect(b.add(Buffer.alloc(19))).toBe(true);
    expect(b.bytes).toBe(37);
  });

  test('take empties the builder for reuse', () => {
    const b = new PackBuilder(100);
    b.add(f14);
    b.take();
    expect([b.count, b.bytes]).toEqual([0, 0]);
    expect(b.take()).toEqual(Buffer.alloc(0));
    expect(b.add(f20)).toBe(true);
    expect(b.take()).toEqual(pack([f20]));
  });

  test('take copies: later changes to the source frames do not reach the output', () => {
    const src = Buffer.from(f20);
    const b = new PackBuilder(100);
    b.add(src);
    const out = b.take();
    src.fill(0);
    expect(out).toEqual(pack([f20]));
  });

  test('refuses frames the packed format cannot carry, whatever the budget', () => {
    const b = new PackBuilder(1 << 20);
    expect(b.add(Buffer.alloc(0))).toBe(false);
    expect(b.add(Buffer.alloc(13))).toBe(false);
    expect(b.add(Buffer.alloc(65536))).toBe(false);
    expect(b.add(Buffer.alloc(65535))).toBe(true);
    expect(b.add(Buffer.alloc(14))).toBe(true);
    expect([b.count, b.bytes]).toEqual([2, 65537 + 16]);
    expect(countPacked(b.take())).toBe(2);
  });

  test('budget 0 takes nothing; a budget below one small frame neither', () => {
    expect(new PackBuilder(0).add(f14)).toBe(false);
    expect(new PackBuilder(15).add(f14)).toBe(false);
    expect(new PackBuilder(16).add(f14)).toBe(true);
  });

  test.each([-1, 1.5, Number.NaN, Infinity])('rejects budget %p', (budget) => {
    expectRangeError(() => new PackBuilder(budget));
  });

  test('what it builds decodes, and frames come back as added', () => {
    const r = rng(1400);
    const list = Array.from({ length: 40 }, (_, i) => r(14 + ((i * 97) % 300)));
    const b = new PackBuilder(1400);
    const sent: Buffer[][] = [[]];
    for (const f of list) {
      if (!b.add(f)) {
        const d = decodeSleeve(encodeSleeve(HEADER, b.take()));
        expect(d.ok && frames(d.packed)).toEqual(sent[sent.length - 1]);
        sent.push([]);
        expect(b.add(f)).toBe(true);
      }
      sent[sent.length - 1]!.push(f);
      expect(b.bytes).toBeLessThanOrEqual(1400);
    }
    expect(sent.length).toBeGreaterThan(2);
    expect(sent.flat()).toEqual(list);
  });
});

describe('the TAP reader\'s packed format', () => {
  test('is the same both ways: a TAP batch decodes here, a PackBuilder batch unpacks there', () => {
    const list = [f14, f20, f60, Buffer.alloc(1500, 9)];
    expect(packFrames(list)).toEqual(pack(list));
    const d = decodeSleeve(encodeSleeve(HEADER, packFrames(list)));
    expect(d.ok && frames(d.packed)).toEqual(list);
    const b = new PackBuilder(4000);
    for (const f of list) expect(b.add(f)).toBe(true);
    expect(unpackFrames(b.take())).toEqual(list);
  });
});
