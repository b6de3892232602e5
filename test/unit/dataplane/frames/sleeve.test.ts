import {
  countPacked, decodeSleeve, encodeSleeve, encodeSleeveHeader, forEachFrame, MAX_PACKED_FRAME, MIN_PACKED_FRAME,
  PACK_PREFIX_BYTES, PackBuilder, SLEEVE_HEADER_BYTES, SLEEVE_VERSION, withHops, type SleeveHeader,
} from '../../../../src/dataplane/frames/sleeve';
import { packFrames, unpackFrames } from '../../../../src/dataplane/tap/packed';
import { expectRangeError, hex, pack, rng } from './helpers';

const HEADER: SleeveHeader = { hops: 0, origin: '0123456789abcdef', dest: 'fedcba9876543210', vni: 0x00abcdef };
const HEADER_WIRE = hex('02 | 00 | 01 23 45 67 89 ab cd ef | fe dc ba 98 76 54 32 10 | 00 ab cd ef');

// frames as the sleeve carries them: a 10-byte virtio-net header, then Ethernet; 24 bytes is the least
const f24 = Buffer.alloc(24, 0x24);
const f30 = Buffer.alloc(30, 0x30);
const f70 = Buffer.alloc(70, 0x70);

function frames(packed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  forEachFrame(packed, (f) => out.push(f));
  return out;
}

test('constants', () => {
  expect([SLEEVE_VERSION, SLEEVE_HEADER_BYTES, PACK_PREFIX_BYTES, MIN_PACKED_FRAME, MAX_PACKED_FRAME]).toEqual([2, 22, 2, 24, 65535]);
});

describe('encodeSleeveHeader', () => {
  test('byte-exact', () => {
    expect(encodeSleeveHeader(HEADER)).toEqual(HEADER_WIRE);
    expect(encodeSleeveHeader({ hops: 1, origin: 'ffffffffffffffff', dest: '0000000000000000', vni: 0xffffffff })).toEqual(
      hex(`02 01 ${'ff '.repeat(8)} ${'00 '.repeat(8)} ff ff ff ff`));
    expect(encodeSleeveHeader({ ...HEADER, hops: 255, vni: 0 }).subarray(0, 2)).toEqual(hex('02 ff'));
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
    expectRangeError(() => encodeSleeve({ ...HEADER, ...over }, pack([f24])));
  });
});

