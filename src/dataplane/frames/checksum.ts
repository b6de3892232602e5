/**
 * The Internet checksum (RFC 1071) for the IPv4 and UDP headers weft builds
 * itself (the VXLAN path probe). Sums are kept unfolded in a double until the
 * end: 32768 words of 0xffff stay far below 2^53.
 */
import type { Ip } from '../../addr/cidr';

/** one's-complement sum of buf[start, end) as big-endian 16-bit words, an odd last byte padded with zero; unfolded */
export function sum16(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** carries folded back into 16 bits */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** the checksum field value for buf[start, end) (with its own checksum field zero); 0 when verifying a correct one */
export function internetChecksum(buf: Buffer, start = 0, end = buf.length, initial = 0): number {
  return ~fold(sum16(buf, start, end, initial)) & 0xffff;
}

/** the IPv4 pseudo-header UDP and TCP checksums cover: addresses, protocol, transport length */
export function pseudoHeaderSum(src: Ip, dst: Ip, protocol: number, length: number): number {
  return Math.floor(src / 0x10000) + (src & 0xffff) + Math.floor(dst / 0x10000) + (dst & 0xffff) + protocol + length;
}
