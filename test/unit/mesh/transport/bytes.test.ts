import { byteLength, BytesReader, isParts, joined } from '../../../../src/mesh/transport/bytes';

describe('Bytes', () => {
  const parts = [Buffer.from('abc'), new Uint8Array([100, 101]), Buffer.alloc(0), Buffer.from('fghij')];

  test('byteLength, isParts and joined, for one buffer and for parts', () => {
    expect(byteLength(parts)).toBe(10);
    expect(byteLength(Buffer.from('xy'))).toBe(2);
    expect([isParts(parts), isParts(Buffer.alloc(1))]).toEqual([true, false]);
    expect(joined(parts).toString()).toBe('abcdefghij');
    const one = Buffer.from('same');
    expect(joined(one)).toBe(one); // a Buffer is returned as it is, no copy
    const u8 = new Uint8Array([1, 2, 3]);
    const view = joined(u8);
    expect(Buffer.isBuffer(view)).toBe(true);
    expect(view.buffer).toBe(u8.buffer);
  });

  test('BytesReader copies stretches across part boundaries, in order, and refuses to read past the end', () => {
    const r = new BytesReader(parts);
    const dst = Buffer.alloc(12, 0x2e);
    r.copyTo(dst, 1, 4); // abc + d
    r.copyTo(dst, 5, 0);
    r.copyTo(dst, 5, 6); // efghij: the rest of part 2, an empty part, all of part 4
    expect(dst.toString('latin1')).toBe('.abcdefghij.');
    expect(() => r.copyTo(dst, 0, 1)).toThrow(RangeError);
    const single = new BytesReader(Buffer.from('0123456789'));
    const out = Buffer.alloc(10);
    for (let i = 0; i < 10; i += 3) single.copyTo(out, i, Math.min(3, 10 - i));
    expect(out.toString()).toBe('0123456789');
  });
});
