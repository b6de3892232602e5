import {
  attrMap, be16, cstr, decodeAttrs, encodeAttr, encodeNested, readBe16, readString, readU16, readU32, readU8, u16, u32, u8,
} from '../../../src/netlink/codec/attributes';
import { DecodeError, EncodeError } from '../../../src/netlink/codec/errors';
import { hex } from './hex';

describe('attribute encoding', () => {
  test('header is u16 len (unpadded) + u16 type, value padded with zeros to 4 bytes', () => {
    expect(encodeAttr(3, cstr('br0'))).toEqual(hex('08 00 03 00 | 62 72 30 00'));
    expect(encodeAttr(1, Buffer.from([0xaa]))).toEqual(hex('05 00 01 00 | aa 00 00 00'));
    expect(encodeAttr(7, Buffer.from([1, 2, 3, 4, 5, 6]))).toEqual(hex('0a 00 07 00 | 01 02 03 04 05 06 00 00'));
    expect(encodeAttr(2, Buffer.alloc(0))).toEqual(hex('04 00 02 00'));
  });

  test('integer helpers: host (little-endian) order, be16 in network order', () => {
    expect(u8(0xfe)).toEqual(hex('fe'));
    expect(u16(0x1234)).toEqual(hex('34 12'));
    expect(u32(0x12345678)).toEqual(hex('78 56 34 12'));
    expect(be16(4789)).toEqual(hex('12 b5'));
  });

  test('out-of-range integers and NUL in strings are EncodeErrors', () => {
    expect(() => u8(256)).toThrow(EncodeError);
    expect(() => u16(-1)).toThrow(EncodeError);
    expect(() => be16(65536)).toThrow(EncodeError);
    expect(() => u32(2 ** 32)).toThrow(EncodeError);
    expect(() => u32(1.5)).toThrow(EncodeError);
    expect(() => cstr('a\0b')).toThrow(EncodeError);
    expect(() => encodeAttr(1, Buffer.alloc(65532))).toThrow(EncodeError);
    expect(encodeAttr(1, Buffer.alloc(65531)).readUInt16LE(0)).toBe(65535);
  });

  test('nesting: the outer length covers the padded children', () => {
    const nest = encodeNested(18, [encodeAttr(1, cstr('veth')), encodeAttr(2, u8(1))]);
    expect(nest).toEqual(hex('18 00 12 00 | 09 00 01 00 76 65 74 68 00 00 00 00 | 05 00 02 00 01 00 00 00'));
  });
});

describe('attribute decoding', () => {
  test('round trip, nested', () => {
    const inner = [encodeAttr(1, cstr('bridge')), encodeAttr(3, u32(9))];
    const buf = Buffer.concat([encodeAttr(4, u32(1500)), encodeNested(18, inner), encodeAttr(5, Buffer.from([7]))]);
    const attrs = decodeAttrs(buf);
    expect(attrs.map((a) => a.type)).toEqual([4, 18, 5]);
    expect(readU32(attrs[0]!.value)).toBe(1500);
    const nested = decodeAttrs(attrs[1]!.value);
    expect(readString(nested[0]!.value)).toBe('bridge');
    expect(readU32(nested[1]!.value)).toBe(9);
    expect(attrs[2]!.value).toEqual(hex('07')); // the value excludes the padding
  });

  test('NLA_F_NESTED and NLA_F_NET_BYTEORDER are masked off the type', () => {
    const attrs = decodeAttrs(hex('0c 00 12 80 | 08 00 01 00 61 62 63 00 | 06 00 0f 40 12 b5 00 00'));
    expect(attrs.map((a) => a.type)).toEqual([18, 15]);
    expect(readString(decodeAttrs(attrs[0]!.value)[0]!.value)).toBe('abc');
    expect(readBe16(attrs[1]!.value)).toBe(4789);
  });

  test('starts at an offset; the last attribute may omit its padding; empty is fine', () => {
    expect(decodeAttrs(hex('ff ff | 05 00 01 00 aa'), 2)).toEqual([{ type: 1, value: hex('aa') }]);
    expect(decodeAttrs(Buffer.alloc(0))).toEqual([]);
    expect(decodeAttrs(hex('ff ff'), 2)).toEqual([]);
  });

  test.each([
    ['truncated header', '08 00 01 00 61 62 63 00 | 04 00'],
    ['length below the header size', '03 00 01 00'],
    ['length overruns the buffer', '08 00 01 00 aa'],
    ['zero length (would loop forever)', '00 00 01 00 00 00 00 00'],
    ['nested overrun', '0c 00 12 00 | 09 00 01 00 61 62 63 00'],
  ])('%s is a DecodeError', (_name, bytes) => {
    const buf = hex(bytes);
    expect(() => {
      for (const a of decodeAttrs(buf)) if (a.type === 18) decodeAttrs(a.value);
    }).toThrow(DecodeError);
  });

  test('offset past the end is a DecodeError', () => {
    expect(() => decodeAttrs(hex('00'), 2)).toThrow(DecodeError);
  });

  test('readers check the value size; strings stop at NUL or run to the end', () => {
    expect(() => readU32(hex('01 02'))).toThrow(DecodeError);
    expect(() => readU16(hex('01'))).toThrow(DecodeError);
    expect(() => readU8(Buffer.alloc(0))).toThrow(DecodeError);
    expect(() => readBe16(hex('01'))).toThrow(DecodeError);
    expect(readString(hex('61 62 00 63'))).toBe('ab');
    expect(readString(hex('61 62'))).toBe('ab');
    expect(readString(Buffer.alloc(0))).toBe('');
  });

  test('a repeated type keeps the last value, like nla_parse', () => {
    const m = attrMap(decodeAttrs(Buffer.concat([encodeAttr(4, u32(1)), encodeAttr(4, u32(2))])));
    expect(readU32(m.get(4)!)).toBe(2);
  });
});
