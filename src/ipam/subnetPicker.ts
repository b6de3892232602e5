/**
 * The subnet given to a network created without --subnet. Pure and deterministic:
 * the lowest-addressed block of the range that overlaps neither the default
 * subnet nor any existing weft pool. Hosts that hold the same pools therefore
 * pick the same subnet (the mesh keeps pools the same everywhere).
 * Block size: /20 in the default /12 range; 4 bits below the range's prefix when
 * the range is smaller than a /16.
 */
import { type Cidr, nthSubnet, overlaps, subnetCount } from '../addr/cidr';

export function autoPrefix(range: Cidr): number {
  return Math.min(32, Math.max(20, range.prefix + 4));
}

export function pickSubnet(range: Cidr, reserved: readonly Cidr[]): Cidr | undefined {
  const prefix = autoPrefix(range);
  const n = subnetCount(range, prefix);
  for (let i = 0; i < n; i++) {
    const candidate = nthSubnet(range, prefix, i);
    if (!reserved.some((r) => overlaps(r, candidate))) return candidate;
  }
  return undefined;
}