describe('encodeSleeve / decodeSleeve', () => {
  test('header + packed frames, byte-exact, and back', () => {
    const packed = pack([f24, f30, f70]);
    const wire = encodeSleeve(HEADER, packed);
    expect(wire).toEqual(Buffer.concat([HEADER_WIRE, hex('00 18'), f24, hex('00 1e'), f30, hex('00 46'), f70]));
    const d = decodeSleeve(wire);
    expect(d).toEqual({ ok: true, header: HEADER, packed, frames: 3 });
    if (!d.ok) throw new Error('unreachable');
    expect(d.packed.buffer).toBe(wire.buffer); // a view, not a copy
    expect(d.packed.byteOffset).toBe(wire.byteOffset + 22);
    expect(frames(d.packed)).toEqual([f24, f30, f70]);
  });

  test('no frames at all is a valid (empty) datagram', () => {
    expect(decodeSleeve(encodeSleeve(HEADER, Buffer.alloc(0)))).toEqual({ ok: true, header: HEADER, packed: Buffer.alloc(0), frames: 0 });
  });

  test('random headers and batches round-trip', () => {
    const r = rng(22);
    for (let i = 0; i < 100; i++) {
      const b = r(21);
      const h: SleeveHeader = { hops: b[0]!, origin: b.toString('hex', 1, 9), dest: b.toString('hex', 9, 17), vni: b.readUInt32BE(17) };
      const list = Array.from({ length: i % 7 }, (_, k) => r(24 + ((i * 31 + k * 17) % 1500)));
      const d = decodeSleeve(encodeSleeve(h, pack(list)));
      if (!d.ok) throw new Error(d.reason);
      expect(d.header).toEqual(h);
      expect(d.frames).toBe(list.length);
      expect(d.packed.equals(pack(list))).toBe(true); // Buffer.equals: jest's deep equality is slow on kilobytes
    }
  });

  test('a frame of 65535 bytes', () => {
    const big = Buffer.alloc(65535, 7);
    const d = decodeSleeve(encodeSleeve(HEADER, pack([big, f24])));
    expect(d.ok && d.frames).toBe(2);
  });

  test('empty: short', () => {
    expect(decodeSleeve(Buffer.alloc(0))).toEqual({ ok: false, reason: 'short' });
  });

  test('version checked first, at any length', () => {
    for (const v of [0, 1, 3, 255]) { // 1: frames without virtio-net headers
      for (const n of [1, 5, 21, 22, 40]) {
        const b = Buffer.alloc(n);
        b[0] = v;
        expect(decodeSleeve(b)).toEqual({ ok: false, reason: 'version' });
      }
    }
  });

  test('short: a version-2 header cut at any byte', () => {
    for (let n = 1; n < 22; n++) expect(decodeSleeve(HEADER_WIRE.subarray(0, n))).toEqual({ ok: false, reason: 'short' });
    expect(decodeSleeve(HEADER_WIRE).ok).toBe(true);
  });

  test('every truncation of the packed region: ok exactly at frame boundaries, badFrames elsewhere', () => {
    const wire = encodeSleeve(HEADER, pack([f24, f30, f70]));
    const boundaries = new Map([[22, 0], [22 + 26, 1], [22 + 26 + 32, 2], [22 + 26 + 32 + 72, 3]]);
    for (let n = 22; n <= wire.length; n++) {
      const d = decodeSleeve(wire.subarray(0, n));
      const count = boundaries.get(n);
      if (count === undefined) expect(d).toEqual({ ok: false, reason: 'badFrames' });
      else expect(d.ok && d.frames).toBe(count);
    }
  });

  test.each<[string, Buffer]>([
    ['a zero-length frame', Buffer.concat([pack([f24]), hex('00 00')])],
    ['a zero-length frame first', Buffer.concat([hex('00 00'), pack([f24])])],
    ['a 23-byte frame (an Ethernet header, but no room for the virtio-net header too)', pack([Buffer.alloc(23)])],
    ['a 13-byte frame', pack([Buffer.alloc(13)])],
    ['a 1-byte frame', pack([Buffer.alloc(1)])],
    ['a lone length byte', hex('00')],
    ['a length one past the end', Buffer.concat([hex('00 19'), f24])],
    ['a length far past the end', Buffer.concat([hex('ff ff'), f24])],
    ['trailing garbage after good frames', Buffer.concat([pack([f24, f30]), hex('01')])],
  ])('badFrames for %s', (_what, packed) => {
    expect(decodeSleeve(encodeSleeve(HEADER, packed))).toEqual({ ok: false, reason: 'badFrames' });
    expect(countPacked(packed)).toBe(-1);
  });

  test('a 24-byte frame is the smallest accepted', () => {
    expect(countPacked(pack([f24]))).toBe(1);
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
    expect(countPacked(pack([f24, f30, f70, f24]))).toBe(4);
  });
});

