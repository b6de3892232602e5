/**
 * Netlink attribute (struct nlattr) TLVs: u16 nla_len (header + value, unpadded), u16 nla_type,
 * value, zero padding to a 4-byte boundary. Host byte order (little-endian hosts only).
 */
import { NLA_HDRLEN, NLA_TYPE_MASK } from './constants';
import { DecodeError, EncodeError } from './errors';

export interface Attr { type: number; value: Buffer }

export const align4 = (n: number): number => (n + 3) & ~3;

export function encodeAttr(type: number, value: Uint8Array): Buffer {
  const len = NLA_HDRLEN + value.length;
  if (len > 0xffff) throw new EncodeError(`attribute ${type} too long (${value.length} bytes)`);
  const out = Buffer.alloc(align4(len)); // zero-filled, so the padding is zeros
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  out.set(value, NLA_HDRLEN);
  return out;
}

/**
 * A nest is an attribute whose value is more attributes. NLA_F_NESTED is left unset, as iproute2
 * does: rtnetlink parses these nests with the non-strict parser, which ignores the bit either way.
 */
export function encodeNested(type: number, children: readonly Buffer[]): Buffer {
  return encodeAttr(type, Buffer.concat(children));
}

function checkInt(n: number, max: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new EncodeError(`${what} out of range: ${n}`);
}

export function u8(n: number): Buffer {
  checkInt(n, 0xff, 'u8');
  return Buffer.from([n]);
}
export function u16(n: number): Buffer {
  checkInt(n, 0xffff, 'u16');
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
}
/** network byte order, e.g. IFLA_VXLAN_PORT */
export function be16(n: number): Buffer {
  checkInt(n, 0xffff, 'be16');
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
export function u32(n: number): Buffer {
  checkInt(n, 0xffffffff, 'u32');
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}
/** NUL-terminated, as the kernel's NLA_STRING/NLA_NUL_STRING policies expect */
export function cstr(s: string): Buffer {
  if (s.includes('\0')) throw new EncodeError(`string contains NUL: ${JSON.stringify(s)}`);
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}

/** Walks the attributes in buf[offset..]; the NLA_F_NESTED / NET_BYTEORDER bits are masked off. */
export function decodeAttrs(buf: Buffer, offset = 0): Attr[] {
  if (offset > buf.length) throw new DecodeError('attributes start past the end of the buffer', offset);
  const attrs: Attr[] = [];
  let pos = offset;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < NLA_HDRLEN) throw new DecodeError(`truncated attribute header (${remaining} bytes left)`, pos);
    const len = buf.readUInt16LE(pos);
    const type = buf.readUInt16LE(pos + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN) throw new DecodeError(`attribute ${type} has impossible length ${len}`, pos);
    if (len > remaining) throw new DecodeError(`attribute ${type} length ${len} overruns buffer (${remaining} left)`, pos);
    attrs.push({ type, value: buf.subarray(pos + NLA_HDRLEN, pos + len) });
    pos += Math.min(align4(len), remaining); // the last attribute's padding may be omitted
  }
  return attrs;
}

/** type -> value; a repeated type keeps the last one, like the kernel's nla_parse */
export type AttrMap = Map<number, Buffer>;

export function attrMap(attrs: readonly Attr[]): AttrMap {
  return new Map(attrs.map((a) => [a.type, a.value]));
}

function sized(v: Buffer, n: number, what: string): Buffer {
  if (v.length < n) throw new DecodeError(`${what}: expected ${n} bytes, got ${v.length}`);
  return v;
}
export const readU8 = (v: Buffer, what = 'u8'): number => sized(v, 1, what).readUInt8(0);
export const readU16 = (v: Buffer, what = 'u16'): number => sized(v, 2, what).readUInt16LE(0);
export const readBe16 = (v: Buffer, what = 'be16'): number => sized(v, 2, what).readUInt16BE(0);
export const readU32 = (v: Buffer, what = 'u32'): number => sized(v, 4, what).readUInt32LE(0);
/** up to the first NUL (or the whole value when unterminated) */
export function readString(v: Buffer): string {
  const nul = v.indexOf(0);
  return v.subarray(0, nul < 0 ? v.length : nul).toString('utf8');
}

/** Reads a fixed-size struct header, refusing a short buffer. */
export function need(buf: Buffer, len: number, what: string): void {
  if (buf.length < len) throw new DecodeError(`truncated ${what}: need ${len} bytes, got ${buf.length}`);
}
