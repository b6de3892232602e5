/**
 * PoolID as Docker carries it between RequestPool and later calls. One pool per
 * subnet, so the id is the subnet itself behind a tag: "weft:10.40.0.0/24".
 */
import { type Cidr, CidrError, formatCidr, parseCidr } from '../addr/cidr';
import { IpamError } from './errors';

const TAG = 'weft:';

export function formatPoolId(subnet: Cidr): string {
  return TAG + formatCidr(subnet);
}

export function parsePoolId(id: string): Cidr {
  if (typeof id !== 'string' || !id.startsWith(TAG)) {
    throw new IpamError('NoSuchPool', `weft: unknown pool id ${JSON.stringify(id)}`);
  }
  try {
    return parseCidr(id.slice(TAG.length));
  } catch (e) {
    if (e instanceof CidrError) throw new IpamError('NoSuchPool', `weft: unknown pool id ${JSON.stringify(id)}`);
    throw e;
  }
}
