/**
 * MAC addresses as numbers: the 6 bytes read big-endian into one integer (48
 * bits are exact in a double), so the per-frame path keys Maps without
 * allocating a string per frame. Text is parsed and printed by the netlink
 * codec's helpers, the one MAC grammar weft has.
 */
import { formatMac, parseMac } from '../../netlink/codec/addr';

/** 0 ≤ key < 2^48, the first octet in the top bits */
export type MacKey = number;

const TWO32 = 0x1_0000_0000;
const TWO40 = 0x100_0000_0000;
const LIMIT = 0x1_0000_0000_0000;

export const BROADCAST_KEY: MacKey = LIMIT - 1;
export const ZERO_MAC_KEY: MacKey = 0;

export function isMacKey(key: unknown): key is MacKey {
  return typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < LIMIT;
}

/** Throws RangeError (Buffer's own bounds check) when fewer than 6 bytes follow `offset`. */
export function macKey(buf: Buffer, offset: number): MacKey {
  return buf.readUInt16BE(offset) * TWO32 + buf.readUInt32BE(offset + 2);
}

/** Writes a key as 6 bytes; RangeError for anything that is not a key (Buffer would silently truncate fractions). */
export function writeMacKey(buf: Buffer, offset: number, key: MacKey): void {
  if (!isMacKey(key)) throw new RangeError(`not a MAC key: ${String(key)}`);
  buf.writeUInt16BE(Math.floor(key / TWO32), offset);
  buf.writeUInt32BE(key % TWO32, offset + 2);
}

/** "02:42:0a:20:00:01" → key; throws the codec's EncodeError for malformed text. */
export function macKeyOf(text: string): MacKey {
  return macKey(parseMac(text), 0);
}

/** key → lower-case colon form */
export function macText(key: MacKey): string {
  const b = Buffer.allocUnsafe(6);
  writeMacKey(b, 0, key);
  return formatMac(b);
}

/**
 * The I/G bit (lowest bit of the first octet): broadcast and multicast. The
 * quotient is below 256, so `& 1` truncates it exactly like Math.floor would.
 */
export function isGroupKey(key: MacKey): boolean {
  return ((key / TWO40) & 1) === 1;
}