describe('withHops', () => {
  test('a re-stamped copy; the original is untouched', () => {
    const wire = encodeSleeve(HEADER, pack([f24, f30]));
    const before = Buffer.from(wire);
    const relayed = withHops(wire, 1);
    expect(wire).toEqual(before);
    expect(relayed[1]).toBe(1);
    expect(Buffer.concat([relayed.subarray(0, 1), relayed.subarray(2)])).toEqual(Buffer.concat([wire.subarray(0, 1), wire.subarray(2)]));
    expect(decodeSleeve(relayed)).toEqual({ ok: true, header: { ...HEADER, hops: 1 }, packed: pack([f24, f30]), frames: 2 });
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
    const packed = pack([f24, f30, f70]);
    const seen: Buffer[] = [];
    expect(forEachFrame(packed, (f) => seen.push(f))).toBe(3);
    expect(seen).toEqual([f24, f30, f70]);
    expect(seen.map((f) => f.byteOffset - packed.byteOffset)).toEqual([2, 28, 60]);
    seen[1]!.fill(0);
    expect(packed.subarray(28, 58)).toEqual(Buffer.alloc(30));
  });

  test('nothing for an empty region', () => {
    expect(forEachFrame(Buffer.alloc(0), () => { throw new Error('called'); })).toBe(0);
  });

  test('it is not a validator: stops at the first incomplete entry, never reads past the end', () => {
    const packed = pack([f24, f30]);
    for (let n = 0; n <= packed.length; n++) {
      const expected = n >= 58 ? 2 : n >= 26 ? 1 : 0;
      expect(frames(packed.subarray(0, n))).toEqual([f24, f30].slice(0, expected));
    }
    expect(frames(Buffer.concat([hex('00 00'), pack([f24])]))).toEqual([Buffer.alloc(0), f24]); // decodeSleeve rejects these
  });
});

/** what a builder holds, packed: its datagram without the header */
const take = (b: PackBuilder): Buffer => Buffer.concat(b.takeDatagramParts(HEADER)).subarray(SLEEVE_HEADER_BYTES);

