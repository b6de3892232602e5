/**
 * The VNI of a network, derived from its subnet so that every host picks the
 * same one without agreeing on anything. The range [0x100000, 0xfffffd] stays
 * clear of Docker's overlay driver (VNIs handed out upwards from 4096) and
 * of the probe device (0xfffffe; 0xffffff is left alone too). The hash is
 * 32-bit FNV-1a over the base address (big-endian) and the prefix length,
 * finished with MurmurHash3's fmix32, reduced modulo the range.
 *
 * The range holds ~15.7 million VNIs, so two different subnets can get the
 * same one (by the birthday bound, even odds once ~4700 subnets exist). The caller refuses
 * to create a network whose VNI is already used by another network on the
 * same host rather than merge their traffic.
 *
 * The mapping is part of the wire protocol between hosts: never change it.
 */
import { isIp, maskOf, type Cidr } from '../../addr/cidr';

export const VNI_MIN = 0x100000;
export const VNI_MAX = 0xfffffd;
const VNI_COUNT = VNI_MAX - VNI_MIN + 1;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** RangeError for something that is not a normalized IPv4 CIDR (host bits set would give a second VNI for one subnet). */
export function vniForSubnet(subnet: Cidr): number {
  const { base, prefix } = subnet;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32 || !isIp(base) || ((base & maskOf(prefix)) >>> 0) !== base) {
    throw new RangeError(`not a normalized IPv4 subnet: ${String(base)}/${String(prefix)}`);
  }
  // 32-bit FNV-1a over base (big-endian) then prefix; Math.imul keeps the product exact mod 2^32
  let h = FNV_OFFSET;
  for (const byte of [base >>> 24, (base >>> 16) & 0xff, (base >>> 8) & 0xff, base & 0xff, prefix]) {
    h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
  }
  // FNV-1a alone leaves sequential /24s colliding ~1.5× as often as chance; MurmurHash3's finalizer evens that out
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  // All 32 bits modulo the range, not a 24-bit fold: a fold would give 1/16 of the VNIs twice the odds
  // (2^24 is not a multiple of the range); from 2^32 each VNI gets 273 or 274 preimages.
  return VNI_MIN + (h % VNI_COUNT);
}
