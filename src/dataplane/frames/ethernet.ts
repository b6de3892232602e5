/**
 * Ethernet II headers. The readers are single bounds-checked loads meant for
 * the per-frame path: check isEthernet first; on a shorter buffer they throw
 * Buffer's RangeError rather than return garbage. 802.1Q-tagged frames show
 * their TPID (0x8100) as the type: weft's bridges carry untagged frames only.
 */
import { macKey, writeMacKey, type MacKey } from './mac';

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
/** the minimum frame without FCS; shorter frames are padded with zeros on the wire, so builders do it */
export const ETH_ZLEN = 60;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

export function isEthernet(frame: Buffer): boolean {
  return frame.length >= ETH_HLEN;
}

export function ethDst(frame: Buffer): MacKey {
  return macKey(frame, 0);
}

export function ethSrc(frame: Buffer): MacKey {
  return macKey(frame, ETH_ALEN);
}

export function ethType(frame: Buffer): number {
  return frame.readUInt16BE(2 * ETH_ALEN);
}

/** A zeroed buffer for a frame of `length` bytes, padded to ETH_ZLEN (zeroed: the padding must not leak memory). */
export function allocFrame(length: number): Buffer {
  return Buffer.alloc(Math.max(length, ETH_ZLEN));
}

export function writeEthHeader(frame: Buffer, dst: MacKey, src: MacKey, type: number): void {
  writeMacKey(frame, 0, dst);
  writeMacKey(frame, ETH_ALEN, src);
  frame.writeUInt16BE(type, 2 * ETH_ALEN);
}