describe('PackBuilder', () => {
  test('takeDatagramParts: the bytes of encodeSleeve(h, frames packed), the frames as views (not copied), and the builder emptied', () => {
    const head = Buffer.alloc(30, 0xaa);
    const tail = Buffer.alloc(1000, 0xbb);
    const want = encodeSleeve(HEADER, packFrames([f24, Buffer.concat([head, tail]), f70]));
    const b = new PackBuilder(2000);
    b.add(f24);
    b.add(head, tail);
    b.add(f70);
    const parts = b.takeDatagramParts(HEADER);
    expect(Buffer.concat(parts).equals(want)).toBe(true);
    expect(parts.filter((p) => p === f24 || p === head || p === tail || p === f70)).toHaveLength(4);
    expect([b.count, b.bytes]).toEqual([0, 0]);
    expect(Buffer.concat(b.takeDatagramParts(HEADER))).toEqual(HEADER_WIRE);
  });

  test('packs byte-exact, counts, and fills the budget exactly', () => {
    const b = new PackBuilder(26 + 32);
    expect([b.count, b.bytes, b.budget, b.room]).toEqual([0, 0, 58, 56]);
    expect(b.add(f24)).toBe(true);
    expect([b.count, b.bytes, b.room]).toEqual([1, 26, 30]);
    expect(b.add(f30)).toBe(true);
    expect([b.count, b.bytes, b.room]).toEqual([2, 58, -2]);
    expect(b.add(f24)).toBe(false);
    expect([b.count, b.bytes]).toEqual([2, 58]);
    const out = take(b);
    expect(out).toEqual(Buffer.concat([hex('00 18'), f24, hex('00 1e'), f30]));
    expect(out).toEqual(pack([f24, f30]));
  });

  test('one byte short of the budget is refused; a later smaller frame may still fit', () => {
    const b = new PackBuilder(26 + 31);
    expect(b.add(f24)).toBe(true);
    expect(b.add(f30)).toBe(false);
    expect(b.add(Buffer.alloc(29))).toBe(true);
    expect(b.bytes).toBe(57);
  });

  test('takeDatagramParts empties the builder for reuse', () => {
    const b = new PackBuilder(100);
    b.add(f24);
    take(b);
    expect([b.count, b.bytes]).toEqual([0, 0]);
    expect(take(b)).toEqual(Buffer.alloc(0));
    expect(b.add(f30)).toBe(true);
    expect(take(b)).toEqual(pack([f30]));
  });

  test('refuses frames the packed format cannot carry, whatever the budget', () => {
    const b = new PackBuilder(1 << 20);
    expect(b.add(Buffer.alloc(0))).toBe(false);
    expect(b.add(Buffer.alloc(13))).toBe(false);
    expect(b.add(Buffer.alloc(23))).toBe(false);
    expect(b.add(Buffer.alloc(65536))).toBe(false);
    expect(b.add(Buffer.alloc(65535))).toBe(true);
    expect(b.add(Buffer.alloc(24))).toBe(true);
    expect([b.count, b.bytes]).toEqual([2, 65537 + 26]);
    expect(countPacked(take(b))).toBe(2);
  });

  test('budget 0 takes nothing; a budget below one small frame neither', () => {
    expect(new PackBuilder(0).add(f24)).toBe(false);
    expect(new PackBuilder(25).add(f24)).toBe(false);
    expect(new PackBuilder(26).add(f24)).toBe(true);
  });

  test('a frame in two parts (a cut super-frame: its own headers, a view of the payload) is packed as one', () => {
    const head = Buffer.alloc(30, 0xaa);
    const tail = Buffer.alloc(1000, 0xbb);
    const b = new PackBuilder(26 + 1032);
    expect(b.add(f24)).toBe(true);
    expect(b.room).toBe(1030);
    expect(b.add(head, tail)).toBe(true);
    expect([b.count, b.bytes]).toEqual([2, 1058]);
    expect(take(b)).toEqual(Buffer.concat([hex('00 18'), f24, hex('04 06'), head, tail]));
    // the two parts count together against the budget and the format's limits
    expect(new PackBuilder(1031).add(head, tail)).toBe(false);
    expect(new PackBuilder(1 << 20).add(Buffer.alloc(10), Buffer.alloc(13))).toBe(false);
    expect(new PackBuilder(1 << 20).add(Buffer.alloc(10), Buffer.alloc(14))).toBe(true);
    expect(new PackBuilder(1 << 20).add(Buffer.alloc(100), Buffer.alloc(65436))).toBe(false);
    expect(new PackBuilder(1 << 20).add(Buffer.alloc(100), Buffer.alloc(65435))).toBe(true);
  });

  test('a frame given in two parts is packed as one', () => {
    const b = new PackBuilder(1000);
    b.add(f24);
    b.add(Buffer.alloc(10, 1), f30);
    expect(take(b)).toEqual(packFrames([f24, Buffer.concat([Buffer.alloc(10, 1), f30])]));
  });

  test('takeDatagramParts: the header as given (hops too), and a header out of range refused', () => {
    const b = new PackBuilder(1000);
    b.add(f24);
    const parts = b.takeDatagramParts(HEADER);
    expect(Buffer.concat(parts).subarray(0, 22)).toEqual(HEADER_WIRE);
    expect(Buffer.concat(b.takeDatagramParts({ ...HEADER, hops: 1 }))).toEqual(encodeSleeve({ ...HEADER, hops: 1 }, Buffer.alloc(0)));
    expectRangeError(() => b.takeDatagramParts({ ...HEADER, vni: -1 }));
  });

  test.each([-1, 1.5, Number.NaN, Infinity])('rejects budget %p', (budget) => {
    expectRangeError(() => new PackBuilder(budget));
  });

  test('what it builds decodes, and frames come back as added', () => {
    const r = rng(1400);
    const list = Array.from({ length: 40 }, (_, i) => r(24 + ((i * 97) % 300)));
    const b = new PackBuilder(1400);
    const sent: Buffer[][] = [[]];
    for (const f of list) {
      if (!b.add(f)) {
        const d = decodeSleeve(encodeSleeve(HEADER, take(b)));
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
    const list = [f24, f30, f70, Buffer.alloc(1500, 9)];
    expect(packFrames(list)).toEqual(pack(list));
    const d = decodeSleeve(encodeSleeve(HEADER, packFrames(list)));
    expect(d.ok && frames(d.packed)).toEqual(list);
    const b = new PackBuilder(4000);
    for (const f of list) expect(b.add(f)).toBe(true);
    expect(unpackFrames(take(b))).toEqual(list);
  });
});
